/*
 * request_head.c — the request line and headers as http.so keeps them while
 * llhttp streams them, and the routing decided from them (DESIGN §5 "HTTP").
 */
#include "request_head.h"

#include <ctype.h>
#include <llhttp.h>
#include <string.h>
#include <strings.h>

void request_head_reset(request_head *h)
{
    h->url_len = 0;
    h->url_overflow = false;
    h->hname_len = 0;
    h->hkind = H_OTHER;
    h->ctype_len = 0;
    h->rid_len = 0;
    h->rid_seen = false;
    h->rid_done = false;
    h->expect_continue = false;
    h->te_other = false;
    h->route = R_NONE;
    h->early = 0;
}

void request_head_url(request_head *h, const char *at, size_t n)
{
    if (h->url_len + n >= HTTP_URL_MAX) {
        h->url_overflow = true;
        return;
    }
    memcpy(h->url + h->url_len, at, n);
    h->url_len += n;
}

void request_head_field(request_head *h, const char *at, size_t n)
{
    if (h->hname_len + n < sizeof h->hname)
        memcpy(h->hname + h->hname_len, at, n);
    h->hname_len += n;
}

void request_head_field_done(request_head *h)
{
    size_t n = h->hname_len;
    h->hkind = H_OTHER;
    if (n == 12 && strncasecmp(h->hname, "content-type", 12) == 0) {
        h->hkind = H_CTYPE;
        h->ctype_len = 0;
    } else if (n == 12 && strncasecmp(h->hname, "x-request-id", 12) == 0) {
        h->hkind = H_RID;
        h->rid_len = 0;
        h->rid_seen = true;
        h->rid_done = false;
    } else if (n == 6 && strncasecmp(h->hname, "expect", 6) == 0) {
        h->hkind = H_EXPECT;
        h->expect_len = 0;
    } else if (n == 17 && strncasecmp(h->hname, "transfer-encoding", 17) == 0) {
        h->hkind = H_TE;
        h->te_match = 0;
        h->te_tail = false;
    }
    h->hname_len = 0;
}

void request_head_value(request_head *h, const char *at, size_t n)
{
    switch (h->hkind) {
    case H_CTYPE:
        if (h->ctype_len + n < sizeof h->ctype)
            memcpy(h->ctype + h->ctype_len, at, n);
        h->ctype_len += n;
        break;
    case H_RID:
        if (h->rid_len + n <= CSG_REQUEST_ID_MAX)
            memcpy(h->rid + h->rid_len, at, n);
        h->rid_len += n;
        break;
    case H_EXPECT:
        /* The value may arrive in pieces (one per read): judge it whole, in
         * request_head_value_done. */
        if (h->expect_len + n <= sizeof h->expect)
            memcpy(h->expect + h->expect_len, at, n);
        h->expect_len += n;
        break;
    case H_TE:
        /* "chunked" alone, but for whitespace around it (llhttp passes the
         * trailing one on)? Judged a byte at a time, however it is split. */
        for (size_t i = 0; i < n; i++) {
            if (at[i] == ' ' || at[i] == '\t')
                h->te_tail = h->te_tail || h->te_match > 0;
            else if (h->te_tail || h->te_match >= 7 ||
                     tolower((unsigned char)at[i]) != "chunked"[h->te_match])
                h->te_other = true;
            else
                h->te_match++;
        }
        break;
    default: break;
    }
}

void request_head_value_done(request_head *h)
{
    if (h->hkind == H_EXPECT && h->expect_len == 12 &&
        strncasecmp(h->expect, "100-continue", 12) == 0)
        h->expect_continue = true;
    if (h->hkind == H_RID)
        h->rid_done = true;
    if (h->hkind == H_TE && h->te_match != 7)
        h->te_other = true;
    h->hkind = H_OTHER;
}

static bool is_json_type(const char *v, size_t n)
{
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    size_t m = 0;
    while (m < n && v[m] != ';' && v[m] != ' ' && v[m] != '\t')
        m++;
    return m == 16 && strncasecmp(v, "application/json", 16) == 0;
}

void request_head_route(request_head *h, uint8_t method)
{
    const char *u = h->url;
    size_t ulen = h->url_len;
    /* absolute-form (RFC 9112 §3.2.2): "http://host:port/v1/score" routes
     * by its path; the authority is not checked (one listener, no vhosts). */
    size_t skip = ulen >= 7 && strncasecmp(u, "http://", 7) == 0    ? 7
                  : ulen >= 8 && strncasecmp(u, "https://", 8) == 0 ? 8
                                                                     : 0;
    if (skip) {
        while (skip < ulen && u[skip] != '/' && u[skip] != '?')
            skip++;
        u += skip;
        ulen -= skip;
    }
    size_t plen = 0;
    while (plen < ulen && u[plen] != '?')
        plen++;
    enum http_route r = R_NONE;
    if (!h->url_overflow) {
        if ((plen == 9 && memcmp(u, "/v1/score", 9) == 0) || (plen == 6 && memcmp(u, "/score", 6) == 0))
            r = R_SCORE;
        else if (plen == 8 && memcmp(u, "/healthz", 8) == 0)
            r = R_HEALTHZ;
        else if (plen == 7 && memcmp(u, "/readyz", 7) == 0)
            r = R_READYZ;
        else if (plen == 8 && memcmp(u, "/metrics", 8) == 0)
            r = R_METRICS;
    }
    h->route = r;
    if (r == R_NONE)
        h->early = 404;
    else if (r == R_SCORE && method != HTTP_POST)
        h->early = 405;
    else if (r != R_SCORE && method != HTTP_GET && method != HTTP_HEAD)
        h->early = 405;
    else if (r == R_SCORE && !(h->ctype_len > 0 && h->ctype_len < sizeof h->ctype &&
                               is_json_type(h->ctype, h->ctype_len)))
        h->early = 415;
}

const char *request_head_rid(request_head *h, bool (*valid)(const char *id, size_t len))
{
    if (!h->rid_seen || !h->rid_done || h->rid_len > CSG_REQUEST_ID_MAX)
        return NULL;
    h->rid[h->rid_len] = '\0';
    return valid(h->rid, h->rid_len) ? h->rid : NULL;
}
