/*
 * test_event_queue.c — core/event_queue.c: FIFO, full → push fails at once
 * (the worker drops and counts), and several producers against one consumer
 * lose or duplicate nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "event_queue.h"

static void test_capacity_and_full(void **state)
{
    (void)state;
    static const struct {
        size_t asked, real;
    } caps[] = {{1, 2}, {16, 16}, {17, 32}, {1000, 1024}};
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
        csg_event_queue *q = csg_event_queue_new(caps[c].asked);
        assert_int_equal(csg_event_queue_capacity(q), caps[c].real);
        size_t dropped = 0;
        for (size_t i = 0; i < caps[c].real + 5; i++) {
            int *v = malloc(sizeof *v);
            *v = (int)i;
            if (!csg_event_queue_push(q, v)) {
                free(v);
                dropped++;
            }
        }
        assert_int_equal(dropped, 5);
        assert_int_equal(csg_event_queue_depth(q), caps[c].real);
        for (size_t i = 0; i < caps[c].real; i++) {
            int *v = csg_event_queue_pop(q);
            assert_non_null(v);
            assert_int_equal(*v, (int)i);
            free(v);
        }
        assert_null(csg_event_queue_pop(q));
        assert_int_equal(csg_event_queue_depth(q), 0);
        /* room again after draining */
        int *v = malloc(sizeof *v);
        assert_true(csg_event_queue_push(q, v));
        csg_event_queue_free(q); /* frees what is left */
    }
}

#define PRODUCERS 4
#define PER_PRODUCER 200000

typedef struct prod {
    csg_event_queue *q;
    unsigned id;
    unsigned long dropped;
} prod;

static _Atomic int finished;

static void *producer(void *arg)
{
    prod *p = arg;
    for (uintptr_t i = 0; i < PER_PRODUCER; i++) {
        uintptr_t v = ((uintptr_t)p->id << 32) | (i + 1);
        if (!csg_event_queue_push(p->q, (void *)v))
            p->dropped++; /* full: a worker drops and counts */
    }
    atomic_fetch_add(&finished, 1);
    return NULL;
}

static void test_mpsc(void **state)
{
    (void)state;
    csg_event_queue *q = csg_event_queue_new(1024);
    pthread_t th[PRODUCERS];
    prod ps[PRODUCERS];
    for (unsigned i = 0; i < PRODUCERS; i++) {
        ps[i] = (prod){q, i, 0};
        pthread_create(&th[i], NULL, producer, &ps[i]);
    }
    uintptr_t last[PRODUCERS] = {0};
    unsigned long got = 0;
    for (;;) {
        int all_done = atomic_load(&finished) == PRODUCERS; /* read before the pop */
        void *v = csg_event_queue_pop(q);
        if (!v) {
            if (all_done)
                break;
            continue;
        }
        uintptr_t id = (uintptr_t)v >> 32, seq = (uintptr_t)v & 0xffffffffu;
        assert_true(id < PRODUCERS);
        assert_true(seq > last[id]); /* per-producer order kept, no duplicates */
        last[id] = seq;
        got++;
    }
    unsigned long dropped = 0;
    for (unsigned i = 0; i < PRODUCERS; i++) {
        pthread_join(th[i], NULL);
        dropped += ps[i].dropped;
    }
    assert_int_equal(got + dropped, (unsigned long)PRODUCERS * PER_PRODUCER);
    assert_true(got > 0);
    csg_event_queue_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capacity_and_full),
        cmocka_unit_test(test_mpsc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
