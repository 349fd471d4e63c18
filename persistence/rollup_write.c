/* rollup_write.c — a batch's accumulated rollups upserted into their tables, in one fixed
 * key order (see rollup.h): multi-row INSERT … ON CONFLICT on SQLite, COPY into a staging
 * table then one merge per table on PostgreSQL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollup_private.h"

/* Key order: table, res, t, text keys, integer keys (a fixed order for every writer, so
 * concurrent consumers lock rows in the same order). */
static int cmp_entry(const void *pa, const void *pb)
{
    const entry *a = *(entry *const *)pa, *b = *(entry *const *)pb;
    if (a->table != b->table)
        return a->table - b->table;
    if (a->res != b->res)
        return (a->res > b->res) - (a->res < b->res);
    if (a->t != b->t)
        return (a->t > b->t) - (a->t < b->t);
    const struct tspec *s = &csgp_rollup_specs[a->table];
    for (int i = 0; i < s->nstr; i++) {
        int c = strcmp(a->str[i], b->str[i]);
        if (c)
            return c;
    }
    for (int i = 0; i < s->nint; i++)
        if (a->ints[i] != b->ints[i])
            return (a->ints[i] > b->ints[i]) - (a->ints[i] < b->ints[i]);
    return 0;
}

/* A growing SQL text. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf;

static void sadd(sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

#define CHUNK_ROWS 200

/* The stored form of each entry's sketch (NULL entries when the table has none); *out
 * is malloc'd, freed with free_texts. */
static int sketch_texts(const struct tspec *s, entry **es, size_t n, char ***out)
{
    *out = NULL;
    if (!s->sketch)
        return 0;
    char **t = calloc(n, sizeof *t); // NOLINT(bugprone-sizeof-expression): an array of pointers
    if (!t)
        return -CSG_ENOMEM;
    *out = t;
    for (size_t i = 0; i < n; i++)
        if (!(t[i] = csgp_sketch_format(&es[i]->sk)))
            return -CSG_ENOMEM;
    return 0;
}

static void free_texts(char **t, size_t n)
{
    if (t)
        for (size_t i = 0; i < n; i++)
            free(t[i]);
    free(t);
}

/* The DO UPDATE SET list: summed columns add up, the sketch merges (sketch_merge: the SQL
 * of the backend's merge of the stored and the new sketch). */
static void update_set(sbuf *b, const struct tspec *s, const char *sketch_merge)
{
    const char *const *groups[2] = {s->val, s->dbl};
    const int counts[2] = {s->nval, s->ndbl};
    for (int g = 0, first = 1; g < 2; g++)
        for (int i = 0; i < counts[g]; i++, first = 0) {
            if (!first)
                sadd(b, ", ");
            sadd(b, groups[g][i]);
            sadd(b, " = ");
            sadd(b, s->name);
            sadd(b, ".");
            sadd(b, groups[g][i]);
            sadd(b, " + excluded.");
            sadd(b, groups[g][i]);
        }
    if (s->sketch) {
        sadd(b, ", sketch = ");
        sadd(b, sketch_merge);
    }
}

/* The stored sketch and the new one merged: on SQLite by csg_sketch_merge (stats.c), on
 * PostgreSQL in SQL (no server-side C): pairs summed per bucket, ascending (sketch.h). */
static void merged_set(sbuf *b, const struct tspec *s, bool pg)
{
    sbuf m = {0};
    if (pg) {
        sadd(&m, "(SELECT string_agg(b || ':' || c, ',' ORDER BY b) FROM (SELECT "
                 "split_part(x, ':', 1)::int AS b, sum(split_part(x, ':', 2)::bigint) AS c FROM "
                 "unnest(string_to_array(");
        sadd(&m, s->name);
        sadd(&m, ".sketch || ',' || excluded.sketch, ',')) AS x GROUP BY 1) AS m)");
    } else {
        sadd(&m, "csg_sketch_merge(");
        sadd(&m, s->name);
        sadd(&m, ".sketch, excluded.sketch)");
    }
    if (m.oom)
        b->oom = true;
    else
        update_set(b, s, m.p);
    free(m.p);
}

