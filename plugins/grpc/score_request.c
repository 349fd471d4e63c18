/*
 * score_request.c — csg.v1.ScoreRequest → its checked fields and their
 * JSON application text, with the same field rules as JSON applications
 * (core/application.c).
 */
#include "score_request.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csg/v1/credit_score.pb-c.h"

/* protobuf-c allocator over a caller's stack buffer, malloc past its end: a
 * ScoreRequest (message + applicant_id) decodes without touching the heap. */
typedef struct {
    unsigned char *buf;
    size_t cap, used;
} arena;

static void *arena_alloc(void *data, size_t size)
{
    arena *a = data;
    size_t rounded = (size + 15) & ~(size_t)15;
    if (size < a->cap && rounded <= a->cap - a->used) {
        void *p = a->buf + a->used;
        a->used += rounded;
        return p;
    }
    return malloc(size);
}

static void arena_free(void *data, void *p)
{
    arena *a = data;
    uintptr_t u = (uintptr_t)p, lo = (uintptr_t)a->buf;
    if (p && (u < lo || u - lo >= a->cap))
        free(p);
}

/* Well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
 * protobuf-c does not check proto3 strings, and an invalid id would make the
 * model request and the MetricEvent invalid JSON; the JSON transports get
 * this check from jansson. */
static bool valid_utf8(const unsigned char *s, size_t len)
{
    static const unsigned min_cp[] = {0, 0x80, 0x800, 0x10000};
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        size_t n = c < 0x80                ? 0
                   : (c & 0xe0) == 0xc0 ? 1
                   : (c & 0xf0) == 0xe0 ? 2
                   : (c & 0xf8) == 0xf0 ? 3
                                        : 9;
        if (n == 0) {
            i++;
            continue;
        }
        if (n == 9 || n >= len - i)
            return false;
        unsigned cp = c & (0x3fu >> n);
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3fu);
        }
        if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

static bool read_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; shift < 64 && *pos < len; shift += 7) {
        uint8_t b = buf[(*pos)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

/* Length of the last occurrence of string field 1 (applicant_id) on the wire
 * (proto3: the last one wins), or SIZE_MAX if absent or unreadable. protobuf-c
 * hands strings over NUL-terminated, so an id with a NUL byte inside would be
 * cut short silently; comparing with this length refuses it instead, as the
 * JSON transports refuse "\u0000". */
static size_t wire_applicant_id_len(const uint8_t *buf, size_t len)
{
    size_t pos = 0, found = SIZE_MAX;
    uint64_t tag, n;
    while (pos < len) {
        if (!read_varint(buf, len, &pos, &tag))
            return SIZE_MAX;
        switch (tag & 7) {
        case 0:
            if (!read_varint(buf, len, &pos, &n))
                return SIZE_MAX;
            break;
        case 1:
        case 5:
            n = (tag & 7) == 1 ? 8 : 4;
            if (n > len - pos)
                return SIZE_MAX;
            pos += n;
            break;
        case 2:
            if (!read_varint(buf, len, &pos, &n) || n > len - pos)
                return SIZE_MAX;
            if (tag >> 3 == 1)
                found = (size_t)n;
            pos += (size_t)n;
            break;
        default:
            return SIZE_MAX;
        }
    }
    return found;
}

/* Same rule as JSON applications: 1–64 bytes, no control characters. */
static bool valid_applicant_id(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > CSG_APPLICANT_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return valid_utf8((const unsigned char *)s, len);
}

csg_parse_status csg_score_request_decode(const uint8_t *buf, size_t len, csg_score_fields *app,
                                          const char **why)
{
    _Alignas(16) unsigned char scratch[512];
    arena ar = {.buf = scratch, .cap = sizeof scratch};
    ProtobufCAllocator alloc = {.alloc = arena_alloc, .free = arena_free, .allocator_data = &ar};
    Csg__V1__ScoreRequest *m = csg__v1__score_request__unpack(&alloc, len, buf);
    if (!m) {
        *why = "malformed ScoreRequest";
        return CSG_PARSE_INVALID_JSON;
    }
    const char *bad = NULL;
    if (!valid_applicant_id(m->applicant_id) ||
        wire_applicant_id_len(buf, len) != strlen(m->applicant_id))
        bad = "applicant_id: must be 1-64 bytes (UTF-8), no control characters";
    else if (!isfinite(m->income) || m->income < 0)
        bad = "income: must be a finite number >= 0";
    else if (!isfinite(m->loan_amount) || !(m->loan_amount > 0))
        bad = "loan_amount: must be a finite number > 0";
    else if (m->credit_history < 0)
        bad = "credit_history: must be an integer in [0, 2147483647]";
    if (!bad) {
        memcpy(app->applicant_id, m->applicant_id, strlen(m->applicant_id) + 1);
        app->income = m->income;
        app->loan_amount = m->loan_amount;
        app->credit_history = m->credit_history;
    }
    csg__v1__score_request__free_unpacked(m, &alloc);
    *why = bad;
    return bad ? CSG_PARSE_INVALID_FIELD : CSG_PARSE_OK;
}

size_t csg_score_fields_json(const csg_score_fields *f, char *buf, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t pos = 0;
    int n = snprintf(buf, cap, "{\"applicant_id\":\"");
    if (n < 0 || (size_t)n >= cap)
        return 0;
    pos = (size_t)n;
    /* The id has no control characters (checked): only " and \ need escaping. */
    for (const char *p = f->applicant_id; *p; p++) {
        if (pos + 8 >= cap)
            return 0;
        if (*p == '"' || *p == '\\') {
            buf[pos++] = '\\';
            buf[pos++] = *p;
        } else if ((unsigned char)*p < 0x20) {
            pos += (size_t)snprintf(buf + pos, cap - pos, "\\u00%c%c", hex[*p >> 4], hex[*p & 15]);
        } else {
            buf[pos++] = *p;
        }
    }
    n = snprintf(buf + pos, cap - pos,
                 "\",\"income\":%.17g,\"loan_amount\":%.17g,\"credit_history\":%lld}", f->income,
                 f->loan_amount, (long long)f->credit_history);
    if (n < 0 || (size_t)n >= cap - pos)
        return 0;
    return pos + (size_t)n;
}
