/* fuzz_model_reply.c — libFuzzer target for rest.so's reading of a model's
 * reply: the real adapters/rest/rest.c, rest_adapter.c + rest_reply.c (llhttp framing, EOF
 * handling, the body check) linked in and driven through the adapter ABI,
 * against a fake model on loopback whose byte stream is the input.
 *
 * Input: byte 0 = flags: bit 0 = then EOF (the model closes its side after the
 * stream; else it stays silent until the calls time out), bits 1-2 = calls - 1
 * (1-4, on one connection), bit 3 = pipeline (else the calls queue for it);
 * byte 1 = bytes per send() (0: all at once); the rest = what the model sends.
 * Further connections (retries) are reset at once.
 *
 * Oracle: every call is answered exactly once, never from inside score_async;
 * OK carries a score in [0, 1] and approve or decline, finite points if any,
 * at most 4 reasons that each pass lib/csg_reason.h with no code twice and
 * none on an approve; any other status a reason; with EOF every call is settled at once — none waits for its timeout,
 * and the first call gets the verdict of a one-shot llhttp parse of the whole
 * stream (finished at the EOF) and rest_reply_check: OK with that score, points and
 * reasons when the first final reply is complete, 200 and a good body; an
 * error otherwise; and rest_reply_check (scanner first) gives the same verdict,
 * words and answer as rest_reply_check_jansson on that body.
 * (Later calls are left out: which reply a queued call gets depends on when
 * it was sent.)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "application.h" /* the core's application, as a test host hands it */
#include "csg_reason.h"
#include "options.h"
#include "csg/plugin.h"
#include "llhttp.h"
#include "rest_reply.h"

#define F_EOF 0x01
#define F_PIPELINE 0x08
#define MAX_CALLS 4
#define EOF_TIMEOUT_MS 5000 /* with EOF no call may get near it */
#define SILENT_TIMEOUT_MS 20
#define DEADLINE_MS 3000 /* wall clock for one input, far above both */
#define REF_BODY_MAX 32768 /* well under rest.so's own body limit (64 KiB) */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const csg_plugin_header *csg_plugin_entry(void);

static struct {
    bool ready;
    struct event_base *base;
    const csg_model_adapter *ad;
    csg_core_api api;
    csg_schema *schema;
    csg_application *app;
    int lfd;
    char url[64];
    int srv; /* the model's side of the first connection, -1: none yet */
    bool in_score;
    unsigned answered;
    bool done[MAX_CALLS];
    csg_score_status status[MAX_CALLS];
    double score0;
    csg_decision decision0;
    rest_answer answer0; /* call 0's points and reasons, copied out of its callback */
} g;

/* The reference reading of the stream: its first final (non-1xx) reply. */
static struct {
    bool complete, big;
    int status;
    size_t len;
    char body[REF_BODY_MAX];
} ref;

static int ref_begin(llhttp_t *p)
{
    (void)p;
    ref.len = 0;
    ref.big = false;
    return 0;
}

static int ref_body(llhttp_t *p, const char *at, size_t n)
{
    (void)p;
    if (n > sizeof ref.body - ref.len) {
        ref.big = true;
    } else {
        memcpy(ref.body + ref.len, at, n);
        ref.len += n;
    }
    return 0;
}

static int ref_complete(llhttp_t *p)
{
    int st = llhttp_get_status_code(p);
    if (st >= 100 && st < 200)
        return 0;
    ref.complete = true;
    ref.status = st;
    return HPE_PAUSED; /* the rest of the stream is not the first call's */
}

static const llhttp_settings_t ref_settings = {
    .on_message_begin = ref_begin, .on_body = ref_body, .on_message_complete = ref_complete};

static void ref_parse(const uint8_t *data, size_t size, bool eof)
{
    llhttp_t p;
    llhttp_init(&p, HTTP_RESPONSE, &ref_settings);
    ref.complete = false;
    llhttp_execute(&p, (const char *)data, size);
    if (eof)
        llhttp_finish(&p);
}

