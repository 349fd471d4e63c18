/*
 * util.c — PRNG, UUIDv4, stable hash, double formatting.
 */
#include "util.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static void put_digits(char *p, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void csg_format_rfc3339_ms(int64_t wall_ms, char buf[25])
{
    time_t secs = (time_t)(wall_ms / 1000);
    unsigned ms = (unsigned)(wall_ms % 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    /* 2025-10-07T13:35:42.123Z, fixed width (years 0000-9999) */
    memcpy(buf, "0000-00-00T00:00:00.000Z", 25);
    put_digits(buf, (unsigned)(tm.tm_year + 1900) % 10000, 4);
    put_digits(buf + 5, (unsigned)tm.tm_mon + 1, 2);
    put_digits(buf + 8, (unsigned)tm.tm_mday, 2);
    put_digits(buf + 11, (unsigned)tm.tm_hour, 2);
    put_digits(buf + 14, (unsigned)tm.tm_min, 2);
    put_digits(buf + 17, (unsigned)tm.tm_sec, 2);
    put_digits(buf + 20, ms, 3);
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void csg_rng_seed(csg_rng *r)
{
    uint64_t seed[4];
    if (getrandom(seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)r;
        for (int i = 0; i < 4; i++)
            seed[i] = splitmix64(&x);
    }
    memcpy(r->s, seed, sizeof seed);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
        r->s[0] = 1; /* the all-zero state is a fixed point */
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t csg_rng_next(csg_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double csg_rng_unit(csg_rng *r)
{
    return (double)(csg_rng_next(r) >> 11) * 0x1.0p-53;
}

void csg_uuid4(csg_rng *r, char out[37])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t b[16];
    uint64_t a = csg_rng_next(r), c = csg_rng_next(r);
    memcpy(b, &a, 8);
    memcpy(b + 8, &c, 8);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
}

uint64_t csg_hash2(const char *a, size_t alen, const char *b, size_t blen)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < alen; i++) {
        h ^= (unsigned char)a[i];
        h *= 0x100000001b3ull;
    }
    h ^= 0; /* separator byte, so ("ab","c") and ("a","bc") differ */
    h *= 0x100000001b3ull;
    for (size_t i = 0; i < blen; i++) {
        h ^= (unsigned char)b[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

double csg_hash_unit(uint64_t h)
{
    return (double)(h >> 11) * 0x1.0p-53;
}

char *csg_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

bool csg_thread_background(void)
{
    struct sched_param sp = {.sched_priority = 0};
    return pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp) == 0;
}
