/*
 * ingest.c — Kafka consumer → database, with a dead-letter topic, and the NDJSON import.
 * See ingest.h for the delivery rules. Everything here runs on the main thread; the only
 * state shared with the REST thread is csgp_metrics (atomics).
 */
#include "ingest.h"

#include <errno.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>

#include "csg_kafka_sec.h"
#include "event.h"

#define DLQ_PAYLOAD_MAX CSGP_MAX_MESSAGE_BYTES /* envelope payload cap (too_large ones) */
/* After SIGTERM the batch in hand gets this long to be stored (DLQ + DB); whatever is
 * still waiting then is abandoned uncommitted, so a database that is down or hung never
 * holds up a stop (at-least-once: the next start re-reads that batch). */
#define SHUTDOWN_GRACE_MS 1000
#define DLQ_FLUSH_MS 10000

enum { DLQ_PENDING = 0, DLQ_ACKED = 1, DLQ_FAILED = 2, DLQ_UNSENT = 3 };

typedef struct dlq_rec {
    char *data;
    size_t len;
    void *key;
    size_t keylen;
    int state;
    int kind;
} dlq_rec;

typedef struct batch {
    rd_kafka_message_t **msgs; /* held until the batch is committed or abandoned */
    size_t nmsgs;
    csgp_event *events;
    size_t nevents;
    dlq_rec *dlq;
    size_t ndlq;
    bool validated, db_done;
    size_t inserted;
    uint32_t gen; /* tags DLQ delivery reports so a late one never touches a newer batch */
} batch;

typedef struct ingest {
    rd_kafka_t *rk;     /* consumer */
    rd_kafka_t *dlq_rk; /* producer for the dead-letter topic */
    csgp_db *db;
    const csgp_ingest_cfg *cfg;
    csgp_metrics *m;
    volatile sig_atomic_t *stop;
    batch b;
    bool paused;
    rd_kafka_topic_partition_list_t *seek_back; /* first unprocessed offsets while paused */
    int64_t last_lag_ms, last_topic_warn_ms;
    int64_t stop_seen_ms; /* when a wait first saw *stop (0 = not yet) */
} ingest;

/* True once SHUTDOWN_GRACE_MS have passed since the stop request was first seen. Also the
 * database's interrupt hook (csgp_db_set_interrupt), so it runs on the main thread only. */
static bool grace_over(void *arg)
{
    ingest *ing = arg;
    if (!*ing->stop)
        return false;
    int64_t now = csg_now_ms_int();
    if (!ing->stop_seen_ms)
        ing->stop_seen_ms = now;
    return now - ing->stop_seen_ms >= SHUTDOWN_GRACE_MS;
}

/* ------------------------------------------------------------------------ */
/* DLQ                                                                      */

static void dlq_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)rk;
    ingest *ing = opaque;
    uintptr_t tag = (uintptr_t)msg->_private;
    uint32_t gen = (uint32_t)(tag >> 20);
    size_t idx = tag & 0xfffff;
    if (gen != (ing->b.gen & 0xfff) || idx >= ing->b.ndlq)
        return; /* a report for a batch that is gone */
    ing->b.dlq[idx].state = msg->err ? DLQ_FAILED : DLQ_ACKED;
    if (msg->err) {
        atomic_fetch_add(&ing->m->dlq_failed, 1);
        csgp_log("warn", "DLQ delivery to %s failed: %s", ing->cfg->dlq_topic,
                 rd_kafka_err2str(msg->err));
    }
}

