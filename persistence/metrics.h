/*
 * metrics.h — counters shared by the ingest loop (writer) and the REST thread
 * (reader, GET /metrics). Atomics only: no locks between the two threads.
 */
#ifndef CSGP_METRICS_H
#define CSGP_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

/* DLQ reason classes (csgp_dlq_total{reason=…}); see csgp_reject.kind. */
#define CSGP_DLQ_KINDS 6
extern const char *const csgp_dlq_kind_names[CSGP_DLQ_KINDS];
int csgp_dlq_kind_index(const char *kind);

typedef struct csgp_metrics {
    _Atomic uint64_t consumed;      /* Kafka messages taken off the topic */
    _Atomic uint64_t inserted;      /* new rows */
    _Atomic uint64_t duplicates;    /* valid events whose event_id was already stored */
    _Atomic uint64_t dlq[CSGP_DLQ_KINDS];
    _Atomic uint64_t dlq_failed;    /* DLQ produce attempts that failed (retried) */
    _Atomic uint64_t db_errors;     /* failed batch transactions (retried) */
    _Atomic uint64_t batches;       /* committed batches */
    _Atomic uint64_t commit_errors; /* offset commits that failed (rows are safe) */
    _Atomic uint64_t rebalances;
    _Atomic uint64_t http_requests;
    _Atomic int64_t lag;            /* sum over assigned partitions of high watermark − position */
    _Atomic int64_t paused;         /* 1 while consumption is paused (DB or DLQ unavailable) */
    _Atomic int64_t assigned;       /* partitions assigned to this member */
    _Atomic int64_t consuming;      /* 1 when the Kafka consumer runs */
    _Atomic int64_t last_batch_ms;  /* wall clock of the last committed batch */
} csgp_metrics;

#endif
