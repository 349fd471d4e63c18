/*
 * csg_kafka_sec.c — see csg_kafka_sec.h.
 */
#include "csg_kafka_sec.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const protocols[] = {"plaintext", "ssl", "sasl_plaintext", "sasl_ssl", NULL};
static const char *const mechanisms[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI",
                                         "OAUTHBEARER", NULL};
static const char *const ident_algos[] = {"none", "https", NULL};

static const struct {
    const char *key;
    const char *const *values; /* NULL: any text (a path, a name, a secret) */
    bool secret;
} keys[] = {
    {"security.protocol", protocols, false},
    {"sasl.mechanisms", mechanisms, false},
    {"sasl.mechanism", mechanisms, false},
    {"sasl.username", NULL, false},
    {"sasl.password", NULL, true},
    {"ssl.ca.location", NULL, false},
    {"ssl.certificate.location", NULL, false},
    {"ssl.key.location", NULL, false},
    {"ssl.key.password", NULL, true},
    {"ssl.endpoint.identification.algorithm", ident_algos, false},
};
#define N_KEYS (sizeof keys / sizeof keys[0])

static int find(const char *key)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (!strcmp(keys[i].key, key))
            return (int)i;
    return -1;
}

const char *csg_kafka_sec_keys(void)
{
    return "security.protocol, sasl.mechanisms, sasl.mechanism, sasl.username, "
           "sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, "
           "ssl.key.password, ssl.endpoint.identification.algorithm";
}

bool csg_kafka_sec_is_secret(const char *key)
{
    int i = find(key);
    return i >= 0 && keys[i].secret;
}

const char *csg_kafka_sec_check(const char *key, const char *value, char *buf, size_t cap)
{
    int i = find(key);
    if (i < 0) {
        snprintf(buf, cap, "is not a Kafka security setting CSG passes through (allowed: %s)",
                 csg_kafka_sec_keys());
        return buf;
    }
    if (!value || !*value || strlen(value) > 4000)
        return "must be 1 to 4000 characters";
    for (const char *p = value; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return "must not contain control characters";
    if (!keys[i].values)
        return NULL;
    size_t len = 0;
    for (const char *const *v = keys[i].values; *v; v++) {
        if (!strcasecmp(*v, value))
            return NULL;
        len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, "%s%s",
                                len ? ", " : "must be one of ", *v);
    }
    return buf;
}
