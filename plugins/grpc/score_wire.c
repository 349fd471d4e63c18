/*
 * score_wire.c — csg.v1.ScoreRequest (proto/csg/v1/credit_score.proto) read
 * in place, deciding as protobuf-c 1.4.1's protobuf_c_message_unpack does
 * (protobuf-c.c: parse_tag_and_wiretype, scan_length_prefixed_data,
 * parse_required_member, merge_messages). Its rules, all kept:
 *  - a tag is at most 5 bytes and its first byte must carry a field number
 *    (a longer tag may still spell field 0: an unknown field, skipped);
 *  - wire types 0, 1, 2 and 5 only (groups are refused); a varint is at most
 *    10 bytes, a length prefix at most 5 and at most INT_MAX;
 *  - unknown fields are skipped; a known field with another wire type than
 *    its type's is refused, except a bool, read from whatever the field
 *    spans (length prefix included): true when any byte has a low bit set;
 *  - int32 is the low 32 bits of the varint; a repeated scalar or string:
 *    the last one wins; a oneof: the last member set wins;
 *  - a message field given twice is merged (merge_messages): a later
 *    FeatureValue with a kind replaces the earlier; one without a kind keeps
 *    an earlier number or flag, drops an earlier category (the merge copies
 *    a string only onto the default "", and an unset oneof string is NULL),
 *    and is refused when the earlier had no kind either (the oneof lookup of
 *    case 0 fails).
 */
#include "score_wire.h"

#include <limits.h>
#include <string.h>

/* A field as protobuf-c scans it: data/len span the value, a length
 * prefix included (what its bool reads). */
typedef struct {
    uint32_t tag;
    unsigned wt;
    const uint8_t *data;
    size_t len, prefix;
} field;

enum { WT_VARINT = 0, WT_64BIT = 1, WT_LEN = 2, WT_32BIT = 5 };

/* parse_tag_and_wiretype: 0 on a bad tag, else the bytes used. */
static size_t read_tag(const uint8_t *p, size_t rem, uint32_t *tag, unsigned *wt)
{
    size_t max = rem > 5 ? 5 : rem;
    if ((p[0] & 0xf8) == 0)
        return 0; /* field number 0 in a one-byte spelling */
    *wt = p[0] & 7u;
    uint64_t t = (p[0] & 0x7fu) >> 3;
    unsigned shift = 4;
    if (!(p[0] & 0x80)) {
        *tag = (uint32_t)t;
        return 1;
    }
    for (size_t i = 1; i < max; i++, shift += 7) {
        t |= (uint64_t)(p[i] & 0x7fu) << shift;
        if (!(p[i] & 0x80)) {
            *tag = (uint32_t)t; /* bits past 32 are dropped, as protobuf-c's uint32 does */
            return i + 1;
        }
    }
    return 0;
}

/* The next field of [*at, *at + *rem), framing checked; false: malformed. */
static bool next_field(const uint8_t **at, size_t *rem, field *f)
{
    size_t used = read_tag(*at, *rem, &f->tag, &f->wt);
    if (used == 0)
        return false;
    const uint8_t *p = *at + used;
    size_t r = *rem - used;
    f->data = p;
    f->prefix = 0;
    switch (f->wt) {
    case WT_VARINT: {
        size_t max = r < 10 ? r : 10, i = 0;
        while (i < max && (p[i] & 0x80))
            i++;
        if (i == max)
            return false;
        f->len = i + 1;
        break;
    }
    case WT_64BIT:
    case WT_32BIT:
        f->len = f->wt == WT_64BIT ? 8 : 4;
        if (r < f->len)
            return false;
        break;
    case WT_LEN: {
        size_t max = r < 5 ? r : 5, i = 0, val = 0;
        for (; i < max; i++) {
            val |= (size_t)(p[i] & 0x7f) << (7 * i);
            if (!(p[i] & 0x80))
                break;
        }
        if (i == max || val > INT_MAX || i + 1 + val > r)
            return false;
        f->prefix = i + 1;
        f->len = f->prefix + val;
        break;
    }
    default:
        return false; /* groups (3, 4) and 6, 7 */
    }
    *at = p + f->len;
    *rem = r - f->len;
    return true;
}

