/*
 * sink_kafka.c — the Kafka MetricEvent sink (placeholder until the Kafka
 * sink lands: opening it fails with a clear message).
 */
#include <stdio.h>

#include "event_sink.h"

static int kafka_open(const csg_sink_config *cfg, csg_sink_stats *stats, csg_sink **out,
                      csg_error *err)
{
    (void)cfg;
    (void)stats;
    (void)out;
    if (err)
        snprintf(err->message, sizeof err->message, "events.sink: kafka is not built yet");
    return -CSG_EINVAL;
}

const csg_sink_ops csg_sink_kafka_ops = {
    .name = "kafka",
    .open = kafka_open,
};
