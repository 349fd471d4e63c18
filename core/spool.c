/*
 * spool.c — see spool.h. Owns the segment files in spool_dir and their lock.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define SPOOL_MAGIC 0x31475343u /* "CSG1" read as a little-endian u32 */
#define READ_CHUNK (256u << 10)
#define SEG_PREFIX "seg-"
#define SEG_SUFFIX ".csgspool"

typedef struct seg {
    uint64_t id;
    uint64_t size;       /* bytes of whole records (what we wrote or found) */
    uint64_t read_off;   /* reader position */
    uint64_t counted_to; /* damage before this offset was already counted */
    uint64_t nread, nacked;
    bool sealed; /* no more appends (every segment but a live writer's) */
} seg;

struct csg_spool {
    char *dir;
    int lock_fd;
    uint64_t max_bytes, seg_bytes, bytes, next_id;
    seg *segs;
    size_t nsegs, cap;
    size_t cur; /* reader's segment index; == nsegs when there is none */
    int wfd;    /* appends go to segs[nsegs-1] when it is not sealed */
    int rfd;
    uint64_t rfd_id;
    char *rbuf; /* reader buffer: file bytes [rbuf_off, rbuf_off+rbuf_len) of rbuf_seg */
    size_t rcap, rbuf_len;
    uint64_t rbuf_seg, rbuf_off;
    char *wbuf;
    size_t wcap;
    uint64_t torn, corrupt, inflight;
};

