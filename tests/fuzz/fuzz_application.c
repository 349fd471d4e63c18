/* fuzz_application.c — libFuzzer target for the JSON application parser
 * (HTTP bodies and TCP lines, core/application.c) against feature schemas.
 *
 * Input: an optional schema byte, then the JSON text (fuzz_schemas.h).
 *
 * Invariants of an accepted application:
 *  - its canonical JSON parses again to the very same canonical JSON
 *    (a fixed point) and the same applicant id;
 *  - differential with jansson: a feature is present exactly when the
 *    input object has that key, and its value equals jansson's reading;
 *  - every present value keeps its feature's rule (bounds, membership). */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "application.h"
#include "fuzz_schemas.h"

/* The feature's value as jansson reads the input, against the application. */
static void differential(const csg_schema *s, const csg_application *app, const json_t *root)
{
    for (unsigned i = 0; i < s->n; i++) {
        const csg_feature *f = &s->f[i];
        const json_t *jv = json_object_get(root, f->name);
        double d;
        int64_t v;
        bool b;
        switch (f->type) {
        case CSG_FEATURE_NUMBER:
            CHECK(csg_app_number(app, (int)i, &d) == (jv != NULL));
            if (jv) {
                CHECK(d == json_number_value(jv) && isfinite(d));
                CHECK(!f->has_min || (f->min_exclusive ? d > f->min : d >= f->min));
                CHECK(!f->has_max || (f->max_exclusive ? d < f->max : d <= f->max));
            }
            break;
        case CSG_FEATURE_INTEGER:
            CHECK(csg_app_integer(app, (int)i, &v) == (jv != NULL));
            if (jv)
                CHECK(json_is_integer(jv) && v == json_integer_value(jv) && v >= f->imin &&
                      v <= f->imax);
            break;
        case CSG_FEATURE_CATEGORY: {
            const char *c = csg_app_category(app, (int)i);
            CHECK((c != NULL) == (jv != NULL));
            if (jv)
                CHECK(json_is_string(jv) && !strcmp(c, json_string_value(jv)));
            break;
        }
        case CSG_FEATURE_BOOLEAN:
            CHECK(csg_app_flag(app, (int)i, &b) == (jv != NULL));
            if (jv)
                CHECK(json_is_boolean(jv) && b == json_is_true(jv));
            break;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const csg_schema *s = fuzz_schema_pick(&data, &size);
    csg_application *app = NULL;
    char request_id[CSG_REQUEST_ID_MAX + 1];
    csg_parse_error err;
    csg_parse_status st = csg_app_parse(s, (const char *)data, size, &app, request_id, &err);
    if (st != CSG_PARSE_OK) {
        CHECK(app == NULL && err.message[0]);
        CHECK(st != CSG_PARSE_INVALID_FIELD || err.field[0]);
        char buf[512];
        csg_json_error(csg_parse_status_code(st), err.message, err.field, buf, sizeof buf);
        return 0;
    }
    size_t n = strlen(csg_app_applicant_id(app));
    CHECK(n > 0 && n <= CSG_APPLICANT_ID_MAX);
    size_t jl;
    const char *canon = csg_app_json(app, &jl);
    CHECK(strlen(canon) == jl);
    csg_application *again = NULL;
    CHECK(csg_app_parse(s, canon, jl, &again, NULL, NULL) == CSG_PARSE_OK);
    CHECK(!strcmp(csg_app_json(again, NULL), canon));
    CHECK(!strcmp(csg_app_applicant_id(again), csg_app_applicant_id(app)));
    json_t *root = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
    CHECK(root != NULL);
    differential(s, app, root);
    json_decref(root);
    csg_app_free(again);
    csg_app_free(app);
    return 0;
}
