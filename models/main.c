/*
 * csg-model — serve one scoring model over HTTP (DESIGN §5 "Model API", §9).
 *
 *   POST /score    JSON application -> {"score": <double>, "decision": "approve"|"decline",
 *                  "points": <double> (scorecard), "reasons": [{"code","feature","text"}, …]}
 *   GET  /healthz  {"status":"ok","model":NAME}
 *
 * Validation is csg-model's own (input.c), against its model file's feature
 * list: models/ stands apart from the gateway (DESIGN §2) and includes none of
 * its headers. The file's rules are the shipped schema's, so what the gateway
 * rejects is rejected here alike.
 * libevent's evhttp is enough here: this process is the thing being called,
 * not the hot path of the gateway. --latency-ms delays replies with a timer
 * on the event loop (never a sleep), so one slow reply does not hold up other
 * connections; --error-rate answers a share of requests with a 500.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include "input.h"
#include "latency.h"
#include "model.h"

#define DEFAULT_MAX_BODY 65536
/* Bodies up to this many times the limit are read and answered with our JSON
 * 413; beyond it evhttp refuses them itself (also 413, with its HTML body),
 * discarding the body as it arrives, so memory stays bounded either way. */
#define HARD_BODY_FACTOR 4
#define MAX_PENDING 65536 /* delayed replies held at once; more get 503 */
#define IDLE_TIMEOUT_S 60

typedef struct pending pending;

typedef struct server {
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *listener;
    csg_model *model;
    csg_latency latency;
    bool has_latency;
    double error_rate;
    size_t max_body;
    csg_rng rng;
    size_t npending;
    LIST_HEAD(, pending) pending;
    struct event *sigterm, *sigint;
    bool stopping;
    char name_json[300]; /* the model name as a JSON string literal */
} server;

/* A reply waiting for its --latency-ms timer. The request stays valid until
 * we answer it: evhttp stops reading the connection while a request is with
 * the user, so it cannot notice (and free) a closed connection before then. */
struct pending {
    LIST_ENTRY(pending) link;
    server *srv;
    struct evhttp_request *req;
    struct event *timer;
    int code;
    size_t len;
    char body[];
};

