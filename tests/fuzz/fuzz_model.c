/* fuzz_model.c — libFuzzer target for csg-model's model-file loader
 * (models/model.c): any accepted file must score every application to a
 * probability in [0, 1] (or report NaN) without looping or reading out of
 * bounds, and any application must be read (or refused) against the file's
 * feature rules without a crash. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "input.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    csg_model *m = NULL;
    csg_model_error err;
    if (csg_model_parse((const char *)data, size, &m, &err) != 0)
        return 0;
    static const double probes[][3] = {
        {0, 0.01, 0}, {131, 1000, 1}, {1e9, 1e12, 1000000}, {5.5, 99.5, 2}};
    size_t nfeat = csg_model_feature_count(m);
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        double x[CSG_MODEL_MAX_FEATURES];
        for (size_t j = 0; j < nfeat; j++)
            x[j] = probes[i][j % 3];
        double s;
        if (csg_model_score(m, x, &s) != 0)
            continue; /* NaN: reported as an error, never printed as a score */
        if (!(s >= 0 && s <= 1))
            __builtin_trap();
        (void)csg_model_decide(m, s);
    }
    /* The file itself as an application, and one with every feature set. */
    csg_model_input in;
    csg_input_error ierr;
    (void)csg_input_read(m, (const char *)data, size, &in, &ierr);
    char app[4096];
    size_t pos = (size_t)snprintf(app, sizeof app, "{\"applicant_id\":\"fuzz\"");
    for (size_t j = 0; j < nfeat && pos < sizeof app; j++)
        pos += (size_t)snprintf(app + pos, sizeof app - pos, ",\"%s\":%zu",
                                csg_model_feature_at(m, j)->name, j);
    if (pos + 1 < sizeof app) {
        app[pos++] = '}';
        if (csg_input_read(m, app, pos, &in, &ierr) == CSG_INPUT_OK) {
            double s;
            if (csg_model_score(m, in.x, &s) == 0 && !(s >= 0 && s <= 1))
                __builtin_trap();
        }
    }
    csg_model_free(m);
    return 0;
}