static uint64_t fixed64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static double dbl(const field *f)
{
    uint64_t u = fixed64(f->data);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static uint32_t low32(const field *f)
{
    uint32_t v = 0;
    for (size_t i = 0; i < f->len && i < 5; i++)
        v |= (uint32_t)(f->data[i] & 0x7f) << (7 * i);
    return v;
}

static bool boolean(const field *f)
{
    for (size_t i = 0; i < f->len; i++)
        if (f->data[i] & 0x7f)
            return true;
    return false;
}

static csg_sw_str str(const field *f)
{
    return (csg_sw_str){(const char *)f->data + f->prefix, f->len - f->prefix};
}

/* A FeatureValue message: its kind and value into e (has_value untouched). */
static bool read_value(const uint8_t *p, size_t len, csg_sw_entry *e)
{
    field f;
    e->kind = CSG_SW_UNSET;
    while (len) {
        if (!next_field(&p, &len, &f))
            return false;
        if (f.tag == CSG_SW_NUMBER) {
            if (f.wt != WT_64BIT)
                return false;
            e->kind = CSG_SW_NUMBER;
            e->number = dbl(&f);
        } else if (f.tag == CSG_SW_CATEGORY) {
            if (f.wt != WT_LEN)
                return false;
            e->kind = CSG_SW_CATEGORY;
            e->category = str(&f);
        } else if (f.tag == CSG_SW_FLAG) {
            e->kind = CSG_SW_FLAG; /* any wire type: protobuf-c's bool checks none */
            e->flag = boolean(&f);
        }
    }
    return true;
}

/* One FeaturesEntry message (map<string, FeatureValue>'s key = 1, value = 2). */
static bool read_entry(const uint8_t *p, size_t len, csg_sw_entry *e)
{
    static const char empty[] = "";
    *e = (csg_sw_entry){.key = {empty, 0}, .category = {empty, 0}};
    field f;
    while (len) {
        if (!next_field(&p, &len, &f))
            return false;
        if (f.tag == 1) {
            if (f.wt != WT_LEN)
                return false;
            e->key = str(&f);
        } else if (f.tag == 2) {
            if (f.wt != WT_LEN)
                return false;
            csg_sw_entry v = *e;
            if (!read_value(f.data + f.prefix, f.len - f.prefix, &v))
                return false;
            if (!e->has_value || v.kind != CSG_SW_UNSET) { /* the later kind wins */
                e->has_value = true;
                e->kind = v.kind;
                e->number = v.number;
                e->category = v.category;
                e->flag = v.flag;
            } else if (e->kind == CSG_SW_UNSET) {
                return false; /* merging two kind-less values: protobuf-c refuses */
            } else if (e->kind == CSG_SW_CATEGORY) {
                e->kind = CSG_SW_UNSET; /* a string is not merged onto NULL */
            }
        }
    }
    return true;
}

bool csg_sw_read(const uint8_t *msg, size_t len, csg_sw_request *out, csg_sw_entry *entries,
                 size_t cap)
{
    static const char empty[] = "";
    *out = (csg_sw_request){.applicant_id = {empty, 0}};
    csg_sw_entry spare;
    field f;
    while (len) {
        if (!next_field(&msg, &len, &f))
            return false;
        switch (f.tag) {
        case 1:
            if (f.wt != WT_LEN)
                return false;
            out->applicant_id = str(&f);
            break;
        case 2:
        case 3:
            if (f.wt != WT_64BIT)
                return false;
            *(f.tag == 2 ? &out->income : &out->loan_amount) = dbl(&f);
            break;
        case 4:
            if (f.wt != WT_VARINT)
                return false;
            out->credit_history = (int32_t)low32(&f);
            break;
        case 5: {
            if (f.wt != WT_LEN)
                return false;
            csg_sw_entry *e = out->n_features < cap ? &entries[out->n_features] : &spare;
            if (!read_entry(f.data + f.prefix, f.len - f.prefix, e))
                return false;
            out->n_features++;
            break;
        }
        default:
            break; /* unknown: skipped */
        }
    }
    return true;
}
