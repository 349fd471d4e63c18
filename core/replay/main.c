/*
 * csg-replay — backtest a challenger adapter on stored applications (DESIGN §10,
 * docs/plugins.md "Backtest a challenger").
 *
 * Streams the stored events of an experiment from csg-persist (GET /export/events, paged
 * by id), scores each stored application through the named challenger's adapter in a
 * child process (candidate.c: the core's plugin loader and the adapter ABI, the live
 * path), and emits one MetricEvent per application through the configured event sink
 * (experiment_id "replay-<name>-<UTC time>", transport "replay", the stored champion
 * answer, never re-called). Ends with a report (report.c) on stdout and in --json FILE.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "application.h"
#include "candidate.h"
#include "config.h"
#include "csg_clock.h"
#include "csg_vocab.h"
#include "event.h"
#include "event_queue.h"
#include "fetch.h"
#include "publisher.h"
#include "report.h"
#include "util.h"

#define EXIT_ERROR 1
#define EXIT_USAGE 2
#define EXIT_NOT_BETTER 3
#define EXIT_CANDIDATE 4
#define EXIT_INTERRUPTED 130
#define HANG_GRACE_MS 1000 /* beyond the adapter's own timeout_ms before the child is hung */
#define MAX_HANGS 3        /* consecutive hangs before the replay gives up */

static const char usage[] =
    "usage: csg-replay --config FILE --challenger NAME [options]\n"
    "\n"
    "Backtest a challenger on stored applications: stream the stored events of an\n"
    "experiment from csg-persist, score each application through the challenger's adapter\n"
    "(a child process; the champion is never called, its stored answer is used), emit one\n"
    "MetricEvent per application under experiment_id replay-<name>-<UTC time> with\n"
    "transport \"replay\" through the config's event sink, and print a report: rows,\n"
    "errors/timeouts, candidate latency p50/p99, divergence, swap sets with bad rates,\n"
    "ΔAUC vs the champion with DeLong's 95%% CI on labelled rows, PSI.\n"
    "\n"
    "  --config FILE        experiments.yaml naming the challenger (its adapter, options,\n"
    "                       feature schema and events sink)\n"
    "  --challenger NAME    the challenger to backtest (a name under challengers:)\n"
    "  --from T, --to T     stored events in [from, to) (RFC 3339 or epoch seconds)\n"
    "  --experiment ID      stored experiment to replay (default: the config's experiment.id)\n"
    "  --labelled-only      only applicants whose outcome is known\n"
    "  --rate N             at most N applications per second (default: no limit)\n"
    "  --concurrency N      applications in flight to the candidate, 1-1024 (default 8)\n"
    "  --api URL            csg-persist (default http://127.0.0.1:8090); the token in\n"
    "                       CSG_API_TOKEN is sent as Authorization: Bearer\n"
    "  --ca-file F          CA certificates for an https:// --api\n"
    "  --json FILE          also write the report as JSON (keys as /metrics/performance)\n"
    "  --require-better     exit 3 unless the lower bound of the ΔAUC 95%% CI is above 0\n"
    "  --help               this text\n"
    "\n"
    "Events are spooled, when Kafka is down, under <events.spool_dir>/replay.\n"
    "Exit status: 0 done; 1 error (config, API); 2 usage; 3 --require-better not met;\n"
    "4 the candidate crashed or kept hanging (partial report); 130 interrupted (partial\n"
    "report).\n";

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

typedef struct opts {
    const char *config, *challenger, *from, *to, *experiment, *api, *ca_file, *json;
    bool labelled_only, require_better;
    double rate;
    long concurrency;
} opts;

/* One application in flight to the candidate. */
typedef struct slot {
    bool used;
    uint64_t seq;
    double sent_ms;
    csg_event *e;
    rp_row row;
    char applicant[CSG_EVENT_APPLICANT_ID_MAX + 1];
} slot;

typedef struct replay {
    opts o;
    csg_config *cfg;
    const csg_cfg_model *model;
    char experiment_id[CSG_EVENT_NAME_MAX + 1];
    const char *source;
    rp_api *api;
    rp_candidate *cand;
    char self[4096];
    csg_event_queue *queue;
    csg_publisher *pub;
    rp_report *report;
    csg_rng rng;
    slot *slots;
    size_t inflight;
    uint64_t seq;
    int hangs;
    bool gone; /* the candidate crashed or kept hanging */
    char stopped[256];
} replay;

