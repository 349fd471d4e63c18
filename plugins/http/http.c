/*
 * http.c — the HTTP/1.1 transport plugin (http.so), DESIGN §5 "HTTP".
 *
 * Owns: request parsing (llhttp, strict and incremental; what is kept of a
 * request's head, and its routing, is in request_head.c), the six endpoints,
 * the replies (status line, headers, HEAD, 100-continue, Connection: close),
 * the 408 of a request that trickles in, and pipelining's pause points in the
 * parser. Everything else about a connection — listeners, accept and max
 * connections, the one sweep (idle, read timeout, linger), batched writes,
 * back-pressure, the reply order, half-close and drain — is the shared
 * connection layer's (lib/csg_conn.h), the same code tcp.so runs on.
 *
 * Why it looks like this (DESIGN §3 "Hot path HTTP"): evhttp measured 0.59×
 * nginx here because of bufferevent watch toggling and one request per
 * upstream connection. So each socket is read directly from the worker's
 * event loop, and replies produced in one loop turn are written with one
 * send() per connection. Keep-alive and pipelining are supported: replies
 * leave in request order, and parsing pauses (llhttp HPE_PAUSED, the rest of
 * the read kept in a stash) while HTTP_MAX_PIPELINE replies are owed or the
 * client does not take its replies.
 *
 * Threads: create/start/stop/destroy on the main thread; start_worker,
 * drain_worker and every event callback on the worker that owns the
 * connection.
 */
#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csg/plugin.h"
#include "csg_buf.h"
#include "csg_clock.h"
#include "csg_conn.h"
#include "request_head.h"

#define HTTP_VERSION "1.0.0"
#define HTTP_MAX_PIPELINE 16      /* requests in flight per connection before parsing pauses */
#define HTTP_OUT_MAX (8u << 20)   /* unsent bytes per connection before we give up on it */
#define HTTP_OUT_PAUSE (256u << 10) /* unsent bytes at which parsing pauses (back-pressure) */
#define HTTP_STASH_MAX (1u << 20) /* unparsed pipelined bytes kept while paused */
#define HTTP_SCRATCH 4096
#define HTTP_HEADER_MAX 32768     /* request line + headers; more is answered 431 */

typedef struct http_inst {
    const csg_core_api *api;
    csg_conn_server *cs;
    size_t max_body;
} http_inst;

/* A slot's flag (csg_slot.flag): the answer to a HEAD request, headers only
 * (RFC 9110 §9.3.2). */
typedef struct http_conn {
    csg_conn conn; /* first: the layer allocates and frees the whole struct */
    llhttp_t parser;
    /* The request being parsed. */
    request_head rq;
    bool is_head; /* the request being parsed is a HEAD */
    bool body_over;
    size_t head_bytes; /* request line + headers seen so far */
    csg_buf body;
    csg_buf stash; /* bytes after a pause point, parsed on resume */
} http_conn;

static http_inst *inst_of(const http_conn *c) { return csg_conn_arg(&c->conn); }
static const csg_core_api *api_of(const http_conn *c) { return inst_of(c)->api; }

static const char *reason_phrase(int code)
{
    switch (code) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}

/* ------------------------------------------------------------------------ */
/* Replies                                                                   */

static char *put_str(char *w, const char *s, size_t n)
{
    memcpy(w, s, n);
    return w + n;
}
#define PUT_LIT(w, lit) put_str((w), (lit), sizeof(lit) - 1)

/* Serialise one complete response into b. Built with memcpy rather than
 * printf: this runs once per request and printf showed up in profiles. */
