/* fuzz_application.c — libFuzzer target for the JSON application parser
 * (HTTP bodies and TCP lines, core/application.c). */
#include <stdint.h>
#include <string.h>

#include "application.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    csg_application app;
    char request_id[CSG_REQUEST_ID_MAX + 1];
    csg_parse_error err;
    csg_parse_status st =
        csg_parse_application((const char *)data, size, &app, request_id, &err);
    if (st == CSG_PARSE_OK) {
        /* Invariants every accepted application must satisfy. */
        size_t n = strlen(app.applicant_id);
        if (n == 0 || n > CSG_APPLICANT_ID_MAX || !(app.income >= 0) ||
            !(app.loan_amount > 0) || app.credit_history < 0)
            __builtin_trap();
    } else {
        char buf[256];
        csg_format_error(csg_parse_status_code(st), err.message, err.field, buf, sizeof buf);
    }
    return 0;
}
