/*
 * rest_adapter.c — rest.so's entry points (DESIGN §4): the option table, create and
 * destroy, and score_async, which builds the request and queues the call for the pool
 * in rest.c.
 */
#include <errno.h>
#include <event2/event.h>
#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "csg/plugin.h"
#include "csg_buf.h"
#include "csg_clock.h" /* back-off and queue expiry: the coarse monotonic clock */
#include "csg_net.h"
#include "csg_wq.h"
#include "rest_reply.h"

#include "rest.h"

/* The option values, stored by the core (options_apply): defaults only in the table. */
typedef struct rest_options_t {
    const char *url;
    const char *ca_file, *client_cert, *client_key;
    int64_t pool_size, pipeline_depth, max_queue;
    bool pipeline;
} rest_options_t;

static const csg_option rest_options[] = {
    {CSG_OPT_URL, "url", NULL, true, 1, 0,
     "model endpoint http[s]://host:port/path; names are resolved once at start",
     CSG_OPT_AT(rest_options_t, url)},
    {CSG_OPT_INT, "pool_size", "4", false, 1, 256, "keep-alive connections per worker",
     CSG_OPT_AT(rest_options_t, pool_size)},
    {CSG_OPT_BOOL, "pipeline", "false", false, 1, 0,
     "queue further requests on busy connections (the model must support HTTP pipelining)",
     CSG_OPT_AT(rest_options_t, pipeline)},
    {CSG_OPT_INT, "pipeline_depth", "16", false, 1, 256,
     "requests in flight per connection when pipeline is true",
     CSG_OPT_AT(rest_options_t, pipeline_depth)},
    {CSG_OPT_INT, "max_queue", "1024", false, 1, 1000000,
     "calls waiting for a connection per worker; beyond it calls fail at once",
     CSG_OPT_AT(rest_options_t, max_queue)},
    /* New rows go last: hosts that fill values by position keep their indexes. */
    {CSG_OPT_STRING, "ca_file", NULL, false, 1, 0,
     "https: PEM CA bundle the model's certificate must chain to (default: the system's)",
     CSG_OPT_AT(rest_options_t, ca_file)},
    {CSG_OPT_STRING, "client_cert", NULL, false, 1, 0,
     "https: PEM certificate to present to the model (mTLS; with client_key)",
     CSG_OPT_AT(rest_options_t, client_cert)},
    {CSG_OPT_STRING, "client_key", NULL, false, 1, 0,
     "https: PEM private key of client_cert (not readable by every user)",
     CSG_OPT_AT(rest_options_t, client_key)},
    {0, NULL, NULL, false, 0, 0, NULL, 0},
};

/* ------------------------------------------------------------------------ */
/* Adapter entry points                                                      */

static int build_request(rest_inst *in, const csg_application *app, rest_call *c)
{
    /* The core's canonical JSON, forwarded as is: no re-serialising. */
    size_t body_len;
    const char *body = in->api->app_json(app, &body_len);
    /* "<len>\r\n\r\n" by hand: snprintf cost more than the rest of the body. */
    char num[24];
    int nl = 0;
    {
        char digits[20];
        int nd = 0;
        size_t v = body_len;
        do {
            digits[nd++] = (char)('0' + v % 10);
            v /= 10;
        } while (v && nd < (int)sizeof digits);
        while (nd)
            num[nl++] = digits[--nd];
        memcpy(num + nl, "\r\n\r\n", 4);
        nl += 4;
    }
    if (nl < 0 || in->head_len + (size_t)nl + body_len > sizeof c->req)
        return -1;
    /* memcpy, not one big snprintf: this runs for every model call. */
    memcpy(c->req, in->head, in->head_len);
    memcpy(c->req + in->head_len, num, (size_t)nl);
    memcpy(c->req + in->head_len + (size_t)nl, body, body_len);
    c->req_len = in->head_len + (size_t)nl + body_len;
    return 0;
}

static int start(rest_inst *in)
{
    in->flusher = csg_flusher_new(in->base);
    if (!in->flusher)
        return -1;
    for (unsigned i = 0; i < in->pool_size; i++) {
        rest_conn *k = &in->conns[i];
        k->stall_ev = evtimer_new(in->base, on_stall, k);
        if (!k->stall_ev)
            return -1;
    }
    in->started = true;
    return 0;
}

typedef struct oom_call {
    csg_score_cb cb;
    void *ctx;
} oom_call;

static void on_oom(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    oom_call o = *(oom_call *)arg;
    free(arg);
    csg_score_result r = {.size = sizeof r, .status = CSG_SCORE_ERROR, .error = "out of memory"};
    o.cb(o.ctx, &r);
}

