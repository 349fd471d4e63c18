/*
 * audit.c — see audit.h.
 */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_guard.h"
#include "jsonw.h"
#include "log.h"
#include "util.h"

#define RECORD_MAX 16384

struct csg_audit {
    rd_kafka_t *rk; /* sink kafka */
    char *path;     /* sink file:PATH → PATH.audit */
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk, (void)opaque;
    if (m->err)
        csg_log(CSG_LOG_ERROR, "audit", "audit record not delivered to %s: %s", CSG_AUDIT_TOPIC,
                rd_kafka_err2str(m->err));
}

csg_audit *csg_audit_open(const csg_config *cfg, csg_error *err)
{
    csg_audit *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err->message, sizeof err->message, "out of memory");
        return NULL;
    }
    if (!strncmp(cfg->sink, "file:", 5)) {
        size_t n = strlen(cfg->sink + 5) + sizeof ".audit";
        a->path = malloc(n);
        if (!a->path) {
            free(a);
            snprintf(err->message, sizeof err->message, "out of memory");
            return NULL;
        }
        snprintf(a->path, n, "%s.audit", cfg->sink + 5);
        return a;
    }
    char es[400];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* message.timeout.ms 0: retried for as long as the gateway runs. */
    static const char *const kv[][2] = {
        {"enable.idempotence", "true"}, {"acks", "all"},         {"linger.ms", "0"},
        {"message.timeout.ms", "0"},    {"client.id", "csg-gateway-audit"}, {"log_level", "3"},
    };
    if (rd_kafka_conf_set(conf, "bootstrap.servers", cfg->kafka_brokers, es, sizeof es) !=
        RD_KAFKA_CONF_OK)
        goto bad;
    for (size_t i = 0; i < sizeof kv / sizeof *kv; i++)
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], es, sizeof es) != RD_KAFKA_CONF_OK)
            goto bad;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    a->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, es, sizeof es);
    if (!a->rk)
        goto bad; /* conf is still ours */
    return a;
bad:
    rd_kafka_conf_destroy(conf);
    snprintf(err->message, sizeof err->message, "audit producer: %s", es);
    free(a);
    return NULL;
}

static void applied_by_default(char *buf, size_t cap)
{
    char host[256] = "?";
    gethostname(host, sizeof host - 1);
    const struct passwd *pw = getpwuid(geteuid());
    snprintf(buf, cap, "csg-gateway:%s@%s", pw ? pw->pw_name : "?", host);
}

static void iso(csg_jsonw *w, int64_t ms)
{
    char ts[25];
    if (!ms) {
        csg_jsonw_lit(w, "null");
        return;
    }
    csg_format_rfc3339_ms(ms, ts);
    csg_jsonw_str(w, ts);
}

size_t csg_audit_record(const csg_config *cfg, const char *action, const char *applied_by,
                        const char *summary, long long applied_at_ms, char *buf, size_t cap)
{
    static const char *const assignment[] = {"hash", "random", "all"};
    csg_jsonw w = {buf, cap, 0};
    char by[400], sum[1024];
    if (!applied_by || !*applied_by) {
        applied_by_default(by, sizeof by);
        applied_by = by;
    }
    if (!summary || !*summary) {
        size_t n = (size_t)snprintf(sum, sizeof sum, "%s: champion %s", action,
                                    cfg->champion.name);
        for (size_t i = 0; i < cfg->n_challengers && n < sizeof sum; i++)
            n += (size_t)snprintf(sum + n, sizeof sum - n, "%s%s %.4g", i ? ", " : "; challengers ",
                                  cfg->challengers[i].name, cfg->challengers[i].weight);
        summary = sum;
    }
    csg_jsonw_lit(&w, "{\"config_version\":");
    csg_jsonw_str(&w, cfg->version);
    csg_jsonw_lit(&w, ",\"applied_at\":");
    iso(&w, applied_at_ms);
    csg_jsonw_lit(&w, ",\"applied_by\":");
    csg_jsonw_str(&w, applied_by);
    csg_jsonw_lit(&w, ",\"action\":");
    csg_jsonw_str(&w, action);
    csg_jsonw_lit(&w, ",\"experiment_id\":");
    csg_jsonw_str(&w, cfg->experiment_id);
    csg_jsonw_lit(&w, ",\"assignment\":");
    csg_jsonw_str(&w, (unsigned)cfg->assignment < 3 ? assignment[cfg->assignment] : "hash");
    csg_jsonw_lit(&w, ",\"champion\":");
    csg_jsonw_str(&w, cfg->champion.name);
    csg_jsonw_lit(&w, ",\"challengers\":[");
    for (size_t i = 0; i < cfg->n_challengers; i++) {
        const csg_cfg_model *m = &cfg->challengers[i];
        csg_jsonw_lit(&w, i ? ",{\"name\":" : "{\"name\":");
        csg_jsonw_str(&w, m->name);
        csg_jsonw_lit(&w, ",\"weight\":");
        csg_jsonw_double(&w, m->weight);
        csg_jsonw_lit(&w, m->mode == CSG_MODE_LIVE ? ",\"mode\":\"live\"" : ",\"mode\":\"shadow\"");
        /* ranges: null = the list-order slices (no `ranges:` key) */
        csg_jsonw_lit(&w, ",\"ranges\":");
        if (m->has_ranges) {
            csg_jsonw_lit(&w, "[");
            for (unsigned r = 0; r < m->ranges.n; r++) {
                csg_jsonw_lit(&w, r ? ",[" : "[");
                csg_jsonw_double(&w, m->ranges.r[r].lo);
                csg_jsonw_lit(&w, ",");
                csg_jsonw_double(&w, m->ranges.r[r].hi);
                csg_jsonw_lit(&w, "]");
            }
            csg_jsonw_lit(&w, "]");
        } else {
            csg_jsonw_lit(&w, "null");
        }
        csg_jsonw_lit(&w, ",\"guardrail\":");
        csg_jsonw_lit(&w, m->guardrail.set ? "true" : "false");
        csg_jsonw_lit(&w, "}");
    }
    csg_jsonw_lit(&w, "],\"schedule\":");
    if (cfg->has_schedule) {
        csg_jsonw_lit(&w, "{\"start\":");
        iso(&w, cfg->schedule_start_ms);
        csg_jsonw_lit(&w, ",\"end\":");
        iso(&w, cfg->schedule_end_ms);
        csg_jsonw_lit(&w, "}");
    } else {
        csg_jsonw_lit(&w, "null");
    }
    csg_jsonw_lit(&w, ",\"summary\":");
    csg_jsonw_str(&w, summary);
    csg_jsonw_lit(&w, "}");
    return csg_jsonw_finish(&w);
}

