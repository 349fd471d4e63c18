/*
 * config_yaml.h — reading experiments.yaml's YAML text into a libyaml
 * document: exactly one document, at most CSG_CONFIG_MAX_DEPTH levels of
 * mappings and lists, at most CSG_CONFIG_MAX_ENTRIES entries in each, and
 * every refusal as "<file>:<line>: <message>" like the other configuration
 * errors (config.c walks the document).
 */
#ifndef CSG_CONFIG_YAML_H
#define CSG_CONFIG_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "config.h"

/* Mappings and lists inside each other; the configuration needs about 5. */
#define CSG_CONFIG_MAX_DEPTH 32
/* Keys of one mapping or items of one list; the largest the configuration
 * needs are the challengers and the application's features (≤ 64). */
#define CSG_CONFIG_MAX_ENTRIES 1024

/* Parse text (len bytes; file is for messages only) into *doc. Returns true
 * with *doc filled (the caller frees it with yaml_document_delete); false
 * with nothing to free and one error appended to errs: a syntax error, a
 * mapping or list nested deeper than CSG_CONFIG_MAX_DEPTH or with more than
 * CSG_CONFIG_MAX_ENTRIES entries, or the start of a
 * second document. */
bool csg_config_yaml_read(const char *file, const char *text, size_t len, yaml_document_t *doc,
                          csg_errlist *errs);

#endif /* CSG_CONFIG_YAML_H */
