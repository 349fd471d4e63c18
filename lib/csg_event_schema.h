/*
 * csg_event_schema.h — the bounds of every MetricEvent field (DESIGN §6), defined once for
 * the writer (the gateway: core/event.c) and the reader (csg-persist: persistence/event.c).
 *
 * The reader accepts exactly these ranges and the writer never emits anything outside
 * them, so an event for a request the gateway answered is always stored (issue 15: the
 * reader once capped income at 1e15 while the gateway accepted any finite amount).
 * tests/persist/unit/test_event_contract.c feeds the writer's output at these edges to
 * the reader.
 *
 * The field table (csg_event_fields, below) names every key of the event in the order the
 * writer emits it, with its type, nullability and bounds: the writer takes its keys from
 * it, the reader its required keys, types and bounds. The status and decision vocabulary
 * the event uses is lib/csg_vocab.h's.
 *
 * No includes beyond lib/ and the C library (DESIGN §2: core/, plugins and persistence/
 * may all include it); the table itself is in csg_event_schema.c (csg_lib).
 */
#ifndef CSG_EVENT_SCHEMA_H
#define CSG_EVENT_SCHEMA_H

#include <float.h>
#include <stddef.h>
#include <stdint.h>

/* Strings, in bytes (1..max, no control characters). */
#define CSG_EVENT_ID_MAX 64           /* event_id = the request id: printable ASCII */
#define CSG_EVENT_APPLICANT_ID_MAX 64 /* UTF-8 */
#define CSG_EVENT_NAME_MAX 64         /* experiment_id, champion_model, challenger_model */
#define CSG_EVENT_TRANSPORT_MAX 15    /* "http", "tcp", "grpc", … */

/* champion_score, challenger_score, decision_diff: [0, 1]. */
#define CSG_EVENT_SCORE_MIN 0.0
#define CSG_EVENT_SCORE_MAX 1.0

/* Latencies in milliseconds: [0, 1e9] (11.6 days). The writer saturates a longer one at
 * the bound, so aggregates over any number of rows stay far from overflow. */
#define CSG_EVENT_LATENCY_MS_MAX 1e9

/* income: [0, DBL_MAX]; loan_amount: (0, DBL_MAX] — every finite amount the gateway
 * accepts (DESIGN §5), down to the smallest denormal. Columns are double precision. */
#define CSG_EVENT_AMOUNT_MAX DBL_MAX

/* credit_history: an integer in [0, INT64_MAX] (bigint columns). The gateway's own input
 * rule is narrower, [0, 2^31-1] on every transport (gRPC carries an int32). */
#define CSG_EVENT_CREDIT_HISTORY_MAX INT64_MAX

/* features (DESIGN §6): an object of at most CSG_EVENT_MAX_FEATURES entries, each name
 * matching [a-z][a-z0-9_]{0,31} (the gateway's schema rule, DESIGN §3), each value a finite
 * number, a boolean or a category string of 1..CSG_EVENT_CATEGORY_MAX bytes of UTF-8
 * without control characters. Optional for the reader (older gateways, old spools). */
#define CSG_EVENT_MAX_FEATURES 64
#define CSG_EVENT_FEATURE_NAME_MAX 32
#define CSG_EVENT_CATEGORY_MAX 256

/* challengers (DESIGN §6, issue 21): every challenger result of the request, each
 * {"model","score","decision","latency_ms","status","reasons","mode"}; score, decision and
 * reasons null when that challenger gave no answer (status CHALLENGER_TIMEOUT or
 * CHALLENGER_ERROR), mode "shadow" | "live". The top-level challenger_* keys repeat the
 * first element. decided_by: "champion" | "challenger" (which model's decision the
 * client got). Both optional for the reader (older gateways). */
#define CSG_EVENT_MAX_CHALLENGERS 16
#define CSG_ARM_CHAMPION "champion"
#define CSG_ARM_CHALLENGER "challenger"
#define CSG_MODE_SHADOW_NAME "shadow"
#define CSG_MODE_LIVE_NAME "live"

/* config_version: exactly 16 lowercase hex characters; optional for the reader. */
#define CSG_EVENT_CONFIG_VERSION_LEN 16

