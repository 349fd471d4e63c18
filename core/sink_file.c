/*
 * sink_file.c — `events.sink: file:PATH`: MetricEvents appended as NDJSON.
 *
 * For debugging and tests: writes go through stdio and are flushed at every
 * poll (after each drained batch and when idle), so a reader sees an event
 * within one batch. Delivered = flushed to the file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_sink.h"

struct csg_sink {
    FILE *f;
    char *path;
    csg_sink_stats *stats;
    uint64_t pending; /* written, not yet flushed */
    int failing;      /* to log a write error once, not per event */
};

static int file_open(const csg_sink_config *cfg, csg_sink_stats *stats, csg_sink **out,
                     csg_error *err)
{
    const char *path = cfg->sink + 5; /* after "file:" */
    csg_sink *s = calloc(1, sizeof *s);
    if (!s)
        return -CSG_ENOMEM;
    s->path = strdup(path);
    s->f = fopen(path, "a");
    if (!s->f || !s->path) {
        if (err)
            snprintf(err->message, sizeof err->message, "events.sink: cannot open %s: %s", path,
                     strerror(errno));
        if (s->f)
            fclose(s->f);
        free(s->path);
        free(s);
        return -CSG_EIO;
    }
    setvbuf(s->f, NULL, _IOFBF, 1 << 16);
    s->stats = stats;
    *out = s;
    return 0;
}

static int file_write(csg_sink *s, const char *json, size_t len, const char *key, size_t key_len)
{
    (void)key;
    (void)key_len;
    if (fwrite(json, 1, len, s->f) != len || fputc('\n', s->f) == EOF) {
        atomic_fetch_add(&s->stats->failed, 1);
        return -CSG_EIO;
    }
    s->pending++;
    atomic_fetch_add(&s->stats->unacked, 1);
    return 0;
}

static void file_poll(csg_sink *s, int timeout_ms)
{
    (void)timeout_ms;
    if (!s->pending)
        return;
    uint64_t n = s->pending;
    s->pending = 0;
    atomic_fetch_sub(&s->stats->unacked, (int64_t)n);
    if (fflush(s->f) != 0) {
        atomic_fetch_add(&s->stats->failed, n);
        clearerr(s->f);
        return;
    }
    atomic_fetch_add(&s->stats->delivered, n);
}

static void file_close(csg_sink *s, int timeout_ms)
{
    if (!s)
        return;
    file_poll(s, timeout_ms);
    fclose(s->f);
    free(s->path);
    free(s);
}

const csg_sink_ops csg_sink_file_ops = {
    .name = "file",
    .open = file_open,
    .write = file_write,
    .poll = file_poll,
    .close = file_close,
};
