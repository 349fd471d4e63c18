/* fuzz_schemas.c — see fuzz_schemas.h. */
#include "fuzz_schemas.h"

static void num(csg_schema *s, const char *name, csg_feature_type t, bool req, bool has_min,
                double min, bool min_ex, bool has_max, double max)
{
    csg_feature *f = csg_schema_add(s, name, t);
    f->required = req;
    f->has_min = has_min;
    f->min = min;
    f->min_i = (int64_t)min;
    f->min_exclusive = min_ex;
    f->has_max = has_max;
    f->max = max;
    f->max_i = (int64_t)max;
}

static void cat(csg_schema *s, const char *name, const char *const *values)
{
    csg_feature *f = csg_schema_add(s, name, CSG_FEATURE_CATEGORY);
    for (; *values; values++)
        csg_feature_add_value(f, *values);
}

static csg_schema *g_schemas[4];

static void build_schemas(void)
{
    g_schemas[0] = csg_schema_default();
    csg_schema *s = g_schemas[1] = csg_schema_new(); /* config/experiments.yaml */
    num(s, "income", CSG_FEATURE_NUMBER, true, true, 0, false, false, 0);
    num(s, "loan_amount", CSG_FEATURE_NUMBER, true, true, 0, true, false, 0);
    num(s, "credit_history", CSG_FEATURE_INTEGER, true, true, 0, false, true, 2147483647);
    num(s, "seniority_years", CSG_FEATURE_INTEGER, false, true, 0, false, false, 0);
    cat(s, "home", (const char *const[]){"rent", "owner", "parents", "priv", "other", "ignore", NULL});
    num(s, "term_months", CSG_FEATURE_INTEGER, false, true, 0, true, false, 0);
    num(s, "age", CSG_FEATURE_INTEGER, false, true, 18, false, true, 120);
    cat(s, "marital",
        (const char *const[]){"single", "married", "widow", "separated", "divorced", NULL});
    cat(s, "job", (const char *const[]){"fixed", "freelance", "partime", "others", NULL});
    num(s, "expenses", CSG_FEATURE_NUMBER, false, true, 0, false, false, 0);
    num(s, "assets", CSG_FEATURE_NUMBER, false, true, 0, false, false, 0);
    num(s, "debt", CSG_FEATURE_NUMBER, false, true, 0, false, false, 0);
    num(s, "purchase_price", CSG_FEATURE_NUMBER, false, true, 0, true, false, 0);
    s = g_schemas[2] = csg_schema_new();
    s->reject_unknown = true;
    csg_schema_add(s, "flag", CSG_FEATURE_BOOLEAN)->required = true;
    num(s, "n", CSG_FEATURE_INTEGER, false, true, -3, true, true, 3);
    num(s, "x", CSG_FEATURE_NUMBER, false, true, -1.5, true, true, 1e300);
    s = g_schemas[3] = csg_schema_new();
    num(s, "a", CSG_FEATURE_NUMBER, false, false, 0, false, false, 0);
    num(s, "b", CSG_FEATURE_INTEGER, false, false, 0, false, false, 0);
    cat(s, "c", (const char *const[]){"x", "y z", "é-not-allowed-in-config-but-fine-here", NULL});
    csg_schema_add(s, "d", CSG_FEATURE_BOOLEAN);
    for (int i = 1; i < 4; i++)
        csg_schema_finish(g_schemas[i]);
}

const csg_schema *fuzz_schema_pick(const uint8_t **data, size_t *size)
{
    if (!g_schemas[0])
        build_schemas();
    if (*size > 0 && (*data)[0] >= 1 && (*data)[0] <= 3) {
        (*size)--;
        return g_schemas[*(*data)++];
    }
    return g_schemas[0];
}
