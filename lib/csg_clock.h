/*
 * csg_clock.h — the one clock module: every component reads time through these
 * (the gateway, the transports' and rest.so's timeouts, csg-persist).
 *
 *  - csg_mono_ms: coarse monotonic milliseconds (a vDSO read, no syscall, ~1-4 ms
 *    resolution) for timeouts and back-off on the event loops; it does not jump when
 *    the wall clock is stepped.
 *  - csg_now_ms / csg_now_ms_int: precise monotonic milliseconds, fractional (for
 *    latencies with sub-ms precision, DESIGN §6) or whole (deadlines: csg_request's
 *    deadline_ms is on this clock).
 *  - csg_wall_ms: the wall clock (CLOCK_REALTIME) in ms since the epoch, for
 *    timestamps only — never for measuring time.
 *
 * Header-only, no includes beyond the C library.
 */
#ifndef CSG_CLOCK_H
#define CSG_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t csg_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline double csg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline int64_t csg_now_ms_int(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t csg_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif /* CSG_CLOCK_H */
