/* rollup_private.h — the rollup accumulator's layout, shared by the counting code
 * (rollup.c) and the SQL writer (rollup_write.c); nothing else includes it. */
#ifndef CSGP_ROLLUP_PRIVATE_H
#define CSGP_ROLLUP_PRIVATE_H

#include "rollup.h"
#include "sketch.h"

/* T_P*: the per-challenger rollups (rollup_pairs.c), after the six of every event: those
 * of migration 050, then those of 075 (segments, reasons, feature bins per arm). */
enum { T_COUNTS, T_LATENCY, T_SCORES, T_SEGMENTS, T_REASONS, T_FEATURES, T_PCOUNTS, T_PLATENCY,
       T_PSCORES, T_PSEGMENTS, T_PREASONS, T_PFEATURES, T_TABLES };
#define T_BASE T_PCOUNTS
#define T_MASK(t) (1u << (t))
#define MAX_STR 7
#define MAX_INT 3
#define MAX_VAL 22
#define MAX_DBL 2

#define COUNT_COLS                                                                         \
    "n", "with_challenger", "n_diff", "both_decided", "diverge", "both_approve",               \
        "both_decline", "champion_only_approve", "challenger_only_approve", "champion_decided", \
        "champion_approved", "challenger_decided", "challenger_approved", "challenger_answered", \
        "champion_declines", "champion_unlisted", "challenger_declines", "challenger_unlisted", \
        "both_declined_listed", "first_agree"

/* csgp_rollup_segment_values' columns, in its order. */
#define SEGMENT_COLS                                                                          \
    "n", "both_decided", "diverge", "champion_decided", "champion_approved",                  \
        "challenger_decided", "challenger_approved"

/* One table's layout: key columns (text, then integer) after res and t, then the summed
 * columns (bigint, then float8), then, for a sketch table, the column `sketch` (sketch.h:
 * the whole histogram of the key and period in one text value, merged on upsert). */
struct tspec {
    const char *name;
    int nstr, nint, nval, ndbl;
    const char *str[MAX_STR], *ints[MAX_INT], *val[MAX_VAL], *dbl[MAX_DBL];
    bool sketch;
};

/* Every table's layout, indexed by T_*. */
extern const struct tspec csgp_rollup_specs[T_TABLES];

typedef struct entry {
    int table;
    int32_t res;
    int64_t t;
    char *str[MAX_STR]; /* malloc'd copies */
    int32_t ints[MAX_INT];
    int64_t val[MAX_VAL];
    double dbl[MAX_DBL];
    csgp_sketch sk; /* a sketch table's histogram (latency buckets, score bins) */
    uint64_t hash;
    bool used;
} entry;

struct csgp_rollup {
    entry *e; /* open addressing, cap a power of two */
    size_t cap, n;
    unsigned only; /* T_MASK()s of the tables csgp_rollup_flush writes; 0: all */
    int64_t minute_from; /* epoch s: minute rows only for minutes from it (INT64_MAX: none) */
    bool minute_only;    /* count the minute level alone (migration 065's rebuild) */
};

/* Forget every entry (after a flush). */
void csgp_rollup_clear(csgp_rollup *r);
/* Flush only the tables in mask (T_MASK()s; 0: all): a rebuild of some tables counts with
 * the ingest code, which counts them all. */
void csgp_rollup_only(csgp_rollup *r, unsigned mask);

#endif
