/*
 * event_sink.h — where the publisher thread sends serialised MetricEvents.
 *
 * Internal to csg-gateway (not plugin ABI). Sinks: file:PATH (NDJSON,
 * core/sink_file.c) and kafka (core/sink_kafka.c, with its disk spool).
 * Every function is called on the publisher thread only, so a sink needs no
 * locking of its own; counters it exposes through csg_sink_stats are read by
 * other threads and must be atomics.
 */
#ifndef CSG_EVENT_SINK_H
#define CSG_EVENT_SINK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "csg_secret.h"

#include "csg/plugin.h"

/* Counters every sink keeps (csg_events_total{outcome=…}, csg_spool_bytes,
 * csg_events_unacked). "queued" and "dropped" (queue full) are counted by the
 * core's queue, not here. */
typedef struct csg_sink_stats {
    _Atomic uint64_t delivered; /* confirmed written (file) or acked (Kafka) */
    _Atomic uint64_t failed;    /* permanently failed and not spooled */
    _Atomic uint64_t spooled;   /* appended to the disk spool */
    _Atomic uint64_t replayed;  /* read back from the spool and delivered */
    _Atomic uint64_t dropped;   /* lost on purpose (spool full), logged */
    _Atomic int64_t unacked;    /* handed to the sink, not yet confirmed/spooled */
    _Atomic int64_t spool_bytes;
} csg_sink_stats;

typedef struct csg_sink_config {
    const char *sink;       /* "kafka" or "file:PATH" */
    const char *brokers;    /* kafka_brokers */
    const char *topic;      /* topic */
    const char *spool_dir;  /* spool_dir */
    uint64_t spool_max_bytes;
    /* events.kafka_security: kafka_conf[2i] = kafka_conf[2i+1] (lib/csg_kafka_sec.h) */
    char *const *kafka_conf;
    size_t n_kafka_conf;
    /* events.pseudonymize_applicant_id: the publisher replaces every event's applicant_id
     * (payload and Kafka key) with its HMAC before the sink sees it; NULL: off */
    const csg_pseudonym_key *pseudonym;
} csg_sink_config;

typedef struct csg_sink csg_sink;

typedef struct csg_sink_ops {
    const char *name;
    /* Publisher thread, at start. */
    int (*open)(const csg_sink_config *cfg, csg_sink_stats *stats, csg_sink **out,
                csg_error *err);
    /* Take one event (compact JSON, no newline) keyed by applicant_id. The
     * sink copies what it needs. Must not block for long: a sink that cannot
     * deliver now spools. Returns 0, or -CSG_E… when the event was lost
     * (already counted in stats). */
    int (*write)(csg_sink *s, const char *json, size_t len, const char *key, size_t key_len);
    /* Called by the publisher at least every 100 ms and whenever idle: serve
     * delivery reports, replay the spool, … Wait at most timeout_ms. */
    void (*poll)(csg_sink *s, int timeout_ms);
    /* Shutdown: deliver or spool everything held, waiting at most
     * timeout_ms; then free the sink. */
    void (*close)(csg_sink *s, int timeout_ms);
} csg_sink_ops;

extern const csg_sink_ops csg_sink_file_ops;
extern const csg_sink_ops csg_sink_kafka_ops;

#endif /* CSG_EVENT_SINK_H */
