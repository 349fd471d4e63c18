/*
 * csg_vocab.h — the one status and decision vocabulary of CSG (DESIGN §5, §6), spelled
 * once for every writer and reader: the gateway's replies (core/reply.c) and events
 * (core/event.c), the transports (http.so, tcp.so, grpc.so), the configuration
 * (`fallback_decision`) and csg-persist (persistence/event.c, the DLQ, the SQL text).
 *
 *  - decisions: approve | decline | review (csg_decision; review only as a configured
 *    champion fallback);
 *  - MetricEvent statuses: OK, CHALLENGER_TIMEOUT, CHALLENGER_ERROR, CHAMPION_TIMEOUT,
 *    CHAMPION_ERROR, LIVE_FALLBACK, CHALLENGER_SUSPENDED (csg_event_status);
 *  - the DESIGN §5 error codes of replies and of csg_requests_total{status}
 *    (CSG_CODE_…), and which one a reply status (csg_reply_status) answers with.
 *
 * csg_decision and csg_reply_status cross the plugin boundary: csg/plugin.h re-exports
 * this header, and their values are part of the ABI (only ever appended). csg-persist
 * includes it directly (never the ABI header, DESIGN §2).
 *
 * Header-only, no includes beyond the C library.
 */
#ifndef CSG_VOCAB_H
#define CSG_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Decisions                                                                 */

typedef enum csg_decision {
    CSG_DECISION_NONE = 0,
    CSG_DECISION_APPROVE = 1,
    CSG_DECISION_DECLINE = 2,
    CSG_DECISION_REVIEW = 3, /* only as a configured champion fallback */
} csg_decision;

/* The names in enum order from CSG_DECISION_APPROVE, for option tables and messages. */
#define CSG_DECISION_NAME_LIST "approve", "decline", "review"

/* "approve", "decline", "review"; NULL for CSG_DECISION_NONE or an unknown value. */
static inline const char *csg_decision_name(csg_decision d)
{
    switch (d) {
    case CSG_DECISION_APPROVE:
        return "approve";
    case CSG_DECISION_DECLINE:
        return "decline";
    case CSG_DECISION_REVIEW:
        return "review";
    default:
        return NULL;
    }
}

/* The decision named s[0..n); CSG_DECISION_NONE when it is none of them. */
static inline csg_decision csg_decision_parse(const char *s, size_t n)
{
    for (int d = CSG_DECISION_APPROVE; s && d <= CSG_DECISION_REVIEW; d++) {
        const char *name = csg_decision_name((csg_decision)d);
        if (strlen(name) == n && memcmp(s, name, n) == 0)
            return (csg_decision)d;
    }
    return CSG_DECISION_NONE;
}

/* ------------------------------------------------------------------------ */
/* MetricEvent statuses (DESIGN §6)                                          */

typedef enum csg_event_status {
    CSG_EVENT_OK = 0,
    CSG_EVENT_CHALLENGER_TIMEOUT = 1,
    CSG_EVENT_CHALLENGER_ERROR = 2,
    CSG_EVENT_CHAMPION_TIMEOUT = 3,
    CSG_EVENT_CHAMPION_ERROR = 4,
    CSG_EVENT_LIVE_FALLBACK = 5, /* a live challenger failed; the champion decided */
    /* A guardrail held the challenger off (suspended, or outside its trial share). */
    CSG_EVENT_CHALLENGER_SUSPENDED = 6,
} csg_event_status;
#define CSG_EVENT_STATUS_COUNT 7
/* The longest status name's length (CHALLENGER_SUSPENDED). */
#define CSG_EVENT_STATUS_NAME_MAX 20

/* The status's name; "OK" for an unknown value (the writer never has one). */
static inline const char *csg_event_status_name(csg_event_status s)
{
    switch (s) {
    case CSG_EVENT_OK:
        return "OK";
    case CSG_EVENT_CHALLENGER_TIMEOUT:
        return "CHALLENGER_TIMEOUT";
    case CSG_EVENT_CHALLENGER_ERROR:
        return "CHALLENGER_ERROR";
    case CSG_EVENT_CHAMPION_TIMEOUT:
        return "CHAMPION_TIMEOUT";
    case CSG_EVENT_CHAMPION_ERROR:
        return "CHAMPION_ERROR";
    case CSG_EVENT_LIVE_FALLBACK:
        return "LIVE_FALLBACK";
    case CSG_EVENT_CHALLENGER_SUSPENDED:
        return "CHALLENGER_SUSPENDED";
    }
    return "OK";
}