static void log_json(const char *level, const char *msg, const char *extra_fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One JSON line on stderr; extra_fmt adds ready-made ,"key":value pairs. */
static void log_json(const char *level, const char *msg, const char *extra_fmt, ...)
{
    char extra[512] = "";
    if (extra_fmt) {
        va_list ap;
        va_start(ap, extra_fmt);
        vsnprintf(extra, sizeof extra, extra_fmt, ap);
        va_end(ap);
    }
    char esc[512];
    size_t pos = 0;
    csg_json_escape(msg, strlen(msg), esc, sizeof esc, &pos);
    esc[pos < sizeof esc ? pos : sizeof esc - 1] = '\0';
    fprintf(stderr, "{\"level\":\"%s\",\"component\":\"csg-model\",\"msg\":%s%s}\n", level, esc,
            extra);
}

static void send_now(struct evhttp_request *req, int code, const char *body, size_t len)
{
    const char *reason;
    switch (code) {
    case 200: reason = "OK"; break;
    case 400: reason = "Bad Request"; break;
    case 404: reason = "Not Found"; break;
    case 405: reason = "Method Not Allowed"; break;
    case 413: reason = "Payload Too Large"; break;
    case 415: reason = "Unsupported Media Type"; break;
    case 500: reason = "Internal Server Error"; break;
    case 503: reason = "Service Unavailable"; break;
    default: reason = "Error"; break;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    struct evbuffer *out = evbuffer_new();
    if (out)
        evbuffer_add(out, body, len);
    evhttp_send_reply(req, code, reason, out);
    if (out)
        evbuffer_free(out);
}

static void send_error(struct evhttp_request *req, int code, const char *ecode, const char *msg,
                       const char *field)
{
    char buf[512];
    size_t n = csg_json_error(ecode, msg, field, buf, sizeof buf);
    send_now(req, code, buf, n < sizeof buf ? n : sizeof buf - 1);
}

static void pending_fire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pending *p = arg;
    LIST_REMOVE(p, link);
    p->srv->npending--;
    send_now(p->req, p->code, p->body, p->len);
    event_free(p->timer);
    free(p);
}

/* Answer now, or after a --latency-ms draw. Model work (scores and injected
 * model errors) is delayed; validation errors are not: a real model server
 * rejects bad input before it runs the model. */
static void reply_model(server *srv, struct evhttp_request *req, int code, const char *body,
                        size_t len)
{
    double ms = srv->has_latency ? csg_latency_sample(&srv->latency, &srv->rng) : 0;
    if (ms <= 0 || srv->stopping) {
        send_now(req, code, body, len);
        return;
    }
    if (srv->npending >= MAX_PENDING) {
        send_error(req, 503, "overloaded", "too many delayed replies pending", NULL);
        return;
    }
    pending *p = malloc(sizeof *p + len);
    if (!p)
        goto now;
    p->timer = evtimer_new(srv->base, pending_fire, p);
    if (!p->timer) {
        free(p);
        goto now;
    }
    p->srv = srv;
    p->req = req;
    p->code = code;
    p->len = len;
    memcpy(p->body, body, len);
    double whole = floor(ms / 1000.0);
    suseconds_t usec = (suseconds_t)((ms - whole * 1000.0) * 1000.0);
    struct timeval tv = {.tv_sec = (time_t)whole, .tv_usec = usec > 999999 ? 999999 : usec};
    LIST_INSERT_HEAD(&srv->pending, p, link);
    srv->npending++;
    evtimer_add(p->timer, &tv);
    return;
now:
    send_now(req, code, body, len);
}

/* "application/json", any case, optionally followed by parameters. */
static bool is_json_type(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strlen("application/json");
    if (strncasecmp(ct, "application/json", n) != 0)
        return false;
    ct += n;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* {"score":…,"decision":…[,"points":…],"reasons":[{"code","feature","text"}…]}
 * (DESIGN §5 Model API). %.17g round-trips a double: the gateway passes the
 * score on unchanged. Returns the length needed (snprintf semantics). The
 * largest answer is about 2 KiB: 4 reasons of at most 16 + 32 + 200 bytes,
 * where a text's only escapes (no control characters) are \" and \\. */
static size_t format_answer(const csg_model *m, const csg_model_result *r, char *buf, size_t cap)
{
    size_t pos = 0;
    int n = snprintf(buf, cap, "{\"score\":%.17g,\"decision\":\"%s\"", r->score,
                     r->decision == CSG_MODEL_APPROVE ? "approve" : "decline");
    pos = n < 0 ? 0 : (size_t)n;
    if (r->has_points) {
        n = snprintf(pos < cap ? buf + pos : NULL, pos < cap ? cap - pos : 0,
                     ",\"points\":%.17g", r->points);
        pos += n < 0 ? 0 : (size_t)n;
    }
    static const char head[] = ",\"reasons\":[";
    for (const char *c = head; *c; c++, pos++)
        if (pos + 1 < cap)
            buf[pos] = *c;
    for (size_t i = 0; i < r->nreasons; i++) {
        const csg_model_feature *f = csg_model_feature_at(m, r->reason[i]);
        const char *parts[] = {i ? ",{\"code\":" : "{\"code\":", ",\"feature\":", ",\"text\":"};
        const char *vals[] = {f->reason_code, f->name, f->reason_text};
        for (size_t k = 0; k < 3; k++) {
            for (const char *c = parts[k]; *c; c++, pos++)
                if (pos + 1 < cap)
                    buf[pos] = *c;
            csg_json_escape(vals[k], strlen(vals[k]), buf, cap, &pos);
        }
        if (pos + 1 < cap)
            buf[pos] = '}';
        pos++;
    }
    for (const char *c = "]}"; *c; c++, pos++)
        if (pos + 1 < cap)
            buf[pos] = *c;
    if (cap)
        buf[pos < cap ? pos : cap - 1] = '\0';
    return pos;
}

static void handle_score(server *srv, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (len > srv->max_body) {
        char msg[96];
        snprintf(msg, sizeof msg, "the body is larger than %zu bytes", srv->max_body);
        send_error(req, 413, "payload_too_large", msg, NULL);
        return;
    }
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    if (!is_json_type(ct)) {
        send_error(req, 415, "unsupported_media_type", "Content-Type must be application/json",
                   NULL);
        return;
    }
    const char *body = len ? (const char *)evbuffer_pullup(in, (ev_ssize_t)len) : "";
    csg_model_input app;
    csg_input_error ierr;
    csg_input_status st = csg_input_read(srv->model, body, len, &app, &ierr);
    if (st != CSG_INPUT_OK) {
        send_error(req, 400, csg_input_status_code(st), ierr.message,
                   st == CSG_INPUT_INVALID_FIELD ? ierr.field : NULL);
        return;
    }
    char out[4096]; /* > the largest answer: see format_answer */
    int n;
    if (srv->error_rate > 0 && csg_rng_uniform(&srv->rng) < srv->error_rate) {
        n = (int)csg_json_error("model_error", "injected failure (--error-rate)", NULL, out,
                                  sizeof out);
        reply_model(srv, req, 500, out, (size_t)n);
        return;
    }
    csg_model_result res;
    if (csg_model_evaluate(srv->model, app.x, &res)) {
        n = (int)csg_json_error("model_error", "the model gave no finite score", NULL, out,
                                  sizeof out);
        reply_model(srv, req, 500, out, (size_t)n);
        return;
    }
    size_t need = format_answer(srv->model, &res, out, sizeof out);
    reply_model(srv, req, 200, out, need < sizeof out ? need : sizeof out - 1);
}

static void handle(struct evhttp_request *req, void *arg)
{
    server *srv = arg;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (!path)
        path = "";
    if (strcmp(path, "/score") == 0) {
        if (method != EVHTTP_REQ_POST) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
            send_error(req, 405, "method_not_allowed", "use POST /score", NULL);
            return;
        }
        handle_score(srv, req);
    } else if (strcmp(path, "/healthz") == 0) {
        if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
            send_error(req, 405, "method_not_allowed", "use GET /healthz", NULL);
            return;
        }
        char body[512];
        int n = snprintf(body, sizeof body, "{\"status\":\"ok\",\"model\":%s}",
                         srv->name_json);
        send_now(req, 200, body, (size_t)n);
    } else {
        send_error(req, 404, "not_found", "no such endpoint; try POST /score or GET /healthz",
                   NULL);
    }
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    server *srv = arg;
    if (srv->stopping)
        return;
    srv->stopping = true;
    log_json("info", "stopping", ",\"signal\":%d,\"pending\":%zu", (int)sig, srv->npending);
    /* Stop accepting, answer delayed replies now, and give the writes a
     * moment on the loop before it exits. */
    if (srv->listener) {
        evhttp_del_accept_socket(srv->http, srv->listener);
        srv->listener = NULL;
    }
    while (!LIST_EMPTY(&srv->pending)) {
        pending *p = LIST_FIRST(&srv->pending);
        // NOLINTNEXTLINE(clang-analyzer-unix.Malloc): pending_fire's LIST_REMOVE unlinks p from the head via le_prev, which the analyzer cannot follow
        event_del(p->timer);
        pending_fire(-1, 0, p);
    }
    struct timeval grace = {0, 100 * 1000};
    event_base_loopexit(srv->base, &grace);
}

