/*
 * jsonout.h — the JSON shapes every REST answer shares: numbers that cannot be computed
 * are null (never NaN), and a "note" in the same object says why (DESIGN §7).
 */
#ifndef CSGP_JSONOUT_H
#define CSGP_JSONOUT_H

#include <stdint.h>

#include <jansson.h>

#include "db.h"

/* A finite number, else null (jansson refuses NaN/inf anyway). */
json_t *csgp_jreal(double v);
/* Column col of the current row as a number, or null. */
json_t *csgp_jcol(csgp_rows *rows, int col);
/* num / den, or null when den is 0. */
json_t *csgp_jratio(int64_t num, int64_t den);
/* Append a sentence to obj's "note" ("a; b"). */
void csgp_add_note(json_t *obj, const char *text);

#endif /* CSGP_JSONOUT_H */
