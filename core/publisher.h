/*
 * publisher.h — the publisher thread: drains the event queue, serialises
 * each MetricEvent and hands it to the configured sink (event_sink.h).
 *
 * Workers only push into the queue and, if the publisher is asleep, write
 * one eventfd to wake it; they never wait for it.
 */
#ifndef CSG_PUBLISHER_H
#define CSG_PUBLISHER_H

#include "csg/plugin.h"
#include "event_queue.h"
#include "event_sink.h"

typedef struct csg_publisher csg_publisher;

/* Pick the sink for cfg->sink ("kafka" or "file:PATH"), start the thread
 * and open the sink on it; fails (with the sink's message) when the sink
 * cannot be opened. The queue stays owned by the caller. */
int csg_publisher_start(csg_event_queue *q, const csg_sink_config *cfg, csg_publisher **out,
                        csg_error *err);

/* Any thread, after a successful push: wake the publisher if it sleeps. */
void csg_publisher_notify(csg_publisher *p);

/* Deliver everything still queued, close the sink (waiting at most
 * timeout_ms for it), join the thread and free. */
void csg_publisher_stop(csg_publisher *p, int timeout_ms);

/* Counters kept by the sink (read with atomic loads). */
const csg_sink_stats *csg_publisher_stats(const csg_publisher *p);

#endif /* CSG_PUBLISHER_H */
