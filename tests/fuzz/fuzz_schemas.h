/* fuzz_schemas.h — what the application fuzz targets (fuzz_application.c,
 * fuzz_app_scan.c) share: the feature schemas they parse against, and CHECK.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: crash, so libFuzzer (or the replay) reports the input. */
#define CHECK(c)                                                                                  \
    do {                                                                                          \
        if (!(c))                                                                                 \
            __builtin_trap();                                                                     \
    } while (0)


#endif
