/*
 * httpd.c — the REST API's evhttp server, its limits and JSON replies (see httpd.h).
 */
#include "httpd.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct csgp_httpd {
    struct event_base *base;
    struct evhttp *http;
    pthread_t thread;
    bool started;
    size_t max_body;
    csgp_httpd_cb cb;
    void *arg;
    _Atomic uint64_t *requests;
    const csgp_tokens *tokens; /* NULL: no tokens needed */
    SSL_CTX *tls;              /* NULL: plaintext */
};

void csgp_httpd_send_json(struct evhttp_request *req, int code, json_t *body)
{
    struct evbuffer *out = evbuffer_new();
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text) {
        evbuffer_add(out, text, strlen(text));
        evbuffer_add(out, "\n", 1);
    }
    free(text);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_send_reply(req, code, NULL, out); /* NULL: evhttp's phrase for the code */
    evbuffer_free(out);
    json_decref(body);
}

void csgp_httpd_send_error(struct evhttp_request *req, int code, const char *ecode,
                           const char *param, const char *message)
{
    json_t *e = json_object();
    json_object_set_new(e, "code", json_string(ecode));
    if (param)
        json_object_set_new(e, "parameter", json_string(param));
    json_object_set_new(e, "message", json_string(message));
    json_t *body = json_object();
    json_object_set_new(body, "error", e);
    csgp_httpd_send_json(req, code, body);
}

/* 401 or 403 with the JSON error body and the RFC 6750 challenge. */
static void send_auth_error(struct evhttp_request *req, int code, const char *challenge,
                            const char *ecode, const char *message)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", challenge);
    csgp_httpd_send_error(req, code, ecode, NULL, message);
}

/* With tokens: every request needs a read token, a POST a write token (DESIGN §7).
 * True when req may go on; else it has been answered. The token is never logged. */
static bool authorized(const csgp_httpd *h, struct evhttp_request *req)
{
    if (!h->tokens)
        return true;
    const char *a = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!a) {
        send_auth_error(req, 401, "Bearer realm=\"csg-persist\"", "unauthorized",
                        "this API needs a bearer token: Authorization: Bearer <token>");
        return false;
    }
    size_t len = strlen(a);
    if (len < 7 || strncasecmp(a, "Bearer ", 7) != 0) {
        send_auth_error(req, 401, "Bearer realm=\"csg-persist\", error=\"invalid_request\"",
                        "unauthorized", "the Authorization header must be \"Bearer <token>\"");
        return false;
    }
    const char *tok = a + 7;
    len -= 7;
    while (len && *tok == ' ')
        tok++, len--;
    while (len && tok[len - 1] == ' ')
        len--;
    csgp_scope scope = csgp_tokens_scope(h->tokens, tok, len);
    if (scope == CSGP_SCOPE_NONE) {
        send_auth_error(req, 401, "Bearer realm=\"csg-persist\", error=\"invalid_token\"",
                        "unauthorized", "the bearer token is not valid");
        return false;
    }
    if (evhttp_request_get_command(req) == EVHTTP_REQ_POST && scope != CSGP_SCOPE_WRITE) {
        send_auth_error(req, 403,
                        "Bearer realm=\"csg-persist\", error=\"insufficient_scope\", "
                        "scope=\"write\"",
                        "forbidden", "this request needs a token with the write scope");
        return false;
    }
    return true;
}

/* The token and the limits every request must meet before it is routed. */
static void on_request(struct evhttp_request *req, void *arg)
{
    csgp_httpd *h = arg;
    if (h->requests)
        atomic_fetch_add(h->requests, 1);
    if (!authorized(h, req))
        return;
    const char *uri = evhttp_request_get_uri(req);
    if (uri && strlen(uri) > CSGP_HTTPD_MAX_URI_BYTES) {
        char msg[96];
        snprintf(msg, sizeof msg, "the request target is over %u bytes",
                 CSGP_HTTPD_MAX_URI_BYTES);
        csgp_httpd_send_error(req, 414, "uri_too_long", NULL, msg);
        return;
    }
    if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) > h->max_body) {
        char msg[96];
        snprintf(msg, sizeof msg, "the body is over %zu bytes", h->max_body);
        csgp_httpd_send_error(req, 413, "payload_too_large", NULL, msg);
        return;
    }
    h->cb(req, h->arg);
}

