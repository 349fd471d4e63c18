/*
 * event.h — parse and validate one MetricEvent (DESIGN §6) from Kafka or NDJSON.
 *
 * The rules (docs/persistence.md lists them): every key present; strings are
 * non-empty, bounded and free of control characters; numbers finite; the bounds of
 * every field are the gateway's, from lib/csg_event_schema.h (event_id 1–64 printable
 * ASCII, applicant_id 1–64 bytes, names 1–64, transport 1–15; scores and decision_diff
 * in [0, 1]; latencies in [0, 1e9]; income in [0, DBL_MAX]; loan_amount in (0, DBL_MAX];
 * credit_history an integer in [0, INT64_MAX]); decisions approve|decline|review;
 * status one of the five; timestamp RFC 3339 (stored at millisecond precision, UTC).
 * champion_score/champion_decision may be null only when status is CHAMPION_*;
 * without a challenger_model every challenger field must be null.
 */
#ifndef CSGP_EVENT_H
#define CSGP_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csg_event_schema.h"
#include "util.h"

#define CSGP_MAX_MESSAGE_BYTES 65536 /* larger messages go to the DLQ unparsed */

typedef enum csgp_decision {
    CSGP_DEC_NULL = 0,
    CSGP_DEC_APPROVE,
    CSGP_DEC_DECLINE,
    CSGP_DEC_REVIEW,
} csgp_decision;

typedef struct csgp_event {
    char event_id[CSG_EVENT_ID_MAX + 1];
    char experiment_id[CSG_EVENT_NAME_MAX + 1];
    char applicant_id[CSG_EVENT_APPLICANT_ID_MAX + 1];
    char transport[CSG_EVENT_TRANSPORT_MAX + 1];
    char champion_model[CSG_EVENT_NAME_MAX + 1];
    char challenger_model[CSG_EVENT_NAME_MAX + 1]; /* "" when null */
    bool has_challenger_model;
    bool has_champion_score, has_challenger_score, has_latency_challenger, has_decision_diff;
    double champion_score, challenger_score;
    double latency_champion_ms, latency_challenger_ms, decision_diff;
    csgp_decision champion_decision, challenger_decision;
    int decision_match; /* -1 null, 0 false, 1 true */
    double income, loan_amount;
    int64_t credit_history;
    int64_t ts_ms;
    char timestamp[CSGP_TS_SIZE]; /* canonical YYYY-MM-DDTHH:MM:SS.mmmZ */
    char status[24];
} csgp_event;

/* Why a message was rejected: a short class (the DLQ metric label) and a sentence. */
typedef struct csgp_reject {
    const char *kind; /* "too_large" | "invalid_json" | "not_object" | "missing_field" | "invalid_field" */
    char reason[256];
} csgp_reject;

/* Parse json[0..len). 0 and *ev filled, or -CSG_EINVAL and *why filled. */
int csgp_event_parse(const char *json, size_t len, csgp_event *ev, csgp_reject *why);

const char *csgp_decision_str(csgp_decision d); /* NULL for CSGP_DEC_NULL */

#endif /* CSGP_EVENT_H */