static int put_response(csg_buf *b, int code, const char *ctype, const char *body, size_t blen,
                        const char *rid, const char *extra, bool close, bool head)
{
    const char *reason = reason_phrase(code);
    size_t rlen = strlen(reason), clen = strlen(ctype), idlen = rid ? strlen(rid) : 0;
    size_t xlen = extra ? strlen(extra) : 0;
    char *w0 = csg_buf_reserve(b, blen + rlen + clen + idlen + xlen + 160);
    if (!w0)
        return -1;
    char *w = PUT_LIT(w0, "HTTP/1.1 ");
    *w++ = (char)('0' + code / 100);
    *w++ = (char)('0' + code / 10 % 10);
    *w++ = (char)('0' + code % 10);
    *w++ = ' ';
    w = put_str(w, reason, rlen);
    w = PUT_LIT(w, "\r\nContent-Type: ");
    w = put_str(w, ctype, clen);
    w = PUT_LIT(w, "\r\nContent-Length: ");
    char num[24];
    size_t nl = 0;
    size_t v = blen;
    do {
        num[sizeof num - 1 - nl++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    w = put_str(w, num + sizeof num - nl, nl);
    w = PUT_LIT(w, "\r\n");
    if (rid) {
        w = PUT_LIT(w, "X-Request-Id: ");
        w = put_str(w, rid, idlen);
        w = PUT_LIT(w, "\r\n");
    }
    if (extra)
        w = put_str(w, extra, xlen);
    if (close)
        w = PUT_LIT(w, "Connection: close\r\n");
    w = PUT_LIT(w, "\r\n");
    if (!head) /* HEAD: same headers (Content-Length of the GET body), no body */
        w = put_str(w, body, blen);
    csg_buf_commit(b, (size_t)(w - w0));
    return 0;
}

/* Deliver the response for slot s (any position in the ring). label: the
 * DESIGN §5 code counted in csg_requests_total{status} ("ok", "not_found",
 * …), the same vocabulary on every transport. */
static void respond_l(http_conn *c, csg_slot *s, int code, const char *label, const char *ctype,
                      const char *body, size_t blen, const char *rid, const char *extra)
{
    api_of(c)->count_request(c->conn.w->w, "http", label);
    if (c->conn.closed)
        return;
    if (csg_conn_draining(&c->conn))
        s->close_after = true;
    if (put_response(csg_conn_slot_out(&c->conn, s), code, ctype, body, blen, rid, extra,
                     s->close_after, s->flag) != 0) {
        api_of(c)->log(CSG_LOG_WARN, "http", "reply dropped: output buffer full or no memory");
        csg_conn_close(&c->conn);
        return;
    }
    csg_conn_slot_commit(&c->conn, s);
}

/* A successful (200) response. */
static void respond(http_conn *c, csg_slot *s, int code, const char *ctype, const char *body,
                    size_t blen, const char *rid, const char *extra)
{
    respond_l(c, s, code, CSG_CODE_OK, ctype, body, blen, rid, extra);
}

static void respond_error(http_conn *c, csg_slot *s, int code, const char *ecode,
                          const char *msg, const char *field, const char *rid, const char *extra)
{
    char buf[HTTP_SCRATCH];
    size_t n = api_of(c)->format_error(ecode, msg, field, buf, sizeof buf);
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    respond_l(c, s, code, ecode, "application/json", buf, n, rid, extra);
}

/* A slot for the request being parsed; NULL (and c closed) without memory. */
static csg_slot *new_slot(http_conn *c, bool close_after)
{
    csg_slot *s = csg_conn_slot_new(&c->conn);
    if (!s) {
        csg_conn_close(&c->conn);
        return NULL;
    }
    s->close_after = close_after;
    s->flag = c->is_head;
    return s;
}

static void reply_to(http_conn *c, csg_slot *s, const csg_reply *r);

/* The core's answer to a submitted score request. */
static void on_core_reply(void *ctx, const csg_reply *r)
{
    http_conn *c = (http_conn *)csg_conn_slot_returned(ctx);
    if (c->conn.closed) /* the client went away */
        api_of(c)->count_request(c->conn.w->w, "http", "client_closed");
    else
        reply_to(c, ctx, r);
    csg_conn_unhold(&c->conn);
}

static void reply_to(http_conn *c, csg_slot *s, const csg_reply *r)
{
    const csg_core_api *api = api_of(c);
    const char *label = csg_reply_status_code(r->status); /* lib/csg_vocab.h */
    int code;
    switch (r->status) {
    case CSG_REPLY_OK: code = 200; break;
    case CSG_REPLY_CHAMPION_TIMEOUT: code = 504; break;
    case CSG_REPLY_OVERLOADED: code = 503; break;
    case CSG_REPLY_NOT_READY: code = 503; break;
    case CSG_REPLY_DEADLINE: code = 504; break;
    default: code = 502; break; /* champion_error */
    }
    /* The core writes the body for every status (the error codes of DESIGN
     * §5 included), so all transports agree on it. */
    char buf[HTTP_SCRATCH];
    size_t n = api->format_reply(r, buf, HTTP_SCRATCH);
    if (n >= HTTP_SCRATCH) {
        /* Only if names were absurdly long; still answer correctly. */
        char *big = malloc(n + 1);
        if (!big) {
            respond_error(c, s, 500, CSG_CODE_INTERNAL, "out of memory", NULL, r->request_id, NULL);
            return;
        }
        api->format_reply(r, big, n + 1);
        respond_l(c, s, code, label, "application/json", big, n, r->request_id, NULL);
        free(big);
        return;
    }
    respond_l(c, s, code, label, "application/json", buf, n, r->request_id, NULL);
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                   */

static int cb_message_begin(llhttp_t *p)
{
    http_conn *c = p->data;
    request_head_reset(&c->rq);
    c->is_head = false;
    c->body_over = false;
    c->head_bytes = 0;
    csg_buf_clear(&c->body);
    c->conn.req_start_ms = csg_mono_ms(); /* the read timeout runs from here */
    return 0;
}

/* Headers are streamed, not buffered, but an endless header section would
 * still tie up the connection: cap it. */
static int count_head(http_conn *c, size_t n)
{
    c->head_bytes += n;
    if (c->head_bytes <= HTTP_HEADER_MAX)
        return 0;
    csg_slot *s = new_slot(c, true);
    respond_error(c, s, 431, "headers_too_large", "request line and headers exceed 32768 bytes",
                  NULL, NULL, NULL);
    c->conn.closing = true;
    return HPE_USER;
}

static int cb_url(llhttp_t *p, const char *at, size_t n)
{
    http_conn *c = p->data;
    if (count_head(c, n))
        return HPE_USER;
    request_head_url(&c->rq, at, n);
    return 0;
}

static int cb_header_field(llhttp_t *p, const char *at, size_t n)
{
    http_conn *c = p->data;
    if (count_head(c, n))
        return HPE_USER;
    request_head_field(&c->rq, at, n);
    return 0;
}

static int cb_header_field_complete(llhttp_t *p)
{
    request_head_field_done(&((http_conn *)p->data)->rq);
    return 0;
}

static int cb_header_value(llhttp_t *p, const char *at, size_t n)
{
    http_conn *c = p->data;
    if (count_head(c, n))
        return HPE_USER;
    request_head_value(&c->rq, at, n);
    return 0;
}

static int cb_header_value_complete(llhttp_t *p)
{
    request_head_value_done(&((http_conn *)p->data)->rq);
    return 0;
}

static void handle_request(http_conn *c, csg_slot *s);

/* The client's X-Request-Id when it is complete and valid, else NULL. */
static const char *client_rid(http_conn *c)
{
    return request_head_rid(&c->rq, api_of(c)->valid_request_id);
}

/* Answer before (the rest of) the body is read, then close: the unread body
 * makes the connection unusable. The return value stops llhttp. */
static int refuse(http_conn *c, int code, const char *ecode, const char *msg)
{
    csg_slot *s = new_slot(c, true);
    respond_error(c, s, code, ecode, msg, NULL, client_rid(c), NULL);
    c->conn.closing = true;
    return HPE_USER;
}

static int too_large(http_conn *c)
{
    char msg[96];
    snprintf(msg, sizeof msg, "request body exceeds %zu bytes", inst_of(c)->max_body);
    return refuse(c, 413, CSG_CODE_PAYLOAD_TOO_LARGE, msg);
}

static int cb_headers_complete(llhttp_t *p)
{
    http_conn *c = p->data;
    c->is_head = llhttp_get_method(p) == HTTP_HEAD;
    /* chunked last but another coding too ("gzip, chunked"): the body's end
     * is known, its content is not (RFC 9112 §6.1). chunked not last: llhttp
     * answers 400 itself (§6.3). */
    if ((p->flags & F_CHUNKED) && c->rq.te_other)
        return refuse(c, 501, "not_implemented", "Transfer-Encoding: only chunked is supported");
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > inst_of(c)->max_body)
        return too_large(c);
    request_head_route(&c->rq, llhttp_get_method(p));
    if (c->rq.early && c->rq.expect_continue) {
        /* The client waits for "100 Continue" before sending the body: answer
         * the error now instead, and close, since it may send the body anyway. */
        csg_slot *s = new_slot(c, true);
        handle_request(c, s);
        c->conn.closing = true;
        return -1;
    }
    if (c->rq.route == R_SCORE && c->rq.early == 0 && c->rq.expect_continue && c->conn.count == 0 &&
        !c->conn.closed) {
        /* Only when nothing is queued before it: an interim response must not
         * overtake earlier replies. */
        if (csg_buf_append(&c->conn.wq.out, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0)
            csg_wq_mark(&c->conn.wq);
    }
    return 0;
}

static int cb_body(llhttp_t *p, const char *at, size_t n)
{
    http_conn *c = p->data;
    if (c->rq.route != R_SCORE || c->rq.early)
        return 0; /* consumed and dropped */
    if (csg_buf_size(&c->body) + n > inst_of(c)->max_body)
        return too_large(c); /* a chunked body grew past the limit */
    if (csg_buf_append(&c->body, at, n) != 0) {
        c->body_over = true;
        return HPE_USER;
    }
    return 0;
}

static void handle_request(http_conn *c, csg_slot *s)
{
    if (c->conn.closed)
        return; /* no slot: out of memory */
    const csg_core_api *api = api_of(c);
    const char *rid = client_rid(c);
    switch (c->rq.early) {
    case 404:
        respond_error(c, s, 404, CSG_CODE_NOT_FOUND, "no such endpoint", NULL, rid, NULL);
        return;
    case 405:
        respond_error(c, s, 405, CSG_CODE_METHOD_NOT_ALLOWED,
                      c->rq.route == R_SCORE ? "use POST" : "use GET", NULL, rid,
                      c->rq.route == R_SCORE ? "Allow: POST\r\n" : "Allow: GET\r\n");
        return;
    case 415:
        respond_error(c, s, 415, CSG_CODE_UNSUPPORTED_MEDIA_TYPE,
                      "Content-Type must be application/json", NULL, rid, NULL);
        return;
    default: break;
    }
    switch (c->rq.route) {
    case R_HEALTHZ:
        respond(c, s, 200, "application/json", "{\"status\":\"ok\"}", 15, rid, NULL);
        return;
    case R_READYZ:
        if (api->is_ready() && CSG_API_HAS(api, ready_details) && api->ready_details) {
            /* Details: each guarded challenger's state (suspended ones too;
             * the gateway stays ready while the champion answers). */
            char body[4096];
            int n = snprintf(body, sizeof body, "{\"status\":\"ready\",\"challengers\":");
            size_t d = api->ready_details(body + n, sizeof body - (size_t)n - 1);
            if ((size_t)n + d + 1 < sizeof body) {
                body[(size_t)n + d] = '}';
                respond(c, s, 200, "application/json", body, (size_t)n + d + 1, rid, NULL);
            } else {
                respond(c, s, 200, "application/json", "{\"status\":\"ready\"}", 18, rid, NULL);
            }
        } else if (api->is_ready())
            respond(c, s, 200, "application/json", "{\"status\":\"ready\"}", 18, rid, NULL);
        else
            respond_error(c, s, 503, CSG_CODE_NOT_READY, "the champion model is not reachable",
                          NULL,
                          rid, NULL);
        return;
    case R_METRICS: {
        size_t len = 0;
        char *text = api->render_metrics(&len);
        if (!text) {
            respond_error(c, s, 500, CSG_CODE_INTERNAL, "metrics unavailable", NULL, rid, NULL);
            return;
        }
        respond(c, s, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, rid, NULL);
        free(text);
        return;
    }
    default: break;
    }

    /* POST /v1/score */
    if (c->rq.rid_seen && !rid) {
        respond_error(c, s, 400, CSG_CODE_INVALID_FIELD,
                      "X-Request-Id must be 1-64 printable ASCII characters", "request_id", NULL,
                      NULL);
        return;
    }
    csg_request req = {.size = sizeof req};
    char body_rid[CSG_REQUEST_ID_MAX + 1];
    csg_parse_error perr;
    memset(&perr, 0, sizeof perr);
    csg_parse_status ps = api->parse_application(
        c->conn.w->w, csg_buf_size(&c->body) ? csg_buf_ptr(&c->body) : "", csg_buf_size(&c->body),
        &req.app, body_rid, &perr);
    if (ps != CSG_PARSE_OK) {
        bool field = ps == CSG_PARSE_INVALID_FIELD;
        respond_error(c, s, 400, field ? CSG_CODE_INVALID_FIELD : CSG_CODE_INVALID_JSON,
                      perr.message[0] ? perr.message : "invalid application",
                      field && perr.field[0] ? perr.field : NULL, rid, NULL);
        return;
    }
    if (rid)
        memcpy(req.request_id, rid, c->rq.rid_len + 1);
    else
        req.request_id[0] = '\0';
    req.transport = "http";
    req.deadline_ms = 0;
    csg_conn_slot_submitted(s);
    api->submit(c->conn.w->w, &req, on_core_reply, s);
}

static int cb_message_complete(llhttp_t *p)
{
    http_conn *c = p->data;
    c->conn.req_start_ms = 0;
    if (c->body_over)
        return HPE_USER;
    /* Upgrade/CONNECT: answered like any request, no protocol switch follows
     * and llhttp parses nothing after it, so it is the last one: say so. */
    bool last = !llhttp_should_keep_alive(p) || llhttp_get_upgrade(p) ||
                csg_conn_draining(&c->conn);
    handle_request(c, new_slot(c, last));
    c->is_head = false;
    if (c->conn.closed)
        return HPE_USER;
    if (last) {
        c->conn.closing = true;
        return HPE_PAUSED; /* ignore anything after a Connection: close or Upgrade request */
    }
    if (csg_conn_must_pause(&c->conn))
        return HPE_PAUSED;
    return 0;
}

static const llhttp_settings_t parser_settings = {
    .on_message_begin = cb_message_begin,
    .on_url = cb_url,
    .on_header_field = cb_header_field,
    .on_header_field_complete = cb_header_field_complete,
    .on_header_value = cb_header_value,
    .on_header_value_complete = cb_header_value_complete,
    .on_headers_complete = cb_headers_complete,
    .on_body = cb_body,
    .on_message_complete = cb_message_complete,
};

static void http_resume(csg_conn *cc);

/* Parse data; handles pauses and protocol errors. */
static void feed(http_conn *c, const char *data, size_t len)
{
    llhttp_errno_t e = llhttp_execute(&c->parser, data, len);
    if (c->conn.closed || e == HPE_OK)
        return;
    if (e == HPE_PAUSED) {
        if (c->conn.closing) {
            csg_conn_finish(&c->conn);
            return;
        }
        const char *pos = llhttp_get_error_pos(&c->parser);
        size_t used = pos ? (size_t)(pos - data) : len;
        if (used < len && csg_buf_append(&c->stash, data + used, len - used) != 0) {
            csg_conn_close(&c->conn);
            return;
        }
        csg_conn_pause(&c->conn); /* the layer resumes once the replies are written */
        if (csg_conn_may_resume(&c->conn)) { /* every reply was immediate */
            c->conn.paused = false;
            http_resume(&c->conn);
        }
        return;
    }
    if (e == HPE_PAUSED_UPGRADE) /* not seen: cb_message_complete pauses first */
        c->conn.closing = true;
    /* Protocol error, or a callback stopped parsing (413 already queued). */
    if (!c->conn.closing) {
        char msg[160];
        snprintf(msg, sizeof msg, "malformed HTTP request: %s",
                 llhttp_get_error_reason(&c->parser) ? llhttp_get_error_reason(&c->parser)
                                                     : llhttp_errno_name(e));
        respond_error(c, new_slot(c, true), 400, "bad_request", msg, NULL, NULL, NULL);
        if (c->conn.closed)
            return;
    }
    csg_conn_finish(&c->conn);
}

/* ------------------------------------------------------------------------ */
/* The connection layer's callbacks (csg_conn_ops)                           */

static int http_open(csg_conn *cc)
{
    http_conn *c = (http_conn *)cc;
    csg_buf_init(&c->body, inst_of(c)->max_body + 1);
    csg_buf_init(&c->stash, HTTP_STASH_MAX);
    llhttp_init(&c->parser, HTTP_REQUEST, &parser_settings);
    c->parser.data = c;
    return 0;
}

static void http_data(csg_conn *cc, const char *p, size_t n) { feed((http_conn *)cc, p, n); }

/* Back-pressure lifted: parse what was stashed at the pause point. */
static void http_resume(csg_conn *cc)
{
    http_conn *c = (http_conn *)cc;
    llhttp_resume(&c->parser);
    csg_buf data = c->stash; /* feed may stash again */
    csg_buf_init(&c->stash, HTTP_STASH_MAX);
    if (csg_buf_size(&data) > 0)
        feed(c, csg_buf_ptr(&data), csg_buf_size(&data));
    csg_buf_free(&data);
    if (!cc->closed && !cc->paused && !cc->closing && !cc->read_eof)
        csg_conn_read_start(cc);
}

/* The request being parsed was not complete read_ms after its first byte:
 * answer 408 in order (after the replies still owed) and close once it is
 * written (lingering, so the client's unread bytes cannot RST it away). */
static void http_read_timeout(csg_conn *cc)
{
    http_conn *c = (http_conn *)cc;
    cc->req_start_ms = 0;
    csg_slot *s = new_slot(c, true);
    if (!s)
        return;
    s->flag = false; /* the method may not even be known yet */
    char msg[96];
    snprintf(msg, sizeof msg, "request not complete within %u ms of its first byte",
             csg_conn_read_ms(cc));
    respond_error(c, s, 408, CSG_CODE_REQUEST_TIMEOUT, msg, NULL, client_rid(c), NULL);
    if (!cc->closed)
        csg_conn_finish(cc);
}

static void http_release(csg_conn *cc)
{
    http_conn *c = (http_conn *)cc;
    csg_buf_free(&c->body);
    csg_buf_free(&c->stash);
}

static const csg_conn_ops http_conn_ops = {
    .open = http_open, .data = http_data, .resume = http_resume,
    .read_timeout = http_read_timeout, .release = http_release,
};

/* ------------------------------------------------------------------------ */
/* Plugin entry points                                                       */

#define OVERLOADED_BODY \
    "{\"error\":{\"code\":\"overloaded\",\"message\":\"too many connections, retry later\"}}"

static int http_create(const csg_transport_config *cfg, const csg_core_api *api, void **instance,
                       csg_error *err)
{
    http_inst *in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(err->message, sizeof err->message, "http: out of memory");
        return -CSG_ENOMEM;
    }
    in->api = api;
    in->max_body = api->max_body_bytes ? api->max_body_bytes : 65536;
    /* The reply to a connection refused at max_connections. */
    static const char overloaded[] =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        "Content-Length: 77\r\nConnection: close\r\n\r\n" OVERLOADED_BODY;
    _Static_assert(sizeof OVERLOADED_BODY - 1 == 77, "Content-Length of the overloaded reply");
    csg_conn_config cc = {
        .api = api,
        .transport = "http",
        .listen = cfg->listen,
        .conn_size = sizeof(http_conn),
        .ops = &http_conn_ops,
        .idle_ms = api->idle_timeout_ms ? api->idle_timeout_ms : 60000,
        .max_pipeline = HTTP_MAX_PIPELINE,
        .pause_out = HTTP_OUT_PAUSE,
        .out_max = HTTP_OUT_MAX,
        .refusal = overloaded,
        .refusal_len = sizeof overloaded - 1,
        .arg = in,
    };
    int rc = csg_conn_server_new(&cc, &in->cs, err);
    if (rc != 0) {
        free(in);
        return rc;
    }
    *instance = in;
    return 0;
}

static int http_start_worker(void *instance, csg_worker *w, csg_error *err)
{
    return csg_conn_server_start_worker(((http_inst *)instance)->cs, w, err);
}

/* Listeners stay open until each worker drains. */
static void http_stop(void *instance) { (void)instance; }

static unsigned http_drain_worker(void *instance, csg_worker *w)
{
    return csg_conn_server_drain_worker(((http_inst *)instance)->cs, w);
}

static void http_destroy(void *instance)
{
    http_inst *in = instance;
    if (!in)
        return;
    csg_conn_server_free(in->cs);
    free(in);
}

static const csg_transport_plugin http_plugin = {
    .header = CSG_PLUGIN_HEADER(CSG_PLUGIN_TRANSPORT, csg_transport_plugin, "http", HTTP_VERSION),
    .options = NULL,
    .create = http_create,
    .start_worker = http_start_worker,
    .start = NULL,
    .stop = http_stop,
    .drain_worker = http_drain_worker,
    .destroy = http_destroy,
};

__attribute__((visibility("default"))) const csg_plugin_header *csg_plugin_entry(void)
{
    return &http_plugin.header;
}
