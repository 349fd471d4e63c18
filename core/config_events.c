/*
 * config_events.c — see config_events.h.
 *
 * The key file is read here, at load, so --check-config reports a missing, unreadable,
 * world-readable or short key with its line; the config then holds the key itself and
 * the publisher never touches the file.
 */
#include "config_events.h"

#include <stdlib.h>
#include <string.h>

#include "csg_kafka_sec.h"
#include "csg_secret.h"

static void read_pseudonymize(vctx *x, yaml_node_t *n)
{
    if (!cw_want_mapping(x, n, "\"pseudonymize_applicant_id\""))
        return;
    keyspec ks[] = {{.name = "key_file"}, {0}};
    cw_collect(x, n, "pseudonymize_applicant_id", ks);
    char *path = NULL;
    if (!cw_require(x, &ks[0], n, "pseudonymize_applicant_id") ||
        !cw_get_str(x, &ks[0], 1, 4000, &path))
        return;
    csg_config *c = x->c;
    csg_error e;
    c->pseudonym = malloc(sizeof *c->pseudonym);
    if (!c->pseudonym)
        cw_err_at(x, ks[0].value, "out of memory");
    else if (csg_pseudonym_key_load(path, "events.pseudonymize_applicant_id.key_file",
                                    c->pseudonym, &e) != 0) {
        cw_err_at(x, ks[0].value, "%s", e.message);
        free(c->pseudonym);
        c->pseudonym = NULL;
    }
    c->pseudonym_key_file = path;
}

static void read_kafka_security(vctx *x, yaml_node_t *n)
{
    if (!cw_want_mapping(x, n, "\"kafka_security\""))
        return;
    csg_config *c = x->c;
    cw_keys k;
    cw_keys_of(x, n, "kafka_security", &k);
    for (size_t i = 0; i < k.n; i++) {
        yaml_node_t *key = cw_node(x, k.p[i]->key), *v = cw_node(x, k.p[i]->value);
        const char *name = cw_sval(key);
        char buf[600];
        const char *why = !cw_is_scalar(v) ? "must be a string"
                          : c->n_kafka_conf == CSG_KAFKA_SEC_MAX
                              ? "is one setting too many"
                              : csg_kafka_sec_check(name, cw_sval(v), buf, sizeof buf);
        if (why) { /* the value is not quoted: it may be a secret */
            cw_err_at(x, key, "kafka_security \"%s\" %s", name, why);
            continue;
        }
        char *kk = strdup(name), *vv = strdup(cw_sval(v));
        if (!kk || !vv) {
            free(kk);
            free(vv);
            cw_err_at(x, key, "out of memory");
            continue;
        }
        c->kafka_conf[2 * c->n_kafka_conf] = kk;
        c->kafka_conf[2 * c->n_kafka_conf + 1] = vv;
        c->n_kafka_conf++;
    }
}

void csg_config_events_extra(vctx *x, cw_keys *k)
{
    for (size_t i = 0; i < k->n; i++) {
        yaml_node_t *key = cw_node(x, k->p[i]->key), *v = cw_node(x, k->p[i]->value);
        if (!strcmp(cw_sval(key), "pseudonymize_applicant_id"))
            read_pseudonymize(x, v);
        else if (!strcmp(cw_sval(key), "kafka_security"))
            read_kafka_security(x, v);
        else
            cw_err_at(x, key,
                      "unknown key \"%s\" in events (allowed: sink, kafka_brokers, topic, "
                      "queue_capacity, spool_dir, spool_max_bytes, kafka_security, "
                      "pseudonymize_applicant_id)",
                      cw_sval(key));
    }
}

void csg_config_events_free(csg_config *c)
{
    if (c->pseudonym)
        csg_pseudonym_key_clear(c->pseudonym);
    free(c->pseudonym);
    free(c->pseudonym_key_file);
    for (size_t i = 0; i < 2 * c->n_kafka_conf; i++)
        free(c->kafka_conf[i]);
}

bool csg_config_events_differ(const csg_config *a, const csg_config *b)
{
    if (!a->pseudonym != !b->pseudonym ||
        (a->pseudonym && (a->pseudonym->len != b->pseudonym->len ||
                          memcmp(a->pseudonym->key, b->pseudonym->key, a->pseudonym->len))))
        return true;
    if (a->n_kafka_conf != b->n_kafka_conf)
        return true;
    for (size_t i = 0; i < 2 * a->n_kafka_conf; i++)
        if (strcmp(a->kafka_conf[i], b->kafka_conf[i]))
            return true;
    return false;
}
