/* col_sink.h - batch InfluxDB line protocol and POST it with libcurl multi, driven by the
 * collector's uv loop. Not thread-safe: every function and callback runs on the loop thread.
 *
 * Chunks of line protocol arrive with a mark: the spool journal seq of the record they came
 * from, or for derived points the LOWEST seq of the records they were derived from. Marks need
 * not be monotonic. Chunks are cut into batches at line boundaries (batch_max_points,
 * batch_max_bytes, or flush_ms after the first line of a partial batch); a batch's mark is the
 * minimum mark of its lines. A batch's bytes never change once sent, so a retry is
 * byte-identical (test_sink_fail). Batches queued and never sent are merged into one POST when a
 * slot frees, up to batch_max_points and batch_max_bytes, in queue order, with the lowest mark of
 * the merged ones (test_sink_coalesce_queued): a backlog behind a slow or paused store goes out
 * in full batches, not in the small ones flush_ms cut while it waited.
 *
 * Who is at fault decides what happens (tests: test_sink_fail, test_sink_state):
 *   2xx                        delivered (settled).
 *   The STORE's state: connection errors, timeouts (no answer within total_timeout_ms, also a
 *   frozen store that accepted the connection), 404 (database / bucket not found), 401, 403,
 *   408, 429, 5xx, 1xx/3xx, and a 400 whose message names the store's setup ("database not
 *   found", "retention policy not found", "database is required"): the batch is kept and
 *   retried with backoff (exponential with full jitter, retry_base_ms doubling up to
 *   retry_max_ms; at least a Retry-After, which is capped at COL_SINK_RETRY_AFTER_MAX_MS). Never
 *   rejected, never quarantined; the low water stays at or below its mark.
 *   The DATA's fault (InfluxDB says which lines are bad):
 *     400 naming lines ("unable to parse '<line>'", v1 "error" / v2 "message"): each named line
 *       goes to on_reject (class PARSE) whole, one call per line. The other lines: written by
 *       the store when the answer is a "partial write" (settled), else resent.
 *     400 naming no line, 413 and any other 4xx: the batch is halved at a line boundary and
 *       both halves are resent at once, until a single line is refused on its own; only that
 *       line goes to on_reject (BAD_REQUEST, or TOO_LARGE for 413).
 * While the store fails, only one request is in flight (a probe); a failed batch, and every
 * batch cut before the failure, waits in a backlog ordered by mark. When the store answers again
 * the backlog drains with at most max_inflight - 1 slots, so at least one slot stays for batches
 * cut since (with max_inflight 1 they alternate). Only one request starts per backoff period.
 *
 * Store state (test_sink_state): the sink is "ok" until a request fails for one of the store
 * reasons above; it is failing from then until the store next accepts a write (any answer that
 * is not a store failure). Each transition, and only a transition, logs one line (ERROR when
 * failing starts, INFO at recovery; a change of reason while failing logs one WARN) and calls
 * the state callback (col_sink_set_state_cb). col_sink_ok() gives the state at any time.
 *
 * Memory limit and policy when full: all held line protocol (open batch, queued, backlog, in
 * flight) is at most max_pending_bytes. col_sink_enqueue() refuses beyond it with CT_E_FULL and
 * takes nothing: the caller holds its input (the app stops reading the journal / queue and keeps
 * the message) and resumes when on_room is called, once the held bytes fall to half the limit.
 * Nothing held is ever dropped to make room.
 *
 * Memory after a backlog: once the held bytes have reached an eighth of max_pending_bytes and
 * fall back under a sixteenth of that peak, the sink gives the allocator's free pages back to the
 * system (malloc_trim with glibc; citytel_store_memory_trims_total counts it), so the process
 * does not stay at its peak size after an outage's backlog drains. */
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
    size_t batch_max_points;  /* lines per batch, 0 means 10000 */
    size_t batch_max_bytes;   /* bytes per batch body before gzip, 0 means 2 MiB */
    uint64_t flush_ms;        /* send a partial batch this long after its first line, 0: 250 */
    unsigned max_inflight;    /* concurrent POSTs, 0 means 4 */
    long connect_timeout_ms;  /* 0 means 5000 */
    long total_timeout_ms;    /* whole request, 0 means 30000 */
    size_t max_pending_bytes; /* all held line protocol, 0 means 64 MiB */
    uint64_t retry_base_ms;   /* first backoff cap, 0 means 500 */
    uint64_t retry_max_ms;    /* largest backoff cap, 0 means 60000 */
};

/* Largest Retry-After honoured; a longer one is cut to this, an absurd one (over a day),
 * negative or unparsable one is ignored (the normal backoff applies). */
#define COL_SINK_RETRY_AFTER_MAX_MS (5u * 60u * 1000u)