static void usage(FILE *f)
{
    fputs("usage: csg-model --model FILE --port N [options]\n"
          "\n"
          "Serve one credit-scoring model (models/champion.json, models/challenger.json):\n"
          "  POST /score    {\"applicant_id\", the features the model file lists (the\n"
          "                 optional ones may be left out: scored as missing)}\n"
          "                 -> {\"score\": P(repay), \"decision\": \"approve\"|\"decline\",\n"
          "                     \"points\": N (scorecard), \"reasons\": [{\"code\",\"feature\",\"text\"}]}\n"
          "                 (reasons on decline only: up to 4, most important first)\n"
          "  GET  /healthz  {\"status\":\"ok\",\"model\":NAME}\n"
          "\n"
          "options:\n"
          "  --model FILE         model file written by models/train.py (required)\n"
          "  --port N             TCP port to listen on, 1-65535 (required)\n"
          "  --host ADDR          address to listen on (default 127.0.0.1)\n"
          "  --latency-ms SPEC    added delay per scored request: MS (fixed), uniform:MIN:MAX,\n"
          "                       exp:MEAN, normal:MEAN:SD (default 0)\n"
          "  --error-rate X       share of requests, 0-1, answered 500 model_error (default 0)\n"
          "  --max-body-bytes N   request body limit, larger bodies get 413 (default 65536)\n"
          "  --seed N             seed for latency and error draws (default: time and pid)\n"
          "  --help               this text\n",
          f);
}

