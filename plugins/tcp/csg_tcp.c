/*
 * tcp.so — the newline-delimited JSON transport (DESIGN §5 "TCP").
 *
 * Owns: line framing with a bounded input buffer (overlong lines answered and
 * skipped to the next newline, blank lines ignored, a last line without its
 * newline at half-close), the error lines, and the request id echoed in them.
 * Everything else about a connection — listeners, accept and max connections,
 * the one sweep (idle, read timeout, linger), batched writes, back-pressure,
 * the reply order for pipelined lines, half-close and drain — is the shared
 * connection layer's (lib/csg_conn.h), the same code http.so runs on.
 *
 * Life of a line: read → framed at '\n' → api->parse_application → a slot at
 * the tail of the connection's reply ring → api->submit. Error lines get a
 * slot that is complete at once. Replies leave in line order.
 *
 * Read timeout: a line not complete read_timeout_ms after its first byte
 * (slowloris) is answered with a `request_timeout` error line, then the
 * connection is closed (lingering).
 *
 * Back-pressure: the layer stops reading while max_pipeline lines await their
 * reply or more than max_output_bytes are unsent (a client that does not read
 * its replies); framing stops with it and goes on at half of both. Memory per
 * connection is bounded whatever the client does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csg/plugin.h"
#include "csg_clock.h"
#include "csg_conn.h"

#define TCP_NAME "tcp"
#define TCP_REPLY_STACK 2048   /* most replies fit (4 reasons too); longer ones go to the heap */
#define TCP_IN_KEEP_MAX 65536  /* free a larger idle input buffer */

enum { OPT_MAX_PIPELINE, OPT_MAX_OUTPUT_BYTES, OPT_COUNT };

static const csg_option tcp_options[] = {
    [OPT_MAX_PIPELINE] = {CSG_OPT_INT, "max_pipeline", "256", false, 1, 65536,
                          "lines per connection awaiting their reply before reading pauses", 0},
    [OPT_MAX_OUTPUT_BYTES] = {CSG_OPT_INT, "max_output_bytes", "262144", false, 4096, 67108864,
                              "unsent reply bytes per connection before reading pauses", 0},
    {0},
};

typedef struct tcp_conn {
    csg_conn conn;    /* first: the layer allocates and frees the whole struct */
    csg_buf in;       /* bytes read, not yet framed */
    size_t scanned;   /* prefix of in known to hold no '\n' */
    bool discarding;  /* inside an overlong line, already answered */
} tcp_conn;

typedef struct tcp_server {
    const csg_core_api *api;
    csg_conn_server *cs;
    size_t max_line;
} tcp_server;

static void tcp_process(tcp_conn *t);

static tcp_server *srv_of(const tcp_conn *t) { return csg_conn_arg(&t->conn); }

/* ------------------------------------------------------------------------ */
/* Replies                                                                   */

/* Slot s's reply: line[0..len) + "\n", passed on in order. */
static void queue_line(tcp_conn *t, csg_slot *s, const char *line, size_t len)
{
    csg_buf *dst = csg_conn_slot_out(&t->conn, s);
    char *w = csg_buf_reserve(dst, len + 1);
    if (!w) { /* losing one reply would silently shift every later one */
        srv_of(t)->api->log(CSG_LOG_ERROR, TCP_NAME, "out of memory; closing connection");
        csg_conn_close(&t->conn);
        return;
    }
    memcpy(w, line, len);
    w[len] = '\n';
    csg_buf_commit(dst, len + 1);
    csg_conn_slot_commit(&t->conn, s);
}

/* {"error":{"code","message"[,"field"][,"request_id"]}}: the core's error
 * object with the request id spliced in before its closing braces, so a
 * client matching replies by id can match error lines too. rid may be NULL
 * or "". snprintf semantics. */
static size_t format_error_rid(const csg_core_api *api, const char *code, const char *message,
                               const char *field, const char *rid, char *buf, size_t cap)
{
    size_t n = api->format_error(code, message, field, buf, cap);
    if (!rid || !rid[0] || n < 2)
        return n;
    /* A valid id is printable ASCII: only '"' and '\\' need escaping. */
    char tail[2 * CSG_REQUEST_ID_MAX + 32];
    size_t t = 0;
    static const char key[] = ",\"request_id\":\"";
    memcpy(tail, key, sizeof key - 1);
    t = sizeof key - 1;
    for (size_t i = 0; rid[i] && i < CSG_REQUEST_ID_MAX; i++) {
        if (rid[i] == '"' || rid[i] == '\\')
            tail[t++] = '\\';
        tail[t++] = rid[i];
    }
    memcpy(tail + t, "\"}}", 3);
    t += 3;
    size_t total = n - 2 + t;
    if (total < cap) {
        memcpy(buf + n - 2, tail, t);
        buf[total] = '\0';
    }
    return total;
}

