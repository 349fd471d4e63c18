/*
 * config_assign.h — the experiment keys of issue 21 items 1-3 in
 * experiments.yaml: a challenger's `ranges:` and the cross-checks of
 * `mode`, `ranges` and `assignment` (DESIGN §3). config.c calls these.
 */
#ifndef CSG_CONFIG_ASSIGN_H
#define CSG_CONFIG_ASSIGN_H

#include "config_walk.h"

/* A challenger's `ranges: [[lo, hi], …]` (value node v) into m->ranges. */
void csg_cfg_ranges_read(vctx *x, yaml_node_t *v, csg_cfg_model *m);

/* After every challenger was read (list: the `challengers` node): ranges on
 * all challengers or none, not overlapping and adding up to each weight;
 * `mode: live` not with `assignment: all`. */
void csg_cfg_assign_check(vctx *x, yaml_node_t *list);

/* One line for --check-config about how requests are assigned (weights
 * ignored under `all`, live shares), into buf. */
void csg_cfg_assign_describe(const csg_config *c, char *buf, size_t cap);

#endif /* CSG_CONFIG_ASSIGN_H */
