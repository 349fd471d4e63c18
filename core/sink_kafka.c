/*
 * sink_kafka.c — `events.sink: kafka`: MetricEvents produced to Kafka with
 * librdkafka, with the disk spool (spool.c) for when Kafka cannot take them.
 *
 * Everything here runs on the publisher thread (event_sink.h), including the
 * librdkafka delivery-report and error callbacks, which rd_kafka_poll serves
 * on the calling thread. Only the csg_sink_stats counters are shared.
 *
 * Paths of one event:
 *   live:   write → rd_kafka_producev → delivery report ok → delivered
 *           delivery failed (timeout, broker gone, purged at close) → spool
 *   spool:  write while the broker is down, while librdkafka holds more than
 *           HIGH_WATER messages, or while older records still wait in the
 *           spool (so order is kept) → csg_spool_append → spooled;
 *           spool full → dropped (counted, logged; never silent)
 *   replay: poll → csg_spool_next → producev (opaque = segment id) → delivery
 *           ok → csg_spool_ack (segment deleted once all its records are
 *           acked) → replayed. A failed replay stops replaying; once nothing
 *           is in flight the spool is rewound, and a single probe record is
 *           sent per second until one is delivered (the broker is back).
 * A replayed record can reach Kafka twice (a crash after delivery but before
 * the segment is deleted; a rewind): delivery is at least once and consumers
 * de-duplicate on event_id.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "event_sink.h"
#include "log.h"
#include "spool.h"
#include "util.h"

/* librdkafka's queue above this → new events go to the spool: bounds the
 * memory held and what a SIGKILL could lose (csg_events_unacked). */
#define HIGH_WATER 50000
/* Replay records handed to librdkafka at once. */
#define REPLAY_WINDOW 10000
/* While the broker is down: one probe record at most this often. */
#define PROBE_INTERVAL_MS 1000
/* How long librdkafka may try a message before its delivery report fails and
 * the event goes to the spool. */
#define MESSAGE_TIMEOUT_MS "10000"
#define DEFAULT_SPOOL_DIR "var/spool"
#define DEFAULT_SPOOL_MAX (1ull << 30)
#define LOG "kafka"

struct csg_sink {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    csg_sink_stats *stats;
    csg_spool *spool;
    char *brokers, *topic;
    char *const *kafka_conf; /* the started config's events.kafka_security (it outlives us) */
    size_t n_kafka_conf;
    int down;             /* broker unreachable: events go to the spool */
    int fatal;            /* librdkafka raised a fatal error: recreate the producer */
    int replay_failed;    /* a replayed record failed: rewind when nothing is in flight */
    uint64_t replay_inflight;
    int64_t next_probe_ms;
    int64_t last_drop_log_ms;
    uint64_t drops_unlogged;
    int closing;
};

/* ------------------------------------------------------------ accounting */

static void sync_spool_gauge(csg_sink *s)
{
    atomic_store(&s->stats->spool_bytes, (int64_t)csg_spool_bytes(s->spool));
}

/* First drop at once, then at most one line per 5 s with the count since the
 * last line; poll and close flush a pending count, so none goes unsaid. */
static void flush_drop_log(csg_sink *s, int force)
{
    int64_t now = csg_now_ms_int();
    if (!s->drops_unlogged || (!force && s->last_drop_log_ms && now - s->last_drop_log_ms < 5000))
        return;
    csg_log(CSG_LOG_ERROR, LOG,
            "%" PRIu64 " event(s) dropped: Kafka unavailable and the spool is full "
            "(%" PRIu64 " bytes spooled, spool_max_bytes reached)",
            s->drops_unlogged, csg_spool_bytes(s->spool));
    s->drops_unlogged = 0;
    s->last_drop_log_ms = now;
}

static void log_drop(csg_sink *s)
{
    s->drops_unlogged++;
    flush_drop_log(s, 0);
}

/* Put one event into the spool; count where it went. */
static int spool_event(csg_sink *s, const void *val, size_t len, const void *key, size_t klen)
{
    csg_error err = {{0}};
    int rc = csg_spool_append(s->spool, key, klen, val, len, &err);
    if (rc == 0) {
        atomic_fetch_add(&s->stats->spooled, 1);
        sync_spool_gauge(s);
        return 0;
    }
    if (rc == CSG_SPOOL_FULL) {
        atomic_fetch_add(&s->stats->dropped, 1);
        log_drop(s);
        return -CSG_EIO;
    }
    atomic_fetch_add(&s->stats->failed, 1);
    csg_log(CSG_LOG_ERROR, LOG, "event lost: %s", err.message);
    return rc;
}

