/*
 * audit.h — the audit trail of applied configurations (DESIGN §7): every
 * config version the gateway applies (at start, on reload, by promote or
 * rollback) is published as one JSON record
 *   {"config_version","applied_at","applied_by","action","experiment_id",
 *    "assignment","champion","challengers":[{"name","weight","mode","ranges"}],
 *    "schedule","summary"}
 * to the Kafka topic credit_score_audit (events.sink kafka) or appended to
 * PATH.audit (events.sink file:PATH), never into the events themselves.
 *
 * Main thread only: records are rare, so Kafka gets its own small producer
 * (idempotent, acks=all, retried by librdkafka until the gateway stops) and
 * the file is opened, appended and closed per record.
 */
#ifndef CSG_AUDIT_H
#define CSG_AUDIT_H

#include <stddef.h>

#include "config.h"

#define CSG_AUDIT_TOPIC "credit_score_audit"

typedef struct csg_audit csg_audit;

/* For cfg's events sink; NULL with err on failure. */
csg_audit *csg_audit_open(const csg_config *cfg, csg_error *err);
/* Publish cfg's record. action: start|reload|promote|rollback. applied_by
 * and summary may be NULL (filled in). Failures are logged, never fatal. */
void csg_audit_publish(csg_audit *a, const csg_config *cfg, const char *action,
                       const char *applied_by, const char *summary);
/* Deliver what is pending (at most timeout_ms) and free. */
void csg_audit_close(csg_audit *a, int timeout_ms);

/* The record's JSON text (no newline) into buf, snprintf semantics. */
size_t csg_audit_record(const csg_config *cfg, const char *action, const char *applied_by,
                        const char *summary, long long applied_at_ms, char *buf, size_t cap);

/* Promote/rollback leave a note for the gateway they signal, beside the
 * (symlink-resolved) config file: <real config>.action, JSON
 * {"pid","action","applied_by","summary"}. The gateway whose pid it names
 * takes it on its next reload (and removes it); anyone else ignores it. */
#define CSG_AUDIT_NOTE_SUFFIX ".action"
/* The gateway side: if config_path's note names this process, fill action,
 * applied_by and summary (caller's buffers) and return true; the note stays until
 * csg_audit_confirm_note, which the command waits for. */
bool csg_audit_take_note(const char *config_path, char *action, size_t acap, char *applied_by,
                         size_t bcap, char *summary, size_t scap);
/* Remove config_path's note: tells the waiting command that the reload was applied and its
 * audit record published (so call it after csg_audit_publish). */
void csg_audit_confirm_note(const char *config_path);

#endif /* CSG_AUDIT_H */
