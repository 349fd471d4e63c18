/*
 * report.h — csg-replay's report: what was replayed, the candidate's latency, divergence
 * from the stored champion answers, and the outcome comparison (ΔAUC with DeLong's CI,
 * swap sets, PSI) computed by lib/csg_outcome_stats — the implementation behind
 * csg-persist's /metrics/performance — over the same population: each applicant's latest
 * replayed event where both models answered OK and the outcome is known (DESIGN §10).
 */
#ifndef CSG_REPLAY_REPORT_H
#define CSG_REPLAY_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "csg_error.h"

/* One replayed application. */
typedef struct rp_row {
    const char *applicant_id; /* copied by rp_report_add */
    int64_t timestamp_ms, id; /* the stored event's (latest-per-applicant order) */
    bool champion_ok, candidate_ok;
    double s_champion, s_candidate;
    signed char d_champion, d_candidate; /* 1 approve, 0 decline, -1 none */
    signed char defaulted;               /* 1, 0, or -1 without an outcome */
    int candidate_status;                /* 0 OK, 1 error, 2 timeout (csg_score_status) */
    double latency_ms;                   /* the candidate's, when it answered */
} rp_row;

typedef struct rp_report rp_report;

rp_report *rp_report_new(void);
void rp_report_free(rp_report *r);
/* 0 or -CSG_ENOMEM. */
int rp_report_add(rp_report *r, const rp_row *row);
/* Rows that could not be replayed (stored features the config's schema refuses). */
void rp_report_skip(rp_report *r, const char *applicant_id, const char *why);
size_t rp_report_rows(const rp_report *r);

/* Run facts the report carries. */
typedef struct rp_meta {
    const char *experiment_id, *source_experiment, *champion, *candidate, *config_version;
    const char *stopped; /* NULL: complete; else why it stopped early */
    double elapsed_s;
} rp_meta;

/* The whole report as JSON (new reference); NULL without memory (err). */
json_t *rp_report_json(const rp_report *r, const rp_meta *m, csg_error *err);
/* The people's version of rp_report_json's object. */
void rp_report_print(const json_t *rep, FILE *out);

#endif /* CSG_REPLAY_REPORT_H */
