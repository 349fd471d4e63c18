/* fuzz_persist_event.c — libFuzzer target for csg-persist's MetricEvent
 * validation (persistence/event.c): every Kafka message goes through it
 * before it can reach the database or the DLQ. */
#include <stdint.h>
#include <string.h>

#include "event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    csgp_event ev;
    csgp_reject why;
    if (csgp_event_parse((const char *)data, size, &ev, &why) == 0) {
        /* Invariants the insert path relies on. */
        if (ev.event_id[0] == '\0' || ev.applicant_id[0] == '\0' ||
            strlen(ev.timestamp) != 24 || ev.credit_history < 0 ||
            (ev.has_champion_score && !(ev.champion_score >= 0 && ev.champion_score <= 1)))
            __builtin_trap();
    } else if (!why.kind || !memchr(why.reason, '\0', sizeof why.reason)) {
        __builtin_trap();
    }
    return 0;
}
