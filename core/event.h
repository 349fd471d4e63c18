/*
 * event.h — the MetricEvent (DESIGN §6) and its compact JSON form.
 *
 * A csg_event is self-contained (names are copied, not pointed to) because
 * it outlives the request and possibly the routing snapshot and plugin that
 * produced it: the publisher thread serialises it later.
 */
#ifndef CSG_EVENT_H
#define CSG_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csg/plugin.h"
#include "csg_event_schema.h" /* the field table and bounds csg-persist reads events with */
#include "csg_vocab.h"        /* statuses and decisions */
#include "reasons.h"

/* Ids arrive validated against the ABI's limits; events carry them whole. */
_Static_assert(CSG_REQUEST_ID_MAX == CSG_EVENT_ID_MAX, "event_id bound");
_Static_assert(CSG_APPLICANT_ID_MAX == CSG_EVENT_APPLICANT_ID_MAX, "applicant_id bound");

/* A feature value's JSON text: a quoted category value (64 bytes) at most. */
#define CSG_EVENT_VALUE_MAX 72
/* Bound on csg_event_to_json's output for any valid event. */
#define CSG_EVENT_JSON_MAX 16384

/* csg_event_status and its names (csg_event_status_name) are lib/csg_vocab.h's, the
 * keys and bounds lib/csg_event_schema.h's: csg-persist reads events with both. */

/* One challenger's result in the event's `challengers` array (DESIGN §6). */
typedef struct csg_event_chal {
    char model[CSG_EVENT_NAME_MAX + 1];
    bool ok; /* score/decision/reasons valid */
    bool live;
    bool trial; /* called inside its guardrail's trial share (DESIGN §7: no SRM count) */
    double score;
    csg_decision decision;
    double latency_ms;
    csg_event_status status; /* OK, CHALLENGER_TIMEOUT or CHALLENGER_ERROR */
    csg_reason_codes reasons;
} csg_event_chal;

typedef struct csg_event {
    char event_id[CSG_EVENT_ID_MAX + 1];
    char experiment_id[CSG_EVENT_NAME_MAX + 1];
    char applicant_id[CSG_EVENT_APPLICANT_ID_MAX + 1];
    char transport[CSG_EVENT_TRANSPORT_MAX + 1];
    char champion_model[CSG_EVENT_NAME_MAX + 1];
    char challenger_model[CSG_EVENT_NAME_MAX + 1]; /* "" = no challenger chosen → null */
    bool champion_ok;          /* champion_score/decision/reasons valid */
    double champion_score;
    csg_decision champion_decision;
    csg_reason_codes champion_reasons;
    bool challenger_ok; /* challenger_score/decision/reasons valid */
    double challenger_score;
    csg_decision challenger_decision;
    csg_reason_codes challenger_reasons;
    double latency_champion_ms;   /* written saturated at CSG_EVENT_LATENCY_MS_MAX */
    double latency_challenger_ms; /* ignored without a challenger */
    int64_t timestamp_ms; /* wall clock at arrival */
    csg_event_status status;
    char config_version[CSG_EVENT_CONFIG_VERSION_LEN + 1]; /* lowercase hex digits */
    /* The brief's top-level income, loan_amount, credit_history: the JSON
     * text of the feature's value, "" (→ null) when the schema has no such
     * feature or the application does not carry it. */
    char brief[3][CSG_EVENT_VALUE_MAX];
    /* JSON object text of the application's present features (canonical,
     * schema order); NULL → {}. csg_event_new points it just past the
     * struct, in the same allocation. */
    const char *features;
    bool decided_by_challenger; /* decided_by: the client got a live challenger's decision */
    /* Every challenger result of the request (assignment all: each challenger; else
     * the chosen one or none); the top-level challenger_* keys repeat chal[0].
     * csg_event_new points it into the same allocation. */
    unsigned n_chal;
    csg_event_chal *chal;
} csg_event;

/* A zeroed event carrying app's features and brief values and room for
 * n_chal challenger results, in one malloc block (free() it); NULL without
 * memory. */
struct csg_application;
csg_event *csg_event_new(const struct csg_application *app, unsigned n_chal);

/* Write the event's compact JSON (no newline) into buf; returns the length
 * needed (snprintf semantics). Every key is always present; see DESIGN §6
 * for which are null when. CSG_EVENT_JSON_MAX always suffices for valid
 * events. */
size_t csg_event_to_json(const csg_event *e, char *buf, size_t cap);

#endif /* CSG_EVENT_H */
