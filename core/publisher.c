/*
 * publisher.c — see publisher.h.
 */
#include "publisher.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "log.h"
#include "util.h"

/* Events per drain before the sink gets a poll() (Kafka delivery reports,
 * file flush): bounds how stale the file sink can be under load. */
#define BATCH 1024
#define IDLE_WAIT_MS 100
/* After the queue runs empty the publisher naps BUSY_NAPS times for
 * BUSY_NAP_NS before it sleeps on the eventfd: events reach the sink at most
 * ~1 ms later, and a busy gateway never pays for wake-ups. */
#define BUSY_NAPS 3
#define BUSY_NAP_NS 1000000L

struct csg_publisher {
    csg_event_queue *q;
    const csg_sink_ops *ops;
    csg_sink *sink;
    csg_sink_stats stats;
    csg_sink_config cfg;
    pthread_t thread;
    int efd;
    _Atomic int sleeping;
    _Atomic int stop;
    int close_timeout_ms;
    /* start hand-shake */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open_state; /* 0 pending, 1 ok, -1 failed */
    csg_error open_err;
};

static size_t drain(csg_publisher *p, size_t max)
{
    char buf[CSG_EVENT_JSON_MAX];
    size_t n = 0;
    csg_event *e;
    while (n < max && (e = csg_event_queue_pop(p->q))) {
        if (p->cfg.pseudonym) /* here, off the workers: ~1 us of HMAC per event */
            csg_pseudonym_hex(p->cfg.pseudonym, e->applicant_id, strlen(e->applicant_id),
                              e->applicant_id);
        size_t len = csg_event_to_json(e, buf, sizeof buf);
        if (len < sizeof buf)
            p->ops->write(p->sink, buf, len, e->applicant_id, strlen(e->applicant_id));
        else
            atomic_fetch_add(&p->stats.failed, 1); /* cannot happen for valid events */
        free(e);
        n++;
    }
    return n;
}

static void *publisher_main(void *arg)
{
    csg_publisher *p = arg;
    csg_error err = {{0}};
    if (!csg_thread_background())
        csg_log(CSG_LOG_DEBUG, "publisher", "SCHED_BATCH refused; running as a normal thread");
    int rc = p->ops->open(&p->cfg, &p->stats, &p->sink, &err);
    pthread_mutex_lock(&p->mu);
    p->open_state = rc == 0 ? 1 : -1;
    p->open_err = err;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (rc != 0)
        return NULL;

    unsigned naps = 0;
    while (!atomic_load(&p->stop)) {
        if (drain(p, BATCH) > 0) {
            if (p->ops->poll)
                p->ops->poll(p->sink, 0);
            naps = 0;
            continue;
        }
        if (naps < BUSY_NAPS) {
            /* Empty, but recently busy: nap without announcing it, so the
             * workers do not write the eventfd. Under load the next batch is
             * waiting when we wake: one nanosleep per ~millisecond instead of
             * a write + poll + read and two context switches per event. */
            struct timespec ts = {0, BUSY_NAP_NS};
            nanosleep(&ts, NULL);
            naps++;
            continue;
        }
        /* Idle: announce the sleep, re-check (a push may have raced), sleep. */
        atomic_store(&p->sleeping, 1);
        atomic_thread_fence(memory_order_seq_cst);
        if (csg_event_queue_depth(p->q) == 0 && !atomic_load(&p->stop)) {
            struct pollfd pfd = {.fd = p->efd, .events = POLLIN};
            if (poll(&pfd, 1, IDLE_WAIT_MS) > 0) {
                uint64_t v;
                ssize_t r = read(p->efd, &v, sizeof v);
                (void)r;
            }
        }
        atomic_store(&p->sleeping, 0);
        if (p->ops->poll)
            p->ops->poll(p->sink, 0);
    }
    /* Shutdown: everything the workers managed to queue goes to the sink. */
    while (drain(p, BATCH) > 0)
        if (p->ops->poll)
            p->ops->poll(p->sink, 0);
    p->ops->close(p->sink, p->close_timeout_ms);
    p->sink = NULL;
    return NULL;
}

int csg_publisher_start(csg_event_queue *q, const csg_sink_config *cfg, csg_publisher **out,
                        csg_error *err)
{
    *out = NULL;
    const csg_sink_ops *ops;
    if (strcmp(cfg->sink, "kafka") == 0)
        ops = &csg_sink_kafka_ops;
    else if (strncmp(cfg->sink, "file:", 5) == 0)
        ops = &csg_sink_file_ops;
    else {
        if (err)
            snprintf(err->message, sizeof err->message, "events.sink: unknown sink \"%s\"",
                     cfg->sink);
        return -CSG_EINVAL;
    }
    csg_publisher *p = calloc(1, sizeof *p);
    if (!p)
        return -CSG_ENOMEM;
    p->q = q;
    p->ops = ops;
    p->cfg = *cfg;
    p->close_timeout_ms = 10000;
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (p->efd < 0) {
        if (err)
            snprintf(err->message, sizeof err->message, "eventfd: %s", strerror(errno));
        goto fail;
    }
    if (pthread_create(&p->thread, NULL, publisher_main, p) != 0) {
        if (err)
            snprintf(err->message, sizeof err->message, "cannot start the publisher thread");
        goto fail;
    }
    pthread_mutex_lock(&p->mu);
    while (p->open_state == 0)
        pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    if (p->open_state < 0) {
        pthread_join(p->thread, NULL);
        if (err)
            *err = p->open_err;
        goto fail;
    }
    *out = p;
    return 0;
fail:
    if (p->efd >= 0)
        close(p->efd);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
    return -CSG_EIO;
}

void csg_publisher_notify(csg_publisher *p)
{
    /* Pairs with the fence in publisher_main: either it sees our item or we
     * see it sleeping. The 100 ms poll bounds any miss anyway. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&p->sleeping, memory_order_relaxed) &&
        atomic_exchange(&p->sleeping, 0)) {
        uint64_t one = 1;
        ssize_t r = write(p->efd, &one, sizeof one);
        (void)r;
    }
}

void csg_publisher_stop(csg_publisher *p, int timeout_ms)
{
    if (!p)
        return;
    p->close_timeout_ms = timeout_ms;
    atomic_store(&p->stop, 1);
    uint64_t one = 1;
    ssize_t r = write(p->efd, &one, sizeof one);
    (void)r;
    pthread_join(p->thread, NULL);
    close(p->efd);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

const csg_sink_stats *csg_publisher_stats(const csg_publisher *p)
{
    return &p->stats;
}