static void set_down(csg_sink *s, const char *why)
{
    if (s->down)
        return;
    s->down = 1;
    s->next_probe_ms = csg_now_ms_int() + PROBE_INTERVAL_MS;
    csg_log(CSG_LOG_WARN, LOG, "Kafka %s unreachable (%s): spooling events to disk", s->brokers,
            why);
}

static void set_up(csg_sink *s)
{
    if (!s->down)
        return;
    s->down = 0;
    csg_log(CSG_LOG_INFO, LOG, "Kafka %s reachable again: replaying %" PRIu64 " spooled bytes",
            s->brokers, csg_spool_bytes(s->spool));
}

/* Errors that no retry can fix for this message (too large, rejected). */
static int permanent_msg_error(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__BAD_MSG:
        return 1;
    default:
        return 0;
    }
}

/* ------------------------------------------------------ librdkafka hooks */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    csg_sink *s = opaque;
    uint64_t seg = (uint64_t)(uintptr_t)m->_private;
    if (seg == 0) { /* live event */
        atomic_fetch_sub(&s->stats->unacked, 1);
        if (!m->err) {
            atomic_fetch_add(&s->stats->delivered, 1);
            set_up(s);
        } else if (permanent_msg_error(m->err)) {
            atomic_fetch_add(&s->stats->failed, 1);
            csg_log(CSG_LOG_ERROR, LOG, "event rejected by Kafka for good: %s",
                    rd_kafka_err2str(m->err));
        } else {
            if (m->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE &&
                m->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
                set_down(s, rd_kafka_err2str(m->err));
            spool_event(s, m->payload, m->len, m->key, m->key_len);
        }
        return;
    }
    /* replayed from the spool */
    if (s->replay_inflight)
        s->replay_inflight--;
    if (!m->err) {
        csg_spool_ack(s->spool, seg);
        atomic_fetch_add(&s->stats->replayed, 1);
        sync_spool_gauge(s);
        set_up(s);
    } else if (permanent_msg_error(m->err)) {
        csg_spool_ack(s->spool, seg); /* retrying cannot help: off the spool */
        atomic_fetch_add(&s->stats->failed, 1);
        sync_spool_gauge(s);
        csg_log(CSG_LOG_ERROR, LOG, "spooled event rejected by Kafka for good: %s",
                rd_kafka_err2str(m->err));
    } else {
        s->replay_failed = 1;
        if (m->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE &&
            m->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
            set_down(s, rd_kafka_err2str(m->err));
    }
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    csg_sink *s = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
        csg_log(CSG_LOG_ERROR, LOG, "fatal producer error %s: %s; recreating the producer",
                rd_kafka_err2name(orig), buf);
        s->fatal = 1;
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        set_down(s, reason);
        return;
    }
    /* Transport errors repeat every reconnect while the broker is away. */
    csg_log(s->down ? CSG_LOG_DEBUG : CSG_LOG_WARN, LOG, "%s: %s",
            rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    /* librdkafka's own threads: csg_log is one write(2) per line. */
    csg_log(level <= 4 ? CSG_LOG_WARN : CSG_LOG_DEBUG, LOG,
            "librdkafka %s: %s", fac, buf);
}

/* -------------------------------------------------------------- producer */

/* librdkafka's own threads share the gateway's cores: like the publisher they
 * are background work and must not preempt a worker when they wake. */
static rd_kafka_resp_err_t on_thread_start(rd_kafka_t *rk, rd_kafka_thread_type_t type,
                                           const char *name, void *opaque)
{
    (void)rk, (void)type, (void)name, (void)opaque;
    csg_thread_background();
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

static rd_kafka_resp_err_t on_new(rd_kafka_t *rk, const rd_kafka_conf_t *conf, void *opaque,
                                  char *errstr, size_t errstr_size)
{
    (void)conf, (void)opaque, (void)errstr, (void)errstr_size;
    return rd_kafka_interceptor_add_on_thread_start(rk, "csg-background", on_thread_start, NULL);
}

static int make_producer(csg_sink *s, csg_error *err)
{
    char es[400];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* linger.ms 100: the broker's CPU per event falls ~6x from 5 ms (fewer, larger
     * produce requests; measured 8.6 -> 1.5 us/event at 20k events/s), and the broker
     * often shares a core with the load it serves. Events reach Kafka <= 100 ms later. */
    static const char *const kv[][2] = {
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"linger.ms", "100"},
        {"compression.type", "lz4"},
        {"message.timeout.ms", MESSAGE_TIMEOUT_MS},
        {"queue.buffering.max.messages", "100000"},
        {"queue.buffering.max.kbytes", "262144"},
        {"reconnect.backoff.ms", "100"},
        {"reconnect.backoff.max.ms", "1000"},
        {"socket.keepalive.enable", "true"},
        {"client.id", "csg-gateway"},
        {"log_level", "4"},
    };
    if (rd_kafka_conf_set(conf, "bootstrap.servers", s->brokers, es, sizeof es) != RD_KAFKA_CONF_OK)
        goto bad;
    for (size_t i = 0; i < sizeof kv / sizeof *kv; i++)
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], es, sizeof es) != RD_KAFKA_CONF_OK)
            goto bad;
    /* events.kafka_security, validated at load; librdkafka's message never quotes a value */
    for (size_t i = 0; i < s->n_kafka_conf; i++)
        if (rd_kafka_conf_set(conf, s->kafka_conf[2 * i], s->kafka_conf[2 * i + 1], es,
                              sizeof es) != RD_KAFKA_CONF_OK)
            goto bad;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_opaque(conf, s);
    if (rd_kafka_conf_interceptor_add_on_new(conf, "csg-background", on_new, NULL) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(es, sizeof es, "cannot add the thread-start interceptor");
        goto bad;
    }
    s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, es, sizeof es);
    if (!s->rk)
        goto bad; /* on failure conf is still ours */
    conf = NULL;  /* owned by s->rk from here on */
    s->rkt = rd_kafka_topic_new(s->rk, s->topic, NULL);
    if (!s->rkt) {
        snprintf(es, sizeof es, "topic %s: %s", s->topic, rd_kafka_err2str(rd_kafka_last_error()));
        rd_kafka_destroy(s->rk);
        s->rk = NULL;
        goto bad;
    }
    s->fatal = 0;
    return 0;
