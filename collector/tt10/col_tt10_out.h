/* col_tt10_out.h - the TT 10/2021 outbox: station files written to disk, delivered over FTP,
 * FTPS or SFTP to one or more receivers with libcurl on the loop, kept for a retention period.
 *
 * On disk (docs/tt10.md, "Outbox"):
 *   <dir>/files/<name>         every file written, kept tt10.retention (60 days) then pruned
 *   <dir>/queue/<rid>/<name>   a hard link per receiver still to be delivered; <rid> is a hash
 *                              of the receiver's URL without credentials
 * A file is written to <dir>/files/.tmp-<name>, linked into every receiver's queue and then
 * renamed to <dir>/files/<name>, so a file that reached files/ is queued for every receiver and
 * a restart (or an outage of any length within the retention) loses nothing: the queue is the
 * state. A receiver gets each file uploaded as <name>.part and renamed to <name> by the same
 * session (FTP RNFR/RNTO, SFTP rename), so it never sees a partial file; a retry after a failure
 * or a restart sends the same name again and replaces it, never a new name
 * (tests/e2e/test_tt10_deliver.py).
 *
 * Threading: every function runs on the loop thread; file work runs on libuv's thread pool
 * (uv_queue_work, uv_fs_unlink), transfers on libcurl multi through col_curl_uv. */
#ifndef COL_TT10_OUT_H
#define COL_TT10_OUT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define COL_TT10_OUT_RECEIVERS_MAX 8 /* receivers of one outbox */

struct col_tt10_out_cfg {
    const char *dir;             /* outbox root (created); borrowed, copied */
    const char *receivers;       /* URLs separated by spaces or commas: ftp://, ftpes:// (FTP with
                                    explicit AUTH TLS required), ftps:// (implicit TLS), sftp:// (an
                                    absolute path); each ends in '/'. Copied. May be "" (write only). */
    const char *ca_file;         /* "" = the system's CAs */
    bool tls_verify;             /* verify the receiver's certificate and host name */
    const char *ssh_private_key; /* "" = none */
    const char *ssh_public_key;  /* "" = derived by libssh2 */
    const char *ssh_known_hosts; /* "" = the host key is not checked */
    bool fsync;                  /* fsync each file before it is queued */
    int64_t retention_ms;        /* files (delivered or not) older than this are pruned */
    int64_t prune_interval_ms;   /* how often to prune */
    int64_t retry_base_ms;       /* first delay after a failed upload; doubles */
    int64_t retry_max_ms;        /* cap of the delay */
    int64_t timeout_ms;          /* one upload (connect included) */
    uint32_t parallel;           /* uploads at once per receiver (1..16) */
    uint32_t batch;              /* files read from a queue at once (1..4096) */
    size_t max_puts;             /* files waiting for the writer; more is CT_E_FULL */
};

struct col_tt10_out_rstats {
    char url[256];      /* without credentials */
    uint64_t delivered; /* files uploaded and renamed */
    uint64_t failures;  /* failed uploads (each retried later) */
    uint64_t backoffs;  /* times the receiver was put in backoff */
    bool empty;         /* the last look at the queue found it empty and nothing came since */
    bool up;            /* the last upload succeeded */
    char last_error[128];
};

struct col_tt10_out_stats {
    uint64_t written;      /* files written and queued */
    uint64_t write_errors; /* puts that could not be written (logged; the caller's data lost) */
    uint64_t full;         /* puts refused with CT_E_FULL */
    uint64_t pruned;       /* files removed by the retention (files/ and queues) */
    uint64_t skipped;      /* puts of a name already in files/ (not written or sent again) */
    size_t puts_waiting;   /* puts not yet written */
    size_t nreceivers;
    struct col_tt10_out_rstats r[COL_TT10_OUT_RECEIVERS_MAX];
};

struct col_tt10_out;

/* Creates the directories and starts delivering what the queues hold (from an earlier run).
 * 'loop' is borrowed. Returns 0, CT_E_INVAL (a bad receiver URL: message in err), CT_E_IO (the
 * directories) or CT_E_NOMEM; on error *out is untouched. */
int col_tt10_out_create(uv_loop_t *loop, const struct col_tt10_out_cfg *cfg,
                        struct col_tt10_out **out, char *err, size_t errcap);
/* Queues one file for writing and delivery. Copies 'name' (a file name, no '/') and 'data'.
 * 'mark' is the lowest journal record the file was made from (0: none): it is held (see
 * col_tt10_out_low_water) until the file is written. A name already in files/ (written by an
 * earlier run: a journal replay after a restart makes the same interval again) is not written or
 * queued again, so a receiver does not get a file twice (counted in 'skipped';
 * tests/e2e/test_tt10_collector.py replays an interval and checks the file is not sent again).
 * Returns 0, CT_E_INVAL (bad name), CT_E_FULL (max_puts waiting) or CT_E_STATE (closing). */
int col_tt10_out_put(struct col_tt10_out *o, const char *name, const void *data, size_t len,
                     uint64_t mark);
/* The lowest mark of the puts not yet written, UINT64_MAX when none. */
uint64_t col_tt10_out_low_water(const struct col_tt10_out *o);
/* True when nothing is waiting to be written and every receiver's queue was found empty. */
bool col_tt10_out_idle(const struct col_tt10_out *o);
void col_tt10_out_stats(const struct col_tt10_out *o, struct col_tt10_out_stats *st);
/* Asynchronous: stops starting work, cancels uploads (they are sent again after a restart),
 * waits for running file jobs, frees 'o' and then calls closed_cb(arg). Accepts NULL. */
void col_tt10_out_close(struct col_tt10_out *o, void (*closed_cb)(void *arg), void *arg);

#endif
