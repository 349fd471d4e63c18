/*
 * csg_reason.h — the rule for one adverse-action reason {code, feature, text} (DESIGN §5),
 * checked where a reason enters the gateway: rest.so on a model's reply, the core on what
 * any adapter hands it. The bounds are csg_event_schema.h's CSG_REASON_*.
 *
 * Header-only, no includes beyond lib/ and the C library.
 */
#ifndef CSG_REASON_H
#define CSG_REASON_H

#include <stdbool.h>
#include <stddef.h>

#include "csg_event_schema.h"
#include "csg_utf8.h"

/* 1 when s[0..n) is a reason text: 1..CSG_REASON_TEXT_MAX bytes of well-formed UTF-8
 * without control characters (< 0x20, 0x7f). */
static inline int csg_reason_text_ok(const char *s, size_t n)
{
    if (n < 1 || n > CSG_REASON_TEXT_MAX || !csg_utf8_valid((const unsigned char *)s, n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

/* Which part of a reason breaks its rule: csg_reason_check's answer. */
enum { CSG_REASON_OK = 0, CSG_REASON_BAD_CODE = 1, CSG_REASON_BAD_FEATURE = 2, CSG_REASON_BAD_TEXT = 3 };

/* Check one reason. Lengths are given, so the strings need not be NUL-terminated;
 * feature == NULL means none, allowed only when feature_optional (the gateway's own
 * FALLBACK reason has none; a model's reasons each name a feature). */
static inline int csg_reason_check(const char *code, size_t code_len, const char *feature,
                                   size_t feature_len, const char *text, size_t text_len,
                                   bool feature_optional)
{
    if (!code || !csg_reason_code_ok(code, code_len))
        return CSG_REASON_BAD_CODE;
    if (feature ? !csg_event_feature_name_ok(feature, feature_len) : !feature_optional)
        return CSG_REASON_BAD_FEATURE;
    if (!text || !csg_reason_text_ok(text, text_len))
        return CSG_REASON_BAD_TEXT;
    return CSG_REASON_OK;
}

/* The rule a csg_reason_check answer names, as a phrase for error messages. */
static inline const char *csg_reason_problem(int why)
{
    switch (why) {
    case CSG_REASON_BAD_CODE:
        return "code must be 1-16 characters of A-Z, 0-9, _";
    case CSG_REASON_BAD_FEATURE:
        return "feature must be a feature name [a-z][a-z0-9_]{0,31}";
    case CSG_REASON_BAD_TEXT:
        return "text must be 1-200 bytes of UTF-8 without control characters";
    default:
        return "ok";
    }
}

#endif /* CSG_REASON_H */