/* Upsert entries es[0..n) of one table, CHUNK_ROWS rows per statement (SQLite). */
static int write_table(csgp_db *db, entry **es, size_t n, csg_error *err)
{
    const struct tspec *s = &csgp_rollup_specs[es[0]->table];
    int ncols = 2 + s->nstr + s->nint + s->nval + s->ndbl + (s->sketch ? 1 : 0);
    csgp_param *p = malloc((size_t)CHUNK_ROWS * (size_t)ncols * sizeof *p);
    char **sk = NULL;
    if (!p || sketch_texts(s, es, n, &sk)) {
        free(p);
        free_texts(sk, n);
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    }
    int rc = 0;
    /* Anonymous "?" bound in order: SQLite maps each numbered ?N by scanning the numbers
     * before it, quadratic over a statement's thousands of parameters (70% of an import's
     * CPU with ?N). */
    for (size_t at = 0; at < n && !rc; at += CHUNK_ROWS) {
        size_t m = n - at < CHUNK_ROWS ? n - at : CHUNK_ROWS;
        sbuf b = {0};
        sadd(&b, "INSERT INTO ");
        sadd(&b, s->name);
        sadd(&b, " (res, t");
        const char *const *groups[4] = {s->str, s->ints, s->val, s->dbl};
        const int counts[4] = {s->nstr, s->nint, s->nval, s->ndbl};
        for (int g = 0; g < 4; g++)
            for (int i = 0; i < counts[g]; i++) {
                sadd(&b, ", ");
                sadd(&b, groups[g][i]);
            }
        if (s->sketch)
            sadd(&b, ", sketch");
        sadd(&b, ") VALUES ");
        int np = 0;
        for (size_t r = 0; r < m; r++) {
            const entry *e = es[at + r];
            sadd(&b, r ? ", (" : "(");
            p[np++] = (csgp_param){.type = CSGP_P_INT, .i = e->res};
            sadd(&b, "?");
            p[np++] = (csgp_param){.type = CSGP_P_INT, .i = e->t};
            sadd(&b, ", ?");
            for (int i = 0; i < s->nstr; i++) {
                p[np++] = (csgp_param){.type = CSGP_P_TEXT, .text = e->str[i]};
                sadd(&b, ", ?");
            }
            for (int i = 0; i < s->nint; i++) {
                p[np++] = (csgp_param){.type = CSGP_P_INT, .i = e->ints[i]};
                sadd(&b, ", ?");
            }
            for (int i = 0; i < s->nval; i++) {
                p[np++] = (csgp_param){.type = CSGP_P_INT, .i = e->val[i]};
                sadd(&b, ", ?");
            }
            for (int i = 0; i < s->ndbl; i++) {
                p[np++] = (csgp_param){.type = CSGP_P_REAL, .real = e->dbl[i]};
                sadd(&b, ", ?");
            }
            if (s->sketch) {
                p[np++] = (csgp_param){.type = CSGP_P_TEXT, .text = sk[at + r]};
                sadd(&b, ", ?");
            }
            sadd(&b, ")");
        }
        sadd(&b, " ON CONFLICT (res, t");
        for (int g = 0; g < 2; g++)
            for (int i = 0; i < counts[g]; i++) {
                sadd(&b, ", ");
                sadd(&b, groups[g][i]);
            }
        sadd(&b, ") DO UPDATE SET ");
        merged_set(&b, s, false);
        if (b.oom)
            rc = csg_fail(err, CSG_ENOMEM, "out of memory");
        else
            rc = csgp_db_exec(db, b.p, p, np, NULL, err);
        free(b.p);
    }
    free(p);
    free_texts(sk, n);
    return rc;
}

/* The COPY text of one field (\\ \t \n \r escaped). */
static void copy_field(sbuf *b, const char *s, char sep)
{
    char tmp[2] = {0, 0};
    for (; *s; s++) {
        const char *esc = *s == '\\' ? "\\\\" : *s == '\t' ? "\\t" : *s == '\n' ? "\\n"
                        : *s == '\r' ? "\\r" : NULL;
        if (esc) {
            sadd(b, esc);
        } else {
            tmp[0] = *s;
            sadd(b, tmp);
        }
    }
    tmp[0] = sep;
    sadd(b, tmp);
}

/* PostgreSQL: COPY the entries into a session temp table shaped like the rollup table
 * (emptied at commit), then one INSERT … SELECT … ON CONFLICT DO UPDATE in key order: far
 * cheaper than thousands of VALUES parameters (bench/results.md, issue 20 profile). */
