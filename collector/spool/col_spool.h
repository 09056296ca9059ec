/* col_spool.h - the collector's durable write-ahead journal of raw MQTT messages.
 *
 * Records are opaque bytes (the app encodes topic, signature, payload and receive time). Each
 * record gets a sequence number, strictly increasing across the journal and starting at 1. The
 * journal is a directory of segment files (format in docs/spool.md) that roll over at a configured
 * size; a commit point says which records are delivered, and whole segments at or below it are
 * deleted.
 *
 * Threading: every function is thread-safe (test_spool_batch_concurrent_reader, and
 * test_spool_crash's test_spool_concurrent_append_read). Appends (col_spool_append_batch(),
 * col_spool_append()) are serialized among themselves by an append lock and write and fsync the
 * newest segment WITHOUT holding the spool's state mutex: they publish the new records (last
 * sequence number, sizes) under it only after the write, so col_spool_commit(), col_spool_stats(),
 * col_spool_has_room() and readers on the loop thread never wait for a write or an fdatasync()
 * (test_spool_batch_concurrent_reader). A reader must be used by one thread at a time and closed
 * before the spool. With fsync "interval" a background thread (the flusher) calls fdatasync(); it
 * also persists the commit point and deletes a wholly committed newest segment. */
#ifndef COL_SPOOL_H
#define COL_SPOOL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct iovec;

struct col_spool;        /* opaque; owns the segment files' descriptors and the flusher thread */
struct col_spool_reader; /* opaque; one reader's file descriptor and read buffer */

/* What survives a crash (see docs/spool.md). A process crash loses no appended record in any
 * mode: it is in the page cache once the append returned (test_spool_crash's
 * test_spool_sigkill_mid_append kills an appender, fsync "interval"). */
enum col_spool_fsync {
    COL_SPOOL_FSYNC_INTERVAL = 0, /* default: flusher fsyncs every fsync_interval_ms; survives a
                                     process crash, loses at most that much on power loss */
    COL_SPOOL_FSYNC_ALWAYS,       /* fdatasync() before append returns; survives power loss */
    COL_SPOOL_FSYNC_NONE,         /* no fsync (the OS writes back); survives a process crash */
};

/* What an append does when max_total_bytes would be exceeded. */
enum col_spool_full {
    /* Default ("block" in the config): return CT_E_FULL; the collector pauses its MQTT
     * subscription (the broker keeps the messages), retries when col_spool_has_room() says so,
     * and raises an alert. */
    COL_SPOOL_FULL_REFUSE = 0,
    /* Delete the oldest segments (their uncommitted records count as dropped and the commit
     * point moves past them), then append. */
    COL_SPOOL_FULL_DROP_OLDEST,
};

/* Called with one sentence (no newline) on recovery events and I/O errors; from whichever thread
 * hit the event, possibly with the spool's lock held: must not call back into the spool. */
typedef void (*col_spool_log_fn)(void *arg, const char *msg);
/* Returns wall-clock milliseconds since the Unix epoch (tests substitute a fake clock). */
typedef uint64_t (*col_spool_now_fn)(void *arg);

/* Zero members take the documented default. */
struct col_spool_cfg {
    const char *dir;            /* borrowed, copied; created (mode 0700) if missing */
    uint64_t segment_bytes;     /* roll-over size of one segment file; default 16 MiB */
    uint64_t max_total_bytes;   /* limit of all segment files; default 1 GiB; must be at least
                                   2 * segment_bytes */
    uint32_t max_record_bytes;  /* largest record's data; default 16 KiB; at most
                                   segment_bytes - 72 (header and one record frame) */
    enum col_spool_fsync fsync; /* default COL_SPOOL_FSYNC_INTERVAL */
    uint32_t fsync_interval_ms; /* default 200 */
    uint32_t
        commit_interval_ms;   /* the commit point is persisted at most this often; default 1000 */
    enum col_spool_full full; /* default COL_SPOOL_FULL_REFUSE */
    col_spool_log_fn log;     /* optional */
    void *log_arg;
    col_spool_now_fn now_ms; /* optional; default CLOCK_REALTIME */
    void *now_arg;
    uint64_t min_free_bytes; /* file-system budget: an append that would take the free space of
                                the directory's file system (statvfs f_bavail) below this gets
                                CT_E_FULL; default 64 MiB. Config key spool.min_free_bytes */
    /* Test hooks; NULL means the real call. free_bytes returns the free bytes of dir's file
     * system (default statvfs); writev_fn and fdatasync_fn replace the calls on segment data. */
    uint64_t (*free_bytes)(void *arg, const char *dir);
    ssize_t (*writev_fn)(void *arg, int fd, const struct iovec *iov, int iovcnt);
    int (*fdatasync_fn)(void *arg, int fd);
    void *hook_arg;
};