/* Each connection's bufferevent: TLS over the socket when the server has a context. */
static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
    csgp_httpd *h = arg;
    SSL *ssl = SSL_new(h->tls);
    if (!ssl)
        return NULL; /* evhttp drops the connection */
    return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
}

static void *serve(void *arg)
{
    csgp_httpd *h = arg;
    event_base_dispatch(h->base);
    return NULL;
}

int csgp_httpd_start(const char *listen, size_t max_body, const csgp_security *sec,
                     csgp_httpd_cb cb, void *arg, _Atomic uint64_t *requests, csgp_httpd **out,
                     csg_error *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, (void (*)(void))evthread_use_pthreads);
    csgp_httpd *h = calloc(1, sizeof *h);
    if (!h)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    *h = (csgp_httpd){.max_body = max_body, .cb = cb, .arg = arg, .requests = requests,
                      .tokens = sec ? sec->tokens : NULL, .tls = sec ? sec->tls : NULL};
    int rc;
    char host[256];
    const char *colon = strrchr(listen, ':');
    int64_t port;
    if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof host ||
        !csgp_parse_int64(colon + 1, &port) || port < 0 || port > 65535) {
        rc = csg_fail(err, CSG_EINVAL, "--listen must be HOST:PORT, got \"%s\"", listen);
        goto fail;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = 0;
    h->base = event_base_new();
    h->http = h->base ? evhttp_new(h->base) : NULL;
    if (!h->http) {
        rc = csg_fail(err, CSG_ENOMEM, "cannot create the HTTP server");
        goto fail;
    }
    evhttp_set_timeout(h->http, CSGP_HTTPD_TIMEOUT_S);
    /* evhttp answers whatever breaks its own limits with an HTML page, before on_request
     * can run: they sit far above ours, so that the requests our limits refuse get JSON.
     * Bodies up to twice max_body are read (into memory, as evhttp reads every body) to
     * be answered 413 here; a larger Content-Length is refused by evhttp unread. */
    evhttp_set_max_headers_size(h->http, CSGP_HTTPD_MAX_HEAD_BYTES);
    evhttp_set_max_body_size(h->http, (ev_ssize_t)(2 * max_body));
    /* Every method evhttp knows reaches the router, which answers 405 with Allow for the
     * ones a path does not take. Not CONNECT: evhttp 2.1 frames no reply body for it (a
     * tunnel), so it keeps evhttp's 501, like a method token evhttp does not know. */
    evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                            EVHTTP_REQ_PATCH);
    evhttp_set_gencb(h->http, on_request, h);
    if (h->tls)
        evhttp_set_bevcb(h->http, make_bev, h);
    if (!evhttp_bind_socket_with_handle(h->http, host, (uint16_t)port)) {
        rc = csg_fail(err, CSG_EIO, "cannot listen on %s (in use, or not a local address)",
                       listen);
        goto fail;
    }
    if (pthread_create(&h->thread, NULL, serve, h) != 0) {
        rc = csg_fail(err, CSG_EIO, "cannot start the API thread");
        goto fail;
    }
    h->started = true;
    *out = h;
    return 0;
fail:
    csgp_httpd_stop(h);
    return rc;
}

void csgp_httpd_halt(csgp_httpd *h)
{
    if (h && h->started) {
        event_base_loopbreak(h->base);
        pthread_join(h->thread, NULL);
        h->started = false;
    }
}

void csgp_httpd_stop(csgp_httpd *h)
{
    if (!h)
        return;
    csgp_httpd_halt(h);
    if (h->http)
        evhttp_free(h->http);
    if (h->base)
        event_base_free(h->base);
    free(h);
}
