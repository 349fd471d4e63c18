"""docs/alerts.yml (issue 22): promtool accepts the rules, and its unit tests
(alerts.test.yml) show each alert firing after its `for:` and staying quiet before and
below its threshold. promtool comes from Debian's prometheus package (scripts/bootstrap)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("promtool")
    assert exe, "promtool is missing: run scripts/bootstrap (Debian package prometheus)"
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          check=False)


def test_rules_are_valid() -> None:
    r = promtool("check", "rules", "docs/alerts.yml", cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS: 4 rules found" in r.stdout


def test_rules_fire_as_documented() -> None:
    r = promtool("test", "rules", "alerts.test.yml", cwd=HERE)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout
