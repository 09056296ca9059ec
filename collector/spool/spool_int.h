/* spool_int.h - internals of col_spool shared by its source files (not part of the API).
 *
 * On-disk layout (all integers little-endian; docs/spool.md has the full description):
 *   segment header, SEG_HDR_LEN bytes: magic "CTSPOOL\x1a", u16 version, u16 header length,
 *     u32 zero, u64 first seq, u64 creation time (epoch ms), u32 CRC-32 of bytes 0..31, u32 zero.
 *   record frame, REC_HDR_LEN bytes then the data: magic C7 5E 52 31, u32 CRC-32 of (data, then
 *     header bytes 8..31), u32 data length, u32 flags (zero), u64 seq, u64 append time (epoch ms).
 *   commit file "spool.commit", COMMIT_LEN bytes: magic "CTSPCMT1", u64 seq, u32 CRC-32 of bytes
 *     0..15, u32 zero. */
#ifndef SPOOL_INT_H
#define SPOOL_INT_H
#include "col_spool.h"
#include "ct/bytes.h"

#include <pthread.h>
#include <stdarg.h>
#include <sys/uio.h>
#include <time.h>

#define SEG_HDR_LEN 40u
#define REC_HDR_LEN 32u
#define COMMIT_LEN 24u
#define SEG_VERSION 1u
#define SEG_MAGIC "CTSPOOL\x1a"
#define COMMIT_MAGIC "CTSPCMT1"
#define COMMIT_NAME "spool.commit"
#define COMMIT_TMP_NAME "spool.commit.tmp"
#define SEG_PREFIX "spool-"
#define SEG_SUFFIX ".seg"
#define CKPT_MAX 1024u      /* time checkpoints per segment; later ones are not kept */
#define READ_BUF_MIN 65536u /* smallest read buffer of a cursor */

extern const unsigned char col_spool_rec_magic[4];

/* One (seq, append time) pair kept when the time's second changes: the age of the oldest
 * uncommitted record comes from these without reading the disk. */
struct ckpt {
    uint64_t seq;
    uint64_t time_ms;
};

struct seg {
    uint64_t first_seq; /* from the header; records have seq >= first_seq */
    uint64_t last_seq;  /* seq of the last good record; 0 when none */
    uint64_t nrec;      /* good records */
    uint64_t size;      /* bytes of the file on disk */
    uint64_t valid_end; /* readers read up to here: the end of the last complete write */
    bool damaged;       /* scan at open found a torn tail or corruption */
    struct ckpt *ck;    /* owned; up to CKPT_MAX */
    uint32_t nck;
};

struct col_spool {
    struct col_spool_cfg cfg; /* with defaults applied; cfg.dir points at 'dir' */
    char *dir;                /* owned copy */
    int dir_fd;
    /* Serializes appends and the flusher's retirement of the newest segment. The holder owns the
     * tail: it writes to cur_fd and the newest segment's file without holding 'mu', and changes
     * cur_fd, next_seq and the newest segment's entry only with 'mu' held too. So a holder of
     * 'append_mu' may read those without 'mu'; everyone else reads them under 'mu'. Lock order:
     * append_mu, then mu, then persist_mu. */
    pthread_mutex_t append_mu;
    struct iovec *w_iov; /* owned; IOV_MAX entries, for the append holder */
    uint8_t *w_hdrs;     /* owned; frame headers of one writev(), for the append holder */
    size_t w_max_recs;   /* records per writev() */
    uint64_t w_streak;   /* failing append calls in a row (under 'mu') */
    int w_kind;          /* enum wfail of the streak's last logged line (under 'mu') */
    bool w_unsynced;     /* append holder: cur_fd has data not yet fdatasync()ed by it */
    pthread_mutex_t mu;  /* guards everything below */
    pthread_cond_t room_cv;
    pthread_cond_t flush_cv;
    struct seg *segs; /* ordered by first_seq; the last is the open one when cur_fd >= 0 */
    size_t nseg;
    size_t capseg;
    int cur_fd; /* O_APPEND descriptor of segs[nseg - 1], or -1 */
    uint64_t next_seq;
    uint64_t commit_seq;
    uint64_t total_bytes;
    bool dirty;        /* appended since the last fdatasync */
    bool commit_dirty; /* commit_seq differs from the persisted one */
    bool stopping;
    bool pressure;      /* the last append call was refused for lack of room */
    bool retire_wanted; /* commit asks the flusher to delete the wholly committed newest seg */
    bool fs_valid;      /* fs_free holds a sample */
    uint64_t fs_free;   /* free bytes of the file system at the sample */
    uint64_t fs_ms;     /* monotonic time of the sample */
    uint64_t fs_since;  /* bytes appended since the sample */
    bool flusher_started;
    pthread_t flusher;
    pthread_mutex_t persist_mu; /* serializes commit-file writes */
    uint64_t persisted_seq;     /* guarded by persist_mu */
    struct col_spool_stats st;  /* counters; the gauges are computed in col_spool_stats() */
};

/* A buffered forward reader over one segment's bytes [off, end). */
struct seg_cur {
    int fd;
    uint64_t off;
    uint64_t end;
    uint8_t *buf; /* owned */
    size_t cap;
    uint64_t boff; /* file offset of buf[0] */
    size_t blen;
    uint32_t max_rec;
    bool strict; /* a file shorter than 'end' is a read error (readers), not the end (scan) */
};

