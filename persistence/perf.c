/*
 * perf.c — rows → /metrics/performance and the segment outcome columns (see perf.h).
 * Rows arrive sorted so that an applicant's latest event comes first: counting only the
 * first row per key de-duplicates in one pass without holding the whole result twice.
 */
#include "perf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csg_outcome_stats.h"
#include "event.h"
#include "jsonout.h"

/* Model names in stored rows: csg-persist accepted up to 128 bytes before the event bounds
 * became the gateway's (lib/csg_event_schema.h, 64), so older rows may hold that much. */
#define ROW_NAME_MAX 128
_Static_assert(ROW_NAME_MAX >= CSG_EVENT_NAME_MAX, "row names");

#define POPULATION                                                                           \
    "paired: applicants scored by the champion and the challenger (status OK) whose outcome " \
    "is known, each counted once by its latest such event"

/* Growable parallel arrays of one group. */
typedef struct group {
    double *sa, *sb;
    signed char *da, *db;
    unsigned char *bad;
    size_t n, cap;
} group;

static int group_push(group *g, double sa, double sb, signed char da, signed char db,
                      unsigned char bad)
{
    if (g->n == g->cap) {
        size_t nc = g->cap ? g->cap * 2 : 1024;
        double *a = realloc(g->sa, nc * sizeof *a);
        if (a)
            g->sa = a;
        double *b = a ? realloc(g->sb, nc * sizeof *b) : NULL;
        if (b)
            g->sb = b;
        signed char *c = b ? realloc(g->da, nc) : NULL;
        if (c)
            g->da = c;
        signed char *d = c ? realloc(g->db, nc) : NULL;
        if (d)
            g->db = d;
        unsigned char *e = d ? realloc(g->bad, nc) : NULL;
        if (!e)
            return -CSG_ENOMEM;
        g->bad = e;
        g->cap = nc;
    }
    g->sa[g->n] = sa;
    g->sb[g->n] = sb;
    g->da[g->n] = da;
    g->db[g->n] = db;
    g->bad[g->n] = bad;
    g->n++;
    return 0;
}

static void group_free(group *g)
{
    free(g->sa);
    free(g->sb);
    free(g->da);
    free(g->db);
    free(g->bad);
    memset(g, 0, sizeof *g);
}

static signed char decision(csgp_rows *rows, int col)
{
    if (csgp_rows_null(rows, col))
        return -1;
    const char *d = csgp_rows_text(rows, col);
    csg_decision v = csg_decision_parse(d, strlen(d));
    return v == CSG_DECISION_APPROVE ? 1 : v == CSG_DECISION_DECLINE ? 0 : -1;
}

