/*
 * event.h — parse and validate one MetricEvent (DESIGN §6) from Kafka or NDJSON.
 *
 * The keys, their types, nullability and bounds are the field table of
 * lib/csg_event_schema.h, the one the gateway writes events with; statuses and decisions
 * are lib/csg_vocab.h's. The rules (docs/persistence.md lists them): every key present; strings are
 * non-empty, bounded and free of control characters; numbers finite; the bounds of
 * every field are the gateway's, from lib/csg_event_schema.h (event_id 1–64 printable
 * ASCII, applicant_id 1–64 bytes, names 1–64, transport 1–15; scores and decision_diff
 * in [0, 1]; latencies in [0, 1e9]; income in [0, DBL_MAX]; loan_amount in (0, DBL_MAX];
 * credit_history an integer in [0, INT64_MAX]); decisions approve|decline|review;
 * status one of the five; timestamp RFC 3339 (stored at millisecond precision, UTC).
 * champion_score/champion_decision may be null only when status is CHAMPION_*;
 * without a challenger_model every challenger field must be null.
 *
 * The ABI 2.0 keys (DESIGN §6) are optional, so events of older gateways and old spools
 * still load: `features` (absent or null: no features; else an object of at most 64
 * entries, names [a-z][a-z0-9_]{0,31}, values finite numbers, booleans or category
 * strings of 1–256 bytes without control characters) and `config_version` (absent or
 * null, else 16 lowercase hex characters). income, loan_amount and credit_history may be
 * null (a schema without that feature); a null one is taken from features when it holds
 * a value within the column's rule, else stored as NULL.
 *
 * Reasons (issue 17): `champion_reasons` and `challenger_reasons` are each absent or null
 * (stored as NULL: an older gateway, or that model gave no answer) or an array of 0 to
 * CSG_REASONS_MAX codes ([A-Z0-9_]{1,16}, csg_reason_code_ok), in the model's order. A list
 * needs an answer from its model: champion_reasons must be null when champion_score is,
 * challenger_reasons when challenger_score is (so also without a challenger).
 *
 * Arms (issue 21, event_arms.c): `decided_by` is absent, null, "champion" or
 * "challenger" ("challenger" needs a live challenger that answered: the first element of
 * `challengers` with mode live and status OK). `challengers` is absent, null or an array
 * of at most CSG_EVENT_MAX_CHALLENGERS objects {"model","score","decision","latency_ms",
 * "status","reasons","mode"}: model a name (distinct within the event), score in [0, 1]
 * and decision both null (status CHALLENGER_TIMEOUT / CHALLENGER_ERROR) or both set
 * (status OK), latency_ms in [0, 1e9], reasons as for challenger_reasons, mode shadow |
 * live (the gateway writes the top-level challenger_* keys from the first element).
 */
#ifndef CSGP_EVENT_H
#define CSGP_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csg_event_schema.h"
#include "csg_vocab.h"
#include "util.h"

#define CSGP_MAX_MESSAGE_BYTES 65536 /* larger messages go to the DLQ unparsed */

/* Decisions are lib/csg_vocab.h's csg_decision (CSG_DECISION_NONE: null). */
typedef csg_decision csgp_decision;

/* A model's reason codes in its order; present = false stores NULL (no list). */
typedef struct csgp_reasons {
    bool present;
    int n; /* 0..CSG_REASONS_MAX */
    char code[CSG_REASONS_MAX][CSG_REASON_CODE_MAX + 1];
} csgp_reasons;

/* One element of the event's `challengers` array (DESIGN §6, issue 21). */
typedef struct csgp_chal_result {
    char model[CSG_EVENT_NAME_MAX + 1];
    bool has_score; /* false: no answer (score, decision, reasons null) */
    double score;
    csgp_decision decision;
    double latency_ms;
    csg_event_status status; /* OK, CHALLENGER_TIMEOUT or CHALLENGER_ERROR */
    csgp_reasons reasons;
    bool live; /* mode "live" */
    bool trial; /* "trial": true — called inside its guardrail's trial share */
} csgp_chal_result;

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
    bool has_income, has_loan_amount, has_credit_history; /* false: NULL column */
    double income, loan_amount;
    int64_t credit_history;
    /* The features object as compact JSON text (keys sorted), malloc'd by
     * csgp_event_parse and freed by csgp_event_release; NULL when the event has none. */
    char *features;
    char config_version[CSG_EVENT_CONFIG_VERSION_LEN + 1]; /* "" when absent */
    csgp_reasons champion_reasons, challenger_reasons;
    int64_t ts_ms;
    char timestamp[CSGP_TS_SIZE]; /* canonical YYYY-MM-DDTHH:MM:SS.mmmZ */
    csg_event_status status_id;
    char status[CSG_EVENT_STATUS_NAME_MAX + 1]; /* its name, as stored */
    /* decided_by (absent in older events: the champion) and every challenger result
     * (malloc'd, freed by csgp_event_release; an event without the array gets one
     * element built from its top-level challenger_* keys, none without a challenger). */
    bool decided_by_challenger;
    int n_chal;
    csgp_chal_result *chal;
} csgp_event;

/* Why a message was rejected: a short class (the DLQ metric label) and a sentence. */
typedef struct csgp_reject {
    const char *kind; /* "too_large" | "invalid_json" | "not_object" | "missing_field" | "invalid_field" */
    char reason[256];
} csgp_reject;

/* Parse json[0..len). 0 and *ev filled (release it with csgp_event_release), or
 * -CSG_EINVAL and *why filled (nothing to release). *ev is overwritten, not released:
 * release an event before parsing into it again. */
int csgp_event_parse(const char *json, size_t len, csgp_event *ev, csgp_reject *why);

/* The same through jansson alone: the reference csgp_event_parse's scanner (event_scan.h)
 * must agree with wherever it answers (tests and fuzz_persist_event_fast compare them). */
int csgp_event_parse_jansson(const char *json, size_t len, csgp_event *ev, csgp_reject *why);

/* Free what csgp_event_parse allocated in ev (its features text); ev stays valid with no
 * features. Safe on a zeroed event and twice in a row. */
void csgp_event_release(csgp_event *ev);

/* s[0..n) holds no control character (C0 or DEL): the rule of every event string. */
bool csgp_no_controls(const char *s, size_t n);


/* Room for a reason list as text, exactly: per code its quotes and a comma (one comma
 * fewer than codes), two brackets, the NUL. */
#define CSGP_REASONS_TEXT_SIZE (CSG_REASONS_MAX * (CSG_REASON_CODE_MAX + 3) + 2)

/* r's codes as text between open and close ('[' ']': the JSON array SQLite stores; '{' '}':
 * a PostgreSQL array literal, each code quoted so that a code like NULL stays a string).
 * Codes need no escaping ([A-Z0-9_]). Returns out. */
const char *csgp_reasons_text(const csgp_reasons *r, char open, char close,
                              char out[CSGP_REASONS_TEXT_SIZE]);

#endif /* CSGP_EVENT_H */
