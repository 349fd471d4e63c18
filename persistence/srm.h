/*
 * srm.h — sample-ratio mismatch (DESIGN §7): per challenger, among the distinct
 * applicants first seen under one config_version (srm_first_seen, filled at ingest in
 * the batch transaction), the share in its arm against the weight that version
 * configured (its audit record in experiment_versions; 1.0 under assignment all), with a
 * chi-square p-value; below CSGP_SRM_ALPHA the arm is flagged. Requests a guardrail held
 * off (status CHALLENGER_SUSPENDED) are not counted, nor applicants first seen outside
 * the version's schedule.
 */
#ifndef CSGP_SRM_H
#define CSGP_SRM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "event.h"

#define CSGP_SRM_ALPHA 0.001
#define CSGP_SRM_MAX_ARMS 16

/* Inside the ingest transaction, after the rows: record the arm of each fresh event's
 * applicant under its config_version unless already known (PostgreSQL reads the batch's
 * staging table csg_stage). */
int csgp_srm_add(csgp_db *db, const csgp_event *ev, const unsigned char *fresh, size_t n,
                 csg_error *err);

typedef struct csgp_srm_arm {
    char name[CSG_EVENT_NAME_MAX + 1];
    double expected, observed, p_value; /* observed/p_value NaN without applicants */
    int64_t applicants;                 /* in this arm */
    bool srm;
} csgp_srm_arm;

typedef struct csgp_srm_version {
    char config_version[CSG_EVENT_CONFIG_VERSION_LEN + 1];
    char experiment_id[CSG_EVENT_NAME_MAX + 1];
    char assignment[16];
    int64_t schedule_start_ms, schedule_end_ms; /* 0: open */
    bool ended;                                 /* its schedule's end has passed */
    int64_t applicants;                         /* counted under this version */
    int n_arms;
    csgp_srm_arm arms[CSGP_SRM_MAX_ARMS];
} csgp_srm_version;

/* The SRM of config_version cv (its audit record must be stored): 0 and *v; 1 when
 * there is no audit record for cv; <0 on a database error. */
int csgp_srm_of(csgp_db *db, const char *cv, csgp_srm_version *v, csg_error *err);

/* The latest applied version of each experiment (only experiment_id's when not ""),
 * newest first, at most cap: *n of them in out. */
int csgp_srm_latest(csgp_db *db, const char *experiment_id, csgp_srm_version *out, size_t cap,
                    size_t *n, csg_error *err);

/* v as JSON: {"config_version","experiment_id","assignment","applicants","ended",
 * "challengers":[{"challenger","expected_share","observed_share","applicants",
 * "srm_p_value","srm"}]}. */
json_t *csgp_srm_json(const csgp_srm_version *v);

/* /metrics/summary: the experiment's latest version's SRM as "srm" (csgp_srm_json) and
 * "experiment_status" (running | ended), and per challenger in "models" its
 * expected_share, observed_share, srm_p_value and srm. */
int csgp_srm_annotate(csgp_db *db, const char *experiment_id, json_t *summary, csg_error *err);

/* Prometheus lines of gauge csgp_srm{challenger} (1 when flagged) for every experiment's
 * latest version: malloc'd text in *out. */
int csgp_srm_gauges(csgp_db *db, char **out, csg_error *err);

/* SQL for the epoch milliseconds of timestamp column col on db's backend, into buf. */
const char *csgp_sql_epoch_ms(const csgp_db *db, const char *col, char *buf, size_t cap);

#endif
