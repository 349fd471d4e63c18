/*
 * promote.c — `csg-gateway promote|rollback` (DESIGN §10): rewrite the
 * experiment config so a challenger becomes the champion (the old champion
 * stays on as a shadow challenger at the promoted one's weight), or put the
 * file saved by the last promote back; check the result exactly as a start
 * would; replace the file atomically; SIGHUP the running gateway and wait
 * until it confirms (it removes the note the command left: audit.h).
 *
 * The rewrite is textual: only the champion block and the promoted
 * challenger's list item are replaced, so every other line — comments
 * included — stays as written. Comments inside those two blocks are lost,
 * and their values are carried over as written (a block-style list or
 * mapping in them other than the challenger-only keys is refused: write it
 * in flow style). Keys only a challenger may have (weight, mode, ranges,
 * guardrail) are dropped from the new champion; fallback_decision stays with
 * the champion's role.
 */
#include "promote.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config.h"
#include "config_yaml.h"

typedef struct text {
    char *p;
    size_t len, cap;
} text;

static bool put(text *t, const char *s, size_t n)
{
    if (n > SIZE_MAX / 4 || t->len > SIZE_MAX / 4)
        return false;
    if (!t->p || t->len + n + 1 > t->cap) {
        size_t cap = (t->len + n + 1) * 2;
        char *p = realloc(t->p, cap);
        if (!p)
            return false;
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
    return true;
}

static bool puts_(text *t, const char *s)
{
    return put(t, s, strlen(s));
}

/* libyaml's marks count characters; the file is UTF-8 bytes. */
static size_t byte_at(const char *s, size_t len, size_t chars)
{
    size_t i = 0;
    for (size_t c = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (c == chars)
                return i;
            c++;
        }
    }
    return len;
}

typedef struct doc {
    const char *src;
    size_t len;
    yaml_document_t d;
} doc;

static yaml_node_t *node(doc *d, int id)
{
    return yaml_document_get_node(&d->d, id);
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *get(doc *d, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++)
        if (scalar(node(d, p->key)) && !strcmp(scalar(node(d, p->key)), key))
            return node(d, p->value);
    return NULL;
}

/* The source text of n (scalars and flow collections only). */
static bool source_of(doc *d, const yaml_node_t *n, text *out)
{
    bool flow = n->type == YAML_SCALAR_NODE ||
                (n->type == YAML_MAPPING_NODE && n->data.mapping.style == YAML_FLOW_MAPPING_STYLE) ||
                (n->type == YAML_SEQUENCE_NODE &&
                 n->data.sequence.style == YAML_FLOW_SEQUENCE_STYLE);
    if (!flow)
        return false;
    size_t a = byte_at(d->src, d->len, n->start_mark.index);
    size_t b = byte_at(d->src, d->len, n->end_mark.index);
    return put(out, d->src + a, b - a);
}

static bool skip_key(const char *k, const char *const *drop)
{
    for (; *drop; drop++)
        if (!strcmp(k, *drop))
            return true;
    return false;
}

/* Write map's keys (minus drop) and then the extra "key: value" pairs as a
 * mapping in the style of the node it replaces (at), at at's column. */
static int emit(doc *d, yaml_node_t *map, const char *const *drop, const char *const *extra,
                const yaml_node_t *at, text *out, char *err, size_t ecap)
{
    bool flow = at->data.mapping.style == YAML_FLOW_MAPPING_STYLE;
    size_t col = at->start_mark.column;
    char sep[300];
    if (flow)
        snprintf(sep, sizeof sep, ", ");
    else
        snprintf(sep, sizeof sep, "\n%*s", (int)(col < 256 ? col : 256), "");
    bool first = true;
    if (flow)
        puts_(out, "{ ");
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *k = scalar(node(d, p->key));
        if (!k || skip_key(k, drop))
            continue;
        if (!first)
            puts_(out, sep);
        first = false;
        puts_(out, k);
        puts_(out, ": ");
        if (!source_of(d, node(d, p->value), out)) {
            snprintf(err, ecap,
                     "line %zu: \"%s\" is a block-style list or mapping; write it in flow style "
                     "([…] or {…}) so it can be carried over",
                     node(d, p->value)->start_mark.line + 1, k);
            return -1;
        }
    }
    for (; extra && extra[0]; extra += 2) {
        if (!first)
            puts_(out, sep);
        first = false;
        puts_(out, extra[0]);
        puts_(out, ": ");
        puts_(out, extra[1]);
    }
    if (flow)
        puts_(out, " }");
    return 0;
}