static int parse_opts(int argc, char **argv, opts *o)
{
    static const struct option longs[] = {
        {"config", required_argument, NULL, 'c'},   {"challenger", required_argument, NULL, 'n'},
        {"from", required_argument, NULL, 'f'},     {"to", required_argument, NULL, 't'},
        {"experiment", required_argument, NULL, 'e'}, {"labelled-only", no_argument, NULL, 'l'},
        {"rate", required_argument, NULL, 'r'},     {"concurrency", required_argument, NULL, 'k'},
        {"api", required_argument, NULL, 'a'},      {"ca-file", required_argument, NULL, 'C'},
        {"json", required_argument, NULL, 'j'},     {"require-better", no_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    *o = (opts){.api = "http://127.0.0.1:8090", .concurrency = 8};
    int ch;
    char *end;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'c': o->config = optarg; break;
        case 'n': o->challenger = optarg; break;
        case 'f': o->from = optarg; break;
        case 't': o->to = optarg; break;
        case 'e': o->experiment = optarg; break;
        case 'l': o->labelled_only = true; break;
        case 'a': o->api = optarg; break;
        case 'C': o->ca_file = optarg; break;
        case 'j': o->json = optarg; break;
        case 'b': o->require_better = true; break;
        case 'r':
            errno = 0;
            o->rate = strtod(optarg, &end);
            if (errno || end == optarg || *end || !isfinite(o->rate) || o->rate <= 0) {
                fprintf(stderr, "csg-replay: --rate %s: must be a positive number\n", optarg);
                return -1;
            }
            break;
        case 'k':
            errno = 0;
            o->concurrency = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || o->concurrency < 1 || o->concurrency > 1024) {
                fprintf(stderr, "csg-replay: --concurrency %s: must be an integer from 1 to 1024\n",
                        optarg);
                return -1;
            }
            break;
        case 'h': fputs(usage, stdout); exit(0);
        default: fputs(usage, stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "csg-replay: unexpected argument %s\n", argv[optind]);
        return -1;
    }
    if (!o->config || !o->challenger) {
        fprintf(stderr, "csg-replay: --config and --challenger are required (--help)\n");
        return -1;
    }
    return 0;
}