static void rest_score_async(void *instance, const csg_application *app, csg_score_cb cb, void *ctx)
{
    rest_inst *in = instance;
    rest_call *c = NULL;
    if (in->started || start(in) == 0)
        c = call_get(in);
    if (!c) {
        /* Out of memory: still answer exactly once, later, if libevent can. */
        in->api->log(CSG_LOG_ERROR, "rest", "model %s: out of memory", in->model);
        oom_call *o = malloc(sizeof *o);
        if (o) {
            o->cb = cb;
            o->ctx = ctx;
            struct timeval zero = {0, 0};
            if (event_base_once(in->base, -1, EV_TIMEOUT, on_oom, o, &zero) == 0)
                return;
            free(o);
        }
        return;
    }
    c->cb = cb;
    c->ctx = ctx;
    c->retried = false;
    c->next = NULL;
    if (build_request(in, app, c) != 0) {
        call_fail_soon(c, "application too large to serialise");
        return;
    }
    if (in->q_len >= in->max_queue) {
        call_fail_soon(c, "model queue full");
        c->early_status = CSG_SCORE_OVERLOADED; /* load, not a champion failure */
        return;
    }
    /* 1 ms before the core's own timer (set for timeout_ms just before this
     * call): the adapter's verdict (timeout, or overloaded while still
     * queued) must arrive first, or the core would call every expiry a
     * champion timeout. */
    unsigned t_ms = in->timeout_ms > 1 ? in->timeout_ms - 1 : in->timeout_ms;
    struct timeval tv = {t_ms / 1000, (t_ms % 1000) * 1000};
    event_add(c->tev, &tv);
    c->state = C_QUEUED;
    if (in->q_tail)
        in->q_tail->next = c;
    else
        in->q_head = c;
    in->q_tail = c;
    in->q_len++;
    pump(in);
}

static int rest_create(const csg_adapter_config *cfg, const csg_core_api *api,
                       struct event_base *base, void **instance, csg_error *err)
{
    char msg[400];
    rest_inst *in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(err->message, sizeof err->message, "rest: out of memory");
        return -CSG_ENOMEM;
    }
    in->api = api;
    in->base = base;
    snprintf(in->model, sizeof in->model, "%s", cfg->model_name ? cfg->model_name : "?");
    rest_options_t o = {0};
    api->options_apply(rest_options, cfg->options, &o);
    const char *url = o.url;
    if (!url) {
        snprintf(err->message, sizeof err->message, "rest: model %s: url is required", in->model);
        goto fail;
    }
    if (csg_net_parse_url(url, &in->url, msg, sizeof msg) != 0) {
        snprintf(err->message, sizeof err->message, "rest: model %.100s: url %.380s", in->model,
                 msg);
        goto fail;
    }
    if (rest_tls_setup(in, o.ca_file, o.client_cert, o.client_key, msg, sizeof msg) != 0) {
        snprintf(err->message, sizeof err->message, "rest: model %.100s: %.380s", in->model, msg);
        goto fail;
    }
    /* The table's ranges hold (the core checked them); a host that skipped
     * that still gets a clear refusal. */
    if (o.pool_size < 1 || o.pool_size > 256 || o.pipeline_depth < 1 || o.max_queue < 1 ||
        o.max_queue > 1000000 || o.pipeline_depth > 256) {
        snprintf(err->message, sizeof err->message,
                 "rest: model %s: pool_size 1-256, pipeline_depth >= 1, max_queue >= 1",
                 in->model);
        goto fail;
    }
    in->pool_size = (unsigned)o.pool_size;
    in->pipeline = o.pipeline;
    in->depth = (unsigned)o.pipeline_depth;
    in->max_queue = (unsigned)o.max_queue;
    in->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 1000;
    int n = snprintf(in->head, sizeof in->head,
                     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                     "Accept: application/json\r\nContent-Length: ",
                     in->url.path, in->url.hostport);
    if (n < 0 || (size_t)n >= sizeof in->head) {
        snprintf(err->message, sizeof err->message, "rest: model %s: url too long", in->model);
        goto fail;
    }
    in->head_len = (size_t)n;
    in->conns = calloc(in->pool_size, sizeof *in->conns);
    if (!in->conns) {
        snprintf(err->message, sizeof err->message, "rest: out of memory");
        goto fail;
    }
    for (unsigned i = 0; i < in->pool_size; i++) {
        in->conns[i].in = in;
        in->conns[i].fd = -1;
        csg_buf_init(&in->conns[i].body, REST_BODY_MAX);
    }
    *instance = in;
    return 0;
fail:
    SSL_CTX_free(in->tls_ctx);
    free(in);
    return -CSG_EINVAL;
}

void inst_free(rest_inst *in)
{
    for (unsigned i = 0; in->conns && i < in->pool_size; i++) {
        rest_conn *k = &in->conns[i];
        conn_close_fd(k);
        rest_call *c = k->fifo_head;
        while (c) { /* only abandoned ones can be left when destroy is allowed */
            rest_call *next = c->next;
            c->next = in->free_calls;
            in->free_calls = c;
            c = next;
        }
        if (k->stall_ev)
            event_free(k->stall_ev);
        csg_buf_free(&k->body);
    }
    rest_call *c = in->q_head;
    while (c) {
        rest_call *next = c->next;
        c->next = in->free_calls;
        in->free_calls = c;
        c = next;
    }
    while ((c = in->free_calls) != NULL) {
        in->free_calls = c->next;
        event_free(c->tev);
        free(c);
    }
    csg_flusher_free(in->flusher);
    SSL_CTX_free(in->tls_ctx);
    free(in->conns);
    free(in);
}

static void rest_destroy(void *instance)
{
    rest_inst *in = instance;
    if (!in)
        return;
    if (in->busy > 0) {
        /* Called from inside one of our callbacks: free on the way out. */
        in->destroy_pending = true;
        return;
    }
    inst_free(in);
}

static const csg_model_adapter rest_adapter = {
    .header = CSG_PLUGIN_HEADER(CSG_PLUGIN_MODEL_ADAPTER, csg_model_adapter, "rest", REST_VERSION),
    .options = rest_options,
    .create = rest_create,
    .score_async = rest_score_async,
    .destroy = rest_destroy,
};

__attribute__((visibility("default"))) const csg_plugin_header *csg_plugin_entry(void)
{
    return &rest_adapter.header;
}