/* On-disk bytes of one record besides its data (the frame header): a batch of records of
 * lengths l1..ln takes sum(li + COL_SPOOL_REC_OVERHEAD) bytes of segment space. */
#define COL_SPOOL_REC_OVERHEAD 32u

/* One record of a batch: 'len' bytes at 'data' (borrowed for the call). */
struct col_spool_rec {
    const void *data;
    size_t len;
};

struct col_spool_stats {
    uint64_t records;         /* records above the commit point still on disk */
    uint64_t bytes;           /* bytes of all segment files */
    uint64_t segments;        /* segment files */
    uint64_t oldest_ms;       /* append time (epoch ms) of the oldest uncommitted record, to 1 s;
                                 0 when there is none */
    uint64_t last_seq;        /* last sequence number assigned; 0 when none ever was */
    uint64_t commit_seq;      /* commit point */
    uint64_t appended;        /* records appended since open */
    uint64_t full_refusals;   /* append calls that returned CT_E_FULL (max_total_bytes,
                                 min_free_bytes, or ENOSPC/EDQUOT) */
    uint64_t nospace;         /* writes that failed with ENOSPC or EDQUOT (also in io_errors) */
    uint64_t dropped_records; /* uncommitted records deleted by the drop_oldest policy */
    uint64_t corrupt_records; /* damaged regions skipped while scanning at open (CRC mismatch,
                                 bad frame, bad segment header) */
    uint64_t torn_tails;      /* segments found at open ending in a partial record */
    uint64_t fsyncs;          /* fdatasync() calls on segment data */
    uint64_t io_errors;       /* failed writes, fsyncs, reads at open, deletions and
                                 commit-point writes */
};

/* Opens (creating if needed) the journal in cfg->dir, scans and validates every segment, loads
 * the commit point and starts the flusher. Damage (torn tails, CRC mismatches, bad headers) is
 * counted, logged and skipped, never a reason to fail (test_spool's test_spool_torn_tail,
 * test_spool_corrupt_middle); appends after a damaged tail go to a fresh segment. A segment whose
 * header is damaged keeps its intact records (they carry their own sequence numbers and CRCs; the
 * file name gives the first sequence number) and gets a fresh header
 * (test_spool_header_damage_recovers_records). Returns 0, CT_E_INVAL (bad cfg), CT_E_IO (directory
 * unusable) or CT_E_NOMEM; on error *out is untouched. One directory must be opened by one spool at
 * a time. */
int col_spool_open(const struct col_spool_cfg *cfg, struct col_spool **out);

/* Appends recs[0..n-1] in order as one batch: frames them, writes them with as few writev()
 * calls as IOV_MAX allows (rolling over to new segments as needed), then makes them durable per
 * the fsync setting ("always": fdatasync() before returning; "interval", "none": in the page
 * cache, which survives a process crash). Prefix semantics: *done is set to the number of leading
 * records that are durable, numbered *first_seq .. *first_seq + *done - 1 (first_seq may be NULL;
 * it is the number the first record got or would have got). Returns 0 when *done == n, else:
 *   CT_E_FULL   record *done did not fit: max_total_bytes under the refuse policy, the file
 *               system's free space would drop below min_free_bytes, or the file system said
 *               ENOSPC/EDQUOT (test_spool_batch_full_exact, test_spool_batch_min_free,
 *               test_spool_batch_enospc_hook, test_spool_batch_enospc_tmpfs);
 *   CT_E_TOOBIG record *done is over max_record_bytes;
 *   CT_E_IO     another write or fsync error. A record whose fsync failed is not counted in
 *               *done even though it is in the journal (it will be replayed: the caller must not
 *               acknowledge it; a duplicate is harmless downstream)
 *               (test_spool_batch_fsync_error);
 *   CT_E_STATE  closing; CT_E_INVAL bad arguments (*done = 0).
 * A write that fails part-way is cut back to the last whole record (or, if that fails, the
 * segment is closed and the next append starts a new one), so no garbage is left between records
 * and the numbering stays gapless. I/O errors are logged once per streak of failing calls, and
 * once when appends succeed again. Appends are serialized by an append lock; the spool's state
 * lock is not held across write() or fdatasync(). Meant for ONE worker thread at a time. */