static void copy_text(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

int csgp_perf_from_rows(csgp_rows *rows, json_t **out, csg_error *err)
{
    json_t *body = json_object(), *models = json_array(), *swaps = json_array(),
           *psi = json_array(), *promo = json_array();
    json_object_set_new(body, "population", json_string(POPULATION));
    json_object_set_new(body, "models", models);
    json_object_set_new(body, "swap_sets", swaps);
    json_object_set_new(body, "psi", psi);
    json_object_set_new(body, "promotion", promo);
    char champ[ROW_NAME_MAX + 1] = "", chall[ROW_NAME_MAX + 1] = "";
    char app[CSG_EVENT_APPLICANT_ID_MAX + 1] = "";
    bool have = false;
    group g = {0};
    int rc = 0, s;
    for (;;) {
        s = csgp_rows_next(rows);
        if (s < 0) {
            rc = csg_fail(err, CSGP_EDB, "reading the paired population failed");
            goto fail;
        }
        const char *c1 = s == 1 ? csgp_rows_text(rows, 0) : "";
        const char *c2 = s == 1 ? csgp_rows_text(rows, 1) : "";
        bool new_group = s == 0 || !have || strcmp(c1, champ) || strcmp(c2, chall);
        if (new_group && have && g.n > 0) {
            csg_pair_input in = {.champion = champ, .challenger = chall, .s_champion = g.sa,
                                  .s_challenger = g.sb, .d_champion = g.da, .d_challenger = g.db,
                                  .bad = g.bad, .n = g.n};
            if ((rc = csg_pair_json(&in, models, swaps, psi, promo, err)))
                goto fail;
            g.n = 0;
        }
        if (s == 0)
            break;
        const char *a = csgp_rows_text(rows, 2);
        if (!new_group && !strcmp(a, app))
            continue; /* an older event of the same applicant */
        if (new_group) {
            copy_text(champ, sizeof champ, c1);
            copy_text(chall, sizeof chall, c2);
            have = true;
        }
        copy_text(app, sizeof app, a);
        int bad = csgp_rows_bool(rows, 7);
        if (csgp_rows_null(rows, 3) || csgp_rows_null(rows, 4) || bad < 0)
            continue;
        double sa = csgp_rows_real(rows, 3), sb = csgp_rows_real(rows, 4);
        if (!isfinite(sa) || !isfinite(sb))
            continue;
        if (group_push(&g, sa, sb, decision(rows, 5), decision(rows, 6), (unsigned char)bad)) {
            rc = csg_fail(err, CSG_ENOMEM, "out of memory");
            goto fail;
        }
    }
    if (json_array_size(models) == 0)
        json_object_set_new(body, "note",
                            json_string("no applicants scored by both models with a known "
                                        "outcome match the filters (POST /outcomes)"));
    group_free(&g);
    *out = body;
    return 0;
fail:
    group_free(&g);
    json_decref(body);
    return rc;
}

/* Per band: the current model's labelled applicants. */
typedef struct band_acc {
    double *s;
    unsigned char *bad;
    size_t n, cap;
} band_acc;

static json_t *find_model(json_t *seg, const char *model, const char *role)
{
    json_t *models = json_object_get(seg, "models"), *m;
    size_t i;
    json_array_foreach(models, i, m)
    {
        const char *mm = json_string_value(json_object_get(m, "model"));
        const char *rr = json_string_value(json_object_get(m, "role"));
        if (mm && rr && !strcmp(mm, model) && !strcmp(rr, role))
            return m;
    }
    return NULL;
}

static int flush_bands(band_acc *acc, int nb, json_t *const *seg, const char *model,
                       const char *role, csg_error *err)
{
    for (int k = 0; k < nb; k++) {
        if (acc[k].n == 0)
            continue;
        json_t *m = find_model(seg[k], model, role);
        if (m) {
            int rc = 0;
            size_t nbad = 0;
            for (size_t i = 0; i < acc[k].n; i++)
                nbad += acc[k].bad[i];
            double auc = csg_auc(acc[k].s, acc[k].bad, acc[k].n, &rc);
            if (rc)
                return csg_fail(err, CSG_ENOMEM, "out of memory");
            json_object_set_new(m, "labelled", json_integer((json_int_t)acc[k].n));
            json_object_set_new(m, "auc", isfinite(auc) ? json_real(auc) : json_null());
            json_object_set_new(m, "bad_rate", json_real((double)nbad / (double)acc[k].n));
            if (!isfinite(auc))
                csgp_add_note(m, "AUC needs defaulted and repaid applicants");
        }
        acc[k].n = 0;
    }
    return 0;
}

int csgp_segment_outcomes_from_rows(csgp_rows *rows, const char *role, json_t *const *seg, int nb,
                                    bool *found, csg_error *err)
{
    band_acc *acc = calloc((size_t)(nb > 0 ? nb : 1), sizeof *acc);
    if (!acc)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    char model[ROW_NAME_MAX + 1] = "", app[CSG_EVENT_APPLICANT_ID_MAX + 1] = "";
    bool have = false;
    int rc = 0, s;
    for (;;) {
        s = csgp_rows_next(rows);
        if (s < 0) {
            rc = csg_fail(err, CSGP_EDB, "reading labelled events failed");
            goto done;
        }
        const char *m = s == 1 ? csgp_rows_text(rows, 0) : "";
        bool new_model = s == 0 || !have || strcmp(m, model);
        if (new_model && have && (rc = flush_bands(acc, nb, seg, model, role, err)))
            goto done;
        if (s == 0)
            break;
        const char *a = csgp_rows_text(rows, 1);
        if (!new_model && !strcmp(a, app))
            continue;
        if (new_model) {
            copy_text(model, sizeof model, m);
            have = true;
        }
        copy_text(app, sizeof app, a);
        int bad = csgp_rows_bool(rows, 4);
        if (csgp_rows_null(rows, 2) || csgp_rows_null(rows, 3) || bad < 0)
            continue;
        int64_t k = csgp_rows_int(rows, 2);
        double sc = csgp_rows_real(rows, 3);
        if (k < 0 || k >= nb || !isfinite(sc))
            continue;
        band_acc *b = &acc[k];
        if (b->n == b->cap) {
            size_t nc = b->cap ? b->cap * 2 : 256;
            double *ns = realloc(b->s, nc * sizeof *ns);
            if (ns)
                b->s = ns;
            unsigned char *nbd = ns ? realloc(b->bad, nc) : NULL;
            if (!nbd) {
                rc = csg_fail(err, CSG_ENOMEM, "out of memory");
                goto done;
            }
            b->bad = nbd;
            b->cap = nc;
        }
        b->s[b->n] = sc;
        b->bad[b->n] = (unsigned char)bad;
        b->n++;
        *found = true;
    }
done:
    for (int k = 0; k < nb; k++) {
        free(acc[k].s);
        free(acc[k].bad);
    }
    free(acc);
    return rc;
}

void csgp_segment_outcomes_fill(json_t *const *seg, int nb)
{
    for (int k = 0; k < nb; k++) {
        json_t *models = json_object_get(seg[k], "models"), *m;
        size_t i;
        json_array_foreach(models, i, m)
        {
            if (json_object_get(m, "labelled"))
                continue;
            json_object_set_new(m, "labelled", json_integer(0));
            json_object_set_new(m, "auc", json_null());
            json_object_set_new(m, "bad_rate", json_null());
            csgp_add_note(m, "no labelled applicants of this model in this band");
        }
    }
}
