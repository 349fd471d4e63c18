/*
 * reasons.c — see reasons.h. Owns the core's check of what an adapter says
 * about reasons and points: rest.so checks a model's JSON the same way, but
 * any adapter may be a custom one, and a model's word is only taken when it
 * makes sense (DESIGN §5).
 */
#include "reasons.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "csg_reason.h"

const csg_reason csg_reason_fallback = {
    .code = CSG_REASON_FALLBACK,
    .feature = NULL,
    .text = "No model answer; the configured fallback decision was applied",
};

const char *csg_reasons_take(const csg_score_result *r, csg_reason_codes *codes,
                             csg_reason_texts *texts)
{
    codes->count = 0;
    if (!CSG_STRUCT_HAS(r, csg_score_result, reasons)) // NOLINT(bugprone-sizeof-expression): CSG_STRUCT_HAS sizes a pointer field on purpose
        return NULL; /* built against ABI 2.0: no points, no reasons */
    if (r->has_points && !isfinite(r->points))
        return "points: not a finite number";
    if (r->reason_count > CSG_REASONS_MAX)
        return "reasons: more than 4";
    if (r->reason_count > 0 && !r->reasons)
        return "reasons: a count without a list";
    if (r->reason_count > 0 && r->decision == CSG_DECISION_APPROVE)
        return "reasons: an approve carries none";
    for (unsigned i = 0; i < r->reason_count; i++) {
        const csg_reason *x = &r->reasons[i];
        /* strnlen one past each bound: a longer string fails the check */
        size_t cl = x->code ? strnlen(x->code, CSG_REASON_CODE_MAX + 1) : 0;
        size_t fl = x->feature ? strnlen(x->feature, CSG_EVENT_FEATURE_NAME_MAX + 1) : 0;
        size_t tl = x->text ? strnlen(x->text, CSG_REASON_TEXT_MAX + 1) : 0;
        switch (csg_reason_check(x->code, cl, x->feature, fl, x->text, tl, true)) {
        case CSG_REASON_OK:
            break;
        case CSG_REASON_BAD_CODE:
            return "reasons: code must be 1-16 characters of A-Z, 0-9, _";
        case CSG_REASON_BAD_FEATURE:
            return "reasons: feature must be a feature name or none";
        default:
            return "reasons: text must be 1-200 bytes of UTF-8, no control characters";
        }
        /* csg_reason_check said OK: code and text are not NULL (the analyzer loses that
         * on a second reason whose check it does not re-enter). */
        for (unsigned k = 0; k < i; k++)
            if (strcmp(codes->code[k], x->code) == 0) // NOLINT(clang-analyzer-core.NonNullParamChecker)
                return "reasons: a code appears twice";
        memcpy(codes->code[i], x->code, cl + 1);
        if (texts) {
            texts->feature[i][0] = '\0';
            if (x->feature)
                memcpy(texts->feature[i], x->feature, fl + 1);
            memcpy(texts->text[i], x->text, tl + 1); // NOLINT(clang-analyzer-core.NonNullParamChecker): as above
        }
        codes->count = (uint8_t)(i + 1);
    }
    return NULL;
}

unsigned csg_reasons_view(const csg_reason_codes *codes, const csg_reason_texts *texts,
                          csg_reason out[CSG_REASONS_MAX])
{
    unsigned n = codes->count <= CSG_REASONS_MAX ? codes->count : CSG_REASONS_MAX;
    for (unsigned i = 0; i < n; i++)
        out[i] = (csg_reason){codes->code[i], texts->feature[i][0] ? texts->feature[i] : NULL,
                              texts->text[i]};
    return n;
}