bad:
    if (conf)
        rd_kafka_conf_destroy(conf);
    if (err)
        snprintf(err->message, sizeof err->message, "events.sink kafka: %s", es);
    return -CSG_EINVAL;
}

/* Hand every message librdkafka still holds back to us (delivery reports
 * with PURGE errors → spool), then destroy the producer. */
static void drop_producer(csg_sink *s, int wait_ms)
{
    if (!s->rk)
        return;
    rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    int64_t deadline = csg_now_ms_int() + wait_ms;
    /* Purged messages' reports are queued at once; in-flight ones follow. */
    while (rd_kafka_outq_len(s->rk) > 0 && csg_now_ms_int() < deadline)
        rd_kafka_poll(s->rk, 50);
    rd_kafka_poll(s->rk, 0);
    rd_kafka_topic_destroy(s->rkt);
    rd_kafka_destroy(s->rk);
    s->rkt = NULL;
    s->rk = NULL;
}

/* ------------------------------------------------------------------- ops */

static int kafka_open(const csg_sink_config *cfg, csg_sink_stats *stats, csg_sink **out,
                      csg_error *err)
{
    int rc;
    if (!cfg->brokers || !*cfg->brokers || !cfg->topic || !*cfg->topic) {
        if (err)
            snprintf(err->message, sizeof err->message,
                     "events.sink kafka needs events.kafka_brokers and events.topic");
        return -CSG_EINVAL;
    }
    csg_sink *s = calloc(1, sizeof *s);
    if (!s)
        return -CSG_ENOMEM;
    s->stats = stats;
    s->brokers = strdup(cfg->brokers);
    s->topic = strdup(cfg->topic);
    s->kafka_conf = cfg->kafka_conf;
    s->n_kafka_conf = cfg->n_kafka_conf;
    if (!s->brokers || !s->topic) {
        rc = -CSG_ENOMEM;
        goto fail;
    }
    const char *dir = cfg->spool_dir && *cfg->spool_dir ? cfg->spool_dir : DEFAULT_SPOOL_DIR;
    uint64_t max = cfg->spool_max_bytes ? cfg->spool_max_bytes : DEFAULT_SPOOL_MAX;
    if ((rc = csg_spool_open(dir, max, 0, &s->spool, err)) != 0)
        goto fail;
    sync_spool_gauge(s);
    if (csg_spool_bytes(s->spool))
        csg_log(CSG_LOG_INFO, LOG, "spool %s holds %" PRIu64 " bytes from an earlier run: replaying",
                dir, csg_spool_bytes(s->spool));
    if ((rc = make_producer(s, err)) != 0)
        goto fail;
    *out = s;
    return 0;
fail:
    csg_spool_close(s->spool);
    free(s->brokers);
    free(s->topic);
    free(s);
    return rc;
}

static int produce(csg_sink *s, const void *val, size_t len, const void *key, size_t klen,
                   uint64_t seg)
{
    return (int)rd_kafka_producev(s->rk, RD_KAFKA_V_RKT(s->rkt),
                                  RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_VALUE((void *)val, len),
                                  RD_KAFKA_V_KEY(key, klen),
                                  RD_KAFKA_V_OPAQUE((void *)(uintptr_t)seg), RD_KAFKA_V_END);
}

