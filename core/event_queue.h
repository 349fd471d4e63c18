/*
 * event_queue.h — bounded lock-free multi-producer / single-consumer queue
 * of csg_event pointers between the workers and the publisher thread.
 *
 * Producers never block and never wait on each other for long: a push
 * claims a slot with one CAS, or fails at once when the queue is full (the
 * caller then drops and counts the event). Based on D. Vyukov's bounded
 * queue (a sequence number per cell).
 */
#ifndef CSG_EVENT_QUEUE_H
#define CSG_EVENT_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct csg_event_queue csg_event_queue;

/* capacity is rounded up to a power of two (at least 2). NULL on ENOMEM. */
csg_event_queue *csg_event_queue_new(size_t capacity);
/* Frees the queue; items still inside are freed with free(). */
void csg_event_queue_free(csg_event_queue *q);

size_t csg_event_queue_capacity(const csg_event_queue *q);
/* Any thread. false = full, the item was not taken. */
bool csg_event_queue_push(csg_event_queue *q, void *item);
/* Consumer thread only. NULL = empty. */
void *csg_event_queue_pop(csg_event_queue *q);
/* Approximate number of items (any thread). */
size_t csg_event_queue_depth(const csg_event_queue *q);

#endif /* CSG_EVENT_QUEUE_H */
