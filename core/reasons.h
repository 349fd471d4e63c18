/*
 * reasons.h — a model answer's adverse-action reasons inside the core
 * (DESIGN §5, §6): checked once when an adapter hands them over, copied into
 * bounded storage in the request context (the adapter's pointers live only
 * during its callback), shown to the transport as csg_reason views, and
 * written into the MetricEvent as codes.
 */
#ifndef CSG_REASONS_H
#define CSG_REASONS_H

#include <stdbool.h>
#include <stdint.h>

#include "csg/plugin.h"
#include "csg_event_schema.h"

_Static_assert(CSG_REASONS_MAX == CSG_REASONS_MAX_ABI, "the ABI's bound is the schema's");

/* The codes of one answer, in order: what the MetricEvent carries. */
typedef struct csg_reason_codes {
    uint8_t count;
    char code[CSG_REASONS_MAX][CSG_REASON_CODE_MAX + 1];
} csg_reason_codes;

/* The rest of each reason, kept for the answer the client sees (the
 * champion's). feature "" = none. */
typedef struct csg_reason_texts {
    char feature[CSG_REASONS_MAX][CSG_EVENT_FEATURE_NAME_MAX + 1];
    char text[CSG_REASONS_MAX][CSG_REASON_TEXT_MAX + 1];
} csg_reason_texts;

/* The core's own reason for a fallback decision (no model answered). */
extern const csg_reason csg_reason_fallback;

/* Check an OK result's points and reasons against the rules of csg/plugin.h
 * (an adapter older than ABI 2.1 has neither: fine) and copy the reasons
 * into codes and, when texts is non-NULL, texts. Returns NULL, or what is
 * wrong (a static phrase such as "reasons: more than 4"; the core prefixes it with
 * "the model returned invalid "); codes and texts
 * are then unspecified. */
const char *csg_reasons_take(const csg_score_result *r, csg_reason_codes *codes,
                             csg_reason_texts *texts);

/* Views of stored reasons for a csg_reply (pointers into codes and texts);
 * returns the count. */
unsigned csg_reasons_view(const csg_reason_codes *codes, const csg_reason_texts *texts,
                          csg_reason out[CSG_REASONS_MAX]);

#endif