static bool parse_ulong(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-' || *s == '+')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = (unsigned long)v;
    return true;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},  {"port", required_argument, NULL, 'p'},
        {"host", required_argument, NULL, 'H'},   {"latency-ms", required_argument, NULL, 'l'},
        {"error-rate", required_argument, NULL, 'e'},
        {"max-body-bytes", required_argument, NULL, 'b'},
        {"seed", required_argument, NULL, 's'},   {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *model_path = NULL, *host = "127.0.0.1";
    unsigned long port = 0, max_body = DEFAULT_MAX_BODY, seed = 0;
    bool have_seed = false;
    int rc = 1;
    server srv = {0};
    srv.max_body = DEFAULT_MAX_BODY;
    LIST_INIT(&srv.pending);
    csg_model_error err;

    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            model_path = optarg;
            break;
        case 'p':
            if (!parse_ulong(optarg, 1, 65535, &port)) {
                fprintf(stderr, "csg-model: --port must be 1-65535, got \"%s\"\n", optarg);
                return 2;
            }
            break;
        case 'H':
            host = optarg;
            break;
        case 'l':
            if (csg_latency_parse(optarg, &srv.latency, &err)) {
                fprintf(stderr, "csg-model: --latency-ms: %s\n", err.message);
                return 2;
            }
            srv.has_latency = !csg_latency_is_zero(&srv.latency);
            break;
        case 'e': {
            char *end;
            errno = 0;
            double x = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(x >= 0 && x <= 1)) {
                fprintf(stderr, "csg-model: --error-rate must be a number in [0, 1], got \"%s\"\n",
                        optarg);
                return 2;
            }
            srv.error_rate = x;
            break;
        }
        case 'b':
            if (!parse_ulong(optarg, 1, 64ul << 20, &max_body)) {
                fprintf(stderr, "csg-model: --max-body-bytes must be 1-%lu, got \"%s\"\n",
                        64ul << 20, optarg);
                return 2;
            }
            srv.max_body = max_body;
            break;
        case 's':
            if (!parse_ulong(optarg, 0, ULONG_MAX, &seed)) {
                fprintf(stderr, "csg-model: --seed must be a non-negative integer\n");
                return 2;
            }
            have_seed = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            if (optopt && optopt != '?')
                fprintf(stderr, "csg-model: option needs a value or is unknown: %s\n",
                        argv[optind - 1]);
            else
                fprintf(stderr, "csg-model: unknown option %s\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "csg-model: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (!model_path || !port) {
        fprintf(stderr, "csg-model: --model and --port are required\n");
        usage(stderr);
        return 2;
    }
    csg_rng_seed(&srv.rng, have_seed ? (uint64_t)seed
                                     : ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid());

    if (csg_model_load(model_path, &srv.model, &err)) {
        fprintf(stderr, "csg-model: %s\n", err.message);
        return 1;
    }
    size_t pos = 0;
    const char *name = csg_model_name(srv.model);
    csg_json_escape(name, strlen(name), srv.name_json, sizeof srv.name_json, &pos);
    srv.name_json[pos < sizeof srv.name_json ? pos : sizeof srv.name_json - 1] = '\0';
    /* A client that goes away mid-reply must not kill us. */
    signal(SIGPIPE, SIG_IGN);

    /* Precise timers: the coarse monotonic clock can fire a --latency-ms delay
     * a few ms early. */
    struct event_config *ecfg = event_config_new();
    if (ecfg)
        event_config_set_flag(ecfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    srv.base = ecfg ? event_base_new_with_config(ecfg) : NULL;
    if (ecfg)
        event_config_free(ecfg);
    srv.http = srv.base ? evhttp_new(srv.base) : NULL;
    if (!srv.http) {
        fprintf(stderr, "csg-model: cannot create the event loop\n");
        goto out;
    }
    evhttp_set_allowed_methods(srv.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                             EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                             EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_max_body_size(srv.http, (ev_ssize_t)(srv.max_body * HARD_BODY_FACTOR));
    /* Read and discard an over-long body before answering 413, so the client
     * sees the reply instead of a reset while it is still sending. */
    evhttp_set_flags(srv.http, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_max_headers_size(srv.http, 16384);
    evhttp_set_timeout(srv.http, IDLE_TIMEOUT_S);
    evhttp_set_gencb(srv.http, handle, &srv);
    srv.listener = evhttp_bind_socket_with_handle(srv.http, host, (ev_uint16_t)port);
    if (!srv.listener) {
        fprintf(stderr, "csg-model: cannot listen on %s:%lu: %s\n", host, port,
                errno ? strerror(errno) : "bind failed");
        goto out;
    }
    srv.sigterm = evsignal_new(srv.base, SIGTERM, on_signal, &srv);
    srv.sigint = evsignal_new(srv.base, SIGINT, on_signal, &srv);
    if (!srv.sigterm || !srv.sigint || evsignal_add(srv.sigterm, NULL) ||
        evsignal_add(srv.sigint, NULL)) {
        fprintf(stderr, "csg-model: cannot install signal handlers\n");
        goto out;
    }
    log_json("info", "listening",
             ",\"model\":%s,\"type\":\"%s\",\"cutoff\":%.17g,\"addr\":\"%s:%lu\","
             "\"error_rate\":%g,\"latency\":%s",
             srv.name_json, csg_model_kind(srv.model), csg_model_cutoff(srv.model),
             host, port, srv.error_rate, srv.has_latency ? "true" : "false");
    if (event_base_dispatch(srv.base) < 0) {
        fprintf(stderr, "csg-model: event loop failed\n");
        goto out;
    }
    rc = 0;
    log_json("info", "stopped", NULL);
out:
    while (!LIST_EMPTY(&srv.pending)) {
        pending *p = LIST_FIRST(&srv.pending);
        LIST_REMOVE(p, link);
        event_free(p->timer);
        free(p);
    }
    if (srv.sigterm)
        event_free(srv.sigterm);
    if (srv.sigint)
        event_free(srv.sigint);
    if (srv.http)
        evhttp_free(srv.http);
    if (srv.base)
        event_base_free(srv.base);
    csg_model_free(srv.model);
    return rc;
}