static int kafka_write(csg_sink *s, const char *json, size_t len, const char *key, size_t key_len)
{
    /* Spool when Kafka cannot take it now, and while older events wait in
     * the spool (events keep their order). */
    if (s->down || s->fatal || !s->rk || s->replay_failed || csg_spool_has_unread(s->spool) ||
        rd_kafka_outq_len(s->rk) > HIGH_WATER)
        return spool_event(s, json, len, key, key_len);
    rd_kafka_resp_err_t e = (rd_kafka_resp_err_t)produce(s, json, len, key, key_len, 0);
    if (e) {
        /* QUEUE_FULL is back-pressure; anything else (unknown topic, …) is
         * treated like an outage: spool, and probe once a second. */
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            set_down(s, rd_kafka_err2str(e));
        return spool_event(s, json, len, key, key_len);
    }
    atomic_fetch_add(&s->stats->unacked, 1);
    return 0;
}

/* Send spooled records (or one probe while the broker is down). */
static void pump_replay(csg_sink *s)
{
    if (s->replay_failed) {
        if (s->replay_inflight)
            return; /* wait for the outstanding reports before re-reading */
        csg_spool_rewind(s->spool);
        s->replay_failed = 0;
        s->next_probe_ms = csg_now_ms_int() + PROBE_INTERVAL_MS;
    }
    if (!s->rk || s->fatal || s->closing || !csg_spool_has_unread(s->spool))
        return;
    size_t limit = REPLAY_WINDOW;
    if (s->down) {
        int64_t now = csg_now_ms_int();
        if (s->replay_inflight || now < s->next_probe_ms)
            return;
        s->next_probe_ms = now + PROBE_INTERVAL_MS;
        limit = 1;
    }
    csg_spool_record r;
    while (s->replay_inflight < limit && rd_kafka_outq_len(s->rk) < HIGH_WATER) {
        int rc = csg_spool_next(s->spool, &r);
        if (rc <= 0)
            break;
        rd_kafka_resp_err_t e =
            (rd_kafka_resp_err_t)produce(s, r.val, r.val_len, r.key, r.key_len, r.segment);
        if (e) {
            /* The record was read but not sent: re-read it after a rewind. */
            s->replay_failed = 1;
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                set_down(s, rd_kafka_err2str(e));
            break;
        }
        s->replay_inflight++;
    }
}

static void kafka_poll(csg_sink *s, int timeout_ms)
{
    (void)timeout_ms; /* never wait here: the publisher sleeps on its own */
    if (s->rk)
        rd_kafka_poll(s->rk, 0);
    if (s->fatal) {
        drop_producer(s, 1000);
        s->replay_inflight = 0; /* their reports were served by drop_producer */
        s->replay_failed = 1;
        s->fatal = 0;
        s->next_probe_ms = 0;
    }
    if (!s->rk && csg_now_ms_int() >= s->next_probe_ms) {
        /* (Re)create the producer; on failure try again in a second. */
        csg_error err = {{0}};
        s->next_probe_ms = csg_now_ms_int() + PROBE_INTERVAL_MS;
        if (make_producer(s, &err) != 0)
            csg_log(CSG_LOG_ERROR, LOG, "%s (events are spooled)", err.message);
    }
    pump_replay(s);
    sync_spool_gauge(s);
    flush_drop_log(s, 0);
}

static void kafka_close(csg_sink *s, int timeout_ms)
{
    if (!s)
        return;
    s->closing = 1; /* stop replaying: the spool stays for the next start */
    int64_t start = csg_now_ms_int();
    if (s->rk && !s->down) {
        /* Deliver what librdkafka holds, bounded; reports are served inside. */
        rd_kafka_flush(s->rk, timeout_ms > 0 ? timeout_ms : 0);
    } else if (s->rk) {
        rd_kafka_flush(s->rk, timeout_ms < 500 ? (timeout_ms > 0 ? timeout_ms : 0) : 500);
    }
    int left = timeout_ms - (int)(csg_now_ms_int() - start);
    drop_producer(s, left > 1000 ? left : 1000); /* the rest goes to the spool */
    flush_drop_log(s, 1);
    int64_t lost = atomic_load(&s->stats->unacked);
    if (lost > 0)
        csg_log(CSG_LOG_ERROR, LOG, "%" PRId64 " event(s) had no delivery report at close", lost);
    sync_spool_gauge(s);
    if (csg_spool_bytes(s->spool))
        csg_log(CSG_LOG_INFO, LOG, "%" PRIu64 " bytes left in the spool for the next start",
                csg_spool_bytes(s->spool));
    csg_spool_close(s->spool);
    free(s->brokers);
    free(s->topic);
    free(s);
}

const csg_sink_ops csg_sink_kafka_ops = {
    .name = "kafka",
    .open = kafka_open,
    .write = kafka_write,
    .poll = kafka_poll,
    .close = kafka_close,
};
