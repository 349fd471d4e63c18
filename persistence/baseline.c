/* baseline.c — stability baselines: validation, binning, storage (see baseline.h). */
#include "baseline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csg_clock.h"
#include "fbins.h"

#define DEFAULT_SOURCE "file" /* a document without "source" */

/* Shares are rounded in the file (models/baseline.py: 10 decimals). */
#define SHARE_SUM_TOLERANCE 1e-6

static int bad(csg_error *err, const char *field, const char *what)
{
    return csg_fail(err, CSG_EINVAL, "baseline field \"%s\": %s", field, what);
}

/* A JSON array of n (lo..hi) finite numbers into v, strictly increasing when asked. */
static int numbers(const json_t *a, const char *field, int lo, int hi, bool increasing,
                   double *v, int *n, csg_error *err)
{
    char what[96];
    snprintf(what, sizeof what, "must be an array of %d to %d finite numbers%s", lo, hi,
             increasing ? ", strictly increasing" : "");
    if (!json_is_array(a) || json_array_size(a) < (size_t)lo || json_array_size(a) > (size_t)hi)
        return bad(err, field, what);
    size_t i;
    const json_t *x;
    json_array_foreach(a, i, x) {
        if (!json_is_number(x) || !isfinite(json_number_value(x)))
            return bad(err, field, what);
        v[i] = json_number_value(x);
        if (increasing && i && v[i] <= v[i - 1])
            return bad(err, field, what);
    }
    *n = (int)json_array_size(a);
    return 0;
}

/* n shares, each >= 0, summing to 1. */
static int shares(const json_t *a, const char *field, int n, double *v, csg_error *err)
{
    int got = 0;
    char what[96];
    snprintf(what, sizeof what, "must be %d shares (numbers >= 0 summing to 1)", n);
    if (!json_is_array(a) || json_array_size(a) != (size_t)n ||
        numbers(a, field, n, n, false, v, &got, err))
        return bad(err, field, what);
    double sum = 0;
    for (int i = 0; i < n; i++) {
        if (v[i] < 0)
            return bad(err, field, what);
        sum += v[i];
    }
    return fabs(sum - 1.0) > SHARE_SUM_TOLERANCE ? bad(err, field, what) : 0;
}