/* The status named s (NUL-terminated) into *out; false when it is none of them. */
static inline bool csg_event_status_parse(const char *s, csg_event_status *out)
{
    for (int i = 0; s && i < CSG_EVENT_STATUS_COUNT; i++) {
        if (strcmp(s, csg_event_status_name((csg_event_status)i)) == 0) {
            *out = (csg_event_status)i;
            return true;
        }
    }
    return false;
}

/* True for the statuses where the champion gave no answer (its score and decision are
 * null in the event). */
static inline bool csg_event_status_champion_failed(csg_event_status s)
{
    return s == CSG_EVENT_CHAMPION_TIMEOUT || s == CSG_EVENT_CHAMPION_ERROR;
}

/* ------------------------------------------------------------------------ */
/* Error codes (DESIGN §5): the "code" of {"error":{…}} on every transport,   */
/* and the status label of csg_requests_total{transport,status}.             */

#define CSG_CODE_OK "ok" /* a label only: a reply, not an error */
#define CSG_CODE_INVALID_JSON "invalid_json"
#define CSG_CODE_INVALID_FIELD "invalid_field"
#define CSG_CODE_NOT_FOUND "not_found"
#define CSG_CODE_METHOD_NOT_ALLOWED "method_not_allowed"
#define CSG_CODE_PAYLOAD_TOO_LARGE "payload_too_large"
#define CSG_CODE_UNSUPPORTED_MEDIA_TYPE "unsupported_media_type"
#define CSG_CODE_REQUEST_TIMEOUT "request_timeout"
#define CSG_CODE_CHAMPION_ERROR "champion_error"
#define CSG_CODE_CHAMPION_TIMEOUT "champion_timeout"
#define CSG_CODE_NOT_READY "not_ready"
#define CSG_CODE_OVERLOADED "overloaded"
#define CSG_CODE_DEADLINE_EXCEEDED "deadline_exceeded"
#define CSG_CODE_INTERNAL "internal"
#define CSG_CODE_INVALID_PARAMETER "invalid_parameter" /* csg-persist's REST API */

/* What the core answers a submitted request with (csg_reply.status). */
typedef enum csg_reply_status {
    CSG_REPLY_OK = 0,               /* score/decision from the champion (or its fallback) */
    CSG_REPLY_CHAMPION_ERROR = 1,   /* HTTP 502, gRPC UNAVAILABLE */
    CSG_REPLY_CHAMPION_TIMEOUT = 2, /* HTTP 504, gRPC DEADLINE_EXCEEDED */
    CSG_REPLY_OVERLOADED = 3,       /* HTTP 503 overloaded, gRPC RESOURCE_EXHAUSTED */
    CSG_REPLY_NOT_READY = 4,        /* HTTP 503 not_ready, gRPC UNAVAILABLE */
    CSG_REPLY_DEADLINE = 5,         /* client deadline passed; gRPC DEADLINE_EXCEEDED */
} csg_reply_status;

/* The DESIGN §5 code of a reply status: "ok" for CSG_REPLY_OK, else the error code
 * every transport sends and counts. A value newer than this header (a core of a
 * later minor) reads as "champion_error", the HTTP 502 every transport falls back to. */
static inline const char *csg_reply_status_code(csg_reply_status s)
{
    switch (s) {
    case CSG_REPLY_OK:
        return CSG_CODE_OK;
    case CSG_REPLY_CHAMPION_ERROR:
        return CSG_CODE_CHAMPION_ERROR;
    case CSG_REPLY_CHAMPION_TIMEOUT:
        return CSG_CODE_CHAMPION_TIMEOUT;
    case CSG_REPLY_OVERLOADED:
        return CSG_CODE_OVERLOADED;
    case CSG_REPLY_NOT_READY:
        return CSG_CODE_NOT_READY;
    case CSG_REPLY_DEADLINE:
        return CSG_CODE_DEADLINE_EXCEEDED;
    }
    return CSG_CODE_CHAMPION_ERROR;
}

#ifdef __cplusplus
}
#endif
#endif /* CSG_VOCAB_H */
