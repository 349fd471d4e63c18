/*
 * csg_event_schema.c — the MetricEvent's field table (csg_event_schema.h): the one list
 * of its keys, types and bounds that the gateway's writer (core/event.c) and
 * csg-persist's reader (persistence/event.c) both use.
 */
#include "csg_event_schema.h"

#include <string.h>

#include "csg_vocab.h"

#define F(id_, name_, type_, flags_, max_len_, min_, max_)                                     \
    [(id_)] = {.name = (name_), .name_len = sizeof(name_) - 1, .type = (type_), .flags = (flags_), \
               .max_len = (max_len_), .min = (min_), .max = (max_)}
#define N CSG_EF_NULLABLE
#define OPT (CSG_EF_NULLABLE | CSG_EF_OPTIONAL)
#define CHAL (CSG_EF_NULLABLE | CSG_EF_CHALLENGER)

const csg_event_field csg_event_fields[CSG_EF_COUNT] = {
    F(CSG_EF_EVENT_ID, "event_id", CSG_EFT_ID, 0, CSG_EVENT_ID_MAX, 0, 0),
    F(CSG_EF_EXPERIMENT_ID, "experiment_id", CSG_EFT_STRING, 0, CSG_EVENT_NAME_MAX, 0, 0),
    F(CSG_EF_APPLICANT_ID, "applicant_id", CSG_EFT_STRING, 0, CSG_EVENT_APPLICANT_ID_MAX, 0, 0),
    F(CSG_EF_TRANSPORT, "transport", CSG_EFT_STRING, 0, CSG_EVENT_TRANSPORT_MAX, 0, 0),
    F(CSG_EF_CHAMPION_MODEL, "champion_model", CSG_EFT_STRING, 0, CSG_EVENT_NAME_MAX, 0, 0),
    F(CSG_EF_CHALLENGER_MODEL, "challenger_model", CSG_EFT_STRING, N, CSG_EVENT_NAME_MAX, 0, 0),
    F(CSG_EF_CHAMPION_SCORE, "champion_score", CSG_EFT_NUMBER, N | CSG_EF_CHAMPION, 0,
      CSG_EVENT_SCORE_MIN, CSG_EVENT_SCORE_MAX),
    F(CSG_EF_CHALLENGER_SCORE, "challenger_score", CSG_EFT_NUMBER, CHAL, 0, CSG_EVENT_SCORE_MIN,
      CSG_EVENT_SCORE_MAX),
    F(CSG_EF_CHAMPION_DECISION, "champion_decision", CSG_EFT_DECISION, N | CSG_EF_CHAMPION, 0, 0,
      0),
    F(CSG_EF_CHALLENGER_DECISION, "challenger_decision", CSG_EFT_DECISION, CHAL, 0, 0, 0),
    F(CSG_EF_DECISION_MATCH, "decision_match", CSG_EFT_BOOL, CHAL, 0, 0, 0),
    F(CSG_EF_LATENCY_CHAMPION_MS, "latency_champion_ms", CSG_EFT_NUMBER, 0, 0, 0,
      CSG_EVENT_LATENCY_MS_MAX),
    F(CSG_EF_LATENCY_CHALLENGER_MS, "latency_challenger_ms", CSG_EFT_NUMBER, CHAL, 0, 0,
      CSG_EVENT_LATENCY_MS_MAX),
    F(CSG_EF_DECISION_DIFF, "decision_diff", CSG_EFT_NUMBER, CHAL, 0, CSG_EVENT_SCORE_MIN,
      CSG_EVENT_SCORE_MAX),
    F(CSG_EF_INCOME, "income", CSG_EFT_NUMBER, N, 0, 0, CSG_EVENT_AMOUNT_MAX),
    F(CSG_EF_LOAN_AMOUNT, "loan_amount", CSG_EFT_NUMBER, N | CSG_EF_MIN_OPEN, 0, 0,
      CSG_EVENT_AMOUNT_MAX),
    F(CSG_EF_CREDIT_HISTORY, "credit_history", CSG_EFT_INTEGER, N, 0, 0,
      (double)CSG_EVENT_CREDIT_HISTORY_MAX),
    F(CSG_EF_FEATURES, "features", CSG_EFT_FEATURES, OPT, 0, 0, 0),
    F(CSG_EF_CONFIG_VERSION, "config_version", CSG_EFT_HEX, OPT, CSG_EVENT_CONFIG_VERSION_LEN, 0,
      0),
    F(CSG_EF_CHAMPION_REASONS, "champion_reasons", CSG_EFT_REASONS, OPT, 0, 0, 0),
    F(CSG_EF_CHALLENGER_REASONS, "challenger_reasons", CSG_EFT_REASONS, OPT, 0, 0, 0),
    F(CSG_EF_DECIDED_BY, "decided_by", CSG_EFT_ARM, OPT, 0, 0, 0),
    F(CSG_EF_CHALLENGERS, "challengers", CSG_EFT_CHALLENGERS, OPT, 0, 0, 0),
    F(CSG_EF_TIMESTAMP, "timestamp", CSG_EFT_TIMESTAMP, 0, 0, 0, 0),
    F(CSG_EF_STATUS, "status", CSG_EFT_STATUS, 0, CSG_EVENT_STATUS_NAME_MAX, 0, 0),
};

const csg_event_field *csg_event_field_find(const char *name, size_t len)
{
    for (int i = 0; name && i < CSG_EF_COUNT; i++)
        if (csg_event_fields[i].name_len == len && memcmp(csg_event_fields[i].name, name, len) == 0)
            return &csg_event_fields[i];
    return NULL;
}
