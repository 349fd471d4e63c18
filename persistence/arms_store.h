/*
 * arms_store.h — the child table challenger_results (DESIGN §6/§7, issue 21): one row per
 * request and challenger, written in the ingest transaction for the events actually
 * inserted, read by every per-challenger metric through the view challenger_pairs.
 */
#ifndef CSGP_ARMS_STORE_H
#define CSGP_ARMS_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"
#include "event.h"

/* Store the challenger results of ev[i] where fresh[i] (inside the caller's transaction). */
int csgp_arms_add(csgp_db *db, const csgp_event *ev, const unsigned char *fresh, size_t n,
                  csg_error *err);

/* *multi: some request has more than one challenger result (assignment: all); its
 * per-challenger numbers then come from the rows (csgp_query.pairs). Uses the partial
 * index on ord > 0: one index probe. */
int csgp_arms_multi(csgp_db *db, bool *multi, csg_error *err);

#endif /* CSGP_ARMS_STORE_H */
