/*
 * config_assign.c — see config_assign.h.
 */
#include "config_assign.h"

#include <stdio.h>
#include <string.h>

#include "options.h"

/* A scalar number of a range; false (reported) otherwise. */
static bool number(vctx *x, yaml_node_t *n, double *out)
{
    if (!cw_is_scalar(n) || !csg_parse_double_text(cw_sval(n), out)) {
        cw_err_at(x, n, "a range bound must be a number in [0, 1]");
        return false;
    }
    return true;
}

void csg_cfg_ranges_read(vctx *x, yaml_node_t *v, csg_cfg_model *m)
{
    m->has_ranges = true;
    m->ranges.n = 0;
    if (v->type != YAML_SEQUENCE_NODE) {
        cw_err_at(x, v, "\"ranges\" must be a list of [lo, hi] pairs, not %s", cw_type_name(v));
        return;
    }
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        yaml_node_t *p = cw_node(x, *it);
        if (p->type != YAML_SEQUENCE_NODE ||
            p->data.sequence.items.top - p->data.sequence.items.start != 2) {
            cw_err_at(x, p, "each range must be a [lo, hi] pair of numbers");
            continue;
        }
        double lo, hi;
        if (!number(x, cw_node(x, p->data.sequence.items.start[0]), &lo) ||
            !number(x, cw_node(x, p->data.sequence.items.start[1]), &hi))
            continue;
        if (!(lo >= 0 && hi <= 1 && lo < hi)) {
            cw_err_at(x, p, "range [%g, %g] must satisfy 0 <= lo < hi <= 1", lo, hi);
            continue;
        }
        if (m->ranges.n >= CSG_MAX_RANGES) {
            cw_err_at(x, p, "at most %d ranges per challenger", CSG_MAX_RANGES);
            return;
        }
        m->ranges.r[m->ranges.n++] = (csg_range){lo, hi};
    }
}

void csg_cfg_assign_check(vctx *x, yaml_node_t *list)
{
    csg_config *c = x->c;
    size_t with = 0;
    for (size_t i = 0; i < c->n_challengers; i++) {
        const csg_cfg_model *m = &c->challengers[i];
        with += m->has_ranges;
        if (m->mode == CSG_MODE_LIVE && c->assignment == CSG_ASSIGN_ALL)
            csg_errlist_add(x->errs,
                            "%s:%d: challenger \"%s\": \"mode: live\" is not allowed with "
                            "\"assignment: all\" (every challenger scores every request in shadow)",
                            x->file, m->line, m->name ? m->name : "?");
    }
    if (with == 0 || c->assignment == CSG_ASSIGN_ALL)
        return;
    if (with != c->n_challengers) {
        cw_err_at(x, list,
                  "\"ranges\" must be given for every challenger or none (%zu of %zu have them; "
                  "`csg-gateway rebalance --config FILE` writes them)",
                  with, c->n_challengers);
        return;
    }
    csg_ranges rs[CSG_MAX_CHALLENGERS];
    double w[CSG_MAX_CHALLENGERS];
    for (size_t i = 0; i < c->n_challengers; i++) {
        rs[i] = c->challengers[i].ranges;
        w[i] = c->challengers[i].weight;
    }
    char msg[300];
    int who;
    if (csg_assign_check(rs, w, (unsigned)c->n_challengers, &who, msg, sizeof msg)) {
        const csg_cfg_model *m = who >= 0 ? &c->challengers[who] : NULL;
        csg_errlist_add(x->errs, "%s:%d: challenger \"%s\": %s", x->file,
                        m ? m->line : cw_line_of(list), m && m->name ? m->name : "?", msg);
    }
}

void csg_cfg_assign_describe(const csg_config *c, char *buf, size_t cap)
{
    size_t live = 0;
    for (size_t i = 0; i < c->n_challengers; i++)
        live += c->challengers[i].mode == CSG_MODE_LIVE;
    if (c->assignment == CSG_ASSIGN_ALL)
        snprintf(buf, cap,
                 "assignment: all: each of the %zu challenger(s) scores every request in shadow; "
                 "weights and ranges are ignored",
                 c->n_challengers);
    else
        snprintf(buf, cap, "assignment: %s by %s; %zu live challenger(s)",
                 c->assignment == CSG_ASSIGN_RANDOM ? "random" : "hash",
                 c->n_challengers && c->challengers[0].has_ranges ? "ranges"
                                                                  : "weights in list order",
                 live);
}
