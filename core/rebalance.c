/*
 * rebalance.c — `csg-gateway rebalance --config FILE`: rewrite each
 * challenger's `ranges:` for the weights now in FILE (assign.h's rule), so a
 * weight edit moves no applicant between challengers.
 *
 * The file is edited as text, not re-emitted: comments, order and quoting
 * stay. An existing `ranges:` value (flow style) is replaced; a challenger
 * without one gets `ranges: […]` after its `weight:` (on its own line in a
 * block mapping, as `, ranges: […]` in a flow mapping). The result is
 * checked (csg_config_load without plugins) and then renamed over FILE.
 */
#include "rebalance.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "assign.h"
#include "config.h"
#include "options.h"

typedef struct chal {
    const char *name;
    double weight;
    csg_ranges ranges;
    bool has_ranges;
    yaml_node_t *ranges_node; /* its value, when given */
    yaml_node_t *weight_key, *weight_node;
    bool flow; /* the challenger is a flow mapping { … } */
} chal;

typedef struct edit {
    size_t at, end; /* replace text[at, end) */
    char text[CSG_MAX_RANGES * 52 + 32];
} edit;

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *nb = realloc(buf, cap *= 2);
        if (!nb)
            free(buf);
        buf = nb;
    }
    fclose(f);
    if (buf)
        *len = n;
    return buf;
}

static yaml_node_t *child(yaml_document_t *d, yaml_node_t *map, const char *key,
                          yaml_node_t **key_node)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, key)) {
            if (key_node)
                *key_node = k;
            return yaml_document_get_node(d, p->value);
        }
    }
    return NULL;
}

/* The shortest text of v that reads back as v. */
static void number_text(double v, char *buf, size_t cap)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static void ranges_text(const csg_ranges *rs, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (unsigned i = 0; i < rs->n && n < cap; i++) {
        char lo[32], hi[32];
        number_text(rs->r[i].lo, lo, sizeof lo);
        number_text(rs->r[i].hi, hi, sizeof hi);
        n += (size_t)snprintf(buf + n, cap - n, "%s[%s, %s]", i ? ", " : "", lo, hi);
    }
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
}

/* The challengers of document d into cs; -1 with a message on stderr. */
static int read_challengers(const char *path, yaml_document_t *d, chal *cs, size_t *n)
{
    yaml_node_t *list = child(d, yaml_document_get_root_node(d), "challengers", NULL);
    *n = 0;
    if (!list || list->type != YAML_SEQUENCE_NODE) {
        fprintf(stderr, "%s: no \"challengers\" list to rebalance\n", path);
        return -1;
    }
    for (yaml_node_item_t *it = list->data.sequence.items.start;
         it < list->data.sequence.items.top; it++) {
        yaml_node_t *m = yaml_document_get_node(d, *it);
        if (*n >= CSG_MAX_CHALLENGERS || !m || m->type != YAML_MAPPING_NODE) {
            fprintf(stderr, "%s: challenger %zu is not a mapping (or too many challengers)\n",
                    path, *n + 1);
            return -1;
        }
        chal *c = &cs[(*n)++];
        memset(c, 0, sizeof *c);
        c->flow = m->data.mapping.style == YAML_FLOW_MAPPING_STYLE;
        yaml_node_t *name = child(d, m, "name", NULL);
        c->name = name && name->type == YAML_SCALAR_NODE ? (const char *)name->data.scalar.value
                                                          : "?";
        c->weight_node = child(d, m, "weight", &c->weight_key);
        if (!c->weight_node || c->weight_node->type != YAML_SCALAR_NODE ||
            !csg_parse_double_text((const char *)c->weight_node->data.scalar.value, &c->weight) ||
            !(c->weight >= 0 && c->weight <= 1)) {
            fprintf(stderr, "%s:%zu: challenger \"%s\": \"weight\" must be a number in [0, 1]\n",
                    path, (m->start_mark.line + 1), c->name);
            return -1;
        }
        c->ranges_node = child(d, m, "ranges", NULL);
        if (!c->ranges_node)
            continue;
        c->has_ranges = true;
        yaml_node_t *r = c->ranges_node;
        if (r->type != YAML_SEQUENCE_NODE || r->data.sequence.style != YAML_FLOW_SEQUENCE_STYLE) {
            fprintf(stderr, "%s:%zu: challenger \"%s\": write \"ranges\" as [[lo, hi], ...]\n",
                    path, r->start_mark.line + 1, c->name);
            return -1;
        }
        for (yaml_node_item_t *p = r->data.sequence.items.start; p < r->data.sequence.items.top;
             p++) {
            yaml_node_t *pair = yaml_document_get_node(d, *p);
            double b[2];
            int got = 0;
            for (yaml_node_item_t *q = pair && pair->type == YAML_SEQUENCE_NODE
                                           ? pair->data.sequence.items.start
                                           : NULL;
                 q && q < pair->data.sequence.items.top && got < 2; q++) {
                yaml_node_t *v = yaml_document_get_node(d, *q);
                got += v && v->type == YAML_SCALAR_NODE &&
                       csg_parse_double_text((const char *)v->data.scalar.value, &b[got]);
            }
            if (got != 2 || c->ranges.n >= CSG_MAX_RANGES || !(b[0] >= 0 && b[0] < b[1] && b[1] <= 1)) {
                fprintf(stderr, "%s:%zu: challenger \"%s\": bad range (want [lo, hi], 0 <= lo < hi <= 1)\n",
                        path, r->start_mark.line + 1, c->name);
                return -1;
            }
            c->ranges.r[c->ranges.n++] = (csg_range){b[0], b[1]};
        }
    }
    return 0;
}

