/* fuzz_app_scan.c — differential target: csg_app_parse (the allocation-free
 * scanner of core/app_scan.c, jansson only for what it leaves) against
 * csg_app_parse_jansson (jansson alone, the reference).
 *
 * Input: an optional schema byte, then the JSON text (fuzz_schemas.h).
 *
 * Invariants, with and without a request_id buffer:
 *  - the same status, and for an error the same field and message;
 *  - the same request_id copied out;
 *  - for an accepted application the same canonical JSON (every value,
 *    in schema order), applicant id and typed values (bit for bit: -0.0
 *    is not 0.0);
 *  - the scanner never accepts what jansson refuses. */
#include <stdint.h>
#include <string.h>

#include "app_scan.h"
#include "application.h"
#include "fuzz_schemas.h"

static void same_values(const csg_schema *s, const csg_application *a, const csg_application *b)
{
    CHECK(!strcmp(csg_app_json(a, NULL), csg_app_json(b, NULL)));
    CHECK(!strcmp(csg_app_applicant_id(a), csg_app_applicant_id(b)));
    for (unsigned i = 0; i < s->n; i++) {
        double da = 0, db = 0;
        int64_t ia = 0, ib = 0;
        bool fa = false, fb = false;
        CHECK(csg_app_number(a, (int)i, &da) == csg_app_number(b, (int)i, &db));
        CHECK(!memcmp(&da, &db, sizeof da));
        CHECK(csg_app_integer(a, (int)i, &ia) == csg_app_integer(b, (int)i, &ib) && ia == ib);
        CHECK(csg_app_category(a, (int)i) == csg_app_category(b, (int)i));
        CHECK(csg_app_flag(a, (int)i, &fa) == csg_app_flag(b, (int)i, &fb) && fa == fb);
    }
}

static void one(const csg_schema *s, const char *json, size_t len, bool with_rid)
{
    csg_application *a = NULL, *b = NULL;
    csg_parse_error ea = {0}, eb = {0};
    char ra[CSG_REQUEST_ID_MAX + 1] = "x", rb[CSG_REQUEST_ID_MAX + 1] = "x";
    csg_parse_status sa = csg_app_parse(s, json, len, &a, with_rid ? ra : NULL, &ea);
    csg_parse_status sb = csg_app_parse_jansson(s, json, len, &b, with_rid ? rb : NULL, &eb);
    CHECK(sa == sb);
    CHECK(!strcmp(ra, rb));
    if (sa == CSG_PARSE_OK) {
        same_values(s, a, b);
    } else {
        CHECK(!a && !b);
        CHECK(!strcmp(ea.field, eb.field) && !strcmp(ea.message, eb.message));
    }
    app_fields f;
    if (csg_app_scan(s, json, len, &f, with_rid ? ra : NULL))
        CHECK(sb == CSG_PARSE_OK);
    csg_app_free(a);
    csg_app_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const csg_schema *s = fuzz_schema_pick(&data, &size);
    one(s, (const char *)data, size, true);
    one(s, (const char *)data, size, false);
    return 0;
}
