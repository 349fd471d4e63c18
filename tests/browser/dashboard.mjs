// Loads the running CSG dashboard in Debian's chromium (driven by playwright-core), waits
// until every section title of DESIGN §8 is drawn (Streamlit renders over a websocket, so
// we poll), checks that no Streamlit exception or error banner is shown and that the Plotly
// charts drew, and saves a full-page screenshot.
//
// usage: node dashboard.mjs URL SCREENSHOT.png [TIMEOUT_SECONDS]
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TITLES = ['Summary', 'Score distributions', 'Latency trends', 'Decision divergence',
  'Decline reasons', 'Segments', 'Model performance', 'Stability', 'Raw events'];
// 2 distributions + latency + 2 divergence pies + decline reasons (+ segments)
const MIN_CHARTS = 6;

const [url, shot, timeoutArg] = process.argv.slice(2);
if (!url || !shot) {
  console.error('usage: node dashboard.mjs URL SCREENSHOT.png [TIMEOUT_SECONDS]');
  process.exit(2);
}
const timeoutMs = 1000 * Number(timeoutArg || 60);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

function fail(msg) { throw new Error(msg); }

const profile = mkdtempSync(join(tmpdir(), 'csg-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1500, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] || await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  const t0 = Date.now();
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: timeoutMs });

  // Poll until every section title is there, in order, and the charts have drawn.
  const state = await page.waitForFunction(({ titles, minCharts }) => {
    const exc = document.querySelector('[data-testid="stException"]');
    if (exc) return { exception: exc.innerText };
    const heads = [...document.querySelectorAll('h1, h2, h3')].map((h) => h.innerText.trim());
    const idx = titles.map((t) => heads.indexOf(t));
    const charts = document.querySelectorAll('.js-plotly-plot svg.main-svg, .js-plotly-plot canvas');
    const plots = document.querySelectorAll('.js-plotly-plot');
    if (idx.some((i) => i < 0) || plots.length < minCharts || charts.length < minCharts) return null;
    return { heads, idx, plots: plots.length, charts: charts.length };
  }, { titles: TITLES, minCharts: MIN_CHARTS }, { timeout: timeoutMs, polling: 250 })
    .then((h) => h.jsonValue())
    .catch(async (e) => {
      const heads = await page.locator('h1, h2, h3').allInnerTexts().catch(() => []);
      fail(`sections did not all render within ${timeoutMs / 1000}s (headings seen: ${JSON.stringify(heads)}): ${e.message}`);
    });
  const readyS = ((Date.now() - t0) / 1000).toFixed(1);
  if (state.exception) fail(`Streamlit exception on the page: ${state.exception.slice(0, 800)}`);
  const sorted = [...state.idx].every((v, i, a) => i === 0 || a[i - 1] < v);
  if (!sorted) fail(`section titles out of order: ${JSON.stringify(state.heads)}`);

  // Each plot must have drawn marks (bars, lines or pie slices), not just an empty frame.
  const marks = await page.locator('.js-plotly-plot').evaluateAll((els) => els.map((el) =>
    el.querySelectorAll('path.point, g.trace path, path.js-line, g.slice path.surface').length));
  const drawn = marks.filter((n) => n > 0).length;
  if (drawn < MIN_CHARTS) fail(`only ${drawn} of ${marks.length} charts drew marks: ${JSON.stringify(marks)}`);

  const exceptions = await page.locator('[data-testid="stException"]').count();
  if (exceptions) {
    const text = await page.locator('[data-testid="stException"]').first().innerText();
    fail(`Streamlit exception on the page: ${text.slice(0, 500)}`);
  }
  const errors = await page.locator('[data-testid="stAlertContentError"]').allInnerTexts();
  if (errors.length) fail(`error banner(s) on the page: ${errors.join(' | ').slice(0, 500)}`);
  const metrics = await page.locator('[data-testid="stMetric"]').count();
  if (metrics < 5) fail(`expected the KPI metrics, found ${metrics}`);
  if (pageErrors.length) fail(`JavaScript errors: ${pageErrors.join(' | ').slice(0, 500)}`);

  // Auto-refresh: the "Updated HH:MM:SS" stamp must move on by itself, sections intact.
  let refreshNote = '';
  const refreshS = Number(process.env.EXPECT_REFRESH_S || 0);
  if (refreshS > 0) {
    const stamp = () => page.evaluate(() => [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
      .map((e) => e.innerText).find((t) => t.startsWith('Updated ')) || '');
    const first = await stamp();
    if (!first) fail('no "Updated …" stamp on the page');
    const t1 = Date.now();
    await page.waitForFunction((old) => {
      const now = [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
        .map((e) => e.innerText).find((t) => t.startsWith('Updated ')) || '';
      return now && now !== old;
    }, first, { timeout: (3 * refreshS + 10) * 1000, polling: 200 })
      .catch(() => fail(`the page did not refresh itself within ${3 * refreshS + 10}s (still "${first}")`));
    const heads = await page.locator('h2').allInnerTexts();
    const missing = TITLES.filter((t) => !heads.includes(t));
    if (missing.length) fail(`after a refresh these sections are gone: ${missing}`);
    if (await page.locator('[data-testid="stException"]').count()) fail('exception after a refresh');
    refreshNote = `, refreshed itself after ${((Date.now() - t1) / 1000).toFixed(1)}s`;
  }

  // Streamlit scrolls inside its main block: grow the viewport to the content for the shot.
  const height = await page.evaluate(() => {
    const block = document.querySelector('[data-testid="stMainBlockContainer"]');
    if (!block) return document.body.scrollHeight;
    const main = document.querySelector('[data-testid="stMain"]');
    return block.getBoundingClientRect().bottom + (main ? main.scrollTop : 0);
  });
  await page.setViewportSize({ width: 1500, height: Math.round(Math.min(Math.max(height + 40, 1000), 12000)) });
  await page.waitForTimeout(300); // let Plotly re-lay out after the resize (cosmetic only)
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`browser: ${TITLES.length} sections in order, ${drawn}/${marks.length} charts drew, `
    + `${metrics} metrics, no exception${refreshNote}; sections ready after ${readyS}s; `
    + `screenshot ${shot}`);
} catch (e) {
  console.error(`browser: FAIL: ${e.message}`);
  process.exitCode = 1;
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
