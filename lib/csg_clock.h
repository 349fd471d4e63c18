/*
 * csg_clock.h — the one clock the transports' timeouts use.
 *
 * Coarse monotonic milliseconds: a vDSO read, no syscall, and timeouts do not
 * jump when the wall clock is stepped.
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

#endif /* CSG_CLOCK_H */