/* Build the envelope {"reason","topic","partition","offset","payload"[,"payload_encoding"]}. */
static int make_envelope(const rd_kafka_message_t *msg, const csgp_reject *why, dlq_rec *rec)
{
    json_t *o = json_object();
    json_object_set_new(o, "reason", json_string(why->reason));
    json_object_set_new(o, "kind", json_string(why->kind));
    json_object_set_new(o, "topic", json_string(rd_kafka_topic_name(msg->rkt)));
    json_object_set_new(o, "partition", json_integer(msg->partition));
    json_object_set_new(o, "offset", json_integer(msg->offset));
    const char *p = msg->payload ? msg->payload : "";
    size_t len = msg->payload ? msg->len : 0;
    bool truncated = false;
    if (len > DLQ_PAYLOAD_MAX) {
        /* Keep the envelope under Kafka's message size: the start of the payload. */
        len = DLQ_PAYLOAD_MAX;
        truncated = true;
        size_t t = csgp_utf8_trim(p, len);
        if (csgp_utf8_valid(p, t))
            len = t;
    }
    json_t *payload = csgp_utf8_valid(p, len) ? json_stringn(p, len) : NULL;
    if (payload) {
        json_object_set_new(o, "payload", payload);
    } else {
        char *b64 = csgp_base64((const unsigned char *)p, len);
        if (!b64) {
            json_decref(o);
            return -1;
        }
        json_object_set_new(o, "payload", json_string(b64));
        json_object_set_new(o, "payload_encoding", json_string("base64"));
        free(b64);
    }
    if (truncated) {
        json_object_set_new(o, "payload_truncated", json_true());
        json_object_set_new(o, "payload_bytes", json_integer((json_int_t)msg->len));
    }
    rec->data = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!rec->data)
        return -1;
    rec->len = strlen(rec->data);
    if (msg->key && msg->key_len) {
        rec->key = malloc(msg->key_len);
        if (!rec->key)
            return -1;
        memcpy(rec->key, msg->key, msg->key_len);
        rec->keylen = msg->key_len;
    }
    rec->state = DLQ_UNSENT;
    rec->kind = csgp_dlq_kind_index(why->kind);
    return 0;
}

