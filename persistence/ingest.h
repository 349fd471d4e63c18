/*
 * ingest.h — the Kafka → database loop and the NDJSON import, one validation and
 * insert path for both.
 *
 * Loop (DESIGN §7): poll a batch → validate each message; bad ones become DLQ
 * envelopes {"reason","topic","partition","offset","payload"} on <topic>.dlq → one DB
 * transaction for the good ones → wait for the DLQ acks → commit the offsets
 * (synchronously). When the database or the DLQ is unavailable the assigned partitions
 * are paused and the batch is retried with bounded exponential back-off; nothing is
 * committed meanwhile. A revoked partition set first gets the batch in hand committed
 * (or, if that is impossible, abandoned uncommitted so the next owner re-reads it).
 * Rows are exactly-once because event_id is unique; Kafka delivery is at-least-once.
 */
#ifndef CSGP_INGEST_H
#define CSGP_INGEST_H

#include <signal.h>
#include <stdio.h>

#include "db.h"
#include "metrics.h"

typedef struct csgp_ingest_cfg {
    const char *brokers;
    const char *topic;
    const char *dlq_topic;
    const char *group;
    int session_timeout_ms;
    int batch_max;    /* messages per transaction */
    int batch_ms;     /* how long to gather a batch after its first message */
    int backoff_max_ms;
    /* Kafka security settings for both clients (--kafka-conf KEY=VALUE, checked by
     * lib/csg_kafka_sec.h): kafka_conf[2i] = kafka_conf[2i+1]. */
    const char *const *kafka_conf;
    size_t n_kafka_conf;
} csgp_ingest_cfg;

/* Run until *stop becomes non-zero (signal handler). Returns 0 after a clean shutdown
 * (batch in hand finished or left uncommitted, consumer closed). */
int csgp_ingest_run(csgp_db *db, const csgp_ingest_cfg *cfg, csgp_metrics *m,
                    volatile sig_atomic_t *stop, csg_error *err);

typedef struct csgp_import_stats {
    size_t lines, inserted, duplicates, rejected;
} csgp_import_stats;

/* Validate and insert NDJSON MetricEvents from f (blank lines skipped), batch_max events per
 * transaction (the consumer's --batch-max); rejected lines are reported on stderr with
 * their line number. -CSGP_EDB if the database failed. */
int csgp_import(csgp_db *db, FILE *f, size_t batch_max, csgp_import_stats *st,
                csg_error *err);

#endif