static int by_at_desc(const void *a, const void *b)
{
    const edit *x = a, *y = b;
    return (x->at < y->at) - (x->at > y->at);
}

/* text with the edits applied (caller frees). */
static char *apply(const char *text, size_t len, edit *ed, size_t n, size_t *out_len)
{
    qsort(ed, n, sizeof *ed, by_at_desc);
    size_t extra = 0;
    for (size_t i = 0; i < n; i++)
        extra += strlen(ed[i].text);
    char *out = malloc(len + extra + 1);
    if (!out)
        return NULL;
    memcpy(out, text, len);
    size_t cur = len;
    for (size_t i = 0; i < n; i++) { /* from the end: earlier offsets stay valid */
        size_t tl = strlen(ed[i].text);
        memmove(out + ed[i].at + tl, out + ed[i].end, cur - ed[i].end);
        memcpy(out + ed[i].at, ed[i].text, tl);
        cur = cur - (ed[i].end - ed[i].at) + tl;
    }
    out[cur] = '\0';
    *out_len = cur;
    return out;
}

/* libyaml's mark.index counts characters; the edits need bytes (UTF-8). */
static size_t byte_at(const char *text, size_t len, size_t chars)
{
    size_t b = 0;
    for (size_t c = 0; b < len; b++) {
        if (((unsigned char)text[b] & 0xC0) != 0x80 && c++ == chars)
            return b;
    }
    return len;
}

/* The edit that writes c's new ranges into text. */
static void plan(const chal *c, const char *text, size_t len, edit *e)
{
    char rt[sizeof e->text - 32];
    ranges_text(&c->ranges, rt, sizeof rt);
    if (c->has_ranges) {
        e->at = byte_at(text, len, c->ranges_node->start_mark.index);
        e->end = byte_at(text, len, c->ranges_node->end_mark.index);
        snprintf(e->text, sizeof e->text, "%s", rt);
    } else if (c->flow) {
        e->at = e->end = byte_at(text, len, c->weight_node->end_mark.index);
        snprintf(e->text, sizeof e->text, ", ranges: %s", rt);
    } else {
        /* At the end of the weight's line (after any comment there). */
        size_t at = byte_at(text, len, c->weight_node->end_mark.index);
        while (at < len && text[at] != '\n')
            at++;
        e->at = e->end = at;
        snprintf(e->text, sizeof e->text, "\n%*sranges: %s", (int)c->weight_key->start_mark.column,
                 "", rt);
    }
}

