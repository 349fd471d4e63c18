/*
 * model_error.h — the error codes and message buffer of csg-model's modules.
 *
 * models/ stands apart from the gateway (DESIGN §2): it includes no header of
 * core/ or plugins/; its error type is lib/'s neutral csg_error under its old name. The convention is
 * the house one: a function that can fail returns 0 or -CSG_MODEL_E… and fills
 * an optional csg_model_error with a human message; it never prints.
 */
#ifndef CSG_MODEL_ERROR_H
#define CSG_MODEL_ERROR_H

#include "csg_error.h" /* lib/ (neutral, not a gateway header): the one error module */

enum {
    CSG_MODEL_EINVAL = CSG_EINVAL, /* bad argument, model file or option */
    CSG_MODEL_ENOMEM = CSG_ENOMEM, /* allocation failed */
    CSG_MODEL_EIO = CSG_EIO,       /* system call failed */
};

typedef csg_error csg_model_error;

/* A bad model file or option: lib/'s one setter with this module's code. */
#define csg_model_fail(err, ...) csg_fail((err), CSG_MODEL_EINVAL, __VA_ARGS__)

/* Fill err printf-style and return -CSG_MODEL_EINVAL: lib/'s one setter. */
#define csg_fail(err, CSG_MODEL_EINVAL, ...) csg_fail((err), CSG_MODEL_EINVAL, __VA_ARGS__)

#endif /* CSG_MODEL_ERROR_H */
