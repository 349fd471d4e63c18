/*
 * httpd.h — the REST API's HTTP server: libevent evhttp on a thread of its own, its
 * limits, and JSON replies (DESIGN §7). api.c routes and answers; this module owns the
 * socket, the thread and what every request must satisfy before it is routed.
 *
 * Every answer csg-persist gives is JSON: errors are {"error":{"code","message",
 * "parameter"?}}. A request target over CSGP_HTTPD_MAX_URI_BYTES is answered 414
 * uri_too_long and a body over the server's max_body 413 payload_too_large, here, before
 * routing. evhttp's own limits sit far above those, so that such requests reach this code;
 * only what evhttp refuses while parsing — before any callback can run, with its own HTML
 * page (libevent 2.1 has no hook for it) — is not JSON: a malformed request line or
 * header, an unknown method token, a request head over CSGP_HTTPD_MAX_HEAD_BYTES, a body
 * over twice max_body or a malformed chunk, an Expect other than 100-continue
 * (docs/persistence.md lists them).
 */
#ifndef CSGP_HTTPD_H
#define CSGP_HTTPD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/http.h>
#include <jansson.h>

#include "auth.h"
#include "util.h"

#define CSGP_HTTPD_MAX_URI_BYTES (256u << 10) /* longer request targets: 414 */
#define CSGP_HTTPD_MAX_HEAD_BYTES (1u << 20)  /* evhttp's own limit: request line + headers */
#define CSGP_HTTPD_TIMEOUT_S 30               /* a request must arrive within, idle close */

typedef struct csgp_httpd csgp_httpd;

/* Called on the server's thread for each request within the limits; it must answer it. */
typedef void (*csgp_httpd_cb)(struct evhttp_request *req, void *arg);

/* Bind listen ("HOST:PORT") now — a port in use fails here — and serve on a new thread:
 * every request is counted in *requests (may be NULL), checked against the tokens of sec
 * (401/403, auth.h; sec NULL or its parts NULL: off) and the limits (bodies up to
 * max_body bytes) and handed to cb. With sec->tls every connection speaks TLS.
 * 0 and *out, or -CSG_E… and err. */
int csgp_httpd_start(const char *listen, size_t max_body, const csgp_security *sec,
                     csgp_httpd_cb cb, void *arg, _Atomic uint64_t *requests, csgp_httpd **out,
                     csg_error *err);
/* Stop the thread: no callback runs after it, the event base is still there (for what
 * its owner must free first). NULL or twice is fine. */
void csgp_httpd_halt(csgp_httpd *h);
/* Halt, close the socket, free everything; requests not answered are dropped (NULL is
 * fine). */
void csgp_httpd_stop(csgp_httpd *h);

/* Answer req with status code and body as compact JSON plus a newline; takes body. */
void csgp_httpd_send_json(struct evhttp_request *req, int code, json_t *body);
/* Answer {"error":{"code":ecode,"parameter":param (when not NULL),"message":message}}. */
void csgp_httpd_send_error(struct evhttp_request *req, int code, const char *ecode,
                           const char *param, const char *message);

#endif /* CSGP_HTTPD_H */