/* ---------------------------------------------------------------- CRC-32 */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t csg_crc32(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc_once, crc_init);
    const uint8_t *p = data;
    crc = ~crc;
    while (len--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* --------------------------------------------------------------- helpers */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void seg_path(const csg_spool *sp, uint64_t id, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/" SEG_PREFIX "%016" PRIu64 SEG_SUFFIX, sp->dir, id);
}

/* mkdir -p */
static int make_dirs(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int cmp_seg(const void *a, const void *b)
{
    const seg *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int push_seg(csg_spool *sp, const seg *s)
{
    if (sp->nsegs == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 16;
        seg *n = realloc(sp->segs, cap * sizeof *n);
        if (!n)
            return -CSG_ENOMEM;
        sp->segs = n;
        sp->cap = cap;
    }
    sp->segs[sp->nsegs++] = *s;
    return 0;
}

static void close_writer(csg_spool *sp)
{
    if (sp->wfd >= 0) {
        /* Sealing is rare (every segment_bytes); make the finished segment
         * durable so a power cut does not tear more than the live one. */
        (void)fdatasync(sp->wfd);
        close(sp->wfd);
        sp->wfd = -1;
    }
    if (sp->nsegs)
        sp->segs[sp->nsegs - 1].sealed = true; // NOLINT(clang-analyzer-core.NullDereference): segs is allocated whenever nsegs > 0 (push_seg)
}

/* Delete every segment that is fully read and fully acknowledged. */
static void gc(csg_spool *sp)
{
    size_t i = 0;
    while (i < sp->nsegs) {
        seg *s = &sp->segs[i];
        if (!(s->read_off >= s->size && s->nacked >= s->nread)) {
            i++;
            continue;
        }
        bool live = !s->sealed;
        char path[4200];
        seg_path(sp, s->id, path, sizeof path);
        if (unlink(path) != 0 && errno != ENOENT) {
            /* Keep accounting honest: the bytes are still on disk. */
            csg_log(CSG_LOG_WARN, "spool", "cannot delete %s: %s", path, strerror(errno));
            i++;
            continue;
        }
        if (live && sp->wfd >= 0) {
            close(sp->wfd);
            sp->wfd = -1;
        }
        if (sp->rfd >= 0 && sp->rfd_id == s->id) {
            close(sp->rfd);
            sp->rfd = -1;
        }
        if (sp->rbuf_seg == s->id)
            sp->rbuf_len = 0;
        sp->bytes -= s->size;
        memmove(&sp->segs[i], &sp->segs[i + 1], (sp->nsegs - i - 1) * sizeof *s);
        sp->nsegs--;
        if (sp->cur > i)
            sp->cur--;
    }
}

/* ------------------------------------------------------------------ open */

int csg_spool_open(const char *dir, uint64_t max_bytes, uint64_t segment_bytes, csg_spool **out,
                   csg_error *err)
{
    int rc;
    DIR *d = NULL;
    csg_spool *sp = calloc(1, sizeof *sp);
    if (!sp)
        return -CSG_ENOMEM;
    sp->lock_fd = sp->wfd = sp->rfd = -1;
    sp->max_bytes = max_bytes;
    if (!segment_bytes) {
        segment_bytes = max_bytes / 8;
        if (segment_bytes < (64u << 10))
            segment_bytes = 64u << 10;
        if (segment_bytes > (16u << 20))
            segment_bytes = 16u << 20;
    }
    sp->seg_bytes = segment_bytes;
    sp->dir = strdup(dir);
    sp->rcap = CSG_SPOOL_MAX_RECORD + CSG_SPOOL_HEADER + READ_CHUNK;
    sp->rbuf = malloc(sp->rcap);
    sp->wcap = 4096;
    sp->wbuf = malloc(sp->wcap);
    if (!sp->dir || !sp->rbuf || !sp->wbuf) {
        rc = -CSG_ENOMEM;
        goto fail;
    }
    if (make_dirs(dir) != 0) {
        rc = csg_fail(err, CSG_EIO, "spool_dir %s: cannot create: %s", dir, strerror(errno));
        goto fail;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/LOCK", dir);
    sp->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (sp->lock_fd < 0) {
        rc = csg_fail(err, CSG_EIO, "spool_dir %s: cannot open LOCK: %s", dir, strerror(errno));
        goto fail;
    }
    if (flock(sp->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = csg_fail(err, CSG_EIO,
                     "spool_dir %s is in use by another process (%s); give each gateway its own",
                     dir, errno == EWOULDBLOCK ? "locked" : strerror(errno));
        goto fail;
    }
    d = opendir(dir);
    if (!d) {
        rc = csg_fail(err, CSG_EIO, "spool_dir %s: %s", dir, strerror(errno));
        goto fail;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        uint64_t id;
        int used = 0;
        size_t nl = strlen(de->d_name);
        if (nl <= strlen(SEG_SUFFIX) || strcmp(de->d_name + nl - strlen(SEG_SUFFIX), SEG_SUFFIX))
            continue;
        if (sscanf(de->d_name, SEG_PREFIX "%" SCNu64 "%n", &id, &used) != 1 ||
            (size_t)used != nl - strlen(SEG_SUFFIX))
            continue;
        struct stat st;
        seg_path(sp, id, path, sizeof path);
        if (stat(path, &st) != 0)
            continue;
        if (st.st_size == 0) {
            unlink(path);
            continue;
        }
        seg s = {.id = id, .size = (uint64_t)st.st_size, .sealed = true};
        if ((rc = push_seg(sp, &s)) != 0)
            goto fail;
        sp->bytes += s.size;
        if (id >= sp->next_id)
            sp->next_id = id + 1;
    }
    closedir(d);
    d = NULL;
    if (sp->next_id == 0)
        sp->next_id = 1;
    if (sp->nsegs > 1)
        qsort(sp->segs, sp->nsegs, sizeof *sp->segs, cmp_seg);
    *out = sp;
    return 0;
fail:
    if (d)
        closedir(d);
    csg_spool_close(sp);
    return rc;
}

/* ---------------------------------------------------------------- append */

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int new_segment(csg_spool *sp, csg_error *err)
{
    close_writer(sp);
    char path[4200];
    seg s = {.id = sp->next_id++};
    seg_path(sp, s.id, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return csg_fail(err, CSG_EIO, "spool: cannot create %s: %s", path, strerror(errno));
    int rc = push_seg(sp, &s);
    if (rc != 0) {
        close(fd);
        unlink(path);
        return rc;
    }
    sp->wfd = fd;
    return 0;
}

int csg_spool_append(csg_spool *sp, const void *key, size_t key_len, const void *val,
                     size_t val_len, csg_error *err)
{
    if (key_len > UINT16_MAX || val_len > CSG_SPOOL_MAX_RECORD ||
        2 + key_len + val_len > CSG_SPOOL_MAX_RECORD)
        return CSG_SPOOL_FULL;
    size_t body = 2 + key_len + val_len;
    size_t total = CSG_SPOOL_HEADER + body;
    if (sp->bytes + total > sp->max_bytes)
        return CSG_SPOOL_FULL;
    seg *last = sp->nsegs ? &sp->segs[sp->nsegs - 1] : NULL;
    if (!last || last->sealed || sp->wfd < 0 || last->size + total > sp->seg_bytes) {
        int rc = new_segment(sp, err);
        if (rc != 0)
            return rc;
        last = &sp->segs[sp->nsegs - 1];
    }
    if (total > sp->wcap) {
        size_t cap = sp->wcap;
        while (cap < total)
            cap *= 2;
        char *n = realloc(sp->wbuf, cap);
        if (!n)
            return -CSG_ENOMEM;
        sp->wbuf = n;
        sp->wcap = cap;
    }
    uint8_t *p = (uint8_t *)sp->wbuf;
    p[12] = (uint8_t)key_len;
    p[13] = (uint8_t)(key_len >> 8);
    if (key_len)
        memcpy(p + 14, key, key_len);
    if (val_len)
        memcpy(p + 14 + key_len, val, val_len);
    put32(p, SPOOL_MAGIC);
    put32(p + 4, (uint32_t)body);
    put32(p + 8, csg_crc32(0, p + 12, body));
    if (write_all(sp->wfd, p, total) != 0) {
        int e = errno;
        /* Cut a partial record off so the segment stays parseable. */
        if (ftruncate(sp->wfd, (off_t)last->size) != 0) {
            /* the reader stops at last->size anyway; a restart counts it torn */
        }
        close_writer(sp);
        return csg_fail(err, CSG_EIO, "spool: write to %s failed: %s", sp->dir, strerror(e));
    }
    last->size += total;
    sp->bytes += total;
    return 0;
}

/* ------------------------------------------------------------------ read */

/* Make file bytes [off, off+need) of s available; *p points at them.
 * 1 = ok, 0 = the file is shorter than that, -CSG_EIO = read error. */
static int fill(csg_spool *sp, seg *s, uint64_t off, size_t need, const uint8_t **p)
{
    if (sp->rbuf_len && sp->rbuf_seg == s->id && off >= sp->rbuf_off &&
        off + need <= sp->rbuf_off + sp->rbuf_len) {
        *p = (const uint8_t *)sp->rbuf + (off - sp->rbuf_off);
        return 1;
    }
    if (sp->rfd < 0 || sp->rfd_id != s->id) {
        if (sp->rfd >= 0)
            close(sp->rfd);
        char path[4200];
        seg_path(sp, s->id, path, sizeof path);
        sp->rfd = open(path, O_RDONLY | O_CLOEXEC);
        if (sp->rfd < 0) {
            csg_log(CSG_LOG_ERROR, "spool", "cannot open %s: %s", path, strerror(errno));
            return -CSG_EIO;
        }
        sp->rfd_id = s->id;
    }
    size_t want = need > READ_CHUNK ? need : READ_CHUNK;
    if (want > s->size - off)
        want = (size_t)(s->size - off);
    if (want < need)
        want = need;
    size_t got = 0;
    while (got < want) {
        ssize_t r = pread(sp->rfd, sp->rbuf + got, want - got, (off_t)(off + got));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            csg_log(CSG_LOG_ERROR, "spool", "read of segment %" PRIu64 " failed: %s", s->id,
                    strerror(errno));
            sp->rbuf_len = 0;
            return -CSG_EIO;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    sp->rbuf_seg = s->id;
    sp->rbuf_off = off;
    sp->rbuf_len = got;
    if (got < need)
        return 0;
    *p = (const uint8_t *)sp->rbuf;
    return 1;
}

/* Count damage once even when a rewind reads the segment again. */
static void damage(csg_spool *sp, seg *s, bool torn, uint64_t off, const char *what)
{
    if (off < s->counted_to)
        return;
    if (torn)
        sp->torn++;
    else
        sp->corrupt++;
    csg_log(CSG_LOG_WARN, "spool", "segment %" PRIu64 " offset %" PRIu64 ": %s, skipped", s->id,
            off, what);
}

/* 1 = record, 0 = skipped damage (call again), -CSG_EIO. */
static int read_record(csg_spool *sp, seg *s, csg_spool_record *rec)
{
    uint64_t off = s->read_off, avail = s->size - off;
    const uint8_t *p;
    int rc;
    if (avail < CSG_SPOOL_HEADER) {
        damage(sp, s, true, off, "torn record header at the end (crash while writing)");
        goto skip_rest;
    }
    if ((rc = fill(sp, s, off, CSG_SPOOL_HEADER, &p)) <= 0) {
        if (rc < 0)
            return rc;
        damage(sp, s, true, off, "file shorter than expected");
        goto skip_rest;
    }
    uint32_t len = get32(p + 4), crc = get32(p + 8);
    if (get32(p) != SPOOL_MAGIC) {
        damage(sp, s, false, off, "bad record magic; rest of segment unreadable");
        goto skip_rest;
    }
    if (len < 2 || len > CSG_SPOOL_MAX_RECORD) {
        damage(sp, s, false, off, "bad record length; rest of segment unreadable");
        goto skip_rest;
    }
    if (len > avail - CSG_SPOOL_HEADER) {
        damage(sp, s, true, off, "torn record at the end (crash while writing)");
        goto skip_rest;
    }
    if ((rc = fill(sp, s, off, CSG_SPOOL_HEADER + len, &p)) <= 0) {
        if (rc < 0)
            return rc;
        damage(sp, s, true, off, "file shorter than expected");
        goto skip_rest;
    }
    const uint8_t *body = p + CSG_SPOOL_HEADER;
    uint32_t klen = (uint32_t)body[0] | (uint32_t)body[1] << 8;
    s->read_off = off + CSG_SPOOL_HEADER + len;
    if (csg_crc32(0, body, len) != crc || klen > len - 2) {
        damage(sp, s, false, off, "CRC mismatch");
        if (s->counted_to < s->read_off)
            s->counted_to = s->read_off;
        return 0;
    }
    rec->key = (const char *)body + 2;
    rec->key_len = klen;
    rec->val = (const char *)body + 2 + klen;
    rec->val_len = len - 2 - klen;
    rec->segment = s->id;
    return 1;
skip_rest:
    s->read_off = s->size;
    if (s->counted_to < s->read_off)
        s->counted_to = s->read_off;
    return 0;
}

int csg_spool_next(csg_spool *sp, csg_spool_record *rec)
{
    while (sp->cur < sp->nsegs) {
        seg *s = &sp->segs[sp->cur];
        if (s->read_off >= s->size) {
            if (!s->sealed)
                return 0; /* caught up with the writer */
            sp->cur++;
            continue;
        }
        int rc = read_record(sp, s, rec);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            s->nread++;
            sp->inflight++;
            return 1;
        }
        /* damage skipped: a fully skipped segment with nothing in flight can go */
        if (s->read_off >= s->size && s->nacked >= s->nread)
            gc(sp);
    }
    return 0;
}

void csg_spool_ack(csg_spool *sp, uint64_t segment)
{
    /* ids are ascending: binary search */
    size_t lo = 0, hi = sp->nsegs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (sp->segs[mid].id < segment)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == sp->nsegs || sp->segs[lo].id != segment)
        return; /* stale (after a rewind the caller should not ack; ignore) */
    seg *s = &sp->segs[lo];
    if (s->nacked < s->nread) {
        s->nacked++;
        if (sp->inflight)
            sp->inflight--;
    }
    if (s->read_off >= s->size && s->nacked >= s->nread)
        gc(sp);
}

void csg_spool_rewind(csg_spool *sp)
{
    for (size_t i = 0; i < sp->nsegs; i++) {
        seg *s = &sp->segs[i];
        s->read_off = 0;
        s->nread = s->nacked = 0;
    }
    sp->cur = 0;
    sp->inflight = 0;
}

bool csg_spool_has_unread(const csg_spool *sp)
{
    for (size_t i = sp->cur; i < sp->nsegs; i++)
        if (sp->segs[i].read_off < sp->segs[i].size)
            return true;
    return false;
}

uint64_t csg_spool_inflight(const csg_spool *sp)
{
    return sp->inflight;
}

uint64_t csg_spool_bytes(const csg_spool *sp)
{
    return sp->bytes;
}

uint64_t csg_spool_torn(const csg_spool *sp)
{
    return sp->torn;
}

uint64_t csg_spool_corrupt(const csg_spool *sp)
{
    return sp->corrupt;
}

void csg_spool_close(csg_spool *sp)
{
    if (!sp)
        return;
    if (sp->wfd >= 0) {
        (void)fdatasync(sp->wfd);
        close(sp->wfd);
    }
    if (sp->rfd >= 0)
        close(sp->rfd);
    if (sp->lock_fd >= 0)
        close(sp->lock_fd); /* releases the flock */
    free(sp->segs);
    free(sp->rbuf);
    free(sp->wbuf);
    free(sp->dir);
    free(sp);
}
