/*
 * outcomes.c — POST /outcomes body parsing/validation and the loan_outcomes upsert
 * (see outcomes.h).
 */
#include "outcomes.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reject(json_t *rejected, size_t index, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reject(json_t *rejected, size_t index, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *o = json_object();
    json_object_set_new(o, "index", json_integer((json_int_t)index));
    json_object_set_new(o, "error", json_string(msg));
    json_array_append_new(rejected, o);
}

/* Validate one item; 0 and *out filled, or -1 after recording the rejection. */
static int validate(json_t *v, size_t index, int64_t now_ms, csgp_outcome *out, json_t *rejected)
{
    if (!json_is_object(v)) {
        reject(rejected, index, "item must be a JSON object");
        return -1;
    }
    json_t *id = json_object_get(v, "applicant_id");
    if (!json_is_string(id)) {
        reject(rejected, index, "field \"applicant_id\": must be a string");
        return -1;
    }
    size_t n = json_string_length(id);
    const char *s = json_string_value(id);
    bool ok = n >= 1 && n <= CSG_EVENT_APPLICANT_ID_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)s[i] >= 0x20 && s[i] != 0x7f;
    if (!ok) {
        reject(rejected, index,
               "field \"applicant_id\": must be 1-%d characters without control characters",
               CSG_EVENT_APPLICANT_ID_MAX);
        return -1;
    }
    json_t *d = json_object_get(v, "defaulted");
    if (!json_is_boolean(d)) {
        reject(rejected, index, "field \"defaulted\": must be true or false");
        return -1;
    }
    json_t *t = json_object_get(v, "observed_at");
    int64_t ms = now_ms;
    if (t && !json_is_null(t)) {
        if (!json_is_string(t) ||
            csgp_parse_rfc3339(json_string_value(t), json_string_length(t), &ms) != 0) {
            reject(rejected, index,
                   "field \"observed_at\": must be an RFC 3339 time such as 2026-11-25T10:00:00Z");
            return -1;
        }
    }
    memcpy(out->applicant_id, s, n + 1);
    out->defaulted = json_is_true(d);
    out->observed_ms = ms;
    return 0;
}

static int push(csgp_outcome **items, size_t *n, size_t *cap, const csgp_outcome *o)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        csgp_outcome *p = realloc(*items, nc * sizeof *p);
        if (!p)
            return -CSG_ENOMEM;
        *items = p;
        *cap = nc;
    }
    (*items)[(*n)++] = *o;
    return 0;
}

int csgp_outcomes_parse(const char *body, size_t len, int64_t now_ms, csgp_outcome **items,
                        size_t *n, json_t *rejected, csg_error *err)
{
    *items = NULL;
    *n = 0;
    size_t cap = 0, i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
        i++;
    if (i == len)
        return csg_fail(err, CSG_EINVAL, "empty body: expected a JSON array of outcomes or NDJSON");
    csgp_outcome o;
    if (body[i] == '[') {
        json_error_t je;
        json_t *root = json_loadb(body, len, 0, &je);
        if (!root)
            return csg_fail(err, CSG_EINVAL, "invalid JSON at line %d column %d: %s", je.line,
                             je.column, je.text);
        size_t count = json_array_size(root);
        if (count > CSGP_OUTCOMES_MAX_ITEMS) {
            json_decref(root);
            return csg_fail(err, CSG_EINVAL, "%zu items: at most %d per request", count,
                             CSGP_OUTCOMES_MAX_ITEMS);
        }
        for (size_t k = 0; k < count; k++) {
            if (validate(json_array_get(root, k), k, now_ms, &o, rejected) == 0 &&
                push(items, n, &cap, &o) != 0) {
                json_decref(root);
                goto nomem;
            }
        }
        json_decref(root);
        return 0;
    }
    if (body[i] != '{')
        return csg_fail(err, CSG_EINVAL, "expected a JSON array of outcomes or NDJSON objects");
    /* NDJSON: each non-blank line is one item, parsed on its own. */
    size_t index = 0;
    while (i < len) {
        const char *nl = memchr(body + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - body) : len;
        size_t a = i, b = end;
        while (a < b && (body[a] == ' ' || body[a] == '\t' || body[a] == '\r'))
            a++;
        while (b > a && (body[b - 1] == ' ' || body[b - 1] == '\t' || body[b - 1] == '\r'))
            b--;
        if (b > a) {
            if (index >= CSGP_OUTCOMES_MAX_ITEMS) {
                free(*items);
                *items = NULL;
                *n = 0;
                return csg_fail(err, CSG_EINVAL, "more than %d items per request",
                                 CSGP_OUTCOMES_MAX_ITEMS);
            }
            json_error_t je;
            json_t *v = json_loadb(body + a, b - a, 0, &je);
            if (!v) {
                reject(rejected, index, "invalid JSON at column %d: %s", je.column, je.text);
            } else {
                int vr = validate(v, index, now_ms, &o, rejected);
                json_decref(v);
                if (vr == 0 && push(items, n, &cap, &o) != 0)
                    goto nomem;
            }
            index++;
        }
        i = end + 1;
    }
    return 0;
nomem:
    free(*items);
    *items = NULL;
    *n = 0;
    return csg_fail(err, CSG_ENOMEM, "out of memory");
}

