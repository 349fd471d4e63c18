/* fuzz_persist_event_fast.c — libFuzzer target for csg-persist's event scanner
 * (persistence/event_scan.c, issue 20): the ingest path reads the usual MetricEvent
 * without jansson, and must decide every input exactly as the jansson reference does.
 *
 * Oracle (tests/persist/unit/event_diff.h): csgp_event_parse and
 * csgp_event_parse_jansson give the same verdict, the same reject kind and reason, and
 * the same event bit for bit. Its corpus is its own seeds plus persist_event's. */
#include <stdint.h>

#include "event_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (event_diff((const char *)data, size))
        __builtin_trap();
    return 0;
}