static int rebalance_file(const char *path)
{
    size_t len = 0;
    char *text = read_all(path, &len);
    if (!text) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
    }
    yaml_parser_t p;
    yaml_document_t d;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, &d)) {
        fprintf(stderr, "%s:%zu: %s\n", path, p.problem_mark.line + 1,
                p.problem ? p.problem : "YAML error");
        yaml_parser_delete(&p);
        free(text);
        return 1;
    }
    int rc = 1;
    chal cs[CSG_MAX_CHALLENGERS];
    size_t n = 0;
    edit *ed = calloc(CSG_MAX_CHALLENGERS, sizeof *ed);
    char *out = NULL;
    if (!ed || read_challengers(path, &d, cs, &n) != 0)
        goto done;
    csg_ranges rs[CSG_MAX_CHALLENGERS];
    double w[CSG_MAX_CHALLENGERS];
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        any |= cs[i].has_ranges;
        w[i] = cs[i].weight;
        rs[i] = cs[i].ranges;
    }
    /* First time: today's list-order slices are the starting point. */
    if (!any)
        csg_assign_list_order(w, (unsigned)n, rs);
    char msg[256];
    double moved = 0;
    if (csg_assign_rebalance(rs, w, (unsigned)n, &moved, msg, sizeof msg) != 0) {
        fprintf(stderr, "%s: %s\n", path, msg);
        goto done;
    }
    if (moved > CSG_RANGE_EPS)
        fprintf(stderr,
                "%s: warning: %.4g of the hash space moved from one challenger to another (the "
                "weights were raised by more than the unassigned space); lower weights, "
                "rebalance, then raise them in a second edit to avoid that\n",
                path, moved);
    for (size_t i = 0; i < n; i++) {
        cs[i].ranges = rs[i];
        plan(&cs[i], text, len, &ed[i]);
    }
    size_t out_len;
    out = apply(text, len, ed, n, &out_len);
    if (!out) {
        fprintf(stderr, "%s: out of memory\n", path);
        goto done;
    }
    /* Check the result as a start would (plugins aside), then replace. */
    csg_errlist errs = {0};
    csg_config *cfg = NULL;
    if (csg_config_load_string(path, out, out_len, NULL, &cfg, &errs) != 0) {
        for (size_t i = 0; i < errs.count; i++)
            fprintf(stderr, "%s\n", errs.items[i]);
        fprintf(stderr, "%s: the rebalanced file would not load; left unchanged\n", path);
        csg_errlist_free(&errs);
        goto done;
    }
    csg_config_unref(cfg);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.rebalance.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f || fwrite(out, 1, out_len, f) != out_len || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fprintf(stderr, "%s: %s\n", tmp, strerror(errno));
        if (f)
            fclose(f);
        unlink(tmp);
        goto done;
    }
    fclose(f);
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        unlink(tmp);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        char rt[sizeof ed[0].text];
        ranges_text(&cs[i].ranges, rt, sizeof rt);
        printf("%s: weight %.15g ranges %s\n", cs[i].name, cs[i].weight, rt);
    }
    printf("%s: rebalanced; reload the gateway (SIGHUP) to apply\n", path);
    rc = 0;
done:
    free(out);
    free(ed);
    yaml_document_delete(&d);
    yaml_parser_delete(&p);
    free(text);
    return rc;
}

int csg_rebalance_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (ch == 'c') {
            config = optarg;
        } else if (ch == 'h') {
            printf("usage: csg-gateway rebalance --config FILE\n\n"
                   "Rewrite each challenger's `ranges:` in FILE for the weights now in it:\n"
                   "a lowered weight gives back its last slices, a raised one takes unassigned\n"
                   "hash space, so no applicant moves between challengers. Comments stay.\n"
                   "The first run writes today's list-order slices (nothing moves).\n");
            return 0;
        } else {
            return 2;
        }
    }
    if (!config || optind < argc) {
        fprintf(stderr, "usage: csg-gateway rebalance --config FILE\n");
        return 2;
    }
    return rebalance_file(config);
}
