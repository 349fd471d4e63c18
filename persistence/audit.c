/*
 * audit.c — see audit.h.
 */
#include "audit.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonout.h"
#include "srm.h"
#include "util.h"

/* ------------------------------------------------------------------------ */
/* One record                                                               */

static bool name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > CSG_EVENT_NAME_MAX)
        return false;
    for (; *s; s++) /* printable ASCII without quote or backslash: the gateway's rule */
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e || *s == '"' || *s == '\\')
            return false;
    return true;
}

static const char *str(json_t *o, const char *k, size_t maxlen)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && strlen(s) <= maxlen && csgp_utf8_valid(s, strlen(s)) ? s : NULL;
}

/* A time field: canonical text into out ("" for null when allowed). */
static bool when(json_t *o, const char *k, bool nullable, char out[CSGP_TS_SIZE])
{
    json_t *v = json_object_get(o, k);
    out[0] = '\0';
    if (nullable && (!v || json_is_null(v)))
        return true;
    int64_t ms;
    const char *s = json_string_value(v);
    if (!s || csgp_parse_rfc3339(s, strlen(s), &ms) != 0)
        return false;
    csgp_format_ms(ms, out);
    return true;
}

#define BAD(...) (snprintf(why, why_cap, __VA_ARGS__), rc = -CSG_EINVAL)

