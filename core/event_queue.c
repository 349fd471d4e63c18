/*
 * event_queue.c — see event_queue.h.
 */
#include "event_queue.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct cell {
    _Atomic size_t seq;
    void *item;
} cell;

struct csg_event_queue {
    /* Producers and the consumer each get their own cache line. */
    _Alignas(64) _Atomic size_t enqueue_pos;
    _Alignas(64) _Atomic size_t dequeue_pos;
    _Alignas(64) size_t mask;
    cell *cells;
};

csg_event_queue *csg_event_queue_new(size_t capacity)
{
    size_t cap = 2;
    while (cap < capacity)
        cap <<= 1;
    csg_event_queue *q = aligned_alloc(64, sizeof *q);
    if (!q)
        return NULL;
    q->cells = calloc(cap, sizeof(cell));
    if (!q->cells) {
        free(q);
        return NULL;
    }
    q->mask = cap - 1;
    for (size_t i = 0; i < cap; i++)
        atomic_init(&q->cells[i].seq, i);
    atomic_init(&q->enqueue_pos, 0);
    atomic_init(&q->dequeue_pos, 0);
    return q;
}

void csg_event_queue_free(csg_event_queue *q)
{
    if (!q)
        return;
    void *it;
    while ((it = csg_event_queue_pop(q)))
        free(it);
    free(q->cells);
    free(q);
}

size_t csg_event_queue_capacity(const csg_event_queue *q)
{
    return q->mask + 1;
}

bool csg_event_queue_push(csg_event_queue *q, void *item)
{
    size_t pos = atomic_load_explicit(&q->enqueue_pos, memory_order_relaxed);
    for (;;) {
        cell *c = &q->cells[pos & q->mask];
        size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        intptr_t diff = (intptr_t)seq - (intptr_t)pos;
        if (diff == 0) {
            if (atomic_compare_exchange_weak_explicit(&q->enqueue_pos, &pos, pos + 1,
                                                      memory_order_relaxed,
                                                      memory_order_relaxed)) {
                c->item = item;
                atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
                return true;
            }
            /* pos was reloaded by the failed CAS */
        } else if (diff < 0) {
            return false; /* the consumer has not freed this cell: full */
        } else {
            pos = atomic_load_explicit(&q->enqueue_pos, memory_order_relaxed);
        }
    }
}

void *csg_event_queue_pop(csg_event_queue *q)
{
    size_t pos = atomic_load_explicit(&q->dequeue_pos, memory_order_relaxed);
    cell *c = &q->cells[pos & q->mask];
    size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
    if ((intptr_t)seq - (intptr_t)(pos + 1) < 0)
        return NULL; /* empty (or a producer is mid-push on this cell) */
    void *item = c->item;
    atomic_store_explicit(&c->seq, pos + q->mask + 1, memory_order_release);
    atomic_store_explicit(&q->dequeue_pos, pos + 1, memory_order_relaxed);
    return item;
}

size_t csg_event_queue_depth(const csg_event_queue *q)
{
    size_t e = atomic_load_explicit(&q->enqueue_pos, memory_order_relaxed);
    size_t d = atomic_load_explicit(&q->dequeue_pos, memory_order_relaxed);
    return e > d ? e - d : 0;
}