static void fz_log(csg_log_level level, const char *component, const char *fmt, ...)
{
    (void)level;
    (void)component;
    (void)fmt; /* rest.so logs fixed texts and its own strings: nothing to check */
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void reset_close(int fd)
{
    struct linger lg = {1, 0}; /* RST: no TIME_WAIT over millions of inputs */
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

static void on_result(void *ctx, const csg_score_result *r)
{
    size_t i = (size_t)(uintptr_t)ctx;
    if (g.in_score || g.done[i])
        __builtin_trap(); /* from inside score_async, or twice */
    if (r->status == CSG_SCORE_OK) {
        if (!(r->score >= 0 && r->score <= 1) ||
            (r->decision != CSG_DECISION_APPROVE && r->decision != CSG_DECISION_DECLINE))
            __builtin_trap();
        if (!CSG_STRUCT_HAS(r, csg_score_result, reasons) || r->reason_count > CSG_REASONS_MAX ||
            (r->has_points && !isfinite(r->points)) ||
            (r->reason_count && r->decision == CSG_DECISION_APPROVE))
            __builtin_trap();
        for (unsigned k = 0; k < r->reason_count; k++) {
            const csg_reason *x = &r->reasons[k];
            if (!x->feature ||
                csg_reason_check(x->code, strlen(x->code), x->feature, strlen(x->feature),
                                 x->text, strlen(x->text), false) != CSG_REASON_OK)
                __builtin_trap();
            for (unsigned m = 0; m < k; m++)
                if (!strcmp(r->reasons[m].code, x->code))
                    __builtin_trap();
            if (i == 0) {
                rest_reason *o = &g.answer0.reasons[k];
                snprintf(o->code, sizeof o->code, "%s", x->code);
                snprintf(o->feature, sizeof o->feature, "%s", x->feature);
                snprintf(o->text, sizeof o->text, "%s", x->text);
            }
        }
        if (i == 0) {
            g.answer0.has_points = r->has_points;
            g.answer0.points = r->points;
            g.answer0.reason_count = r->reason_count;
        }
    } else if (!r->error || !strlen(r->error)) {
        __builtin_trap();
    }
    g.done[i] = true;
    g.status[i] = r->status;
    g.score0 = i == 0 ? r->score : g.score0;
    g.decision0 = i == 0 ? r->decision : g.decision0;
    g.answered++;
}

/* One loop turn, then the model side: accept (the first connection is kept,
 * later ones are reset) and read what rest.so sent, so the close is clean. */
static void turn(void)
{
    event_base_loop(g.base, EVLOOP_NONBLOCK);
    int fd;
    while ((fd = accept(g.lfd, NULL, NULL)) >= 0) {
        if (g.srv < 0) {
            fcntl(fd, F_SETFL, O_NONBLOCK);
            g.srv = fd;
        } else {
            reset_close(fd);
        }
    }
    char sink[4096];
    while (g.srv >= 0 && recv(g.srv, sink, sizeof sink, 0) > 0) {
    }
}

static int setup(void)
{
    g.base = event_base_new();
    g.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (!g.base || g.lfd < 0 || bind(g.lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(g.lfd, 64) != 0 || getsockname(g.lfd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    snprintf(g.url, sizeof g.url, "http://127.0.0.1:%u/score", ntohs(a.sin_port));
    g.ad = (const csg_model_adapter *)csg_plugin_entry();
    g.api = (csg_core_api){.size = sizeof g.api, .abi_major = CSG_ABI_MAJOR,
                           .abi_minor = CSG_ABI_MINOR, .log = fz_log};
    csg_app_api_fill(&g.api); /* the core's application accessors (rest.so: app_json) */
    g.api.options_apply = csg_options_apply;
    g.schema = csg_schema_default();
    static const char app_json[] =
        "{\"applicant_id\":\"fuzz\",\"income\":131,\"loan_amount\":1000,\"credit_history\":1}";
    if (csg_app_parse(g.schema, app_json, sizeof app_json - 1, &g.app, NULL, NULL) != CSG_PARSE_OK)
        return -1;
    g.ready = true;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || (!g.ready && setup() != 0))
        return 0;
    unsigned flags = data[0], chunk = data[1] ? data[1] : 65536;
    unsigned ncalls = 1 + ((flags >> 1) & 3);
    bool eof = flags & F_EOF;
    data += 2;
    size -= 2;

    /* rest.so's option rows: url, pool_size, pipeline, pipeline_depth, max_queue, then
     * the https ones (ca_file, client_cert, client_key: absent); room for a few more. */
    bool pipeline = flags & F_PIPELINE;
    csg_option_value opt[16] = {{.is_set = true, .str = g.url},
                               {.is_set = true, .i = 1, .d = 1},
                               {.is_set = true, .b = pipeline, .i = pipeline},
                               {.is_set = true, .i = MAX_CALLS, .d = MAX_CALLS},
                               {0}};
    if (!csg_options_defaults(g.ad->options, opt)) /* max_queue: its table default */
        __builtin_trap();
    csg_adapter_config cfg = {.size = sizeof cfg, .model_name = "fuzz",
                              .timeout_ms = eof ? EOF_TIMEOUT_MS : SILENT_TIMEOUT_MS,
                              .options = opt, .config_file = "(fuzz)"};
    void *inst = NULL;
    csg_error err;
    if (g.ad->create(&cfg, &g.api, g.base, &inst, &err) != 0)
        __builtin_trap();
    g.srv = -1;
    g.answered = 0;
    memset(g.done, 0, sizeof g.done);
    g.in_score = true;
    for (unsigned i = 0; i < ncalls; i++)
        g.ad->score_async(inst, g.app, on_result, (void *)(uintptr_t)i);
    g.in_score = false;

    uint64_t deadline = mono_ms() + DEADLINE_MS;
    while (g.srv < 0 && g.answered < ncalls && mono_ms() < deadline)
        turn();
    size_t off = 0;
    while (g.srv >= 0 && off < size && mono_ms() < deadline) {
        size_t n = size - off < chunk ? size - off : chunk;
        ssize_t w = send(g.srv, data + off, n, MSG_NOSIGNAL);
        if (w > 0)
            off += (size_t)w;
        else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            break; /* rest.so closed its side (e.g. a malformed reply) */
        turn();
    }
    if (g.srv >= 0 && eof) {
        turn(); /* let rest.so read and write what it will before the FIN */
        shutdown(g.srv, SHUT_WR);
    }
    while (g.answered < ncalls && mono_ms() < deadline)
        turn();
    if (g.answered < ncalls)
        __builtin_trap(); /* a call never answered */
    for (unsigned i = 0; eof && i < ncalls; i++)
        if (g.status[i] == CSG_SCORE_TIMEOUT)
            __builtin_trap(); /* the model closed, yet the call waited for its timeout */
    if (eof) {
        ref_parse(data, size, true);
        static rest_answer a, b;
        const char *verdict = ref.complete && !ref.big && ref.status == 200
                                  ? rest_reply_check(ref.body, ref.len, &a)
                                  : "not a complete 200";
        bool good = verdict == NULL;
        /* the allocation-free scanner agrees with jansson, word for word */
        if (ref.complete && !ref.big && ref.status == 200) {
            const char *jv = rest_reply_check_jansson(ref.body, ref.len, &b);
            if ((jv == NULL) != good || (jv && strcmp(jv, verdict) != 0) ||
                (good && (a.score != b.score || a.decision != b.decision ||
                          a.reason_count != b.reason_count || a.has_points != b.has_points ||
                          (a.has_points && a.points != b.points))))
                __builtin_trap();
            for (unsigned k = 0; good && k < a.reason_count; k++)
                if (strcmp(a.reasons[k].code, b.reasons[k].code) ||
                    strcmp(a.reasons[k].feature, b.reasons[k].feature) ||
                    strcmp(a.reasons[k].text, b.reasons[k].text))
                    __builtin_trap();
        }
        if (!ref.big && (good != (g.status[0] == CSG_SCORE_OK) ||
                         (good && (a.score != g.score0 || a.decision != g.decision0 ||
                                   a.has_points != g.answer0.has_points ||
                                   (a.has_points && a.points != g.answer0.points) ||
                                   a.reason_count != g.answer0.reason_count))))
            __builtin_trap(); /* rest.so read the stream differently */
        for (unsigned k = 0; good && k < a.reason_count; k++)
            if (strcmp(a.reasons[k].code, g.answer0.reasons[k].code) ||
                strcmp(a.reasons[k].feature, g.answer0.reasons[k].feature) ||
                strcmp(a.reasons[k].text, g.answer0.reasons[k].text))
                __builtin_trap();
    }

    if (g.srv >= 0)
        reset_close(g.srv);
    g.ad->destroy(inst);
    /* A connection opened but not yet accepted must not be the next input's. */
    int fd;
    while ((fd = accept(g.lfd, NULL, NULL)) >= 0)
        reset_close(fd);
    return 0;
}
