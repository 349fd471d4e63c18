/* fuzz_model_input.c — libFuzzer target for csg-model's own application reader
 * (models/input.c): the input is a request body, read against a model file whose
 * feature list holds every kind of rule (the brief's three, an integer range, an
 * exclusive maximum, a category, an unbounded number; required and optional).
 * Accepted ⇒ every value within its rule (NaN only for an optional feature left
 * out), a score in [0, 1] and at most 4 reasons; refused ⇒ an error code, a message, and a field naming a known
 * key for invalid_field; the error JSON is always written in full. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "input.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RS(c) ",\"reason\":{\"code\":\"" c "\",\"text\":\"t\"}"
static const char model_json[] =
    "{\"format\":\"csg-model/2\",\"type\":\"scorecard\",\"model\":\"fuzz\",\"cutoff\":0.5,"
    "\"features\":[{\"name\":\"income\",\"type\":\"number\",\"min\":0" RS("I") "},"
    "{\"name\":\"loan_amount\",\"type\":\"number\",\"min\":0,\"min_exclusive\":true,"
    "\"required\":true" RS("L") "},"
    "{\"name\":\"credit_history\",\"type\":\"integer\",\"min\":0,\"max\":2147483647,"
    "\"required\":true,\"clip_max\":1" RS("R") "},"
    "{\"name\":\"age\",\"type\":\"integer\",\"min\":18,\"max\":120" RS("A") "},"
    "{\"name\":\"ratio\",\"type\":\"number\",\"max\":1,\"max_exclusive\":true,"
    "\"required\":true" RS("RA") "},"
    "{\"name\":\"home\",\"type\":\"category\",\"values\":[\"rent\",\"owner\",\"pa\u00efs\"]"
    RS("H") "},"
    "{\"name\":\"any\",\"type\":\"number\"" RS("AN") "}],"
    "\"scorecard\":{\"intercept\":0.1,\"characteristics\":["
    "{\"cuts\":[100],\"woe\":[-1,1,0],\"points\":[1,3,2],\"coef\":1},"
    "{\"cuts\":[1000],\"woe\":[1,-1,0],\"points\":[3,1,2],\"coef\":1},"
    "{\"cuts\":[1],\"woe\":[-2,1,0],\"points\":[0,4,2],\"coef\":1},"
    "{\"cuts\":[30,50],\"woe\":[-1,0,1,0],\"points\":[1,2,3,2],\"coef\":0.5},"
    "{\"cuts\":[0],\"woe\":[1,-1,0],\"points\":[3,1,2],\"coef\":1},"
    "{\"level_bin\":[0,1,0],\"woe\":[-1,1,0],\"points\":[1,3,2],\"coef\":1},"
    "{\"cuts\":[-1e300,1e300],\"woe\":[0,0,0,0],\"points\":[0,0,0,0],\"coef\":1}]}}";

static csg_model *model;

static int within(const csg_model_feature *f, double v)
{
    if (isnan(v))
        return !f->required; /* missing: only an optional feature */
    if (f->type == CSG_MODEL_CATEGORY)
        return v >= 0 && v < (double)f->nvalues && v == floor(v);
    if (!isfinite(v))
        return 0;
    if (f->type == CSG_MODEL_INTEGER && v != floor(v))
        return 0;
    if (f->has_min && (f->min_exclusive ? !(v > f->min) : !(v >= f->min)))
        return 0;
    if (f->has_max && (f->max_exclusive ? !(v < f->max) : !(v <= f->max)))
        return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!model) {
        csg_model_error merr;
        if (csg_model_parse(model_json, strlen(model_json), &model, &merr) != 0) {
            fprintf(stderr, "fuzz_model_input: %s\n", merr.message);
            __builtin_trap();
        }
    }
    csg_model_input in;
    csg_input_error err;
    csg_input_status st = csg_input_read(model, (const char *)data, size, &in, &err);
    if (st == CSG_INPUT_OK) {
        size_t n = strlen(in.applicant_id);
        if (n == 0 || n > CSG_MODEL_APPLICANT_ID_MAX)
            __builtin_trap();
        for (size_t i = 0; i < csg_model_feature_count(model); i++)
            if (!within(csg_model_feature_at(model, i), in.x[i]))
                __builtin_trap();
        csg_model_result r;
        if (csg_model_evaluate(model, in.x, &r) != 0 || !(r.score >= 0 && r.score <= 1) ||
            r.nreasons > CSG_MODEL_REASONS_MAX)
            __builtin_trap();
        return 0;
    }
    if (!csg_input_status_code(st) || !err.message[0])
        __builtin_trap();
    if (st == CSG_INPUT_INVALID_FIELD) {
        int known = strcmp(err.field, "applicant_id") == 0;
        for (size_t i = 0; i < csg_model_feature_count(model); i++)
            known |= strcmp(err.field, csg_model_feature_at(model, i)->name) == 0;
        if (!known)
            __builtin_trap();
    }
    char buf[512];
    size_t need = csg_json_error(csg_input_status_code(st), err.message, err.field,
                                         buf, sizeof buf);
    if (need >= sizeof buf)
        __builtin_trap(); /* messages are bounded: the reply is never cut */
    return 0;
}
