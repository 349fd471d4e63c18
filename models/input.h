/*
 * input.h — read and validate the application csg-model is asked to score,
 * against the model file's own feature list (models/README.md).
 *
 * csg-model stands apart from the gateway (DESIGN §2): it does not call the
 * gateway's parser. What it checks is what its model needs: `applicant_id`
 * (DESIGN §5's rule) and every feature the file lists, by the type, bounds or
 * values the file gives (the shipped schema's rules, so the error texts are
 * the gateway's); a feature the file marks required must be there, the others
 * may be left out (missing). Other keys are ignored.
 */
#ifndef CSG_MODEL_INPUT_H
#define CSG_MODEL_INPUT_H

#include <stddef.h>

#include "model.h"

#define CSG_MODEL_APPLICANT_ID_MAX 64

typedef enum csg_input_status {
    CSG_INPUT_OK = 0,
    CSG_INPUT_INVALID_JSON = 1,  /* not JSON, or not an object */
    CSG_INPUT_INVALID_FIELD = 2, /* a field missing or breaking its rule; field names it */
} csg_input_status;

typedef struct csg_input_error {
    csg_input_status status;
    char field[CSG_MODEL_FEATURE_NAME_MAX + 16]; /* "" for invalid_json */
    char message[160]; /* e.g. "income must be a finite number >= 0" */
} csg_input_error;

/* A validated application: the id and the model's features in file order,
 * ready for csg_model_evaluate: numbers as given, a category as its level's
 * index, NaN for an optional feature the application left out. A plain value
 * (no resources). */
typedef struct csg_model_input {
    char applicant_id[CSG_MODEL_APPLICANT_ID_MAX + 1];
    double x[CSG_MODEL_MAX_FEATURES];
} csg_model_input;

/* Parse json[0..len) as one application for model m. On success fills *in;
 * on failure fills *err (if non-NULL) and leaves *in undefined. */
csg_input_status csg_input_read(const csg_model *m, const char *json, size_t len,
                                csg_model_input *in, csg_input_error *err);

/* "invalid_json" / "invalid_field" for a status (NULL for OK). */
const char *csg_input_status_code(csg_input_status status);

/* The rule of feature f as a sentence, "income must be a finite number >= 0",
 * into buf (snprintf semantics; returns the length needed). */
size_t csg_input_rule_text(const csg_model_feature *f, char *buf, size_t cap);

/* Replies are written with lib/'s csg_json_escape and csg_json_error. */
#include "csg_json_escape.h"

#endif /* CSG_MODEL_INPUT_H */
