/* col_sink.h - batch InfluxDB line protocol and POST it with libcurl multi, driven by the
 * collector's uv loop. Not thread-safe: every function and callback runs on the loop thread.
 *
 * Chunks of line protocol arrive with the spool journal mark of the message they came from
 * (non-decreasing). They are cut into batches at line boundaries (batch_max_points,
 * batch_max_bytes, or flush_ms after the first line of a partial batch). A batch's bytes never
 * change once cut, so a retried batch is byte-identical. Every answer is classified:
 *   2xx                 delivered (settled);
 *   400 partial write   the lines InfluxDB names as unparsable go to on_reject, the rest were
 *                       written and are not resent (settled);
 *   400 otherwise       the whole batch goes to on_reject (settled);
 *   413                 the batch is split in two halves at a line boundary and both are resent
 *                       at once (a one-line batch goes to on_reject instead);
 *   429, 503            retried after max(Retry-After seconds, backoff); a Retry-After holds
 *                       all sending and a later success does not cancel it;
 *   401, 403            retried with backoff, and on_auth_error is called (an alert);
 *   other 4xx           whole batch to on_reject;
 *   other 5xx, transport errors, timeouts: retried with exponential backoff and full jitter.
 * While the store fails, only one request is in flight (a probe); a failed batch, and every
 * batch cut before the failure, waits in a backlog ordered by mark. When the store answers again
 * the backlog drains with at most max_inflight - 1 slots, so at least one slot stays for batches
 * cut since (with max_inflight 1 they alternate). Only one request starts per backoff period.
 *
 * Memory limit: all held line protocol (open batch, queued, backlog, in flight) is at most
 * max_pending_bytes. col_sink_enqueue() refuses beyond it with CT_E_FULL and nothing is taken;
 * on_room is called once the held bytes fall to half the limit. */
#ifndef COL_SINK_H
#define COL_SINK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct col_sink; /* opaque; owns a uv_timer_t pair and a libcurl multi */

struct col_sink_cfg {
    const char *url;          /* borrowed, copied: base URL, "http://127.0.0.1:8086" */
    int api_version;          /* 1: /write?db=&rp=  2: /api/v2/write?org=&bucket= */
    const char *db;           /* v1 database (required for v1) */
    const char *rp;           /* v1 retention policy, NULL or "" for the default */
    const char *user;         /* v1 credentials u= and p=, NULL for none */
    const char *password;     /* v1 */
    const char *org;          /* v2 organisation (required for v2) */
    const char *bucket;       /* v2 bucket (required for v2) */
    const char *token;        /* v2 "Authorization: Token <token>", NULL for none */
    const char *precision;    /* "ns", "u", "ms", "s"; NULL means "ms"; v2 uses "us" for "u" */
    bool gzip;                /* send bodies with Content-Encoding: gzip */
    size_t batch_max_points;  /* lines per batch, 0 means 5000 */
    size_t batch_max_bytes;   /* bytes per batch body before gzip, 0 means 1 MiB */
    uint64_t flush_ms;        /* send a partial batch this long after its first line, 0: 1000 */
    unsigned max_inflight;    /* concurrent POSTs, 0 means 4 */
    long connect_timeout_ms;  /* 0 means 5000 */
    long total_timeout_ms;    /* whole request, 0 means 30000 */
    size_t max_pending_bytes; /* all held line protocol, 0 means 64 MiB */
    uint64_t retry_base_ms;   /* first backoff cap, 0 means 500 */
    uint64_t retry_max_ms;    /* largest backoff cap, 0 means 60000 */
};

/* Reject classes, used by on_reject and the counters. */
enum col_sink_reject {
    COL_SINK_REJ_PARSE = 0,   /* lines named in a 400 partial write */
    COL_SINK_REJ_BAD_REQUEST, /* 400 (not partial) and other non-retried 4xx: whole batch */
    COL_SINK_REJ_TOO_LARGE,   /* 413 on a single line */
    COL_SINK_REJ__COUNT
};

struct col_sink_callbacks {
    /* Space again after a CT_E_FULL. May call col_sink_enqueue(). */
    void (*on_room)(void *arg);
    /* Lines the store refused for good (for the quarantine). 'lines' (len bytes, '\n'-separated,
     * not NUL-terminated) and 'reason' (NUL-terminated, the store's message) are borrowed for the
     * call. 'status' is the HTTP status. */
    void (*on_reject)(void *arg, enum col_sink_reject cls, const char *lines, size_t len,
                      int status, const char *reason);
    /* The store answered 401 or 403; the batch is retried with backoff. */
    void (*on_auth_error)(void *arg, int status, const char *reason);
};

