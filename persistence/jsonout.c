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
