/*
 * schema_config.h — reading the `application:` block of experiments.yaml
 * into a feature schema (schema.h), with file:line errors.
 */
#ifndef CSG_SCHEMA_CONFIG_H
#define CSG_SCHEMA_CONFIG_H

#include "config_walk.h"
#include "schema.h"

/* The schema the block n describes (n NULL or null: the default schema).
 * Problems go to x->errs; the returned schema (refs = 1, NULL only without
 * memory) is then incomplete and only good for more checks. */
csg_schema *csg_schema_from_yaml(vctx *x, yaml_node_t *n);

#endif /* CSG_SCHEMA_CONFIG_H */