static int write_table_pg(csgp_db *db, entry **es, size_t n, csg_error *err)
{
    const struct tspec *s = &csgp_rollup_specs[es[0]->table];
    const char *const *groups[4] = {s->str, s->ints, s->val, s->dbl};
    const int counts[4] = {s->nstr, s->nint, s->nval, s->ndbl};
    sbuf cols = {0}, keys = {0}, sql = {0}, data = {0};
    char **sk = NULL;
    if (sketch_texts(s, es, n, &sk)) {
        free_texts(sk, n);
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    }
    sadd(&cols, "res, t");
    sadd(&keys, "res, t");
    for (int g = 0; g < 4; g++)
        for (int i = 0; i < counts[g]; i++) {
            sadd(&cols, ", ");
            sadd(&cols, groups[g][i]);
            if (g < 2) {
                sadd(&keys, ", ");
                sadd(&keys, groups[g][i]);
            }
        }
    if (s->sketch)
        sadd(&cols, ", sketch");
    char num[48];
    for (size_t r = 0; r < n; r++) {
        const entry *e = es[r];
        snprintf(num, sizeof num, "%d\t%lld\t", (int)e->res, (long long)e->t);
        sadd(&data, num);
        for (int i = 0; i < s->nstr; i++)
            copy_field(&data, e->str[i], '\t');
        for (int i = 0; i < s->nint; i++) {
            snprintf(num, sizeof num, "%d\t", (int)e->ints[i]);
            sadd(&data, num);
        }
        for (int i = 0; i < s->nval; i++) {
            snprintf(num, sizeof num, "%lld\t", (long long)e->val[i]);
            sadd(&data, num);
        }
        for (int i = 0; i < s->ndbl; i++) {
            snprintf(num, sizeof num, "%.17g\t", e->dbl[i]);
            sadd(&data, num);
        }
        if (s->sketch)
            sadd(&data, sk[r]); /* digits, ':' and ',' only: nothing to escape */
        else if (!data.oom)
            data.len--; /* the last column's tab */
        sadd(&data, "\n");
    }
    char stage[64];
    snprintf(stage, sizeof stage, "csg_stage_%s", s->name);
    sadd(&sql, "CREATE TEMP TABLE IF NOT EXISTS ");
    sadd(&sql, stage);
    sadd(&sql, " (LIKE ");
    sadd(&sql, s->name);
    sadd(&sql, ") ON COMMIT DELETE ROWS");
    int rc = 0;
    if (cols.oom || keys.oom || sql.oom || data.oom) {
        rc = csg_fail(err, CSG_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = csgp_db_exec_script(db, sql.p, "rollup staging table", err)))
        goto done;
    sql.len = 0;
    sadd(&sql, "COPY ");
    sadd(&sql, stage);
    sadd(&sql, " (");
    sadd(&sql, cols.p);
    sadd(&sql, ") FROM STDIN");
    if (!sql.oom && (rc = csgp_db_copy_in(db, sql.p, data.p, data.len, err)))
        goto done;
    sql.len = 0;
    sadd(&sql, "INSERT INTO ");
    sadd(&sql, s->name);
    sadd(&sql, " (");
    sadd(&sql, cols.p);
    sadd(&sql, ") SELECT ");
    sadd(&sql, cols.p);
    sadd(&sql, " FROM ");
    sadd(&sql, stage);
    sadd(&sql, " ORDER BY ");
    sadd(&sql, keys.p);
    sadd(&sql, " ON CONFLICT (");
    sadd(&sql, keys.p);
    sadd(&sql, ") DO UPDATE SET ");
    merged_set(&sql, s, true);
    sadd(&sql, "; TRUNCATE ");
    sadd(&sql, stage);
    if (sql.oom)
        rc = csg_fail(err, CSG_ENOMEM, "out of memory");
    else
        rc = csgp_db_exec_script(db, sql.p, "rollup upsert", err);
done:
    free(cols.p);
    free(keys.p);
    free(sql.p);
    free(data.p);
    free_texts(sk, n);
    return rc;
}

int csgp_rollup_flush(csgp_rollup *r, csgp_db *db, csg_error *err)
{
    if (!r->n)
        return 0;
    entry **es = malloc(r->n * sizeof *es); // NOLINT(bugprone-sizeof-expression): an array of pointers
    if (!es)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    size_t m = 0;
    for (size_t i = 0; i < r->cap; i++)
        if (r->e[i].used && (!r->only || r->only & T_MASK(r->e[i].table)))
            es[m++] = &r->e[i];
    qsort(es, m, sizeof *es, cmp_entry); // NOLINT(bugprone-sizeof-expression): sorts the pointers
    int rc = 0;
    for (size_t i = 0; i < m && !rc;) {
        size_t j = i;
        while (j < m && es[j]->table == es[i]->table)
            j++;
        rc = csgp_db_kind_of(db) == CSGP_DB_PG ? write_table_pg(db, es + i, j - i, err)
                                                : write_table(db, es + i, j - i, err);
        i = j;
    }
    free(es);
    csgp_rollup_clear(r);
    return rc;
}