/* Queue an error line in order (its own slot, complete at once). rid: the
 * request id to echo, or NULL. */
static void conn_error(tcp_conn *t, const char *code, const char *message, const char *field,
                       const char *rid)
{
    const csg_core_api *api = srv_of(t)->api;
    char stackbuf[TCP_REPLY_STACK];
    char *buf = stackbuf;
    size_t n = format_error_rid(api, code, message, field, rid, stackbuf, sizeof stackbuf);
    if (n >= sizeof stackbuf) {
        buf = malloc(n + 1);
        if (!buf) {
            csg_conn_close(&t->conn);
            return;
        }
        format_error_rid(api, code, message, field, rid, buf, n + 1);
    }
    api->count_request(t->conn.w->w, TCP_NAME, code);
    csg_slot *s = csg_conn_slot_new(&t->conn);
    if (!s)
        csg_conn_close(&t->conn);
    else
        queue_line(t, s, buf, n);
    if (buf != stackbuf)
        free(buf);
}

static void line_too_long(tcp_conn *t)
{
    char msg[96];
    snprintf(msg, sizeof msg, "line longer than %zu bytes", srv_of(t)->max_line);
    conn_error(t, CSG_CODE_PAYLOAD_TOO_LARGE, msg, NULL, NULL);
}

static void on_reply(void *ctx, const csg_reply *reply)
{
    csg_conn *c = csg_conn_slot_returned(ctx);
    tcp_conn *t = (tcp_conn *)c;
    if (c->closed) { /* the client went away */
        csg_conn_unhold(c);
        return;
    }
    const csg_core_api *api = srv_of(t)->api;
    char stackbuf[TCP_REPLY_STACK];
    char *buf = stackbuf;
    size_t n;
    const char *label;
    if (reply->status == CSG_REPLY_OK) {
        label = CSG_CODE_OK;
        n = api->format_reply(reply, stackbuf, sizeof stackbuf);
        if (n >= sizeof stackbuf && (buf = malloc(n + 1)) != NULL)
            api->format_reply(reply, buf, n + 1);
    } else {
        label = csg_reply_status_code(reply->status);
        const char *msg = reply->error_message ? reply->error_message : label;
        n = format_error_rid(api, label, msg, NULL, reply->request_id, stackbuf,
                             sizeof stackbuf);
        if (n >= sizeof stackbuf && (buf = malloc(n + 1)) != NULL)
            format_error_rid(api, label, msg, NULL, reply->request_id, buf, n + 1);
    }
    api->count_request(c->w->w, TCP_NAME, label);
    if (!buf) /* the reply order cannot be kept any more: the connection must go */
        csg_conn_close(c);
    else
        queue_line(t, ctx, buf, n);
    if (buf && buf != stackbuf)
        free(buf);
    csg_conn_unhold(c);
}

/* ------------------------------------------------------------------------ */
/* Lines                                                                     */

static void handle_line(tcp_conn *t, const char *line, size_t len)
{
    tcp_server *srv = srv_of(t);
    const csg_core_api *api = srv->api;
    if (len && line[len - 1] == '\r')
        len--;
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        i++;
    if (i == len)
        return; /* blank line (e.g. a keep-alive from nc/telnet): nothing to answer */
    if (len > srv->max_line) {
        line_too_long(t);
        return;
    }
    csg_request req;
    csg_parse_error perr;
    memset(&perr, 0, sizeof perr);
    memset(&req, 0, sizeof req);
    req.size = sizeof req;
    csg_worker *w = t->conn.w->w;
    csg_parse_status st = api->parse_application(w, line, len, &req.app, req.request_id, &perr);
    if (st != CSG_PARSE_OK) {
        conn_error(t,
                   st == CSG_PARSE_INVALID_JSON ? CSG_CODE_INVALID_JSON : CSG_CODE_INVALID_FIELD,
                   perr.message[0] ? perr.message : "invalid application",
                   st == CSG_PARSE_INVALID_FIELD && perr.field[0] ? perr.field : NULL,
                   st == CSG_PARSE_INVALID_FIELD ? req.request_id : NULL);
        return;
    }
    if (req.request_id[0] && !api->valid_request_id(req.request_id, strlen(req.request_id))) {
        api->application_free(req.app);
        conn_error(t, CSG_CODE_INVALID_FIELD,
                   "request_id must be 1-64 printable ASCII characters",
                   "request_id", NULL);
        return;
    }
    req.transport = TCP_NAME;
    req.deadline_ms = 0;
    csg_slot *s = csg_conn_slot_new(&t->conn);
    if (!s) {
        api->application_free(req.app);
        csg_conn_close(&t->conn);
        return;
    }
    csg_conn_slot_submitted(s);
    api->submit(w, &req, on_reply, s);
}

