/*
 * event_diff.h — the differential check of csg-persist's event scanner (issue 20): the
 * ingest path (csgp_event_parse: scanner, jansson where it declines) and the reference
 * path (csgp_event_parse_jansson) must give the same verdict, the same reject kind and
 * reason, and the same event bit for bit (doubles included). Used by test_event.c on
 * every case it has and by tests/fuzz/fuzz_persist_event_fast.c on its corpus.
 */
#ifndef CSGP_TEST_EVENT_DIFF_H
#define CSGP_TEST_EVENT_DIFF_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

/* The event without its heap parts (compared apart). */
static inline void event_diff_flat(const csgp_event *ev, csgp_event *flat)
{
    memcpy(flat, ev, sizeof *flat);
    flat->features = NULL;
    flat->chal = NULL;
}

/* NULL when both paths agree on json[0..len), else what differs (static text). */
static inline const char *event_diff(const char *json, size_t len)
{
    static csgp_event a, b; /* static: large, and zeroed padding for memcmp */
    csgp_reject wa = {0}, wb = {0};
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    int ra = csgp_event_parse(json, len, &a, &wa);
    int rb = csgp_event_parse_jansson(json, len, &b, &wb);
    const char *bad = NULL;
    if (ra != rb) {
        bad = "verdict";
    } else if (ra != 0) {
        if (strcmp(wa.kind, wb.kind) != 0 || strcmp(wa.reason, wb.reason) != 0)
            bad = "reject reason";
        return bad;
    } else {
        static csgp_event fa, fb;
        event_diff_flat(&a, &fa);
        event_diff_flat(&b, &fb);
        if (memcmp(&fa, &fb, sizeof fa) != 0)
            bad = "event fields";
        else if ((a.features == NULL) != (b.features == NULL) ||
                 (a.features && strcmp(a.features, b.features) != 0))
            bad = "features";
        else if (a.n_chal != b.n_chal ||
                 (a.n_chal > 0 && memcmp(a.chal, b.chal, (size_t)a.n_chal * sizeof *a.chal)))
            bad = "challengers";
    }
    if (ra == 0)
        csgp_event_release(&a);
    if (rb == 0)
        csgp_event_release(&b);
    return bad;
}

#endif /* CSGP_TEST_EVENT_DIFF_H */