static void append_file(const char *path, const char *text, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    bool ok = fd >= 0;
    /* One write of the whole line, so a reader never sees half a record. */
    ok = ok && write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    if (!ok)
        csg_log(CSG_LOG_ERROR, "audit", "%s: cannot append the audit record: %s", path,
                strerror(errno));
    if (fd >= 0)
        close(fd);
}

void csg_audit_publish(csg_audit *a, const csg_config *cfg, const char *action,
                       const char *applied_by, const char *summary)
{
    if (!a)
        return;
    char *buf = malloc(RECORD_MAX + 1);
    if (!buf) {
        csg_log(CSG_LOG_ERROR, "audit", "out of memory for the audit record");
        return;
    }
    size_t n = csg_audit_record(cfg, action, applied_by, summary, (long long)csg_wall_ms(), buf,
                                RECORD_MAX);
    if (n >= RECORD_MAX) {
        csg_log(CSG_LOG_ERROR, "audit", "audit record too long (%zu bytes); not published", n);
        free(buf);
        return;
    }
    if (a->path) {
        buf[n++] = '\n';
        append_file(a->path, buf, n);
    } else {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            a->rk, RD_KAFKA_V_TOPIC(CSG_AUDIT_TOPIC), RD_KAFKA_V_VALUE(buf, n),
            RD_KAFKA_V_KEY(cfg->experiment_id, strlen(cfg->experiment_id)),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e)
            csg_log(CSG_LOG_ERROR, "audit", "audit record not queued: %s", rd_kafka_err2str(e));
        rd_kafka_poll(a->rk, 0);
    }
    csg_log(CSG_LOG_INFO, "audit", "config_version %s applied (%s)", cfg->version, action);
    free(buf);
}

void csg_audit_close(csg_audit *a, int timeout_ms)
{
    if (!a)
        return;
    if (a->rk) {
        if (rd_kafka_flush(a->rk, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            /* Kafka unreachable at exit: do not hold the shutdown up; the next start
             * publishes the version it applies. */
            csg_log(CSG_LOG_WARN, "audit", "%d audit record(s) not delivered at exit",
                    rd_kafka_outq_len(a->rk));
            rd_kafka_purge(a->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            rd_kafka_poll(a->rk, 0);
        }
        rd_kafka_destroy(a->rk);
    }
    free(a->path);
    free(a);
}

/* The note beside config_path's real file into note (PATH_MAX + 16 bytes); false if the
 * config path does not resolve. */
static bool note_path(const char *config_path, char *note)
{
    char real[PATH_MAX];
    if (!realpath(config_path, real))
        return false;
    snprintf(note, PATH_MAX + 16, "%s%s", real, CSG_AUDIT_NOTE_SUFFIX);
    return true;
}

bool csg_audit_take_note(const char *config_path, char *action, size_t acap, char *applied_by,
                         size_t bcap, char *summary, size_t scap)
{
    char note[PATH_MAX + 16];
    if (!note_path(config_path, note))
        return false;
    json_error_t je;
    json_t *o = json_load_file(note, 0, &je);
    if (!o)
        return false;
    bool mine = json_integer_value(json_object_get(o, "pid")) == (json_int_t)getpid();
    const char *act = json_string_value(json_object_get(o, "action"));
    mine = mine && act && (!strcmp(act, "promote") || !strcmp(act, "rollback"));
    if (mine) {
        const char *by = json_string_value(json_object_get(o, "applied_by"));
        const char *sum = json_string_value(json_object_get(o, "summary"));
        snprintf(action, acap, "%s", act);
        snprintf(applied_by, bcap, "%s", by ? by : "");
        snprintf(summary, scap, "%s", sum ? sum : "");
    }
    json_decref(o);
    return mine;
}

void csg_audit_confirm_note(const char *config_path)
{
    char note[PATH_MAX + 16];
    if (note_path(config_path, note))
        unlink(note);
}