/* Where map's text starts and ends (bytes): from its first key (or brace)
 * to the end of its last value (or brace), so what follows stays. */
static void span(doc *d, yaml_node_t *map, size_t *a, size_t *b)
{
    *a = byte_at(d->src, d->len, map->start_mark.index);
    if (map->data.mapping.style == YAML_FLOW_MAPPING_STYLE) {
        *b = byte_at(d->src, d->len, map->end_mark.index);
        return;
    }
    yaml_node_t *last = node(d, (map->data.mapping.pairs.top - 1)->value);
    *b = byte_at(d->src, d->len, last->end_mark.index);
}

int csg_promote_rewrite(const char *file, const char *src, size_t len, const char *challenger,
                        char **out, char *err, size_t ecap)
{
    doc d = {.src = src, .len = len};
    csg_errlist errs = {0};
    *out = NULL;
    if (!csg_config_yaml_read(file, src, len, &d.d, &errs)) {
        snprintf(err, ecap, "%s", errs.count ? errs.items[0] : "cannot parse");
        csg_errlist_free(&errs);
        return -1;
    }
    int rc = -1;
    text champ = {0}, chal = {0}, all = {0};
    yaml_node_t *root = yaml_document_get_root_node(&d.d);
    yaml_node_t *cm = get(&d, root, "champion"), *list = get(&d, root, "challengers"), *hm = NULL;
    for (yaml_node_item_t *it = list && list->type == YAML_SEQUENCE_NODE
                                    ? list->data.sequence.items.start
                                    : NULL;
         it && it < list->data.sequence.items.top; it++) {
        yaml_node_t *m = node(&d, *it);
        if (scalar(get(&d, m, "name")) && !strcmp(scalar(get(&d, m, "name")), challenger))
            hm = m;
    }
    if (!cm || cm->type != YAML_MAPPING_NODE || !hm || hm->type != YAML_MAPPING_NODE ||
        !cm->data.mapping.pairs.top || !hm->data.mapping.pairs.top) {
        snprintf(err, ecap, "%s: no challenger named \"%s\" (or no champion block)", file,
                 challenger);
        goto out;
    }
    /* The new champion: the challenger's keys, the champion-only ones kept. */
    static const char *const chal_only[] = {"weight", "mode", "ranges", "guardrail", NULL};
    static const char *const champ_only[] = {"fallback_decision", NULL};
    text fb = {0}, w = {0};
    yaml_node_t *fbn = get(&d, cm, "fallback_decision"), *wn = get(&d, hm, "weight");
    if (fbn)
        source_of(&d, fbn, &fb);
    if (!wn || !source_of(&d, wn, &w)) {
        snprintf(err, ecap, "%s: challenger \"%s\" has no weight", file, challenger);
        free(fb.p);
        goto out;
    }
    const char *fb_extra[] = {"fallback_decision", fb.p, NULL};
    const char *w_extra[] = {"weight", w.p, NULL};
    size_t ca, cb, ha, hb;
    span(&d, cm, &ca, &cb);
    span(&d, hm, &ha, &hb);
    int e1 = emit(&d, hm, chal_only, fbn ? fb_extra : NULL, cm, &champ, err, ecap);
    int e2 = e1 ? -1 : emit(&d, cm, champ_only, w_extra, hm, &chal, err, ecap);
    free(fb.p);
    free(w.p);
    if (e1 || e2 || !champ.p || !chal.p)
        goto out;
    /* Splice in file order (the champion block may come after the list). */
    bool champ_first = ca < ha;
    size_t a1 = champ_first ? ca : ha, b1 = champ_first ? cb : hb;
    size_t a2 = champ_first ? ha : ca, b2 = champ_first ? hb : cb;
    const text *t1 = champ_first ? &champ : &chal, *t2 = champ_first ? &chal : &champ;
    if (!put(&all, src, a1) || !put(&all, t1->p, t1->len) || !put(&all, src + b1, a2 - b1) ||
        !put(&all, t2->p, t2->len) || !put(&all, src + b2, len - b2)) {
        snprintf(err, ecap, "out of memory");
        goto out;
    }
    *out = all.p;
    all.p = NULL;
    rc = 0;
out:
    free(champ.p);
    free(chal.p);
    free(all.p);
    yaml_document_delete(&d.d);
    return rc;
}