/* Frame and handle every complete line in the input buffer, unless
 * back-pressure says stop; keep a partial line for the next read. */
static void tcp_process(tcp_conn *t)
{
    csg_conn *c = &t->conn;
    size_t max_line = srv_of(t)->max_line;
    if (c->closing)
        return; /* timed out: nothing more is parsed */
    const char *in = csg_buf_ptr(&t->in);
    size_t len = csg_buf_size(&t->in), start = 0;
    bool ended = false; /* a line ended here: what is left is a newer line */
    while (!c->closed && start < len) {
        if (csg_conn_must_pause(c)) {
            csg_conn_pause(c);
            break;
        }
        size_t from = start > t->scanned ? start : t->scanned;
        const char *nl = memchr(in + from, '\n', len - from);
        if (!nl) {
            t->scanned = len;
            if (t->discarding) {
                start = len; /* still inside an overlong line */
            } else if (len - start > max_line) {
                line_too_long(t);
                t->discarding = true;
                start = len;
            }
            break;
        }
        size_t end = (size_t)(nl - in);
        ended = true;
        if (t->discarding)
            t->discarding = false; /* the overlong line ends here; its error is queued */
        else
            handle_line(t, in + start, end - start);
        start = end + 1;
    }
    if (c->closed)
        return;
    csg_buf_consume(&t->in, start);
    t->scanned = t->scanned > start ? t->scanned - start : 0;
    if (csg_buf_size(&t->in) == 0 && t->in.cap > TCP_IN_KEEP_MAX)
        csg_buf_free(&t->in);
    /* Read timeout clock: runs from the first byte of an unfinished line
     * (an overlong line being discarded is still the same line). A line
     * left over after one ended started in this read, or while reading was
     * paused: "now" is close enough, and errs on the client's side. */
    if (csg_buf_size(&t->in) == 0 && !t->discarding)
        c->req_start_ms = 0;
    else if (ended || c->req_start_ms == 0)
        c->req_start_ms = csg_mono_ms();
    if (!c->paused && !c->read_eof && !csg_conn_draining(c))
        csg_conn_read_start(c);
}

/* ------------------------------------------------------------------------ */
/* The connection layer's callbacks (csg_conn_ops)                           */

static int tcp_open(csg_conn *c)
{
    tcp_conn *t = (tcp_conn *)c;
    /* A partial line (at most max_line) plus one read. */
    csg_buf_init(&t->in, srv_of(t)->max_line + 1 + 2 * CSG_CONN_READ_CHUNK);
    return 0;
}

static void tcp_data(csg_conn *c, const char *p, size_t n)
{
    tcp_conn *t = (tcp_conn *)c;
    if (csg_buf_append(&t->in, p, n) != 0) {
        srv_of(t)->api->log(CSG_LOG_ERROR, TCP_NAME, "out of memory; closing connection");
        csg_conn_close(c);
        return;
    }
    tcp_process(t);
}

static void tcp_eof(csg_conn *c)
{
    tcp_conn *t = (tcp_conn *)c;
    size_t len = csg_buf_size(&t->in);
    /* A last line without its newline is still a line. */
    if (len && !t->discarding && !c->paused) {
        if (len > srv_of(t)->max_line)
            line_too_long(t);
        else
            handle_line(t, csg_buf_ptr(&t->in), len);
        csg_buf_clear(&t->in);
        t->scanned = 0;
    }
}

static void tcp_resume(csg_conn *c)
{
    if (csg_conn_draining(c)) { /* no new lines while draining */
        csg_conn_pause(c);
        return;
    }
    /* The pause was ours: a line begun before it gets the whole read
     * timeout from now. */
    if (c->req_start_ms)
        c->req_start_ms = csg_mono_ms();
    tcp_process((tcp_conn *)c);
}

/* The line has not been completed read_ms after its first byte: answer it
 * with a request_timeout error line (in order, after the replies still owed)
 * and close once that is written. */
static void tcp_read_timeout(csg_conn *c)
{
    tcp_conn *t = (tcp_conn *)c;
    c->req_start_ms = 0;
    csg_buf_clear(&t->in); /* the partial line is dropped */
    t->scanned = 0;
    t->discarding = false;
    c->closing = true;
    csg_conn_read_stop(c);
    char msg[96];
    snprintf(msg, sizeof msg, "line not complete within %u ms of its first byte",
             csg_conn_read_ms(c));
    conn_error(t, CSG_CODE_REQUEST_TIMEOUT, msg, NULL, NULL);
    csg_conn_maybe_finish(c);
}

