/*
 * model_error.h — the error codes and message buffer of csg-model's modules.
 *
 * models/ stands apart from the gateway (DESIGN §2): it includes no header of
 * core/ or plugins/, so it carries its own small error type. The convention is
 * the house one: a function that can fail returns 0 or -CSG_MODEL_E… and fills
 * an optional csg_model_error with a human message; it never prints.
 */
#ifndef CSG_MODEL_ERROR_H
#define CSG_MODEL_ERROR_H

enum {
    CSG_MODEL_EINVAL = 1, /* bad argument, model file or option */
    CSG_MODEL_ENOMEM = 2, /* allocation failed */
    CSG_MODEL_EIO = 3,    /* system call failed */
};

typedef struct csg_model_error {
    char message[512];
} csg_model_error;

#endif /* CSG_MODEL_ERROR_H */