int col_spool_append_batch(struct col_spool *spool, const struct col_spool_rec *recs, size_t n,
                           uint64_t *first_seq, size_t *done);

/* Appends one record: col_spool_append_batch() of one. Stores its sequence number in *seq (may be
 * NULL) when it returns 0. Returns 0, CT_E_TOOBIG, CT_E_FULL, CT_E_IO (with a failed fsync the
 * record is in the journal and numbered but not known durable: treat as not acknowledged),
 * CT_E_STATE (closing). */
int col_spool_append(struct col_spool *spool, const void *data, size_t len, uint64_t *seq);

/* True when a batch taking 'bytes' bytes of segment space (the sum of each record's length plus
 * COL_SPOOL_REC_OVERHEAD) would fit now: under max_total_bytes (the refuse policy; segment
 * headers of the roll-overs it may cause included) and leaving min_free_bytes free on the file
 * system (statvfs, sampled at most once a second and after deletions, minus what was appended
 * since). False while closing. Thread-safe and cheap; for the loop thread, to decide when to
 * resume a paused subscription. A true answer is a forecast, not a reservation. */
bool col_spool_has_room(struct col_spool *spool, size_t bytes);

/* Blocks until a record of max_record_bytes would fit under max_total_bytes (a commit freed
 * room), the spool closes (CT_E_STATE) or timeout_ms passes (CT_E_TIMEOUT; 0 means just test).
 * Returns 0 when there is room. Thread-safe. Kept for compatibility: the collector no longer
 * calls it (it pauses the subscription and polls col_spool_has_room(), which also checks the
 * file system's free space). */
int col_spool_wait_room(struct col_spool *spool, uint64_t timeout_ms);

/* Marks every record <= seq delivered and deletes the segment files wholly <= seq except the
 * newest. The commit point is persisted by the flusher at most every commit_interval_ms, and at
 * close. When seq covers every record of the newest segment too (nothing is left uncommitted)
 * and that segment is at least 1/16 of segment_bytes or the last append was refused for lack of
 * room, the flusher, woken at once, persists the commit point and then closes and deletes that
 * segment; the next append starts a fresh one (test_spool_commit_deletes_sole_segment). So a
 * full disk is freed even when everything is in one segment. A seq at or below the commit point
 * is a no-op. Returns 0, CT_E_INVAL (seq above the last assigned one). Deletion failures are
 * logged and counted, and the file is forgotten. Thread-safe; does no fsync and never waits for
 * an append. */
int col_spool_commit(struct col_spool *spool, uint64_t seq);

/* fdatasync()s the segment being appended to (unless fsync is "none") and persists the commit
 * point now. Returns 0 or CT_E_IO. Thread-safe; blocking. */
int col_spool_sync(struct col_spool *spool);

/* Fills *st with a consistent snapshot. Thread-safe. */
void col_spool_stats(struct col_spool *spool, struct col_spool_stats *st);

/* Flushes (fdatasync unless fsync is "none"), persists the commit point, joins the flusher and
 * frees. Readers must be closed first; no call may be in progress. Accepts NULL. */
void col_spool_close(struct col_spool *spool);

/* Opens a reader that returns the records with seq >= from_seq in order. The spool must outlive
 * it. Returns 0 or CT_E_NOMEM; *out untouched on error. */
int col_spool_reader_open(struct col_spool *spool, uint64_t from_seq,
                          struct col_spool_reader **out);

/* Copies the next record into buf (cap bytes) and sets *len and *seq. Returns 0, CT_E_NOTFOUND
 * (no more records now; call again later, appends continue to show up), CT_E_TOOBIG (cap too small:
 * *len is set to the size needed and the reader does not advance), CT_E_IO (a segment could not
 * be opened or read, or is shorter than the spool wrote: the reader does not advance, so the
 * caller never commits past a record it could not read; test_spool_reader_io_error). Corrupt
 * records are skipped and counted (col_spool_reader_corrupt()). Records deleted by drop_oldest
 * while the reader was behind are skipped. Safe while another thread appends to the same
 * segment: it reads only up to the end of the last published write, so it never returns a
 * half-written record nor counts one as corrupt (test_spool_batch_concurrent_reader). */
int col_spool_reader_next(struct col_spool_reader *rd, void *buf, size_t cap, size_t *len,
                          uint64_t *seq);

/* Returns the number of damaged regions this reader skipped. */
uint64_t col_spool_reader_corrupt(const struct col_spool_reader *rd);

/* Closes the reader. Accepts NULL. */
void col_spool_reader_close(struct col_spool_reader *rd);

#endif
