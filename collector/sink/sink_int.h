/* sink_int.h - private declarations shared by the sink's files (not installed). Loop thread only.
 */
#ifndef COL_SINK_INT_H
#define COL_SINK_INT_H
#include "col_curl_uv.h"
#include "col_sink.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Batch limits when the config gives 0: about curl's 10 000-line batches in the store benchmark
 * (10 000 of the collector's lines are about 1.3 MB; docs/benchmarks.md, store). */
#define COL_SINK_DEF_BATCH_POINTS 10000u
#define COL_SINK_DEF_BATCH_BYTES (2u * 1024 * 1024)

/* Largest response body kept for classification; the rest is discarded (bounded). */
#define COL_SINK_RESP_MAX 65536u

struct batch {
    struct batch *next; /* link in the ready queue or the backlog */
    char *body;         /* line protocol, every line '\n'-terminated; never changes once cut */
    size_t len, cap;    /* bytes used / allocated */
    size_t points;      /* lines */
    uint64_t mark_lo;   /* the minimum mark of its lines */
    uint64_t born_ms;   /* loop time of the first line */
    bool fixed;         /* sent once, or cut from a sent batch: never coalesced, so that its
                         * retry is byte-identical and a halved batch stays halved */
};

struct req {
    struct col_curl_xfer xfer; /* embedded; recovered with container_of */
    struct col_sink *sink;
    struct batch *b; /* owned while in flight */
    char *gz;        /* gzip body, when enabled */
    size_t gz_len;
    bool backlog; /* came from the backlog (counts against its slot limit) */
    uint64_t start_ms;
    char *resp; /* first COL_SINK_RESP_MAX bytes of the answer */
    size_t resp_len;
    bool resp_cut;           /* the answer was longer than COL_SINK_RESP_MAX */
    uint64_t retry_after_ms; /* from a Retry-After header */
    bool has_retry_after;
    struct req *prev, *next; /* the sink's list of requests in flight */
};

struct fifo {
    struct batch *head, *tail;
    size_t n;
};

struct col_sink {
    uv_loop_t *loop;
    struct col_sink_cfg cfg; /* strings point into 'strs' */
    char *strs;              /* one allocation for the copied strings */
    char *url;               /* full write URL */
    struct curl_slist *hdrs; /* shared request headers */
    struct col_sink_callbacks cbs;
    void *arg;
    struct col_curl_uv *cu;
    uv_timer_t flush_timer; /* cuts a partial batch after flush_ms */
    uv_timer_t retry_timer; /* ends a backoff hold */
    struct batch *open;     /* batch being filled */
    struct fifo ready;      /* cut batches never sent */
    struct fifo backlog;    /* batches waiting for a retry, ordered by mark */
    struct req *reqs;       /* in flight */
    unsigned inflight, backlog_inflight;
    bool last_was_backlog;      /* alternation when max_inflight is 1 */
    unsigned fail_streak;       /* consecutive retryable failures */
    uint64_t hold_until;        /* no request starts before this loop time */
    uint64_t server_hold_until; /* the latest Retry-After; survives later successes */
    bool want_room;             /* a CT_E_FULL was answered */
    size_t trim_high;           /* the most bytes held since the last trim (sink.c) */
    uint64_t rng;
    /* Store state (sink_state.c). */
    col_sink_state_fn state_fn;
    void *state_arg;
    bool failing;
    int fail_kind;          /* enum col_sink_fail of the current failure */
    char why[256];          /* reason of the last transition */
    uint64_t state_since;   /* loop time of the last transition, 0 before any */
    uint64_t fail_attempts; /* failed requests since failing started */
    struct col_sink_stats st;
    bool closing;
    unsigned pending_closes;
    void (*closed_cb)(void *arg);
    void *closed_arg;
};

/* Why a request failed, for the state and the log (sink_state.c). */
enum col_sink_fail {
    COL_SINK_FAIL_NET = 1, /* connection error */
    COL_SINK_FAIL_TIMEOUT, /* no answer in time */
    COL_SINK_FAIL_NOT_FOUND,
    COL_SINK_FAIL_AUTH,
    COL_SINK_FAIL_STORE /* 5xx, 429, 408, a 400 about the store's setup, ... */
};

/* sink_state.c: a request failed for a store reason ('why' NUL-terminated). Logs and calls
 * the state callback on the transition to failing (WARN once when the kind changes while failing).
 */
void col_sink_state_fail(struct col_sink *s, enum col_sink_fail kind, const char *why);
/* sink_state.c: the store accepted a write: logs and calls the state callback when it was failing.
 */
void col_sink_state_up(struct col_sink *s);

/* sink.c: takes the head of 'q', or NULL when empty. */
struct batch *col_sink_fifo_pop(struct fifo *q);
/* sink.c: starts every request that may start now, or arms the retry timer during a hold. */
void col_sink_pump(struct col_sink *s);
/* sink.c: moves the open batch to the ready queue. */
void col_sink_seal(struct col_sink *s);
void col_sink_on_flush_timer(uv_timer_t *t);
void col_sink_on_retry_timer(uv_timer_t *t);
/* Free a batch / a request (its easy handle, gzip copy and answer); accept NULL. */
void col_sink_batch_free(struct batch *b);
void col_sink_req_free(struct req *r);

/* Builds the write URL from 'cfg' (v1 /write or v2 /api/v2/write with escaped query values).
 * Returns a malloc'd string the caller frees, or NULL (invalid cfg or no memory). */
char *col_sink_build_url(const struct col_sink_cfg *cfg);

/* Builds the request headers (Content-Type, empty Expect, optional Content-Encoding: gzip and
 * Authorization: Token). Returns a list the caller frees with curl_slist_free_all(), or NULL. */
struct curl_slist *col_sink_build_headers(const struct col_sink_cfg *cfg);

/* Parses a Retry-After header value in seconds ("1", " 30\r\n") into milliseconds, capped at
 * COL_SINK_RETRY_AFTER_MAX_MS. Returns false (ignore it: the normal backoff applies) for an
 * HTTP-date, a negative, unparsable or absurd value (more than a day). */
bool col_sink_parse_retry_after(const char *value, size_t len, uint64_t *ms);

/* Returns the store's message from a JSON error body ({"error":...} for v1, {"message":...} for
 * v2), or a copy of the raw body when it is not such JSON; malloc'd, caller frees; NULL on no
 * memory. 'body' need not be NUL-terminated. */
char *col_sink_error_message(const char *body, size_t len);

/* For a 400 answer's message: true when it reports a partial write. */
bool col_sink_is_partial(const char *msg);

/* For a 400 answer's message: true when it is about the store's setup, not the data ("database
 * not found", "retention policy not found", "database is required"): retried, never rejected. */
bool col_sink_is_store_400(const char *msg);

/* Splits 'batch' (len bytes of '\n'-terminated lines) into the lines 'msg' names as
 * "unable to parse '<line>'" (*bad) and the others (*rest); both malloc'd (caller frees, NULL
 * when empty), each line '\n'-terminated. Returns the number of named lines, or -1 when out of
 * memory (nothing allocated then). */
long col_sink_partition_named(const char *msg, const char *batch, size_t len, char **bad,
                              size_t *bad_len, char **rest, size_t *rest_len);

/* Copies into *out (malloc'd, caller frees, *out_len bytes, each line '\n'-terminated) the lines
 * of 'batch' that 'msg' names as "unable to parse '<line>'". Returns the number of lines found
 * (0 leaves *out NULL), or -1 when out of memory. */
long col_sink_named_lines(const char *msg, const char *batch, size_t len, char **out,
                          size_t *out_len);

#endif
