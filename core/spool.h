/*
 * spool.h — the Kafka sink's disk spool: an append-only, bounded, crash-safe
 * FIFO of (key, payload) records in a directory of segment files.
 *
 * Record on disk (little endian):
 *     u32 magic "CSG1" | u32 body_len | u32 crc32(body) | body
 *     body = u16 key_len | key | payload
 * Segments are spool_dir/seg-<16 digit id>.csgspool; the writer appends to the
 * newest one and starts a new one past the segment size, and after every
 * start (a segment left by a crash may end in a torn record). The reader goes
 * from the oldest record to the newest. A segment is deleted only when every
 * record read from it has been acknowledged (csg_spool_ack), so a crash at
 * any point loses nothing that was appended; it may replay records twice.
 *
 * Damage is detected, skipped and counted, never silently delivered:
 *   torn    — a sealed segment ends inside a record (crash mid-write);
 *   corrupt — bad magic (the rest of that segment is skipped: no resync point)
 *             or a CRC mismatch (that record is skipped).
 *
 * Not thread-safe: one owner thread (the publisher). csg_spool_bytes and the
 * counters are plain reads meant for that thread; the sink mirrors them into
 * its atomics.
 */
#ifndef CSG_SPOOL_H
#define CSG_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csg/plugin.h"

typedef struct csg_spool csg_spool;

/* Largest record body (key + payload + 2); bigger appends are refused. */
#define CSG_SPOOL_MAX_RECORD (1u << 20)
#define CSG_SPOOL_HEADER 12u

/* csg_spool_append's "the spool is full" result (not an error code). */
#define CSG_SPOOL_FULL 1

/* Open (create) the spool in dir, taking an exclusive lock on dir/LOCK so two
 * processes never share it. Existing segments are kept for replay and sealed.
 * max_bytes bounds the total size of all segment files; segment_bytes is the
 * size past which a new segment starts (0 = default: max_bytes/8, clamped to
 * [64 KiB, 16 MiB]). */
int csg_spool_open(const char *dir, uint64_t max_bytes, uint64_t segment_bytes, csg_spool **out,
                   csg_error *err);

/* Append one record. 0 = written (visible to the reader at once; in the page
 * cache, so it survives the process being killed), CSG_SPOOL_FULL = refused
 * because it would pass max_bytes (or is larger than CSG_SPOOL_MAX_RECORD),
 * -CSG_EIO = the write failed (err says why). */
int csg_spool_append(csg_spool *sp, const void *key, size_t key_len, const void *val,
                     size_t val_len, csg_error *err);

typedef struct csg_spool_record {
    const char *key; /* both point into the spool's read buffer: valid until */
    const char *val; /* the next csg_spool_next / rewind / close */
    size_t key_len, val_len;
    uint64_t segment; /* hand back to csg_spool_ack once delivered */
} csg_spool_record;

/* The next unread record: 1 = *rec filled, 0 = nothing unread, -CSG_EIO =
 * a read failed. Skips (and counts) torn and corrupt records. */
int csg_spool_next(csg_spool *sp, csg_spool_record *rec);

/* One record of `segment` (from csg_spool_next) is delivered. Segments whose
 * records are all read and acknowledged are deleted. */
void csg_spool_ack(csg_spool *sp, uint64_t segment);

/* Forget what was read but not acknowledged and read again from the oldest
 * record still on disk (after a failed delivery). Call it only when no read
 * record is still awaiting an ack or a failure, or stale acks would be
 * counted against the re-read records. */
void csg_spool_rewind(csg_spool *sp);

/* Records appended (or found at open) that csg_spool_next has not returned. */
bool csg_spool_has_unread(const csg_spool *sp);
/* Records returned by csg_spool_next and not acknowledged yet. */
uint64_t csg_spool_inflight(const csg_spool *sp);
/* Total size of the segment files. */
uint64_t csg_spool_bytes(const csg_spool *sp);
uint64_t csg_spool_torn(const csg_spool *sp);
uint64_t csg_spool_corrupt(const csg_spool *sp);

/* Flush to disk (fdatasync), release the lock and free. Records not yet
 * acknowledged stay on disk for the next open. NULL is fine. */
void csg_spool_close(csg_spool *sp);

/* CRC-32 (IEEE 802.3, as zlib's crc32), used for the record checksum. */
uint32_t csg_crc32(uint32_t crc, const void *data, size_t len);

#endif /* CSG_SPOOL_H */
