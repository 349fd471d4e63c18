/*
 * options.h — plugin option values (csg/plugin.h, "Plugin options"): text →
 * value with the core's checks, defaults, and options_apply.
 *
 * Part of the application library (no YAML): config.c uses it for the
 * plugin blocks, and test hosts that fake the core fill a plugin's defaults
 * with it, so a plugin never needs its defaults repeated in its code.
 */
#ifndef CSG_OPTIONS_H
#define CSG_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csg/plugin.h"

/* A whole decimal integer / a finite decimal number (no hex, nan, inf). */
bool csg_parse_int_text(const char *s, int64_t *out);
bool csg_parse_double_text(const char *s, double *out);

/* http[s]://host[:port][/path]; false with *why ("must start with http:// or https://", …). */
bool csg_valid_url(const char *u, const char **why);

/* text as the value of row o into *v (a STRING/URL is strdup'd, replacing
 * v->str). False with *why: a phrase, or "range" for a number out of
 * [o->min, o->max]. */
bool csg_option_parse_text(const csg_option *o, const char *text, csg_option_value *v,
                           const char **why);

size_t csg_options_count(const csg_option *opts); /* rows before the NULL name */

/* Free the strings of n values, then the array; NULL is fine. */
void csg_options_free(csg_option_value *v, size_t n);

/* Every row not set takes its default_value (what the core does before
 * create). False if a default does not parse (a plugin bug). */
bool csg_options_defaults(const csg_option *table, csg_option_value *values);

/* csg_core_api.options_apply: each row's value into obj at its target. */
void csg_options_apply(const csg_option *table, const csg_option_value *values, void *obj);

#endif /* CSG_OPTIONS_H */