/* Reject classes, used by on_reject and the counters. */
enum col_sink_reject {
    COL_SINK_REJ_PARSE = 0,   /* lines a 400 names as unparsable */
    COL_SINK_REJ_BAD_REQUEST, /* a single line refused on its own with 400 or another 4xx */
    COL_SINK_REJ_TOO_LARGE,   /* a single line refused on its own with 413 */
    COL_SINK_REJ__COUNT
};

/* The store's state changed: ok = false when writes start failing, true when they succeed
 * again. 'why' (NUL-terminated, borrowed for the call) says what is wrong, for example
 * "store unreachable: Connection refused", "database \"citytel\" not found (HTTP 404)",
 * "no answer for 15 s", "HTTP 401: check credentials", or at recovery "store accepts writes again
 * after 120 s, 14 retries". Called on the loop thread, once per transition. */
typedef void (*col_sink_state_fn)(void *arg, bool ok, const char *why);

struct col_sink_callbacks {
    /* Space again after a CT_E_FULL. May call col_sink_enqueue(). */
    void (*on_room)(void *arg);
    /* One line the store refused for good (for the quarantine): 'lines' is exactly one whole
     * line, '\n'-terminated (len bytes including the '\n', not NUL-terminated); 'reason'
     * (NUL-terminated, the store's message) is borrowed for the call. 'status' is the HTTP
     * status. Called once per refused line. May close the sink (no further calls then). */
    void (*on_reject)(void *arg, enum col_sink_reject cls, const char *lines, size_t len,
                      int status, const char *reason);
    /* The store answered 401 or 403 (the batch is retried with backoff). Called once when the
     * failure becomes an authorisation failure, not on every retry. May be NULL. */
    void (*on_auth_error)(void *arg, int status, const char *reason);
};

struct col_sink_stats {
    uint64_t batches_ok;                   /* batches answered 2xx */
    uint64_t points_delivered;             /* lines in those batches */
    uint64_t bytes_delivered;              /* uncompressed bytes in those batches */
    uint64_t requests;                     /* POSTs started */
    uint64_t retries;                      /* batches put back for a retry */
    uint64_t splits;                       /* batches halved to isolate refused lines */
    uint64_t coalesced;                    /* queued batches merged into an earlier one */
    uint64_t auth_errors;                  /* 401/403 answers */
    uint64_t transport_errors;             /* curl errors including timeouts */
    uint64_t timeouts;                     /* requests without an answer in total_timeout_ms */
    uint64_t not_found;                    /* 404 answers (database or bucket missing) */
    uint64_t server_errors;                /* 408, 429, 5xx and other retried answers */
    bool store_ok;                         /* citytel_store_ok: false while writes fail */
    uint64_t store_failures;               /* transitions from ok to failing */
    uint64_t store_failing_ms;             /* time failing so far, 0 when ok */
    uint64_t rejects[COL_SINK_REJ__COUNT]; /* lines handed to on_reject, by class */
    uint64_t full_refusals;                /* col_sink_enqueue() answered CT_E_FULL */
    size_t bytes_pending;                  /* held line protocol */
    uint64_t memory_trims;                 /* free pages handed back after a backlog drained */
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
 * tagged with 'mark' (any order across calls: col_sink_low_water() is the minimum over
 * everything held). Returns 0, CT_E_FULL (would exceed max_pending_bytes; nothing taken; hold the
 * input and wait for on_room), CT_E_TOOBIG (len alone exceeds max_pending_bytes), CT_E_STATE
 * (closing) or CT_E_NOMEM (the lines before the failing one are then held and will be sent).
 * Empty lines are skipped; empty input returns 0 and holds nothing. */
int col_sink_enqueue(struct col_sink *sink, const char *lines, size_t len, uint64_t mark);

/* Sets the store state callback (NULL: none), called with 'arg' on each transition. A separate
 * setter so that struct col_sink_callbacks keeps its three members; call it right after
 * col_sink_create(), before the first enqueue, to see every transition. */
void col_sink_set_state_cb(struct col_sink *sink, col_sink_state_fn fn, void *arg);

/* Cuts the open partial batch now so that it is sent without waiting for flush_ms. */
void col_sink_flush(struct col_sink *sink);

/* The lowest mark of any line not yet settled (accepted by the store or rejected for good),
 * wherever it is held (open batch, queue, backlog, in flight); UINT64_MAX when nothing is held.
 * A journal may be committed only below it (test_sink_low_water_min_mark). */
uint64_t col_sink_low_water(const struct col_sink *sink);

/* True while the store accepts writes (also before the first write). *why (may be NULL) gets
 * the reason of the last transition (borrowed, valid until the next sink call; "" before any),
 * *since_ms (may be NULL) the loop time (uv_now) of the last transition, 0 before any. */
bool col_sink_ok(const struct col_sink *sink, const char **why, int64_t *since_ms);
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