enum rec_res { REC_OK, REC_END, REC_TORN, REC_CORRUPT, REC_IOERR };

struct rec_view {
    uint64_t seq;
    uint64_t time_ms;
    uint64_t off; /* frame offset in the file */
    uint32_t len;
    const uint8_t *data; /* points into the cursor's buffer until the next call */
};

/* Little-endian codecs. */

/* CRC-32 (zlib) continuing from 'crc'. */
uint32_t col_spool_crc(uint32_t crc, const void *p, size_t n);
/* Fills the SEG_HDR_LEN-byte segment header. */
void col_spool_seg_hdr_encode(uint8_t *h, uint64_t first_seq, uint64_t created_ms);
/* Returns true and sets *first_seq when h is a valid header of a version this code reads. */
bool col_spool_seg_hdr_decode(const uint8_t *h, uint64_t *first_seq, uint64_t *created_ms);
/* Fills a record header; crc_data is col_spool_crc(0, data, len). */
void col_spool_rec_hdr_encode(uint8_t *h, uint32_t crc_data, uint32_t len, uint64_t seq,
                              uint64_t time_ms);

/* Allocates the cursor's buffer (enough for one max_rec record). Returns 0 or CT_E_NOMEM. */
int col_spool_cur_init(struct seg_cur *c, int fd, uint64_t off, uint64_t end, uint32_t max_rec);
void col_spool_cur_free(struct seg_cur *c);
/* Decodes the next record. REC_OK fills *v and advances. REC_CORRUPT means a damaged region was
 * skipped: the cursor now stands on the next valid record or at 'end'. REC_TORN means the bytes
 * from the cursor to 'end' are a partial record with nothing valid after it (cursor stays).
 * REC_END: the cursor is at 'end'. REC_IOERR: pread failed. */
enum rec_res col_spool_cur_next(struct seg_cur *c, struct rec_view *v);

/* Segment file path "<dir>/spool-<20 digits>.seg" (suffix appended, e.g. ".tmp"). Returns 0 or
 * CT_E_TOOBIG. */
int col_spool_seg_path(const struct col_spool *s, uint64_t first_seq, const char *suffix, char *out,
                       size_t cap);
/* Logs one formatted sentence through cfg.log. */
void col_spool_log(const struct col_spool *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
uint64_t col_spool_now(const struct col_spool *s);
uint64_t col_spool_mono_ms(void);
/* Records a checkpoint for (seq, time_ms) in g if the second changed. */
void col_spool_seg_note_time(struct seg *g, uint64_t seq, uint64_t time_ms);
/* Appends a zeroed segment slot at the end of s->segs. Returns it or NULL (no memory). */
struct seg *col_spool_segs_push(struct col_spool *s);
/* Removes segs[i] (freeing its checkpoints). */
void col_spool_segs_remove(struct col_spool *s, size_t i);

/* Scans the directory, fills s->segs, s->next_seq, counters. Returns 0, CT_E_IO or CT_E_NOMEM. */
int col_spool_recover(struct col_spool *s);
/* Reads the persisted commit point into *seq (0 when missing or damaged; damage is logged). */
void col_spool_commit_load(struct col_spool *s, uint64_t *seq);
/* Writes seq to the commit file (temp name, fsync, rename, fsync dir). Returns 0 or CT_E_IO. */
int col_spool_commit_persist(struct col_spool *s, uint64_t seq);

/* spool.c */

/* Records of g above the commit point (seqs within a segment are contiguous but for skipped
 * corrupt ones, so this is exact for clean segments and an upper bound otherwise). */
uint64_t col_spool_uncommitted(const struct col_spool *s, const struct seg *g);
/* Deletes segs[0], never the newest; 'mu' held. */
void col_spool_delete_first(struct col_spool *s);

/* spool_flush.c */

/* True when the newest segment holds records and every record is committed, and deleting it is
 * worth a new file; 'mu' held. */
bool col_spool_retire_due(const struct col_spool *s);
/* *ts = CLOCK_MONOTONIC now + ms (for pthread_cond_timedwait on a monotonic condvar). */
void col_spool_deadline_in(struct timespec *ts, uint64_t ms);
/* fdatasync()s and closes 'fd', a dup() of the newest segment's descriptor taken under 'mu' (-1:
 * the dup failed, errno set), with 'mu' not held: a roll-over cannot close it away. Then, under
 * 'mu', counts the fsync and on failure counts an I/O error, marks the spool dirty again and logs
 * "spool: <who>fdatasync failed". Returns 0 or CT_E_IO. */
int col_spool_sync_dup(struct col_spool *s, int fd, const char *who);
/* The flusher thread's body; arg is the struct col_spool. */
void *col_spool_flusher_main(void *arg);

/* spool_room.c */

/* Estimated free bytes of the spool's file system now (UINT64_MAX when unknown): the last
 * statvfs sample minus what was appended since (fs_since), sampled again when older than a
 * second, invalidated by a deletion, or when 'fresh'. 'mu' not held (statvfs may be slow). */
uint64_t col_spool_fs_free_now(struct col_spool *s, bool fresh);

#endif
