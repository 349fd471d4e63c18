/*
 * options.c — plugin option values (csg/plugin.h, "Plugin options"): the
 * text of a YAML value or a table default → a csg_option_value, the
 * defaults a host fills in, and options_apply into a plugin's own struct.
 * No YAML here: config.c reads the blocks, test hosts that fake the core
 * fill defaults with the same code.
 */
#include "options.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool csg_parse_int_text(const char *s, int64_t *out)
{
    if (!*s)
        return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

bool csg_parse_double_text(const char *s, double *out)
{
    if (!*s)
        return false;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return false;
    /* strtod accepts "nan", "inf", hex; YAML users mean decimal numbers. */
    for (const char *p = s; *p; p++)
        if (!strchr("0123456789+-.eE", *p))
            return false;
    *out = v;
    return true;
}

/* http://host[:port][/path] — what rest.so can connect to without DNS games. */
bool csg_valid_url(const char *u, const char **why)
{
    size_t scheme = !strncmp(u, "http://", 7) ? 7 : !strncmp(u, "https://", 8) ? 8 : 0;
    if (!scheme) {
        *why = "must start with http:// or https://";
        return false;
    }
    const char *h = u + scheme, *p = h;
    if (*p == '[') {
        const char *e = strchr(p, ']');
        if (!e) {
            *why = "has an unterminated [IPv6] host";
            return false;
        }
        char v6[64];
        size_t n = (size_t)(e - p - 1);
        if (n >= sizeof v6) {
            *why = "has an invalid IPv6 host";
            return false;
        }
        memcpy(v6, p + 1, n);
        v6[n] = '\0';
        struct in6_addr a;
        if (inet_pton(AF_INET6, v6, &a) != 1) {
            *why = "has an invalid IPv6 host";
            return false;
        }
        p = e + 1;
    } else {
        while (*p && *p != ':' && *p != '/') {
            if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == '_')) {
                *why = "has an invalid host name";
                return false;
            }
            p++;
        }
        if (p == h) {
            *why = "has no host";
            return false;
        }
    }
    if (*p == ':') {
        p++;
        long port = 0;
        const char *d = p;
        while (*p >= '0' && *p <= '9' && port <= 65535)
            port = port * 10 + (*p++ - '0');
        if (p == d || port < 1 || port > 65535 || (*p && *p != '/')) {
            *why = "has an invalid port (1-65535)";
            return false;
        }
    }
    if (*p && *p != '/') {
        *why = "has an invalid path (must start with /)";
        return false;
    }
    for (; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
            *why = "contains spaces or non-ASCII characters";
            return false;
        }
    return true;
}

bool csg_option_parse_text(const csg_option *o, const char *text, csg_option_value *v,
                              const char **why)
{
    switch (o->type) {
    case CSG_OPT_STRING:
    case CSG_OPT_URL:
        if (o->type == CSG_OPT_URL && !csg_valid_url(text, why))
            return false;
        free((char *)v->str);
        v->str = strdup(text);
        return v->str != NULL;
    case CSG_OPT_INT: {
        int64_t i;
        if (!csg_parse_int_text(text, &i)) {
            *why = "must be an integer";
            return false;
        }
        if (o->min <= o->max && ((double)i < o->min || (double)i > o->max)) {
            *why = "range";
            return false;
        }
        v->i = i;
        v->d = (double)i;
        return true;
    }
    case CSG_OPT_DOUBLE: {
        double d;
        if (!csg_parse_double_text(text, &d)) {
            *why = "must be a number";
            return false;
        }
        if (o->min <= o->max && (d < o->min || d > o->max)) {
            *why = "range";
            return false;
        }
        v->d = d;
        return true;
    }
    case CSG_OPT_BOOL:
        if (!strcmp(text, "true") || !strcmp(text, "yes") || !strcmp(text, "on"))
            v->b = true;
        else if (!strcmp(text, "false") || !strcmp(text, "no") || !strcmp(text, "off"))
            v->b = false;
        else {
            *why = "must be true or false";
            return false;
        }
        v->i = v->b;
        return true;
    }
    *why = "has an unknown option type (plugin bug)";
    return false;
}

size_t csg_options_count(const csg_option *opts)
{
    size_t n = 0;
    if (opts)
        while (opts[n].name)
            n++;
    return n;
}

void csg_options_free(csg_option_value *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free((char *)v[i].str);
    free(v);
}

bool csg_options_defaults(const csg_option *table, csg_option_value *values)
{
    bool ok = true;
    for (size_t i = 0; table && table[i].name; i++) {
        const char *why = NULL;
        if (!values[i].is_set && table[i].default_value &&
            !csg_option_parse_text(&table[i], table[i].default_value, &values[i], &why))
            ok = false;
    }
    return ok;
}
void csg_options_apply(const csg_option *table, const csg_option_value *values, void *obj)
{
    for (size_t i = 0; table && values && table[i].name; i++) {
        if (!table[i].target)
            continue;
        char *at = (char *)obj + table[i].target - 1;
        const csg_option_value *v = &values[i];
        switch (table[i].type) {
        case CSG_OPT_STRING:
        case CSG_OPT_URL:
            memcpy(at, &v->str, sizeof v->str);
            break;
        case CSG_OPT_INT:
            memcpy(at, &v->i, sizeof v->i);
            break;
        case CSG_OPT_DOUBLE:
            memcpy(at, &v->d, sizeof v->d);
            break;
        case CSG_OPT_BOOL:
            memcpy(at, &v->b, sizeof v->b);
            break;
        }
    }
}

