/* fuzz_model.c — libFuzzer target for csg-model's model-file loader
 * (models/model.c): any accepted file must score every application to a
 * probability in [0, 1] (or report NaN) without looping or reading out of
 * bounds. */
#include <stdint.h>
#include <string.h>

#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    csg_model *m = NULL;
    csg_error err;
    if (csg_model_parse((const char *)data, size, &m, &err) != 0)
        return 0;
    static const double probes[][3] = {
        {0, 0.01, 0}, {131, 1000, 1}, {1e9, 1e12, 1000000}, {5.5, 99.5, 2}};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        csg_application app = {.income = probes[i][0], .loan_amount = probes[i][1],
                               .credit_history = (int64_t)probes[i][2]};
        strcpy(app.applicant_id, "fuzz");
        double s;
        if (csg_model_score(m, &app, &s) != 0)
            continue; /* NaN: reported as an error, never printed as a score */
        if (!(s >= 0 && s <= 1))
            __builtin_trap();
        (void)csg_model_decide(m, s);
    }
    csg_model_free(m);
    return 0;
}