/* Lines buffered behind a pause at half-close still get their replies. */
static bool tcp_has_input(const csg_conn *c)
{
    return c->read_eof && c->paused && csg_buf_size(&((const tcp_conn *)c)->in) > 0;
}

/* Draining: what is buffered but not yet submitted is dropped with the
 * connection; what was submitted gets its reply. */
static void tcp_drain(csg_conn *c) { csg_conn_pause(c); }

static void tcp_release(csg_conn *c) { csg_buf_free(&((tcp_conn *)c)->in); }

static const csg_conn_ops tcp_conn_ops = {
    .open = tcp_open, .data = tcp_data, .eof = tcp_eof, .resume = tcp_resume,
    .read_timeout = tcp_read_timeout, .drain = tcp_drain, .has_input = tcp_has_input,
    .release = tcp_release,
};

/* ------------------------------------------------------------------------ */
/* Plugin entry points                                                       */

static void tcp_destroy(void *instance);

static int tcp_create(const csg_transport_config *cfg, const csg_core_api *api, void **instance,
                      csg_error *err)
{
    tcp_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        snprintf(err->message, sizeof err->message, "tcp: out of memory");
        return -CSG_ENOMEM;
    }
    srv->api = api;
    srv->max_line = api->max_line_bytes ? api->max_line_bytes : 16384;
    unsigned max_pipeline = 256;
    size_t max_out = 262144;
    if (cfg->options) {
        max_pipeline = (unsigned)cfg->options[OPT_MAX_PIPELINE].i;
        max_out = (size_t)cfg->options[OPT_MAX_OUTPUT_BYTES].i;
    }
    char overloaded[160]; /* error line for a connection refused at max_conns */
    size_t n = api->format_error(CSG_CODE_OVERLOADED, "too many connections", NULL, overloaded,
                                 sizeof overloaded - 1);
    if (n < sizeof overloaded - 1)
        overloaded[n++] = '\n';
    else
        n = 0;
    csg_conn_config cc = {
        .api = api,
        .transport = TCP_NAME,
        .listen = cfg->listen,
        .conn_size = sizeof(tcp_conn),
        .ops = &tcp_conn_ops,
        .idle_ms = api->idle_timeout_ms, /* 0: none */
        .max_pipeline = max_pipeline,
        .pause_out = max_out,
        /* Replies of lines read before the pause still arrive: room for them. */
        .out_max = max_out + (size_t)max_pipeline * 65536,
        .refusal = overloaded,
        .refusal_len = n,
        .arg = srv,
        .tls = CSG_STRUCT_HAS(cfg, csg_transport_config, tls) ? cfg->tls : NULL, // NOLINT(bugprone-sizeof-expression): CSG_STRUCT_HAS sizes a pointer field on purpose
    };
    int rc = csg_conn_server_new(&cc, &srv->cs, err);
    if (rc != 0) {
        free(srv);
        return rc;
    }
    *instance = srv;
    return 0;
}

static int tcp_start_worker(void *instance, csg_worker *w, csg_error *err)
{
    return csg_conn_server_start_worker(((tcp_server *)instance)->cs, w, err);
}

/* Main thread: the listeners leave the SO_REUSEPORT group at once. */
static void tcp_stop(void *instance) { csg_conn_server_stop(((tcp_server *)instance)->cs); }

static unsigned tcp_drain_worker(void *instance, csg_worker *w)
{
    return csg_conn_server_drain_worker(((tcp_server *)instance)->cs, w);
}

static void tcp_destroy(void *instance)
{
    tcp_server *srv = instance;
    if (!srv)
        return;
    csg_conn_server_free(srv->cs);
    free(srv);
}

static int tcp_tls_reload(void *instance, csg_error *err)
{
    return csg_conn_server_tls_reload(((tcp_server *)instance)->cs, err);
}

static const csg_transport_plugin tcp_plugin = {
    .header = CSG_PLUGIN_HEADER(CSG_PLUGIN_TRANSPORT, csg_transport_plugin, "tcp", "1.0.0"),
    .options = tcp_options,
    .create = tcp_create,
    .start_worker = tcp_start_worker,
    .start = NULL,
    .stop = tcp_stop,
    .drain_worker = tcp_drain_worker,
    .destroy = tcp_destroy,
    .tls_reload = tcp_tls_reload,
};

__attribute__((visibility("default"))) const csg_plugin_header *csg_plugin_entry(void)
{
    return &tcp_plugin.header;
}