/* 1 when s[0..n) is a feature name: [a-z][a-z0-9_]{0,31}. */
static inline int csg_event_feature_name_ok(const char *s, size_t n)
{
    if (n < 1 || n > CSG_EVENT_FEATURE_NAME_MAX || s[0] < 'a' || s[0] > 'z')
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

/* Reasons (DESIGN §5/§6): a model answer carries at most CSG_REASONS_MAX adverse-action
 * reasons, most important first. In the MetricEvent, champion_reasons and
 * challenger_reasons are arrays of codes (null when that model gave no answer); a code is
 * 1..CSG_REASON_CODE_MAX characters of [A-Z0-9_]. The text travels only in replies (model
 * API → gateway → client): 1..CSG_REASON_TEXT_MAX bytes of UTF-8 without control
 * characters; its feature is a feature name (csg_event_feature_name_ok) or, for the
 * gateway's own FALLBACK reason, none. Optional for the reader (older gateways). */
#define CSG_REASONS_MAX 4
#define CSG_REASON_CODE_MAX 16
#define CSG_REASON_TEXT_MAX 200
#define CSG_REASON_FALLBACK "FALLBACK"

/* 1 when s[0..n) is a reason code: [A-Z0-9_]{1,16}. */
static inline int csg_reason_code_ok(const char *s, size_t n)
{
    if (n < 1 || n > CSG_REASON_CODE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* The field table                                                           */

/* Every key of the MetricEvent, in the writer's order (DESIGN §6). */
typedef enum csg_event_field_id {
    CSG_EF_EVENT_ID,
    CSG_EF_EXPERIMENT_ID,
    CSG_EF_APPLICANT_ID,
    CSG_EF_TRANSPORT,
    CSG_EF_CHAMPION_MODEL,
    CSG_EF_CHALLENGER_MODEL,
    CSG_EF_CHAMPION_SCORE,
    CSG_EF_CHALLENGER_SCORE,
    CSG_EF_CHAMPION_DECISION,
    CSG_EF_CHALLENGER_DECISION,
    CSG_EF_DECISION_MATCH,
    CSG_EF_LATENCY_CHAMPION_MS,
    CSG_EF_LATENCY_CHALLENGER_MS,
    CSG_EF_DECISION_DIFF,
    CSG_EF_INCOME,
    CSG_EF_LOAN_AMOUNT,
    CSG_EF_CREDIT_HISTORY,
    CSG_EF_FEATURES,
    CSG_EF_CONFIG_VERSION,
    CSG_EF_CHAMPION_REASONS,
    CSG_EF_CHALLENGER_REASONS,
    CSG_EF_DECIDED_BY,
    CSG_EF_CHALLENGERS,
    CSG_EF_TIMESTAMP,
    CSG_EF_STATUS,
    CSG_EF_COUNT
} csg_event_field_id;

typedef enum csg_event_field_type {
    CSG_EFT_ID = 1,    /* printable ASCII (0x21-0x7e), 1..max_len bytes: event_id */
    CSG_EFT_STRING,    /* 1..max_len bytes without control characters (UTF-8) */
    CSG_EFT_NUMBER,    /* finite double in [min, max] ((min, max] with CSG_EF_MIN_OPEN) */
    CSG_EFT_INTEGER,   /* integer in [min, max] */
    CSG_EFT_BOOL,      /* true / false */
    CSG_EFT_DECISION,  /* a decision name (csg_vocab.h) */
    CSG_EFT_STATUS,    /* an event status name (csg_vocab.h) */
    CSG_EFT_TIMESTAMP, /* RFC 3339 UTC with milliseconds (the writer's form) */
    CSG_EFT_FEATURES,  /* object: <= CSG_EVENT_MAX_FEATURES feature names → values */
    CSG_EFT_HEX,       /* exactly max_len lowercase hex characters: config_version */
    CSG_EFT_REASONS,   /* array of <= CSG_REASONS_MAX reason codes; non-null only when
                        * that model answered (its score is not null) */
    CSG_EFT_ARM,       /* "champion" | "challenger": decided_by */
    CSG_EFT_CHALLENGERS, /* array of <= CSG_EVENT_MAX_CHALLENGERS challenger results */
} csg_event_field_type;

/* Field flags. */
enum {
    CSG_EF_NULLABLE = 1u << 0,   /* may be null (when: the other flags and DESIGN §6) */
    CSG_EF_OPTIONAL = 1u << 1,   /* a (next)-era key: the reader accepts it absent
                                  * (older gateways, old spools); the writer always
                                  * writes it */
    CSG_EF_CHAMPION = 1u << 2,   /* the champion's answer: null only when status is
                                  * CHAMPION_TIMEOUT / CHAMPION_ERROR */
    CSG_EF_CHALLENGER = 1u << 3, /* null whenever challenger_model is null */
    CSG_EF_MIN_OPEN = 1u << 4,   /* the lower bound is excluded (loan_amount > 0) */
};

typedef struct csg_event_field {
    const char *name;    /* the JSON key */
    unsigned name_len;   /* strlen(name) */
    csg_event_field_type type;
    unsigned flags;      /* CSG_EF_NULLABLE | … */
    unsigned max_len;    /* ID, STRING: longest value in bytes; HEX: exact length */
    double min, max;     /* NUMBER, INTEGER: bounds */
} csg_event_field;

/* The table, indexed by csg_event_field_id. */
extern const csg_event_field csg_event_fields[CSG_EF_COUNT];

/* The field named name[0..len); NULL when the event has no such key. */
const csg_event_field *csg_event_field_find(const char *name, size_t len);

#endif /* CSG_EVENT_SCHEMA_H */
