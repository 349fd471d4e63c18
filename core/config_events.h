/*
 * config_events.h — the `events:` keys that are more than flat options (DESIGN §3):
 * `pseudonymize_applicant_id: {key_file}` and `kafka_security: {KEY: VALUE}` (the
 * librdkafka security settings of lib/csg_kafka_sec.h).
 */
#ifndef CSG_CONFIG_EVENTS_H
#define CSG_CONFIG_EVENTS_H

#include "config_walk.h"

/* Read the keys core_block left in k for "events" into x->c, reporting any other key. */
void csg_config_events_extra(vctx *x, cw_keys *k);
/* Free what csg_config_events_extra put into c. */
void csg_config_events_free(csg_config *c);
/* True when a and b differ in these keys (a reload cannot apply that). */
bool csg_config_events_differ(const csg_config *a, const csg_config *b);

#endif /* CSG_CONFIG_EVENTS_H */
