/*
 * config_yaml.c — experiments.yaml text → one libyaml document, bounded.
 *
 * Why two passes: libyaml's scanner slows down with the square of the depth
 * of flow collections (`[[[[…`, `{a: {a: …`: 40k levels took 9 s, 100k
 * levels 67 s, well inside the 1 MiB size cap), and yaml_parser_load offers
 * no hook to stop it. So the events are read first, and the reading stops at
 * the first mapping or list nested deeper than CSG_CONFIG_MAX_DEPTH — before
 * the scanner has gone much further — or at the start of a second document,
 * which yaml_parser_load would silently leave unread. The reading also stops
 * at a mapping or list with more than CSG_CONFIG_MAX_ENTRIES entries: the
 * checks that follow compare keys and model names pairwise (95k keys in one
 * mapping took 61 s). Only text that passes
 * is composed into a document, by libyaml itself (aliases, tags and marks
 * exactly as before). A configuration is a few KiB: reading it twice costs
 * microseconds.
 */
#include "config_yaml.h"

static void yaml_error(const char *file, const yaml_parser_t *p, csg_errlist *errs)
{
    if (p->error == YAML_MEMORY_ERROR) {
        csg_errlist_add(errs, "%s:%d: out of memory reading the YAML", file,
                        (int)p->mark.line + 1);
        return;
    }
    csg_errlist_add(errs, "%s:%d: YAML syntax error: %s%s%s", file,
                    (int)p->problem_mark.line + 1, p->problem ? p->problem : "unknown problem",
                    p->context ? " " : "", p->context ? p->context : "");
}

static bool parser_open(yaml_parser_t *p, const char *file, const char *text, size_t len,
                        csg_errlist *errs)
{
    if (!yaml_parser_initialize(p)) {
        csg_errlist_add(errs, "%s:1: out of memory reading the YAML", file);
        return false;
    }
    yaml_parser_set_input_string(p, (const unsigned char *)text, len);
    return true;
}

/* Read the events of the whole stream; stop at the first problem. */
static bool check_events(const char *file, const char *text, size_t len, csg_errlist *errs)
{
    yaml_parser_t p;
    if (!parser_open(&p, file, text, len, errs))
        return false;
    int depth = 0, documents = 0;
    /* per open collection: is it a mapping, and how many nodes it holds */
    bool is_map[CSG_CONFIG_MAX_DEPTH + 1] = {false};
    unsigned nodes[CSG_CONFIG_MAX_DEPTH + 1] = {0};
    bool ok = true, end = false;
    while (ok && !end) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            yaml_error(file, &p, errs);
            ok = false;
            break;
        }
        int line = (int)ev.start_mark.line + 1;
        bool node = ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT ||
                    ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT;
        if (node && depth > 0 &&
            ++nodes[depth] > (is_map[depth] ? 2u : 1u) * CSG_CONFIG_MAX_ENTRIES) {
            csg_errlist_add(errs, "%s:%d: a %s with more than %d entries", file, line,
                            is_map[depth] ? "mapping" : "list", CSG_CONFIG_MAX_ENTRIES);
            ok = false;
            yaml_event_delete(&ev);
            break;
        }
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            if (++documents > 1) {
                csg_errlist_add(errs,
                                "%s:%d: a second YAML document starts here; the configuration "
                                "must be one document",
                                file, line);
                ok = false;
            }
            break;
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
            if (++depth > CSG_CONFIG_MAX_DEPTH) {
                csg_errlist_add(errs, "%s:%d: mappings and lists nested more than %d levels deep",
                                file, line, CSG_CONFIG_MAX_DEPTH);
                ok = false;
                break;
            }
            is_map[depth] = ev.type == YAML_MAPPING_START_EVENT;
            nodes[depth] = 0;
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            depth--;
            break;
        case YAML_STREAM_END_EVENT:
            end = true;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    return ok;
}

bool csg_config_yaml_read(const char *file, const char *text, size_t len, yaml_document_t *doc,
                          csg_errlist *errs)
{
    if (!check_events(file, text, len, errs))
        return false;
    yaml_parser_t p;
    if (!parser_open(&p, file, text, len, errs))
        return false;
    bool ok = yaml_parser_load(&p, doc) != 0;
    if (!ok)
        yaml_error(file, &p, errs); /* what only composing finds, e.g. an undefined alias */
    yaml_parser_delete(&p);
    return ok;
}
