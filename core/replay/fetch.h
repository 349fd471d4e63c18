/*
 * fetch.h — csg-replay's client of csg-persist's REST API: one blocking HTTP/1.0 GET per
 * call (a page of GET /export/events, a count from /metrics/events), over TCP or TLS
 * (https://, verified against --ca-file or the system's CAs), with
 * `Authorization: Bearer <CSG_API_TOKEN>` when a token is set.
 */
#ifndef CSG_REPLAY_FETCH_H
#define CSG_REPLAY_FETCH_H

#include <stddef.h>

#include "csg_error.h"

typedef struct rp_api rp_api;

/* Parse url ("http[s]://host[:port][/prefix]"); ca_file and token may be NULL. 0 and
 * *out, or -CSG_EINVAL and err. */
int rp_api_open(const char *url, const char *ca_file, const char *token, rp_api **out,
                csg_error *err);
void rp_api_close(rp_api *a);

/* GET prefix + target (which starts with '/'). On 0, *body (malloc'd, NUL-terminated,
 * caller frees) and *len hold the response body and *status the HTTP status. Bodies are
 * bounded (64 MiB). -CSG_EIO and err on connection, TLS or protocol failures. */
int rp_api_get(rp_api *a, const char *target, int *status, char **body, size_t *len,
               csg_error *err);

/* Percent-encode s for a query value into buf (snprintf semantics). */
size_t rp_url_encode(const char *s, char *buf, size_t cap);

#endif /* CSG_REPLAY_FETCH_H */
