/*
 * csg_kafka_sec.h — the librdkafka security settings the gateway (events.kafka:) and
 * csg-persist (--kafka-conf KEY=VALUE) pass through: security.protocol, SASL and SSL.
 * Only these keys are accepted, so a config cannot silently change delivery semantics
 * (acks, idempotence, offsets) that CSG sets itself. Secrets (passwords) are never
 * logged: say csg_kafka_sec_is_secret before printing a value.
 */
#ifndef CSG_KAFKA_SEC_H
#define CSG_KAFKA_SEC_H

#include <stdbool.h>
#include <stddef.h>

#define CSG_KAFKA_SEC_MAX 16 /* settings per client */

/* NULL if key=value may be passed to librdkafka; else why not (a phrase for a message,
 * written into buf or static). */
const char *csg_kafka_sec_check(const char *key, const char *value, char *buf, size_t cap);
/* True for a key whose value is a secret (never logged or echoed in errors). */
bool csg_kafka_sec_is_secret(const char *key);
/* The accepted keys, comma-separated (for usage and error messages). */
const char *csg_kafka_sec_keys(void);

#endif /* CSG_KAFKA_SEC_H */