static bool printable(const char *s, size_t n, size_t max)
{
    if (n < 1 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static int feature_from_json(const json_t *f, int index, csgp_baseline *b, csg_error *err)
{
    char field[64];
    csgp_baseline_feature *out = &b->features[index];
    snprintf(field, sizeof field, "features[%d]", index);
    if (!json_is_object(f))
        return bad(err, field, "must be an object");
    const json_t *name = json_object_get(f, "name"), *type = json_object_get(f, "type");
    snprintf(field, sizeof field, "features[%d].name", index);
    if (!json_is_string(name) ||
        !csg_event_feature_name_ok(json_string_value(name), json_string_length(name)))
        return bad(err, field, "must be a feature name ([a-z][a-z0-9_]{0,31})");
    out->name = json_string_value(name);
    for (int k = 0; k < index; k++)
        if (!strcmp(b->features[k].name, out->name))
            return bad(err, field, "names the same feature twice");
    snprintf(field, sizeof field, "features[%d].type", index);
    const char *t = json_is_string(type) ? json_string_value(type) : "";
    out->category = !strcmp(t, "category");
    if (!out->category && strcmp(t, "number"))
        return bad(err, field, "must be \"number\" or \"category\"");
    int rc;
    if (out->category) {
        const json_t *levels = json_object_get(f, "levels"), *x;
        size_t i;
        snprintf(field, sizeof field, "features[%d].levels", index);
        if (!json_is_array(levels) || json_array_size(levels) < 1 ||
            json_array_size(levels) > CSGP_BASELINE_MAX_BINS)
            return bad(err, field, "must be an array of 1 to 64 distinct strings");
        json_array_foreach(levels, i, x) {
            if (!json_is_string(x) ||
                !printable(json_string_value(x), json_string_length(x), CSG_EVENT_CATEGORY_MAX))
                return bad(err, field, "must be an array of 1 to 64 distinct strings");
            out->levels[i] = json_string_value(x);
            for (size_t k = 0; k < i; k++)
                if (!strcmp(out->levels[k], out->levels[i]))
                    return bad(err, field, "must be an array of 1 to 64 distinct strings");
        }
        out->nvalue_bins = (int)json_array_size(levels);
    } else {
        int ncuts = 0;
        snprintf(field, sizeof field, "features[%d].cuts", index);
        if ((rc = numbers(json_object_get(f, "cuts"), field, 0, CSGP_BASELINE_MAX_BINS - 1,
                          true, out->cuts, &ncuts, err)))
            return rc;
        out->nvalue_bins = ncuts + 1;
    }
    /* A category may give its "other" share last (a reference window does); else 0. */
    snprintf(field, sizeof field, "features[%d].shares", index);
    const json_t *sh = json_object_get(f, "shares");
    out->nbins = out->nvalue_bins + 1;
    bool with_other = out->category && json_array_size(sh) == (size_t)out->nbins + 1;
    if ((rc = shares(sh, field, out->nbins + with_other, out->share, err)))
        return rc;
    if (out->category && !with_other)
        out->share[out->nbins] = 0;
    out->nbins += out->category;
    return 0;
}

int csgp_baseline_from_json(json_t *doc, csgp_baseline *out, csg_error *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(doc))
        return csg_fail(err, CSG_EINVAL, "a baseline must be a JSON object");
    const json_t *format = json_object_get(doc, "format");
    if (!json_is_string(format) || strcmp(json_string_value(format), CSGP_BASELINE_FORMAT))
        return bad(err, "format", "must be \"" CSGP_BASELINE_FORMAT "\"");
    const json_t *model = json_object_get(doc, "model"), *source = json_object_get(doc, "source");
    if (!json_is_string(model) ||
        !printable(json_string_value(model), json_string_length(model), CSG_EVENT_NAME_MAX))
        return bad(err, "model", "must be a model name (1-64 characters, no control characters)");
    if (source && !json_is_string(source))
        return bad(err, "source", "must be a string");
    const json_t *score = json_object_get(doc, "score");
    if (!json_is_object(score))
        return bad(err, "score", "must be an object with edges and shares");
    int nedges = 0, rc;
    if ((rc = numbers(json_object_get(score, "edges"), "score.edges", 2,
                      CSGP_BASELINE_MAX_BINS + 1, true, out->edges, &nedges, err)))
        return rc;
    if (out->edges[0] != 0.0 || out->edges[nedges - 1] != 1.0)
        return bad(err, "score.edges", "must start at 0 and end at 1");
    out->nscore_bins = nedges - 1;
    if ((rc = shares(json_object_get(score, "shares"), "score.shares", out->nscore_bins,
                     out->score_share, err)))
        return rc;
    const json_t *features = json_object_get(doc, "features"), *f;
    if (features && !json_is_array(features))
        return bad(err, "features", "must be an array");
    if (json_array_size(features) > CSG_EVENT_MAX_FEATURES)
        return bad(err, "features", "at most 64 features");
    size_t i;
    json_array_foreach(features, i, f) {
        if ((rc = feature_from_json(f, (int)i, out, err)))
            return rc;
        out->nfeatures++;
    }
    out->model = json_string_value(model);
    out->source = source ? json_string_value(source) : DEFAULT_SOURCE;
    out->doc = json_incref(doc);
    return 0;
}

int csgp_baseline_parse(const char *text, size_t len, csgp_baseline *out, csg_error *err)
{
    out->doc = NULL;
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return csg_fail(err, CSG_EINVAL, "baseline is not valid JSON: %s (line %d)", jerr.text,
                        jerr.line);
    int rc = csgp_baseline_from_json(doc, out, err);
    json_decref(doc);
    return rc;
}

int csgp_baseline_read_file(const char *path, csgp_baseline *out, csg_error *err)
{
    out->doc = NULL; /* csgp_baseline_free is safe whatever happens below */
    FILE *f = fopen(path, "rb");
    if (!f)
        return csg_fail(err, CSG_EIO, "cannot open baseline %s", path);
    char *buf = malloc(CSGP_BASELINE_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, CSGP_BASELINE_MAX_BYTES + 1, f) : 0;
    bool read_error = ferror(f);
    fclose(f);
    int rc;
    if (!buf)
        rc = csg_fail(err, CSG_ENOMEM, "out of memory");
    else if (read_error)
        rc = csg_fail(err, CSG_EIO, "cannot read baseline %s", path);
    else if (n > CSGP_BASELINE_MAX_BYTES)
        rc = csg_fail(err, CSG_EINVAL, "baseline %s is larger than 1 MiB", path);
    else if ((rc = csgp_baseline_parse(buf, n, out, err))) {
        char why[sizeof err->message];
        memcpy(why, err->message, sizeof why);
        csg_fail_at(err, -rc, path, "%s", why);
    }
    free(buf);
    return rc;
}

void csgp_baseline_free(csgp_baseline *b)
{
    if (b && b->doc) {
        json_decref(b->doc);
        b->doc = NULL;
    }
}

int csgp_baseline_score_bin(const csgp_baseline *b, double score)
{
    int k = 0;
    while (k < b->nscore_bins - 1 && score >= b->edges[k + 1])
        k++;
    return k;
}

int csgp_baseline_feature_bin(const csgp_baseline_feature *f, const json_t *value)
{
    int missing = f->nvalue_bins;
    if (f->category) {
        const char *s = json_is_string(value) ? json_string_value(value)
                        : json_is_true(value) ? "true"
                        : json_is_false(value) ? "false"
                                               : NULL;
        if (!s)
            return missing;
        for (int k = 0; k < f->nvalue_bins; k++)
            if (!strcmp(s, f->levels[k]))
                return k;
        return missing + 1; /* other */
    }
    if (!json_is_number(value))
        return missing;
    double v = json_number_value(value);
    int k = 0;
    while (k < f->nvalue_bins - 1 && v >= f->cuts[k])
        k++;
    return k;
}

const csgp_baseline_feature *csgp_baseline_feature_of(const csgp_baseline *b, const char *name)
{
    for (int i = 0; i < b->nfeatures; i++)
        if (!strcmp(b->features[i].name, name))
            return &b->features[i];
    return NULL;
}

int csgp_baseline_store(csgp_db *db, const csgp_baseline *b, csg_error *err)
{
    char *text = json_dumps(b->doc, JSON_COMPACT);
    if (!text)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    char at[CSGP_TS_SIZE], sql[256], p1[16], p2[16], p3[16];
    csgp_format_ms(csg_wall_ms(), at);
    snprintf(sql, sizeof sql,
             "INSERT INTO csgp_baselines (model, doc, loaded_at) VALUES (%s, %s, %s) "
             "ON CONFLICT (model) DO UPDATE SET doc = excluded.doc, loaded_at = excluded.loaded_at",
             csgp_db_ph(db, 1, NULL, p1, sizeof p1), csgp_db_ph(db, 2, NULL, p2, sizeof p2),
             csgp_db_ph(db, 3, NULL, p3, sizeof p3));
    csgp_param p[3] = {{.type = CSGP_P_TEXT, .text = b->model},
                       {.type = CSGP_P_TEXT, .text = text},
                       {.type = CSGP_P_TEXT, .text = at}};
    /* One transaction: the document, the bands it fixes and the rollups rebuilt for them. */
    bool pg = csgp_db_kind_of(db) == CSGP_DB_PG;
    int rc = csgp_db_exec_script(db, pg ? "BEGIN" : "BEGIN IMMEDIATE", "BEGIN", err);
    if (!rc && !(rc = csgp_db_exec(db, sql, p, 3, NULL, err)))
        rc = csgp_fbins_apply_baseline(db, b, NULL, err);
    free(text);
    if (rc) {
        csgp_db_rollback(db);
        return rc;
    }
    return csgp_db_commit(db, err);
}

int csgp_baseline_load_all(csgp_db *db, csgp_baseline **out, int *n, csg_error *err)
{
    *out = NULL;
    *n = 0;
    csgp_rows *rows;
    int rc = csgp_db_query(db, "SELECT model, doc FROM csgp_baselines ORDER BY model", NULL, 0,
                           &rows, err);
    if (rc)
        return rc;
    csgp_baseline *v = NULL;
    int count = 0, cap = 0;
    while ((rc = csgp_rows_next(rows)) == 1) {
        if (count == cap) {
            int nc = cap ? cap * 2 : 4;
            csgp_baseline *p = realloc(v, (size_t)nc * sizeof *p);
            if (!p) {
                rc = csg_fail(err, CSG_ENOMEM, "out of memory");
                break;
            }
            v = p;
            cap = nc;
        }
        const char *doc = csgp_rows_text(rows, 1);
        csg_error perr;
        /* Stored after validation; a row that no longer parses (edited by hand) is skipped. */
        if (csgp_baseline_parse(doc, strlen(doc), &v[count], &perr) == 0)
            count++;
        else
            csgp_log("warn", "stored baseline of %s is invalid, ignored: %s",
                     csgp_rows_text(rows, 0), perr.message);
    }
    csgp_rows_free(rows);
    if (rc < 0) {
        for (int i = 0; i < count; i++)
            csgp_baseline_free(&v[i]);
        free(v);
        return rc == -CSG_ENOMEM ? rc : csg_fail(err, CSGP_EDB, "reading csgp_baselines failed");
    }
    *out = v;
    *n = count;
    return 0;
}

int csgp_baseline_list_json(csgp_db *db, json_t **out, csg_error *err)
{
    csgp_rows *rows;
    int rc = csgp_db_query(db, "SELECT model, doc, loaded_at FROM csgp_baselines ORDER BY model",
                           NULL, 0, &rows, err);
    if (rc)
        return rc;
    json_t *a = json_array();
    while ((rc = csgp_rows_next(rows)) == 1) {
        /* Stored after validation: only its sizes are read back here. */
        json_t *doc = json_loads(csgp_rows_text(rows, 1), 0, NULL);
        const json_t *source = json_object_get(doc, "source");
        size_t edges = json_array_size(json_object_get(json_object_get(doc, "score"), "edges"));
        json_t *o = json_object();
        json_object_set_new(o, "model", json_string(csgp_rows_text(rows, 0)));
        json_object_set_new(o, "source", json_string(source ? json_string_value(source)
                                                            : DEFAULT_SOURCE));
        json_object_set_new(o, "score_bins", json_integer(edges ? (json_int_t)edges - 1 : 0));
        json_object_set_new(o, "features",
                            json_integer((json_int_t)json_array_size(
                                json_object_get(doc, "features"))));
        json_object_set_new(o, "loaded_at", json_string(csgp_rows_text(rows, 2)));
        json_array_append_new(a, o);
        json_decref(doc);
    }
    csgp_rows_free(rows);
    if (rc < 0) {
        json_decref(a);
        return csg_fail(err, CSGP_EDB, "reading csgp_baselines failed");
    }
    *out = a;
    return 0;
}
