/*
 * request_head.h — what http.so keeps of a request's line and headers while
 * llhttp streams them to it, and the decisions made from them: the route,
 * an early 404/405/415, the X-Request-Id, Expect: 100-continue, a transfer
 * coding other than chunked.
 *
 * The values arrive in pieces (one per read) and are judged whole. Nothing
 * here allocates; a request_head lives inside its connection and is reset
 * at each request's first byte. Worker-local, like its connection.
 */
#ifndef CSG_HTTP_REQUEST_HEAD_H
#define CSG_HTTP_REQUEST_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csg/plugin.h"

#define HTTP_URL_MAX 512 /* longer URLs are answered 404 */

enum http_route { R_NONE, R_SCORE, R_HEALTHZ, R_READYZ, R_METRICS };
enum http_hdr { H_OTHER, H_CTYPE, H_RID, H_EXPECT, H_TE };

typedef struct request_head {
    char url[HTTP_URL_MAX];
    size_t url_len;
    bool url_overflow;
    char hname[32];
    size_t hname_len;
    enum http_hdr hkind;
    char ctype[128];
    size_t ctype_len;
    char rid[CSG_REQUEST_ID_MAX + 1];
    size_t rid_len; /* full length seen, may exceed what rid holds */
    bool rid_seen;
    bool rid_done; /* the X-Request-Id value is complete (not still trickling in) */
    bool expect_continue;
    char expect[16]; /* Expect value, gathered across reads */
    size_t expect_len;
    size_t te_match; /* bytes of "chunked" matched by this Transfer-Encoding value */
    bool te_tail;    /* whitespace after them */
    bool te_other;   /* a Transfer-Encoding value other than "chunked" alone */
    enum http_route route;
    int early; /* 404/405/415 decided from the headers; answered once the body is read */
} request_head;

/* Forget the previous request: called at a request's first byte. */
void request_head_reset(request_head *h);

/* A piece of the request target, of a header name, of a header value (the
 * llhttp on_url / on_header_field / on_header_value spans). */
void request_head_url(request_head *h, const char *at, size_t n);
void request_head_field(request_head *h, const char *at, size_t n);
void request_head_value(request_head *h, const char *at, size_t n);

/* The header name / value just streamed is complete. */
void request_head_field_done(request_head *h);
void request_head_value_done(request_head *h);

/* Headers complete: set h->route and h->early (404, 405 or 415; 0 = none)
 * for the llhttp method. */
void request_head_route(request_head *h, uint8_t method);

/* The client's X-Request-Id, NUL-terminated in h->rid, when it is complete
 * and valid by `valid` (the core's rule); else NULL. */
const char *request_head_rid(request_head *h, bool (*valid)(const char *id, size_t len));

#endif
