/* jsonout.c — shared JSON shapes of the REST answers (see jsonout.h). */
#include "jsonout.h"

#include <math.h>
#include <stdio.h>

json_t *csgp_jreal(double v) { return isfinite(v) ? json_real(v) : json_null(); }

json_t *csgp_jcol(csgp_rows *rows, int col)
{
    return csgp_rows_null(rows, col) ? json_null() : csgp_jreal(csgp_rows_real(rows, col));
}

json_t *csgp_jratio(int64_t num, int64_t den)
{
    return den > 0 ? csgp_jreal((double)num / (double)den) : json_null();
}

void csgp_add_note(json_t *obj, const char *text)
{
    const char *old = json_string_value(json_object_get(obj, "note"));
    if (!old) {
        json_object_set_new(obj, "note", json_string(text));
        return;
    }
    char buf[512];
    snprintf(buf, sizeof buf, "%s; %s", old, text);
    json_object_set_new(obj, "note", json_string(buf));
}

json_t *csgp_summary_totals(json_t *out, csgp_rows *rows, bool diff_is_sum)
{
    int64_t total = csgp_rows_int(rows, 0), with_ch = csgp_rows_int(rows, 1);
    int64_t n_diff = csgp_rows_int(rows, 3), both = csgp_rows_int(rows, 4);
    json_object_set_new(out, "total", json_integer(total));
    json_object_set_new(out, "with_challenger", json_integer(with_ch));
    json_object_set_new(out, "challenger_share", csgp_jratio(with_ch, total));
    if (total == 0)
        csgp_add_note(out, "no events match the filters");
    json_t *models = json_array();
    json_object_set_new(out, "models", models);
    json_t *avg_diff = !n_diff       ? json_null()
                       : diff_is_sum ? csgp_jreal(csgp_rows_real(rows, 2) / (double)n_diff)
                                     : csgp_jcol(rows, 2);
    json_object_set_new(out, "avg_decision_diff", avg_diff);
    json_object_set_new(out, "divergence_rate", csgp_jratio(csgp_rows_int(rows, 5), both));
    if (total > 0 && both == 0)
        csgp_add_note(out, "no event where the challenger answered: avg_decision_diff and "
                      "divergence_rate are null");
    json_t *dec = json_object();
    json_object_set_new(dec, "both_approve", json_integer(csgp_rows_int(rows, 6)));
    json_object_set_new(dec, "both_decline", json_integer(csgp_rows_int(rows, 7)));
    json_object_set_new(dec, "champion_only_approve", json_integer(csgp_rows_int(rows, 8)));
    json_object_set_new(dec, "challenger_only_approve", json_integer(csgp_rows_int(rows, 9)));
    json_object_set_new(out, "decisions", dec);
    return models;
}

void csgp_summary_set_total(json_t *out, int64_t total)
{
    json_object_set_new(out, "total", json_integer(total));
    json_object_set_new(out, "challenger_share",
                        csgp_jratio(json_integer_value(json_object_get(out, "with_challenger")),
                                    total));
}

json_t *csgp_summary_model(const char *model, const char *role, int64_t count, json_t *latency_ms,
                           int64_t approved, int64_t decided, int64_t nlat)
{
    json_t *m = json_object();
    json_object_set_new(m, "model", json_string(model));
    json_object_set_new(m, "role", json_string(role));
    json_object_set_new(m, "count", json_integer(count));
    json_object_set_new(m, "latency_ms", latency_ms);
    json_object_set_new(m, "approval_rate", csgp_jratio(approved, decided));
    if (decided == 0)
        csgp_add_note(m, "no decisions from this model: approval_rate is null");
    if (nlat == 0)
        csgp_add_note(m, "no latencies recorded: latency_ms values are null");
    return m;
}

json_t *csgp_band_model(const char *model, const char *role, int64_t count, int64_t approved,
                        int64_t decided)
{
    json_t *m = json_object();
    json_object_set_new(m, "model", json_string(model));
    json_object_set_new(m, "role", json_string(role));
    json_object_set_new(m, "count", json_integer(count));
    json_object_set_new(m, "approval_rate", csgp_jratio(approved, decided));
    if (!decided)
        csgp_add_note(m, "no decisions from this model in this band");
    return m;
}

int csgp_band_models(csgp_rows *rows, const char *role, json_t **seg, int nb)
{
    int s;
    while ((s = csgp_rows_next(rows)) == 1) {
        int64_t band = csgp_rows_int(rows, 0);
        if (band < 0 || band >= nb)
            continue;
        json_array_append_new(json_object_get(seg[band], "models"),
                              csgp_band_model(csgp_rows_text(rows, 1), role,
                                              csgp_rows_int(rows, 2), csgp_rows_int(rows, 3),
                                              csgp_rows_int(rows, 4)));
    }
    return s < 0 ? -1 : 0;
}
