/*
 * util.h — small helpers shared by the core: a per-thread PRNG,
 * UUIDv4, a stable string hash and shortest round-trip double formatting.
 */
#ifndef CSG_UTIL_H
#define CSG_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The clocks (csg_now_ms, csg_now_ms_int, csg_wall_ms, csg_mono_ms) are lib/'s. */
#include "csg_clock.h"

/* Format epoch ms as RFC 3339 UTC with milliseconds: 2025-10-07T13:35:42.123Z.
 * buf must hold 25 bytes. */
void csg_format_rfc3339_ms(int64_t wall_ms, char buf[25]);

/* xoshiro256** — fast, per-thread (never shared, so no lock). */
typedef struct csg_rng {
    uint64_t s[4];
} csg_rng;

/* Seed from getrandom(); falls back to time and address bits. */
void csg_rng_seed(csg_rng *r);
uint64_t csg_rng_next(csg_rng *r);
/* Uniform double in [0, 1). */
double csg_rng_unit(csg_rng *r);

/* Random (version 4) UUID, lower case, 36 chars + NUL. */
void csg_uuid4(csg_rng *r, char out[37]);

/* Stable 64-bit hash of a ‖ 0x00 ‖ b (FNV-1a 64 followed by the murmur3
 * fmix64 finaliser so that the high bits are well mixed). Part of the
 * assignment contract: changing it reshuffles every applicant. */
uint64_t csg_hash2(const char *a, size_t alen, const char *b, size_t blen);
/* Map a 64-bit hash to [0, 1) using its top 53 bits. */
double csg_hash_unit(uint64_t h);

/* Shortest "%.{15,16,17}g" text that parses back to exactly d (d finite).
 * Returns the length written (buf should hold 32 bytes). */
int csg_format_double(double d, char *buf, size_t cap);

/* Make the calling thread background work (SCHED_BATCH, same nice level): it
 * keeps its fair share of the CPU but never preempts a running worker when it
 * wakes, so publishing an event cannot delay a reply on a shared core.
 * Best effort: returns false if the kernel refused. */
bool csg_thread_background(void);

/* strdup that returns NULL for NULL. */
char *csg_strdup(const char *s);

#endif /* CSG_UTIL_H */