/* "2026-12-06T13:05:00.123Z" (what csg-persist writes) → epoch ms; 0 when unreadable. */
static int64_t parse_ts(const char *s)
{
    struct tm tm = {0};
    int ms = 0, used = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6)
        return 0;
    if (s[used] == '.') {
        int digits = 0;
        for (const char *p = s + used + 1; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                ms = ms * 10 + (*p - '0');
        for (; digits < 3; digits++)
            ms *= 10;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

static signed char decision_of(const json_t *v)
{
    const char *d = json_string_value(v);
    return d && !strcmp(d, "approve") ? 1 : d && !strcmp(d, "decline") ? 0 : -1;
}

/* The stored event's application: its features, else the brief's three columns. */
static char *application_json(const json_t *row)
{
    json_t *app = json_object();
    json_t *f = json_object_get(row, "features");
    if (json_is_object(f) && json_object_size(f) > 0) {
        json_object_update(app, f);
    } else {
        static const char *const brief[] = {"income", "loan_amount", "credit_history"};
        for (size_t i = 0; i < 3; i++) {
            json_t *v = json_object_get(row, brief[i]);
            if (v && !json_is_null(v))
                json_object_set(app, brief[i], v);
        }
    }
    json_object_set(app, "applicant_id", json_object_get(row, "applicant_id"));
    char *text = json_dumps(app, JSON_COMPACT);
    json_decref(app);
    return text;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* Hand a finished event to the publisher; waits while the queue is full (a batch tool
 * may apply back-pressure; the gateway's workers drop instead). */
static void emit(replay *rp, csg_event *e)
{
    while (!csg_event_queue_push(rp->queue, e)) {
        csg_publisher_notify(rp->pub);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    csg_publisher_notify(rp->pub);
}

/* Finish slot s with the candidate's status (and answer a when it answered). */
static void finish(replay *rp, slot *s, csg_score_status st, const rp_answer *a, double latency)
{
    csg_event *e = s->e;
    copy_str(e->challenger_model, sizeof e->challenger_model, rp->model->name);
    e->latency_challenger_ms = latency;
    e->challenger_ok = st == CSG_SCORE_OK;
    if (e->challenger_ok) {
        e->challenger_score = a->score;
        e->challenger_decision = a->decision;
        e->challenger_reasons = a->reasons;
    }
    if (e->status == CSG_EVENT_OK && st != CSG_SCORE_OK)
        e->status = st == CSG_SCORE_TIMEOUT ? CSG_EVENT_CHALLENGER_TIMEOUT : CSG_EVENT_CHALLENGER_ERROR;
    /* The `challengers` array repeats it (DESIGN §6), in shadow. */
    csg_event_chal *ec = &e->chal[0];
    copy_str(ec->model, sizeof ec->model, rp->model->name);
    ec->ok = e->challenger_ok;
    ec->score = e->challenger_score;
    ec->decision = e->challenger_decision;
    ec->reasons = e->challenger_reasons;
    ec->latency_ms = latency;
    ec->status = st == CSG_SCORE_OK        ? CSG_EVENT_OK
                 : st == CSG_SCORE_TIMEOUT ? CSG_EVENT_CHALLENGER_TIMEOUT
                                           : CSG_EVENT_CHALLENGER_ERROR;
    rp_row *row = &s->row;
    row->candidate_ok = e->challenger_ok;
    row->candidate_status = st == CSG_SCORE_OK ? 0 : st == CSG_SCORE_TIMEOUT ? 2 : 1;
    row->latency_ms = latency;
    if (e->challenger_ok) {
        row->s_candidate = a->score;
        row->d_candidate = a->decision == CSG_DECISION_APPROVE ? 1 : 0;
    }
    row->applicant_id = s->applicant;
    if (rp_report_add(rp->report, row)) {
        fprintf(stderr, "csg-replay: out of memory\n");
        exit(EXIT_ERROR);
    }
    emit(rp, e);
    s->e = NULL;
    s->used = false;
    rp->inflight--;
}

static void on_answer(void *ctx, const rp_answer *a)
{
    replay *rp = ctx;
    for (long i = 0; i < rp->o.concurrency; i++) {
        slot *s = &rp->slots[i];
        if (s->used && s->seq == a->seq) {
            if (a->status == CSG_SCORE_OK)
                rp->hangs = 0;
            finish(rp, s, a->status, a, a->latency_ms);
            return;
        }
    }
}

/* Every slot still in flight gets status st (the child hung or crashed). */
static void fail_inflight(replay *rp, csg_score_status st)
{
    double now = csg_now_ms();
    for (long i = 0; i < rp->o.concurrency; i++)
        if (rp->slots[i].used)
            finish(rp, &rp->slots[i], st, NULL, now - rp->slots[i].sent_ms);
}

static int start_candidate(replay *rp)
{
    csg_error err = {{0}};
    if (rp_candidate_start(rp->self, rp->o.config, rp->o.challenger, &rp->cand, &err)) {
        fprintf(stderr, "csg-replay: %s\n", err.message);
        return -1;
    }
    return 0;
}

/* Read answers for up to wait_ms; handle a crashed or hung child. */
static void pump(replay *rp, int wait_ms)
{
    char why[128];
    if (rp_candidate_poll(rp->cand, wait_ms, on_answer, rp, why, sizeof why) == 1) {
        rp_candidate_kill(rp->cand);
        rp->cand = NULL;
        fail_inflight(rp, CSG_SCORE_ERROR);
        snprintf(rp->stopped, sizeof rp->stopped, "the candidate %s", why);
        rp->gone = true;
        return;
    }
    double oldest = INFINITY, now = csg_now_ms();
    for (long i = 0; i < rp->o.concurrency; i++)
        if (rp->slots[i].used && rp->slots[i].sent_ms < oldest)
            oldest = rp->slots[i].sent_ms;
    if (now - oldest <= (double)rp->model->timeout_ms + HANG_GRACE_MS)
        return;
    /* Hung: the adapter missed its own timeout by the grace. Count, restart, go on. */
    fprintf(stderr, "csg-replay: the candidate did not answer within %u ms + %d ms: "
            "restarting it (%zu in flight counted as timeouts)\n",
            rp->model->timeout_ms, HANG_GRACE_MS, rp->inflight);
    rp_candidate_kill(rp->cand);
    rp->cand = NULL;
    fail_inflight(rp, CSG_SCORE_TIMEOUT);
    if (++rp->hangs >= MAX_HANGS || start_candidate(rp)) {
        snprintf(rp->stopped, sizeof rp->stopped,
                 "the candidate hung %d times in a row (timeout_ms %u)", rp->hangs,
                 rp->model->timeout_ms);
        rp->gone = true;
    }
}

/* Prepare one stored row and send it to the candidate (a free slot exists). */
static void submit(replay *rp, const json_t *row)
{
    const char *aid = json_string_value(json_object_get(row, "applicant_id"));
    char *text = application_json(row);
    csg_application *app = NULL;
    csg_parse_error perr;
    if (!aid || !text ||
        csg_app_parse(rp->cfg->schema, text, strlen(text), &app, NULL, &perr) != CSG_PARSE_OK) {
        rp_report_skip(rp->report, aid ? aid : "?", text ? perr.message : "out of memory");
        free(text);
        return;
    }
    free(text);
    csg_event *e = csg_event_new(app, 1); /* the candidate: the event's one challenger */
    size_t len;
    const char *json = csg_app_json(app, &len);
    slot *s = NULL;
    for (long i = 0; i < rp->o.concurrency && !s; i++)
        if (!rp->slots[i].used)
            s = &rp->slots[i];
    if (!e || !s || rp_candidate_send(rp->cand, ++rp->seq, json, len)) {
        fprintf(stderr, "csg-replay: out of memory\n");
        exit(EXIT_ERROR);
    }
    csg_app_free(app);
    csg_uuid4(&rp->rng, e->event_id);
    copy_str(e->experiment_id, sizeof e->experiment_id, rp->experiment_id);
    copy_str(e->transport, sizeof e->transport, "replay");
    memcpy(e->config_version, rp->cfg->version, sizeof e->config_version);
    copy_str(e->champion_model, sizeof e->champion_model,
             json_string_value(json_object_get(row, "champion_model")));
    json_t *cs = json_object_get(row, "champion_score");
    e->champion_ok = json_is_number(cs);
    e->champion_score = json_number_value(cs);
    signed char dc = decision_of(json_object_get(row, "champion_decision"));
    e->champion_decision = dc == 1 ? CSG_DECISION_APPROVE : dc == 0 ? CSG_DECISION_DECLINE
                                                                    : CSG_DECISION_NONE;
    json_t *rs = json_object_get(row, "champion_reasons"), *v;
    size_t i;
    json_array_foreach(rs, i, v)
    {
        if (e->champion_reasons.count >= CSG_REASONS_MAX || !json_string_value(v))
            break;
        copy_str(e->champion_reasons.code[e->champion_reasons.count++],
                 sizeof e->champion_reasons.code[0], json_string_value(v));
    }
    e->latency_champion_ms = json_number_value(json_object_get(row, "latency_champion_ms"));
    e->timestamp_ms = parse_ts(json_string_value(json_object_get(row, "timestamp")));
    const char *st = json_string_value(json_object_get(row, "status"));
    e->status = st && !strcmp(st, "CHAMPION_TIMEOUT") ? CSG_EVENT_CHAMPION_TIMEOUT
                : st && !strcmp(st, "CHAMPION_ERROR") ? CSG_EVENT_CHAMPION_ERROR
                                                      : CSG_EVENT_OK;
    if (e->status != CSG_EVENT_OK)
        e->champion_ok = false;
    json_t *bad = json_object_get(row, "defaulted");
    *s = (slot){.used = true, .seq = rp->seq, .sent_ms = csg_now_ms(), .e = e};
    copy_str(s->applicant, sizeof s->applicant, aid);
    s->row = (rp_row){.timestamp_ms = e->timestamp_ms,
                      .id = json_integer_value(json_object_get(row, "id")),
                      .champion_ok = e->champion_ok,
                      .s_champion = e->champion_score, .d_champion = dc,
                      .d_candidate = -1,
                      .defaulted = json_is_boolean(bad) ? (json_is_true(bad) ? 1 : 0) : -1};
    rp->inflight++;
}

/* Append "&name=value" (value percent-encoded) to q. */
static void add_param(char *q, size_t cap, const char *name, const char *value)
{
    char enc[1024];
    if (!value)
        return;
    rp_url_encode(value, enc, sizeof enc);
    size_t n = strlen(q);
    snprintf(q + n, cap - n, "&%s=%s", name, enc);
}

/* GET target; 0 and *body with a 200, else a message on stderr and -1. */
static int api_get(replay *rp, const char *target, char **body, size_t *len)
{
    csg_error err = {{0}};
    int status = 0;
    if (rp_api_get(rp->api, target, &status, body, len, &err)) {
        fprintf(stderr, "csg-replay: %s\n", err.message);
        return -1;
    }
    if (status == 200)
        return 0;
    json_t *j = json_loads(*body, 0, NULL);
    json_t *e = json_object_get(j, "error");
    const char *param = json_string_value(json_object_get(e, "parameter"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    fprintf(stderr, "csg-replay: csg-persist answered %d to GET %s%s%s: %s\n", status, target,
            param ? ": parameter " : "", param ? param : "", msg ? msg : *body);
    json_decref(j);
    free(*body);
    *body = NULL;
    return -1;
}

static void filters(const replay *rp, char *q, size_t cap)
{
    add_param(q, cap, "experiment_id", rp->source);
    add_param(q, cap, "from", rp->o.from);
    add_param(q, cap, "to", rp->o.to);
}

/* The number of stored events to replay, for the progress line; -1 when unknown. */
static long long count_rows(replay *rp)
{
    char q[4096] = "/metrics/events?limit=1";
    filters(rp, q, sizeof q);
    char *body = NULL;
    size_t len;
    if (api_get(rp, q, &body, &len))
        return -1;
    json_t *j = json_loads(body, 0, NULL);
    free(body);
    long long n = json_is_integer(json_object_get(j, "total"))
                      ? (long long)json_integer_value(json_object_get(j, "total"))
                      : -1;
    json_decref(j);
    return n;
}

/* The next page of stored events after *after_id: a JSON array (maybe empty). */
static json_t *fetch_page(replay *rp, int64_t *after_id, bool *end)
{
    enum { PAGE = 1000 };
    char q[4096];
    snprintf(q, sizeof q, "/export/events?limit=%d&after_id=%lld", PAGE, (long long)*after_id);
    filters(rp, q, sizeof q);
    if (rp->o.labelled_only)
        add_param(q, sizeof q, "labelled", "true");
    char *body = NULL;
    size_t len;
    if (api_get(rp, q, &body, &len))
        return NULL;
    json_t *page = json_array();
    char *line = body;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        json_t *row = json_loads(line, 0, NULL);
        if (json_is_object(row)) {
            json_int_t id = json_integer_value(json_object_get(row, "id"));
            if (id > *after_id)
                *after_id = id;
            json_array_append_new(page, row);
        } else {
            json_decref(row);
        }
        line = nl ? nl + 1 : NULL;
    }
    free(body);
    *end = json_array_size(page) < PAGE;
    return page;
}

static void progress(const replay *rp, long long total, double t0, bool tty, double *last,
                     bool final)
{
    double now = csg_now_ms();
    if (!final && now - *last < (tty ? 200.0 : 5000.0))
        return;
    *last = now;
    size_t done = rp_report_rows(rp->report);
    double rate = (double)done / ((now - t0) / 1000.0 + 1e-9);
    char eta[32] = "";
    if (total > 0 && rate > 0 && (long long)done < total) {
        long s = (long)((double)(total - (long long)done) / rate);
        snprintf(eta, sizeof eta, "  ETA %ld:%02ld", s / 60, s % 60);
    }
    char of[32] = "";
    if (total >= 0)
        snprintf(of, sizeof of, "/%lld", total);
    if (tty) {
        int width = 30, fill = total > 0 ? (int)((double)width * (double)done / (double)total) : 0;
        char bar[32];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        if (total > 0)
            fprintf(stderr, "\r[%s] %zu%s rows  %.0f rows/s%s   %s", bar, done, of, rate, eta,
                    final ? "\n" : "");
        else
            fprintf(stderr, "\r%zu rows  %.0f rows/s   %s", done, rate, final ? "\n" : "");
    } else {
        fprintf(stderr, "csg-replay: %zu%s rows replayed (%.0f rows/s)%s\n", done, of, rate, eta);
    }
}

static int run(replay *rp)
{
    /* /metrics/events counts every stored row: no total (and no ETA) when only the
     * labelled ones are replayed. */
    long long total = rp->o.labelled_only ? -1 : count_rows(rp);
    bool tty = isatty(STDERR_FILENO), end = false;
    double t0 = csg_now_ms(), last = 0.0;
    uint64_t sent = 0;
    int64_t after = 0;
    json_t *page = NULL;
    size_t at = 0;
    int rc = 0;
    while (!g_stop && !rp->gone) {
        if ((!page || at == json_array_size(page)) && !end) {
            json_decref(page);
            at = 0;
            if (!(page = fetch_page(rp, &after, &end))) {
                snprintf(rp->stopped, sizeof rp->stopped, "csg-persist failed (see above)");
                rc = EXIT_ERROR;
                break;
            }
        }
        bool more = at < json_array_size(page);
        if (!more && end && rp->inflight == 0)
            break;
        int wait = 50;
        while (more && rp->inflight < (size_t)rp->o.concurrency && !g_stop) {
            if (rp->o.rate > 0) {
                double due = t0 + (double)sent * 1000.0 / rp->o.rate, now = csg_now_ms();
                if (due > now) {
                    wait = (int)(due - now) + 1;
                    break;
                }
            }
            submit(rp, json_array_get(page, at++));
            sent++;
            more = at < json_array_size(page);
        }
        /* Block for answers, or until the rate allows the next one; else just look. */
        pump(rp, rp->inflight || (more && rp->o.rate > 0) ? wait : 0);
        progress(rp, total, t0, tty, &last, false);
    }
    json_decref(page);
    if (g_stop) {
        size_t lost = rp->inflight;
        rp_candidate_kill(rp->cand);
        rp->cand = NULL;
        for (long i = 0; i < rp->o.concurrency; i++)
            if (rp->slots[i].used) {
                free(rp->slots[i].e); /* never emitted: nothing half-written */
                rp->slots[i].used = false;
            }
        rp->inflight = 0;
        snprintf(rp->stopped, sizeof rp->stopped,
                 "interrupted (%zu applications in flight discarded, no event emitted for them)",
                 lost);
        rc = EXIT_INTERRUPTED;
    } else if (rp->gone) {
        rc = EXIT_CANDIDATE;
    }
    progress(rp, total, t0, tty, &last, true);
    return rc;
}

static int setup(replay *rp, csg_error *err)
{
    csg_errlist errs = {0};
    /* No registry: the parent never loads a plugin; the child does (candidate.c). */
    if (csg_config_load(rp->o.config, NULL, &rp->cfg, &errs) != 0) {
        for (size_t i = 0; i < errs.count; i++)
            fprintf(stderr, "%s\n", errs.items[i]);
        csg_errlist_free(&errs);
        return csg_fail(err, CSG_EINVAL, "%s: invalid configuration", rp->o.config);
    }
    for (size_t i = 0; i < rp->cfg->n_challengers; i++)
        if (!strcmp(rp->cfg->challengers[i].name, rp->o.challenger))
            rp->model = &rp->cfg->challengers[i];
    if (!rp->model)
        return csg_fail(err, CSG_EINVAL, "%s: no challenger named %s (the champion is never "
                        "replayed: its stored answers are the reference)",
                        rp->o.config, rp->o.challenger);
    rp->source = rp->o.experiment ? rp->o.experiment : rp->cfg->experiment_id;
    char when[20];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y%m%dT%H%M%SZ", gmtime(&now));
    /* "replay-" + name + "-" + time within CSG_EVENT_NAME_MAX: long names are cut. */
    int room = CSG_EVENT_NAME_MAX - 8 - (int)strlen(when);
    snprintf(rp->experiment_id, sizeof rp->experiment_id, "replay-%.*s-%s", room,
             rp->o.challenger, when);
    if (!strcmp(rp->experiment_id, rp->source) ||
        !strcmp(rp->experiment_id, rp->cfg->experiment_id))
        return csg_fail(err, CSG_EINVAL, "refusing to write to the live experiment id %s",
                        rp->experiment_id);
    ssize_t n = readlink("/proc/self/exe", rp->self, sizeof rp->self - 1);
    if (n <= 0)
        return csg_fail(err, CSG_EIO, "cannot find my own executable: %s", strerror(errno));
    rp->self[n] = '\0';
    const char *token = getenv("CSG_API_TOKEN");
    int rc = rp_api_open(rp->o.api, rp->o.ca_file, token, &rp->api, err);
    if (rc)
        return rc;
    if (!(rp->report = rp_report_new()) ||
        !(rp->slots = calloc((size_t)rp->o.concurrency, sizeof *rp->slots)) ||
        !(rp->queue = csg_event_queue_new((size_t)rp->cfg->queue_capacity)))
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    /* A spool of its own: the live gateway holds the lock on spool_dir. */
    char spool[4096];
    snprintf(spool, sizeof spool, "%s/replay", rp->cfg->spool_dir);
    mkdir(rp->cfg->spool_dir, 0755);
    mkdir(spool, 0755);
    csg_sink_config sc = {.sink = rp->cfg->sink, .brokers = rp->cfg->kafka_brokers,
                          .topic = rp->cfg->topic, .spool_dir = spool,
                          .spool_max_bytes = rp->cfg->spool_max_bytes};
    if ((rc = csg_publisher_start(rp->queue, &sc, &rp->pub, err)))
        return rc;
    csg_rng_seed(&rp->rng);
    return start_candidate(rp) ? csg_fail(err, CSG_EIO, "cannot start the candidate") : 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--candidate-child"))
        return rp_candidate_child_main(argv[2], argv[3]);
    replay rp = {0};
    if (parse_opts(argc, argv, &rp.o))
        return EXIT_USAGE;
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: poll wakes up */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    csg_error err = {{0}};
    double t0 = csg_now_ms();
    int rc = setup(&rp, &err);
    if (rc) {
        fprintf(stderr, "csg-replay: %s\n", err.message);
        rc = EXIT_ERROR;
        goto out;
    }
    fprintf(stderr, "csg-replay: replaying experiment %s through %s as %s\n", rp.source,
            rp.o.challenger, rp.experiment_id);
    rc = run(&rp);
    if (rp.cand) {
        rp_candidate_finish(rp.cand, 5000);
        rp.cand = NULL;
    }
    csg_publisher_stop(rp.pub, 30000); /* every emitted event delivered or spooled */
    rp.pub = NULL;
    rp_meta meta = {.experiment_id = rp.experiment_id, .source_experiment = rp.source,
                    .champion = rp.cfg->champion.name, .candidate = rp.o.challenger,
                    .config_version = rp.cfg->version,
                    .stopped = rp.stopped[0] ? rp.stopped : NULL,
                    .elapsed_s = (csg_now_ms() - t0) / 1000.0};
    json_t *rep = rp_report_json(rp.report, &meta, &err);
    if (!rep) {
        fprintf(stderr, "csg-replay: %s\n", err.message);
        rc = EXIT_ERROR;
        goto out;
    }
    rp_report_print(rep, stdout);
    fflush(stdout);
    if (rp.o.json && json_dump_file(rep, rp.o.json, JSON_INDENT(2)) != 0) {
        fprintf(stderr, "csg-replay: cannot write %s\n", rp.o.json);
        rc = rc ? rc : EXIT_ERROR;
    }
    if (rc == 0 && rp.o.require_better) {
        json_t *ci = json_object_get(rep, "ci95");
        json_t *lo = json_array_get(ci, 0);
        bool better = json_is_number(lo) && json_number_value(lo) > 0.0;
        fprintf(stderr, "csg-replay: --require-better: %s\n",
                better ? "the ΔAUC CI's lower bound is above 0"
                       : "not met (the ΔAUC CI's lower bound is not above 0)");
        rc = better ? 0 : EXIT_NOT_BETTER;
    }
    json_decref(rep);
out:
    rp_candidate_kill(rp.cand);
    if (rp.pub)
        csg_publisher_stop(rp.pub, 30000);
    if (rp.queue)
        csg_event_queue_free(rp.queue);
    rp_report_free(rp.report);
    free(rp.slots);
    rp_api_close(rp.api);
    csg_config_unref(rp.cfg);
    return rc;
}