struct col_sink_stats {
    uint64_t batches_ok;                   /* batches answered 2xx */
    uint64_t points_delivered;             /* lines in those batches */
    uint64_t bytes_delivered;              /* uncompressed bytes in those batches */
    uint64_t requests;                     /* POSTs started */
    uint64_t retries;                      /* batches put back for a retry */
    uint64_t splits;                       /* 413 splits */
    uint64_t auth_errors;                  /* 401/403 answers */
    uint64_t transport_errors;             /* curl errors including timeouts */
    uint64_t rejects[COL_SINK_REJ__COUNT]; /* lines handed to on_reject, by class */
    uint64_t full_refusals;                /* col_sink_enqueue() answered CT_E_FULL */
    size_t bytes_pending;                  /* held line protocol */
    size_t batches_backlog;                /* batches waiting for a retry */
    unsigned inflight;                     /* POSTs in flight */
    uint64_t last_latency_ms;              /* of the last answered request */
    uint64_t ewma_latency_ms;              /* exponentially weighted, alpha 1/8 */
    uint64_t oldest_pending_ms;            /* age of the oldest held batch, 0 when none */
};

/* Creates a sink on 'loop' (borrowed, must outlive the sink). Copies 'cfg' strings and 'cbs';
 * 'arg' is passed to the callbacks. Returns 0, CT_E_INVAL (missing url, db, org/bucket, bad
 * api_version or precision), CT_E_NOMEM or CT_E_IO; on error *out is untouched. */
int col_sink_create(uv_loop_t *loop, const struct col_sink_cfg *cfg,
                    const struct col_sink_callbacks *cbs, void *arg, struct col_sink **out);

/* Copies 'lines' (len bytes of line protocol, one or more lines; a missing final '\n' is added)
 * tagged with 'mark' (non-decreasing across calls). Returns 0, CT_E_FULL (would exceed
 * max_pending_bytes; nothing taken; wait for on_room), CT_E_TOOBIG (len alone exceeds
 * max_pending_bytes), CT_E_INVAL (mark smaller than the previous one), CT_E_STATE (closing) or
 * CT_E_NOMEM (the lines before the failing one are then held and will be sent). Empty lines are
 * skipped; empty input returns 0 and holds nothing. */
int col_sink_enqueue(struct col_sink *sink, const char *lines, size_t len, uint64_t mark);

/* Cuts the open partial batch now so that it is sent without waiting for flush_ms. */
void col_sink_flush(struct col_sink *sink);

/* The lowest mark not yet settled (delivered or rejected); UINT64_MAX when nothing is held. */
uint64_t col_sink_low_water(const struct col_sink *sink);

/* SIGHUP: takes the tunables of 'cfg' (batch_max_points, batch_max_bytes, flush_ms, max_inflight,
 * connect_timeout_ms, total_timeout_ms, retry_base_ms, retry_max_ms; 0 means the default as in
 * col_sink_create); every other field of 'cfg' is ignored (the URL, credentials, gzip and
 * max_pending_bytes need a new sink). Takes effect at once: an open batch over the new limits is
 * cut, its flush timer follows the new flush_ms, a backoff hold longer than the new retry_max_ms
 * is shortened (a server's Retry-After still holds) and new slots are used. Requests in flight
 * keep their timeouts. Proved by tests/e2e/test_reload_keys.py. Loop thread only. */
void col_sink_set_tunables(struct col_sink *sink, const struct col_sink_cfg *cfg);

/* Fills *out with the counters and gauges. */
void col_sink_stats(const struct col_sink *sink, struct col_sink_stats *out);

/* Asynchronous: cancels transfers, drops held batches, closes handles, frees 'sink' in the last
 * uv close callback, then calls closed_cb(arg) (may be NULL). 'sink' is invalid after the call.
 * Callers that want the data delivered wait for col_sink_low_water() == UINT64_MAX first.
 * Accepts NULL. */
void col_sink_close(struct col_sink *sink, void (*closed_cb)(void *arg), void *arg);

#endif
