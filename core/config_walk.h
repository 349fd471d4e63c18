/*
 * config_walk.h — walking a libyaml document of experiments.yaml: typed key
 * getters shared by config.c and schema.c. Each check that fails adds
 * "<file>:<line>: <message>" to x->errs and returns false, so one run of
 * --check-config shows every problem.
 */
#ifndef CSG_CONFIG_WALK_H
#define CSG_CONFIG_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "config.h"
#include "options.h"

typedef struct vctx {
    const char *file;
    yaml_document_t *doc;
    csg_errlist *errs;
    csg_config *c;
} vctx;

/* One key of a mapping section: name and whether it was seen. */
typedef struct keyspec {
    const char *name;
    yaml_node_t *key;   /* key node once seen */
    yaml_node_t *value; /* value node once seen */
} keyspec;

int cw_line_of(const yaml_node_t *n);
void cw_err_at(vctx *x, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
yaml_node_t *cw_node(vctx *x, int id);
bool cw_is_scalar(const yaml_node_t *n);
const char *cw_sval(const yaml_node_t *n);
bool cw_is_null(const yaml_node_t *n);
const char *cw_type_name(const yaml_node_t *n);
void cw_collect(vctx *x, yaml_node_t *n, const char *where, keyspec *specs,
                    yaml_node_pair_t **extra, size_t *n_extra, size_t max_extra);
keyspec *cw_spec(keyspec *specs, const char *name);
void cw_fmt_range(char *buf, size_t cap, double min, double max);
bool cw_get_int(vctx *x, keyspec *s, int64_t min, int64_t max, int64_t *out);
bool cw_get_double(vctx *x, keyspec *s, double min, double max, double *out);
bool cw_get_str(vctx *x, keyspec *s, size_t minlen, size_t maxlen, char **out);
bool cw_get_name(vctx *x, keyspec *s, size_t maxlen, char **out);
int cw_get_enum(vctx *x, keyspec *s, const char *const *names, int dflt);
bool cw_require(vctx *x, keyspec *s, const yaml_node_t *parent, const char *where);
bool cw_want_mapping(vctx *x, yaml_node_t *n, const char *where);

#endif /* CSG_CONFIG_WALK_H */
