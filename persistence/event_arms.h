/*
 * event_arms.h — the MetricEvent's `decided_by` and `challengers` keys (issue 21;
 * rules in event.h), read for csgp_event_parse.
 */
#ifndef CSGP_EVENT_ARMS_H
#define CSGP_EVENT_ARMS_H

#include <jansson.h>

#include "event.h"
#include "event_scan.h"

/* Fill ev->decided_by_challenger, ev->n_chal and ev->chal (malloc'd) from the event's
 * decided_by and challengers values (an array of challengers is read from its jansson
 * node: the scanner's values never hold one), after the top-level keys were read. NULL
 * when fine, else the reason (into msg) and nothing allocated. */
const char *csgp_event_arms(const csgp_jv *decided_by, const csgp_jv *challengers,
                            csgp_event *ev, char *msg, size_t cap);

#endif /* CSGP_EVENT_ARMS_H */
