/* col_spool.h - the collector's durable write-ahead journal of raw MQTT messages.
 *
 * Records are opaque bytes (the app encodes topic, signature, payload and receive time). Each
 * record gets a sequence number, strictly increasing across the journal and starting at 1. The
 * journal is a directory of segment files (format in docs/spool.md) that roll over at a configured
 * size; a commit point says which records are delivered, and whole segments at or below it are
 * deleted.
 *
 * Threading: every function is thread-safe (one internal mutex), except that a reader must be
 * used by one thread at a time and closed before the spool. col_spool_append() is meant for the
 * MQTT callback thread; col_spool_commit(), col_spool_stats() and the reader for the loop thread.
 * With fsync "interval" a background thread (the flusher) calls fdatasync(); it also persists the
 * commit point. Neither the loop thread nor the appender ever waits for it. */
#ifndef COL_SPOOL_H
#define COL_SPOOL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct col_spool;        /* opaque; owns the segment files' descriptors and the flusher thread */
struct col_spool_reader; /* opaque; one reader's file descriptor and read buffer */

/* What survives a crash (see docs/spool.md). */
enum col_spool_fsync {
    COL_SPOOL_FSYNC_INTERVAL = 0, /* default: flusher fsyncs every fsync_interval_ms; survives a
                                     process crash, loses at most that much on power loss */
    COL_SPOOL_FSYNC_ALWAYS,       /* fdatasync() before append returns; survives power loss */
    COL_SPOOL_FSYNC_NONE,         /* never fsync (the OS writes back); survives a process crash */
};

/* What col_spool_append() does when max_total_bytes would be exceeded. */
enum col_spool_full {
    /* Default: return CT_E_FULL; the caller blocks in col_spool_wait_room() (the broker keeps
     * the messages) and raises an alert. */
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
    uint64_t full_refusals;   /* appends refused with CT_E_FULL */
    uint64_t dropped_records; /* uncommitted records deleted by the drop_oldest policy */
    uint64_t corrupt_records; /* damaged regions skipped while scanning at open (CRC mismatch,
                                 bad frame, bad segment header) */
    uint64_t torn_tails;      /* segments found at open ending in a partial record */
    uint64_t fsyncs;          /* fdatasync() calls on segment data */
    uint64_t io_errors;       /* failed writes, fsyncs, deletions and commit-point writes */
};

/* Opens (creating if needed) the journal in cfg->dir, scans and validates every segment, loads
 * the commit point and starts the flusher. Damage (torn tails, CRC mismatches, bad headers) is
 * counted, logged and skipped, never a reason to fail; appends after a damaged tail go to a fresh
 * segment. Returns 0, CT_E_INVAL (bad cfg), CT_E_IO (directory unusable) or CT_E_NOMEM; on
 * error *out is untouched. One directory must be opened by one spool at a time. */
int col_spool_open(const struct col_spool_cfg *cfg, struct col_spool **out);

/* Appends one record: copies 'data' (len bytes, at most max_record_bytes) into the journal with
 * one writev() and, with fsync "always", fdatasync() before returning. Stores its sequence number
 * in *seq (may be NULL). Returns 0, CT_E_TOOBIG (len over the limit), CT_E_FULL (no room under
 * the refuse policy, or under drop_oldest when even an empty journal could not take it),
 * CT_E_IO (write or fsync failed; with a failed fsync the record is written and numbered but not
 * known durable: *seq is set, treat as not acknowledged), CT_E_STATE (closing). Thread-safe. */
int col_spool_append(struct col_spool *spool, const void *data, size_t len, uint64_t *seq);

/* One record of a batch. */
struct col_spool_rec {
    const void *data;
    size_t len;
};
/* Appends n records in order and makes them durable per the fsync policy; prefix semantics:
 * *done records numbered *first_seq.. are durable. Returns 0 (all), CT_E_FULL, CT_E_IO or
 * CT_E_TOOBIG. One thread at a time. (Temporary stub until the spool's own lands.) */
int col_spool_append_batch(struct col_spool *s, const struct col_spool_rec *recs, size_t n,
                           uint64_t *first_seq, size_t *done);
/* True when a batch of 'bytes' record bytes would fit now. Thread-safe. */
bool col_spool_has_room(struct col_spool *s, size_t bytes);

/* Blocks until a record of max_record_bytes would fit (a commit freed room), the spool closes
 * (CT_E_STATE) or timeout_ms passes (CT_E_TIMEOUT; 0 means just test). Returns 0 when there is
 * room. Thread-safe; meant for the appending thread after CT_E_FULL. */
int col_spool_wait_room(struct col_spool *spool, uint64_t timeout_ms);

/* Marks every record <= seq delivered and deletes the segment files wholly <= seq (never the one
 * being appended to). The commit point is persisted by the flusher at most every
 * commit_interval_ms, and at close. A seq at or below the commit point is a no-op. Returns 0,
 * CT_E_INVAL (seq above the last assigned one). Deletion failures are logged and counted, and the
 * file is forgotten. Thread-safe; does no fsync. */
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
 * *len is set to the size needed and the reader does not advance), CT_E_IO. Corrupt records are
 * skipped and counted (col_spool_reader_corrupt()). Records deleted by drop_oldest while the
 * reader was behind are skipped. Safe while other threads append and commit. */
int col_spool_reader_next(struct col_spool_reader *rd, void *buf, size_t cap, size_t *len,
                          uint64_t *seq);

/* Returns the number of damaged regions this reader skipped. */
uint64_t col_spool_reader_corrupt(const struct col_spool_reader *rd);

/* Closes the reader. Accepts NULL. */
void col_spool_reader_close(struct col_spool_reader *rd);

#endif