int csgp_audit_store(csgp_db *db, const char *json, size_t len, char *why, size_t why_cap,
                     csg_error *err)
{
    json_error_t je;
    json_t *o = json_loadb(json, len, 0, &je);
    int rc = 0;
    if (!json_is_object(o)) {
        BAD("not a JSON object");
        goto out;
    }
    const char *cv = str(o, "config_version", 16), *by = str(o, "applied_by", 512);
    const char *action = str(o, "action", 16), *exp = str(o, "experiment_id", 64);
    const char *assign = str(o, "assignment", 15), *champ = str(o, "champion", 64);
    const char *summary = str(o, "summary", 4096);
    json_t *chal = json_object_get(o, "challengers"), *sched = json_object_get(o, "schedule");
    char at[CSGP_TS_SIZE], s0[CSGP_TS_SIZE] = "", s1[CSGP_TS_SIZE] = "";
    bool hex = cv && strlen(cv) == 16 && strspn(cv, "0123456789abcdef") == 16;
    if (!hex)
        BAD("\"config_version\" must be 16 lowercase hex characters");
    else if (!when(o, "applied_at", false, at))
        BAD("\"applied_at\" must be an RFC 3339 time");
    else if (!by || !summary)
        BAD("\"applied_by\" and \"summary\" must be strings");
    else if (!action || strcspn(action, " ") != strlen(action) ||
             (strcmp(action, "start") && strcmp(action, "reload") && strcmp(action, "promote") &&
              strcmp(action, "rollback")))
        BAD("\"action\" must be start, reload, promote or rollback");
    else if (!name_ok(exp) || !name_ok(champ))
        BAD("\"experiment_id\" and \"champion\" must be names");
    else if (!assign || (strcmp(assign, "hash") && strcmp(assign, "random") && strcmp(assign, "all")))
        BAD("\"assignment\" must be hash, random or all");
    else if (!json_is_array(chal) || json_array_size(chal) > CSGP_SRM_MAX_ARMS)
        BAD("\"challengers\" must be an array of at most %d", CSGP_SRM_MAX_ARMS);
    else if (sched && !json_is_null(sched) &&
             (!json_is_object(sched) || !when(sched, "start", true, s0) ||
              !when(sched, "end", true, s1)))
        BAD("\"schedule\" must be null or {\"start\",\"end\"} RFC 3339 times or nulls");
    size_t i;
    json_t *c;
    json_array_foreach(chal, i, c) {
        double w = json_number_value(json_object_get(c, "weight"));
        if (rc == 0 && (!name_ok(json_string_value(json_object_get(c, "name"))) ||
                        !json_is_number(json_object_get(c, "weight")) || w < 0 || w > 1))
            BAD("challengers[%zu] needs a \"name\" and a \"weight\" in [0, 1]", i);
    }
    if (rc)
        goto out;
    char *chal_text = json_dumps(chal, JSON_COMPACT);
    if (!chal_text) {
        rc = csg_fail(err, CSG_ENOMEM, "out of memory");
        goto out;
    }
    char ph[11][24];
    char sql[768];
    snprintf(sql, sizeof sql,
             "INSERT INTO experiment_versions (config_version, applied_at, applied_by, action, "
             "experiment_id, assignment, champion, challengers, schedule_start, schedule_end, "
             "summary) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) %s",
             csgp_db_ph(db, 1, NULL, ph[0], 24), csgp_db_ph(db, 2, "timestamptz", ph[1], 24),
             csgp_db_ph(db, 3, NULL, ph[2], 24), csgp_db_ph(db, 4, NULL, ph[3], 24),
             csgp_db_ph(db, 5, NULL, ph[4], 24), csgp_db_ph(db, 6, NULL, ph[5], 24),
             csgp_db_ph(db, 7, NULL, ph[6], 24), csgp_db_ph(db, 8, "jsonb", ph[7], 24),
             csgp_db_ph(db, 9, "timestamptz", ph[8], 24),
             csgp_db_ph(db, 10, "timestamptz", ph[9], 24), csgp_db_ph(db, 11, NULL, ph[10], 24),
             "ON CONFLICT DO NOTHING");
    csgp_param p[11] = {
        {.type = CSGP_P_TEXT, .text = cv},     {.type = CSGP_P_TEXT, .text = at},
        {.type = CSGP_P_TEXT, .text = by},     {.type = CSGP_P_TEXT, .text = action},
        {.type = CSGP_P_TEXT, .text = exp},    {.type = CSGP_P_TEXT, .text = assign},
        {.type = CSGP_P_TEXT, .text = champ},  {.type = CSGP_P_TEXT, .text = chal_text},
        {.type = s0[0] ? CSGP_P_TEXT : CSGP_P_NULL, .text = s0},
        {.type = s1[0] ? CSGP_P_TEXT : CSGP_P_NULL, .text = s1},
        {.type = CSGP_P_TEXT, .text = summary},
    };
    rc = csgp_db_exec(db, sql, p, 11, NULL, err);
    free(chal_text);
out:
    json_decref(o);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The consumer thread                                                      */

struct csgp_audit_consumer {
    rd_kafka_t *rk;
    csgp_db *db;
    pthread_t thread;
    atomic_bool stop;
};

static bool stopping(void *arg)
{
    return atomic_load(&((csgp_audit_consumer *)arg)->stop);
}

/* Store m until it is stored or judged bad (database errors are retried with back-off:
 * the offset is only committed after). */
static void handle(csgp_audit_consumer *c, const rd_kafka_message_t *m)
{
    char why[256] = "";
    csg_error err = {{0}};
    for (int64_t backoff = 100; !atomic_load(&c->stop); backoff = backoff < 5000 ? backoff * 2 : 5000) {
        int rc = csgp_audit_store(c->db, m->payload, m->len, why, sizeof why, &err);
        if (rc == -CSG_EINVAL) {
            csgp_log("warn", "audit record at %s[%d]@%lld skipped: %s", CSGP_AUDIT_TOPIC,
                     m->partition, (long long)m->offset, why);
            break;
        }
        if (rc == 0) {
            csgp_log("info", "audit record stored (%s[%d]@%lld)", CSGP_AUDIT_TOPIC, m->partition,
                     (long long)m->offset);
            break;
        }
        csgp_log("warn", "audit record not stored (%s); retrying", err.message);
        nanosleep(&(struct timespec){backoff / 1000, (backoff % 1000) * 1000000L}, NULL);
    }
    if (!atomic_load(&c->stop))
        rd_kafka_commit_message(c->rk, m, 0);
}

static void *run(void *arg)
{
    csgp_audit_consumer *c = arg;
    while (!atomic_load(&c->stop)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 200);
        if (!m)
            continue;
        if (!m->err)
            handle(c, m);
        else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            csgp_log("debug", "audit consumer: %s", rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

int csgp_audit_start(const char *brokers, const char *group, const char *const *kafka_conf,
                     size_t n_kafka_conf, const char *db_url, csgp_audit_consumer **out,
                     csg_error *err)
{
    csgp_audit_consumer *c = calloc(1, sizeof *c);
    if (!c)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    char es[512], gid[300];
    snprintf(gid, sizeof gid, "%s-audit", group);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    static const char *const kv[][2] = {
        {"client.id", "csg-persist-audit"},  {"enable.auto.commit", "false"},
        {"auto.offset.reset", "earliest"},   {"topic.metadata.refresh.interval.ms", "10000"},
        {"session.timeout.ms", "10000"},     {"log_level", "3"},
    };
    bool ok = rd_kafka_conf_set(conf, "bootstrap.servers", brokers, es, sizeof es) == RD_KAFKA_CONF_OK &&
              rd_kafka_conf_set(conf, "group.id", gid, es, sizeof es) == RD_KAFKA_CONF_OK;
    for (size_t i = 0; ok && i < sizeof kv / sizeof *kv; i++)
        ok = rd_kafka_conf_set(conf, kv[i][0], kv[i][1], es, sizeof es) == RD_KAFKA_CONF_OK;
    /* --kafka-conf (security.protocol, sasl.*, ssl.*), as the events consumer has them */
    for (size_t i = 0; ok && i < n_kafka_conf; i++)
        ok = rd_kafka_conf_set(conf, kafka_conf[2 * i], kafka_conf[2 * i + 1], es, sizeof es) ==
             RD_KAFKA_CONF_OK;
    if (ok)
        c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, es, sizeof es);
    if (!c->rk) {
        rd_kafka_conf_destroy(conf);
        free(c);
        return csg_fail(err, CSGP_EKAFKA, "audit consumer: %s", es);
    }
    rd_kafka_poll_set_consumer(c->rk);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, CSGP_AUDIT_TOPIC, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    int rc = e ? csg_fail(err, CSGP_EKAFKA, "subscribe %s: %s", CSGP_AUDIT_TOPIC,
                           rd_kafka_err2str(e))
               : csgp_db_open(db_url, "audit", &c->db, err);
    if (!rc) {
        csgp_db_set_interrupt(c->db, stopping, c);
        if (pthread_create(&c->thread, NULL, run, c) != 0)
            rc = csg_fail(err, CSG_EIO, "cannot start the audit consumer thread");
    }
    if (rc) {
        rd_kafka_destroy(c->rk);
        csgp_db_close(c->db);
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void csgp_audit_stop(csgp_audit_consumer *c)
{
    if (!c)
        return;
    atomic_store(&c->stop, true);
    pthread_join(c->thread, NULL);
    rd_kafka_consumer_close(c->rk);
    rd_kafka_destroy(c->rk);
    csgp_db_close(c->db);
    free(c);
}
