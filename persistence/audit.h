/*
 * audit.h — the gateway's audit trail in csg-persist (DESIGN §7): records of topic
 * credit_score_audit, one per config version applied (start, reload, promote,
 * rollback), validated and stored in experiment_versions by a consumer thread of its
 * own (group <group>-audit, offsets committed after the row is stored, so records are
 * at-least-once and rows exactly-once by (config_version, applied_at, action)); and
 * GET /experiments, the versions with the metrics of the events each one served.
 */
#ifndef CSGP_AUDIT_H
#define CSGP_AUDIT_H

#include <jansson.h>
#include <stddef.h>

#include "db.h"

#define CSGP_AUDIT_TOPIC "credit_score_audit"

/* Validate one record (JSON text) and store it (a repeat is ignored). -CSG_EINVAL with
 * a reason in why for a bad record; -CSGP_EDB when the database failed. */
int csgp_audit_store(csgp_db *db, const char *json, size_t len, char *why, size_t why_cap,
                     csg_error *err);

typedef struct csgp_audit_consumer csgp_audit_consumer;

/* Start the consumer thread (its own database connection to db_url). */
int csgp_audit_start(const char *brokers, const char *group, const char *db_url,
                     csgp_audit_consumer **out, csg_error *err);
void csgp_audit_stop(csgp_audit_consumer *c);

/* GET /experiments: {"versions":[{audit fields…, "metrics":{…}, "srm":{…}}]} newest first
 * (only experiment_id's when it is not ""). */
int csgp_experiments_json(csgp_db *db, const char *experiment_id, json_t **out,
                          csg_error *err);

#endif
