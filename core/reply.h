/*
 * reply.h — the client-facing JSON reply (DESIGN §5), shared by every
 * transport through csg_core_api.format_reply.
 */
#ifndef CSG_REPLY_H
#define CSG_REPLY_H

#include <stddef.h>

#include "csg/plugin.h"

/* OK: {"applicant_id","score","decision","model","experiment_id","request_id",
 * "reasons":[{"code","feature","text"},…],"arm"} ("reasons" always, [] when the
 * reply has none; a fallback decision has "score":null, the FALLBACK reason
 * with "feature":null, and adds "fallback":true).
 * Otherwise: {"error":{"code","message"}} with code champion_error,
 * champion_timeout, overloaded, not_ready or deadline_exceeded.
 * No newline; snprintf semantics. */
size_t csg_format_reply(const csg_reply *reply, char *buf, size_t cap);

/* The error code of a reply status is lib/csg_vocab.h's csg_reply_status_code. */

#endif /* CSG_REPLY_H */