/* Produce every record not yet acked and wait (bounded) for the reports. 0 = all acked. */
static int dlq_deliver(ingest *ing)
{
    batch *b = &ing->b;
    size_t todo = 0;
    for (size_t i = 0; i < b->ndlq; i++) {
        dlq_rec *r = &b->dlq[i];
        if (r->state == DLQ_ACKED)
            continue;
        todo++;
        if (r->state == DLQ_PENDING)
            continue;
        uintptr_t tag = ((uintptr_t)(b->gen & 0xfff) << 20) | i;
        rd_kafka_resp_err_t e = rd_kafka_producev(
            ing->dlq_rk, RD_KAFKA_V_TOPIC(ing->cfg->dlq_topic),
            RD_KAFKA_V_VALUE(r->data, r->len), RD_KAFKA_V_KEY(r->key, r->keylen),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE((void *)tag), RD_KAFKA_V_END);
        r->state = e ? DLQ_FAILED : DLQ_PENDING;
        if (e)
            csgp_log("warn", "DLQ produce failed: %s", rd_kafka_err2str(e));
    }
    if (!todo)
        return 0;
    /* In slices, so a stop request is not held up by a broker that does not answer. */
    int64_t until = csg_now_ms_int() + DLQ_FLUSH_MS;
    while (rd_kafka_flush(ing->dlq_rk, 100) == RD_KAFKA_RESP_ERR__TIMED_OUT &&
           csg_now_ms_int() < until && !grace_over(ing))
        ;
    for (size_t i = 0; i < b->ndlq; i++) {
        if (b->dlq[i].state == DLQ_PENDING)
            return -1; /* still in flight: retried later (a duplicate DLQ record at worst) */
        if (b->dlq[i].state == DLQ_FAILED) {
            b->dlq[i].state = DLQ_UNSENT;
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Batches                                                                  */

static void batch_clear(ingest *ing)
{
    batch *b = &ing->b;
    for (size_t i = 0; i < b->nmsgs; i++)
        rd_kafka_message_destroy(b->msgs[i]);
    for (size_t i = 0; i < b->nevents; i++)
        csgp_event_release(&b->events[i]);
    for (size_t i = 0; i < b->ndlq; i++) {
        free(b->dlq[i].data);
        free(b->dlq[i].key);
    }
    b->nmsgs = b->nevents = b->ndlq = b->inserted = 0;
    b->validated = b->db_done = false;
    b->gen++;
}

static void batch_validate(ingest *ing)
{
    batch *b = &ing->b;
    for (size_t i = 0; i < b->nmsgs; i++) {
        rd_kafka_message_t *msg = b->msgs[i];
        csgp_reject why = {0};
        int rc;
        if (!msg->payload) {
            why.kind = "invalid_json";
            snprintf(why.reason, sizeof why.reason, "empty message (no payload)");
            rc = -1;
        } else {
            rc = csgp_event_parse(msg->payload, msg->len, &b->events[b->nevents], &why);
        }
        if (rc == 0) {
            b->nevents++;
            continue;
        }
        dlq_rec *rec = &b->dlq[b->ndlq];
        memset(rec, 0, sizeof *rec);
        if (make_envelope(msg, &why, rec) != 0) {
            free(rec->data);
            free(rec->key);
            csgp_log("error", "out of memory building a DLQ envelope; message %s[%d]@%lld skipped",
                     rd_kafka_topic_name(msg->rkt), msg->partition, (long long)msg->offset);
            continue;
        }
        b->ndlq++;
        csgp_log("info", "to DLQ: %s[%d]@%lld: %s", rd_kafka_topic_name(msg->rkt), msg->partition,
                 (long long)msg->offset, why.reason);
    }
    b->validated = true;
}

/* Commit offset+1 of the last message per partition in the batch (synchronous). */
static void commit_offsets(ingest *ing)
{
    batch *b = &ing->b;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    for (size_t i = 0; i < b->nmsgs; i++) {
        rd_kafka_message_t *msg = b->msgs[i];
        const char *t = rd_kafka_topic_name(msg->rkt);
        rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(l, t, msg->partition);
        if (!p)
            p = rd_kafka_topic_partition_list_add(l, t, msg->partition);
        if (msg->offset + 1 > p->offset)
            p->offset = msg->offset + 1;
    }
    rd_kafka_resp_err_t e = rd_kafka_commit(ing->rk, l, 0);
    if (e) {
        atomic_fetch_add(&ing->m->commit_errors, 1);
        csgp_log("warn", "offset commit failed (%s): the rows are stored; the next owner may "
                 "re-read this batch and skip it as duplicates", rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* One attempt at DLQ + DB for the batch in hand. 0 = done (offsets committed). */
static int batch_try(ingest *ing)
{
    batch *b = &ing->b;
    if (!b->validated)
        batch_validate(ing);
    if (b->ndlq && dlq_deliver(ing) != 0)
        return -CSGP_EKAFKA;
    if (!b->db_done) {
        csg_error err;
        int rc = csgp_db_insert_events(ing->db, b->events, b->nevents, &b->inserted, &err);
        if (rc == -CSGP_EDBDATA) {
            /* A row the database refuses although it passed validation: find it one by
             * one, so the rest of the batch is stored; the refused ones are logged and
             * counted as DLQ "other" (their Kafka offsets stay readable for inspection). */
            csgp_log("error", "batch refused by the database (%s); inserting one by one",
                     err.message);
            size_t ins = 0, one;
            for (size_t i = 0; i < b->nevents; i++) {
                rc = csgp_db_insert_events(ing->db, &b->events[i], 1, &one, &err);
                if (rc == -CSGP_EDBDATA) {
                    csgp_log("error", "event %s refused by the database: %s", b->events[i].event_id,
                             err.message);
                    atomic_fetch_add(&ing->m->dlq[CSGP_DLQ_KINDS - 1], 1);
                } else if (rc) {
                    break;
                } else {
                    ins += one;
                }
            }
            b->inserted = ins;
        }
        if (rc && rc != -CSGP_EDBDATA) {
            atomic_fetch_add(&ing->m->db_errors, 1);
            csgp_log("warn", "batch of %zu not stored, will retry: %s", b->nmsgs, err.message);
            return rc;
        }
        b->db_done = true;
    }
    commit_offsets(ing);
    atomic_fetch_add(&ing->m->inserted, b->inserted);
    atomic_fetch_add(&ing->m->duplicates, b->nevents - b->inserted);
    for (size_t i = 0; i < b->ndlq; i++)
        atomic_fetch_add(&ing->m->dlq[b->dlq[i].kind], 1);
    atomic_fetch_add(&ing->m->batches, 1);
    atomic_store(&ing->m->last_batch_ms, csg_wall_ms());
    batch_clear(ing);
    return 0;
}

static void set_paused(ingest *ing, bool pause)
{
    if (ing->paused == pause)
        return;
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(ing->rk, &parts) == RD_KAFKA_RESP_ERR_NO_ERROR && parts) {
        if (pause) {
            rd_kafka_pause_partitions(ing->rk, parts);
        } else {
            rd_kafka_resume_partitions(ing->rk, parts);
            /* Messages that arrived after the pause were dropped unprocessed: fetch them
             * again rather than trusting where the fetcher resumes. */
            if (ing->seek_back->cnt) {
                rd_kafka_error_t *e = rd_kafka_seek_partitions(ing->rk, ing->seek_back, 5000);
                if (e) {
                    csgp_log("warn", "seek after resume failed: %s", rd_kafka_error_string(e));
                    rd_kafka_error_destroy(e);
                }
            }
        }
        rd_kafka_topic_partition_list_destroy(parts);
    }
    rd_kafka_topic_partition_list_destroy(ing->seek_back);
    ing->seek_back = rd_kafka_topic_partition_list_new(8);
    ing->paused = pause;
    atomic_store(&ing->m->paused, pause ? 1 : 0);
    csgp_log(pause ? "warn" : "info", pause ? "ingest paused until the batch can be stored"
                                            : "ingest resumed");
}

/* A message that arrived while paused: drop it and remember to re-read from it. */
static void stray_message(ingest *ing, rd_kafka_message_t *msg)
{
    if (!msg->err) {
        const char *t = rd_kafka_topic_name(msg->rkt);
        rd_kafka_topic_partition_t *p =
            rd_kafka_topic_partition_list_find(ing->seek_back, t, msg->partition);
        if (!p) {
            p = rd_kafka_topic_partition_list_add(ing->seek_back, t, msg->partition);
            p->offset = msg->offset;
        } else if (msg->offset < p->offset) {
            p->offset = msg->offset;
        }
    }
    rd_kafka_message_destroy(msg);
}

/* Finish the batch in hand, retrying with back-off while the DB/DLQ is unavailable.
 * Returns when it is committed, abandoned by a rebalance, or *stop is set. */
static void batch_process(ingest *ing)
{
    int backoff = 100;
    while (ing->b.nmsgs) {
        if (batch_try(ing) == 0)
            break;
        set_paused(ing, true);
        int64_t until = csg_now_ms_int() + backoff;
        while (!*ing->stop && ing->b.nmsgs) {
            int64_t left = until - csg_now_ms_int();
            if (left <= 0)
                break;
            /* Keep serving the group protocol (rebalances) while we wait. */
            rd_kafka_message_t *msg = rd_kafka_consumer_poll(ing->rk, left > 100 ? 100 : (int)left);
            if (msg)
                stray_message(ing, msg);
        }
        if (*ing->stop)
            return;
        backoff = backoff * 2 > ing->cfg->backoff_max_ms ? ing->cfg->backoff_max_ms : backoff * 2;
    }
    set_paused(ing, false);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    ingest *ing = opaque;
    atomic_fetch_add(&ing->m->rebalances, 1);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        csgp_log("info", "assigned %d partition(s)", parts->cnt);
        ing->paused = false; /* a fresh assignment starts unpaused */
        atomic_store(&ing->m->paused, 0);
        rd_kafka_topic_partition_list_destroy(ing->seek_back);
        ing->seek_back = rd_kafka_topic_partition_list_new(8);
        rd_kafka_assign(rk, parts);
        atomic_store(&ing->m->assigned, parts->cnt);
        return;
    }
    /* Revoke: commit what we hold before the partitions move; if the DB cannot take it
     * now, leave it uncommitted — the next owner reads it again. */
    if (ing->b.nmsgs && batch_try(ing) != 0) {
        csgp_log("warn", "rebalance: batch of %zu left uncommitted for the next owner",
                 ing->b.nmsgs);
        batch_clear(ing);
    }
    csgp_log("info", "revoked %d partition(s)", parts->cnt);
    rd_kafka_assign(rk, NULL);
    ing->paused = false;
    atomic_store(&ing->m->paused, 0);
    atomic_store(&ing->m->assigned, 0);
}

static void update_lag(ingest *ing)
{
    int64_t now = csg_now_ms_int();
    if (now - ing->last_lag_ms < 1000)
        return;
    ing->last_lag_ms = now;
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(ing->rk, &parts) || !parts)
        return;
    rd_kafka_position(ing->rk, parts);
    int64_t lag = 0;
    for (int i = 0; i < parts->cnt; i++) {
        int64_t lo, hi;
        if (rd_kafka_get_watermark_offsets(ing->rk, parts->elems[i].topic,
                                           parts->elems[i].partition, &lo, &hi) ||
            hi < 0)
            continue;
        int64_t pos = parts->elems[i].offset >= 0 ? parts->elems[i].offset : lo;
        if (hi > pos)
            lag += hi - pos;
    }
    atomic_store(&ing->m->lag, lag);
    rd_kafka_topic_partition_list_destroy(parts);
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    /* Connection failures arrive through error_cb too (throttled there). */
    if (!strcmp(fac, "FAIL"))
        return;
    csgp_log(level <= 3 ? "error" : level <= 5 ? "warn" : "info", "librdkafka %s: %s", fac, buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    /* Served on the main thread (consumer poll): a broker that stays down would repeat
     * the same error every reconnect; say it once per 30 s. */
    static int last_err;
    static int64_t last_ms;
    int64_t now = csg_now_ms_int();
    if (err == last_err && now - last_ms < 30000)
        return;
    last_err = err;
    last_ms = now;
    csgp_log(err == RD_KAFKA_RESP_ERR__FATAL ? "error" : "warn", "kafka: %s: %s",
             rd_kafka_err2name(err), reason);
}

static int set(rd_kafka_conf_t *c, const char *k, const char *v, csg_error *err)
{
    char es[256];
    if (rd_kafka_conf_set(c, k, v, es, sizeof es) != RD_KAFKA_CONF_OK)
        return csg_fail(err, CSG_EINVAL, "kafka config %s=%s: %s", k,
                         csg_kafka_sec_is_secret(k) ? "(secret)" : v, es);
    return 0;
}

/* The --kafka-conf security settings, the same for the consumer and the DLQ producer. */
static int set_security(rd_kafka_conf_t *c, const csgp_ingest_cfg *cfg, csg_error *err)
{
    for (size_t i = 0; i < cfg->n_kafka_conf; i++)
        if (set(c, cfg->kafka_conf[2 * i], cfg->kafka_conf[2 * i + 1], err))
            return -CSG_EINVAL;
    return 0;
}

static int make_clients(ingest *ing, csg_error *err)
{
    const csgp_ingest_cfg *cfg = ing->cfg;
    char es[512], num[32];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    int hb = cfg->session_timeout_ms / 3 < 3000 ? cfg->session_timeout_ms / 3 : 3000;
    snprintf(num, sizeof num, "%d", cfg->session_timeout_ms);
    char hbs[32];
    snprintf(hbs, sizeof hbs, "%d", hb < 100 ? 100 : hb);
    if (set(c, "bootstrap.servers", cfg->brokers, err) || set(c, "group.id", cfg->group, err) ||
        set(c, "client.id", "csg-persist", err) || set(c, "enable.auto.commit", "false", err) ||
        set(c, "enable.auto.offset.store", "false", err) ||
        set(c, "auto.offset.reset", "earliest", err) || set(c, "session.timeout.ms", num, err) ||
        set(c, "heartbeat.interval.ms", hbs, err) || set(c, "fetch.wait.max.ms", "50", err) ||
        set(c, "enable.partition.eof", "false", err) ||
        /* notice a topic created after start-up within seconds, not minutes */
        set(c, "topic.metadata.refresh.interval.ms", "10000", err) ||
        set_security(c, cfg, err)) {
        rd_kafka_conf_destroy(c);
        return -CSG_EINVAL;
    }
    rd_kafka_conf_set_opaque(c, ing);
    rd_kafka_conf_set_rebalance_cb(c, rebalance_cb);
    rd_kafka_conf_set_log_cb(c, log_cb);
    rd_kafka_conf_set_error_cb(c, error_cb);
    ing->rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, es, sizeof es);
    if (!ing->rk) {
        rd_kafka_conf_destroy(c);
        return csg_fail(err, CSGP_EKAFKA, "kafka consumer: %s", es);
    }
    rd_kafka_poll_set_consumer(ing->rk);

    rd_kafka_conf_t *p = rd_kafka_conf_new();
    if (set(p, "bootstrap.servers", cfg->brokers, err) || set(p, "client.id", "csg-persist-dlq", err) ||
        set(p, "acks", "all", err) || set(p, "enable.idempotence", "true", err) ||
        set(p, "linger.ms", "5", err) || set(p, "message.timeout.ms", "30000", err) ||
        set_security(p, cfg, err)) {
        rd_kafka_conf_destroy(p);
        return -CSG_EINVAL;
    }
    rd_kafka_conf_set_opaque(p, ing);
    rd_kafka_conf_set_dr_msg_cb(p, dlq_dr_cb);
    rd_kafka_conf_set_log_cb(p, log_cb);
    ing->dlq_rk = rd_kafka_new(RD_KAFKA_PRODUCER, p, es, sizeof es);
    if (!ing->dlq_rk) {
        rd_kafka_conf_destroy(p);
        return csg_fail(err, CSGP_EKAFKA, "kafka DLQ producer: %s", es);
    }
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, cfg->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(ing->rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e)
        return csg_fail(err, CSGP_EKAFKA, "subscribe %s: %s", cfg->topic, rd_kafka_err2str(e));
    return 0;
}

/* Gather up to batch_max messages: wait for the first, then at most batch_ms more. */
static void batch_collect(ingest *ing)
{
    batch *b = &ing->b;
    int64_t deadline = 0;
    while (!*ing->stop && b->nmsgs < (size_t)ing->cfg->batch_max) {
        int timeout = 200;
        if (b->nmsgs) {
            int64_t left = deadline - csg_now_ms_int();
            if (left <= 0)
                break;
            timeout = (int)left;
        }
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(ing->rk, timeout);
        if (!msg) {
            if (!b->nmsgs)
                return; /* idle: let the caller check stop and refresh the lag gauge */
            continue;
        }
        if (msg->err) {
            int64_t now = csg_now_ms_int();
            if (now - ing->last_topic_warn_ms > 30000) {
                ing->last_topic_warn_ms = now;
                csgp_log("warn", "consumer: %s", rd_kafka_message_errstr(msg));
            }
            rd_kafka_message_destroy(msg);
            continue;
        }
        atomic_fetch_add(&ing->m->consumed, 1);
        b->msgs[b->nmsgs++] = msg;
        if (b->nmsgs == 1)
            deadline = csg_now_ms_int() + ing->cfg->batch_ms;
    }
}

int csgp_ingest_run(csgp_db *db, const csgp_ingest_cfg *cfg, csgp_metrics *m,
                    volatile sig_atomic_t *stop, csg_error *err)
{
    ingest ing = {.db = db, .cfg = cfg, .m = m, .stop = stop};
    int rc = 0;
    size_t cap = (size_t)cfg->batch_max;
    ing.b.msgs = calloc(cap, sizeof *ing.b.msgs); // NOLINT(bugprone-sizeof-expression): an array of pointers
    ing.b.events = calloc(cap, sizeof *ing.b.events);
    ing.b.dlq = calloc(cap, sizeof *ing.b.dlq);
    ing.seek_back = rd_kafka_topic_partition_list_new(8);
    if (!ing.b.msgs || !ing.b.events || !ing.b.dlq) {
        rc = csg_fail(err, CSG_ENOMEM, "out of memory for a batch of %zu", cap);
        goto out;
    }
    if ((rc = make_clients(&ing, err)))
        goto out;
    csgp_db_set_interrupt(db, grace_over, &ing);
    atomic_store(&m->consuming, 1);
    csgp_log("info", "consuming %s as group %s from %s", cfg->topic, cfg->group, cfg->brokers);
    while (!*stop) {
        batch_collect(&ing);
        if (ing.b.nmsgs)
            batch_process(&ing);
        update_lag(&ing);
    }
    /* Shutdown: one last attempt at the batch in hand, within the grace period (the DB
     * hook abandons it after that); otherwise it stays uncommitted. */
    grace_over(&ing); /* starts the grace period now if no wait has seen the stop yet */
    if (ing.b.nmsgs && batch_try(&ing) != 0)
        csgp_log("warn", "shutdown: batch of %zu left uncommitted (re-read on restart)",
                 ing.b.nmsgs);
    batch_clear(&ing);
    rd_kafka_consumer_close(ing.rk);
out:
    csgp_db_set_interrupt(db, NULL, NULL); /* &ing goes out of scope */
    atomic_store(&m->consuming, 0);
    batch_clear(&ing);
    if (ing.rk)
        rd_kafka_destroy(ing.rk);
    if (ing.dlq_rk) {
        /* DLQ records still unacked belong to offsets that were not committed: they are
         * produced again after a restart, so waiting long for them buys nothing. */
        rd_kafka_flush(ing.dlq_rk, 1000);
        rd_kafka_purge(ing.dlq_rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_destroy(ing.dlq_rk);
    }
    rd_kafka_topic_partition_list_destroy(ing.seek_back);
    free(ing.b.msgs);
    free(ing.b.events);
    free(ing.b.dlq);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* NDJSON import                                                            */

static int import_flush(csgp_db *db, csgp_event *ev, size_t n, csgp_import_stats *st,
                        csg_error *err)
{
    size_t ins = 0;
    int rc = csgp_db_insert_events(db, ev, n, &ins, err);
    for (size_t i = 0; i < n; i++)
        csgp_event_release(&ev[i]);
    if (rc)
        return rc;
    st->inserted += ins;
    st->duplicates += n - ins;
    return 0;
}

int csgp_import(csgp_db *db, FILE *f, size_t batch_max, csgp_import_stats *st,
                csg_error *err)
{
    memset(st, 0, sizeof *st);
    csgp_event *ev = batch_max ? calloc(batch_max, sizeof *ev) : NULL;
    char *line = malloc(CSGP_MAX_MESSAGE_BYTES + 2);
    int rc = 0;
    size_t n = 0, lineno = 0; /* n: events parsed into ev and not yet flushed */
    if (!ev || !line) {
        rc = csg_fail(err, CSG_ENOMEM, "out of memory");
        goto out;
    }
    for (;;) {
        /* Bounded line read: longer lines are rejected, not buffered. */
        size_t len = 0;
        int c;
        bool too_long = false;
        while ((c = getc_unlocked(f)) != EOF && c != '\n') {
            if (len <= CSGP_MAX_MESSAGE_BYTES)
                line[len++] = (char)c;
            else
                too_long = true;
        }
        if (c == EOF && len == 0)
            break;
        st->lines++;
        lineno++;
        while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
            len--;
        if (len == 0 && !too_long) {
            st->lines--;
            continue;
        }
        csgp_reject why;
        if (too_long) {
            st->rejected++;
            fprintf(stderr, "line %zu: message too large (limit %d bytes)\n", lineno,
                    CSGP_MAX_MESSAGE_BYTES);
        } else if (csgp_event_parse(line, len, &ev[n], &why) != 0) {
            st->rejected++;
            if (st->rejected <= 50)
                fprintf(stderr, "line %zu: %s\n", lineno, why.reason);
        } else if (++n == batch_max) {
            if ((rc = import_flush(db, ev, n, st, err)))
                goto out;
            n = 0;
        }
        if (c == EOF)
            break;
    }
    /* EOF from a read error (EISDIR, EIO) is not the end of the data: fail
     * rather than report a short import as a success. */
    if (ferror(f)) {
        rc = csg_fail(err, CSG_EIO, "cannot read the input: %s", strerror(errno));
        goto out;
    }
    if (n)
        rc = import_flush(db, ev, n, st, err);
    n = 0;
out:
    for (size_t i = 0; ev && i < n; i++)
        csgp_event_release(&ev[i]);
    free(ev);
    free(line);
    return rc;
}
