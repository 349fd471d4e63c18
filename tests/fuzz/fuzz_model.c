/* fuzz_model.c — libFuzzer target for csg-model's model-file loader
 * (models/model.c, scorecard.c, gbm.c): any accepted file must score every
 * application (missing values and out-of-range category indices included) to
 * a probability in [0, 1] (or report NaN) with at most 4 distinct reasons,
 * without looping or reading out of bounds (TreeSHAP included), and any
 * application must be read (or refused) against the file's feature rules
 * without a crash. */
#include <math.h>
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
    static const double probes[][4] = {
        {0, 0.01, 0, NAN}, {131, 1000, 1, 2}, {1e9, 1e12, 1000000, -1}, {5.5, 99.5, 2, 64}};
    size_t nfeat = csg_model_feature_count(m);
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        double x[CSG_MODEL_MAX_FEATURES];
        for (size_t j = 0; j < nfeat; j++)
            x[j] = probes[i][(i + j) % 4];
        double s;
        csg_model_result r;
        if (csg_model_evaluate(m, x, &r) != 0) {
            if (r.nreasons || csg_model_score(m, x, &s) == 0)
                __builtin_trap(); /* NaN: an error both ways, never a score */
            continue;
        }
        if (!(r.score >= 0 && r.score <= 1) || r.nreasons > CSG_MODEL_REASONS_MAX ||
            (r.decision == CSG_MODEL_APPROVE && r.nreasons) ||
            r.decision != csg_model_decide(m, r.score))
            __builtin_trap();
        for (size_t k = 0; k < r.nreasons; k++) {
            if (r.reason[k] >= nfeat)
                __builtin_trap();
            for (size_t l = 0; l < k; l++)
                if (r.reason[k] == r.reason[l])
                    __builtin_trap();
        }
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
