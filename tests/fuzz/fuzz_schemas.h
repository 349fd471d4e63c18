/* fuzz_schemas.h — the feature schemas the application fuzz targets parse
 * against (fuzz_application.c, fuzz_app_scan.c).
 *
 * A first input byte 0x01, 0x02 or 0x03 selects one (the shipped
 * 13-feature one; booleans and exclusive integer bounds under
 * unknown_fields: reject; one of every type with nothing required) and is
 * taken off the input; any other first byte means the default schema
 * (income, loan_amount, credit_history) and the whole input is the JSON
 * text, so plain JSON seeds keep working. */
#ifndef FUZZ_SCHEMAS_H
#define FUZZ_SCHEMAS_H

#include <stddef.h>
#include <stdint.h>

#include "schema.h"

const csg_schema *fuzz_schema_pick(const uint8_t **data, size_t *size);

#endif