/* Sort key for de-duplication: applicant, then position in the request. */
typedef struct pos_key {
    const char *id;
    size_t pos;
} pos_key;

static int cmp_pos(const void *pa, const void *pb)
{
    const pos_key *a = pa, *b = pb;
    int c = strcmp(a->id, b->id);
    return c ? c : (a->pos > b->pos) - (a->pos < b->pos);
}

#define STORE_CHUNK 500 /* rows per INSERT: 1,500 parameters, well inside both backends */

int csgp_outcomes_store(csgp_db *db, const csgp_outcome *items, size_t n, size_t *stored,
                        csg_error *err)
{
    const bool pg = csgp_db_kind_of(db) == CSGP_DB_PG;
    pos_key *keys = malloc((n ? n : 1) * sizeof *keys);
    size_t *order = malloc((n ? n : 1) * sizeof *order), m = 0;
    char *sql = malloc(STORE_CHUNK * 64 + 512);
    csgp_param *prm = malloc(STORE_CHUNK * 3 * sizeof *prm);
    char(*ts)[CSGP_TS_SIZE] = malloc(STORE_CHUNK * sizeof *ts);
    int rc = 0;
    size_t total = 0;
    if (!keys || !order || !sql || !prm || !ts) {
        rc = csg_fail(err, CSG_ENOMEM, "out of memory");
        goto out;
    }
    /* One row per applicant and request, chosen as applying the items one by one would:
     * the latest observed_at, on a tie the item posted last. (PostgreSQL refuses to upsert
     * the same key twice in one statement.) */
    for (size_t i = 0; i < n; i++)
        keys[i] = (pos_key){items[i].applicant_id, i};
    qsort(keys, n, sizeof *keys, cmp_pos);
    for (size_t i = 0; i < n;) {
        size_t j = i, best = keys[i].pos;
        while (j < n && !strcmp(keys[j].id, keys[i].id)) {
            if (items[keys[j].pos].observed_ms >= items[best].observed_ms)
                best = keys[j].pos;
            j++;
        }
        order[m++] = best;
        i = j;
    }
    if ((rc = csgp_db_exec(db, pg ? "BEGIN" : "BEGIN IMMEDIATE", NULL, 0, NULL, err)))
        goto out;
    for (size_t c = 0; c < m; c += STORE_CHUNK) {
        size_t k = m - c < STORE_CHUNK ? m - c : STORE_CHUNK, len = 0;
        len += (size_t)sprintf(sql + len, "INSERT INTO loan_outcomes (applicant_id, defaulted, "
                                          "observed_at) VALUES ");
        for (size_t r = 0; r < k; r++) {
            const csgp_outcome *o = &items[order[c + r]];
            char p1[16], p2[24], p3[32];
            int base = (int)(3 * r);
            csgp_format_ms(o->observed_ms, ts[r]);
            prm[base] = (csgp_param){.type = CSGP_P_TEXT, .text = o->applicant_id};
            prm[base + 1] = pg ? (csgp_param){.type = CSGP_P_TEXT, .text = o->defaulted ? "true" : "false"}
                               : (csgp_param){.type = CSGP_P_INT, .i = o->defaulted ? 1 : 0};
            prm[base + 2] = (csgp_param){.type = CSGP_P_TEXT, .text = ts[r]};
            len += (size_t)sprintf(sql + len, "%s(%s, %s, %s)", r ? ", " : "",
                                   csgp_db_ph(db, base + 1, NULL, p1, sizeof p1),
                                   csgp_db_ph(db, base + 2, pg ? "boolean" : NULL, p2, sizeof p2),
                                   csgp_db_ph(db, base + 3, pg ? "timestamptz" : NULL, p3, sizeof p3));
        }
        /* The newer observation wins; on equal observed_at the one posted last (a correction). */
        sprintf(sql + len,
                " ON CONFLICT (applicant_id) DO UPDATE SET defaulted = excluded.defaulted, "
                "observed_at = excluded.observed_at, received_at = %s "
                "WHERE loan_outcomes.observed_at <= excluded.observed_at",
                pg ? "now()" : "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')");
        int64_t changed = 0;
        if ((rc = csgp_db_exec(db, sql, prm, (int)(3 * k), &changed, err)))
            goto rollback;
        total += (size_t)changed;
    }
    if ((rc = csgp_db_commit(db, err)))
        goto rollback;
    if (stored)
        *stored = total;
    goto out;
rollback:
    csgp_db_exec(db, "ROLLBACK", NULL, 0, NULL, NULL);
out:
    free(keys);
    free(order);
    free(sql);
    free(prm);
    free(ts);
    return rc;
}
