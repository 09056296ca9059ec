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

/* Largest response body kept for classification; the rest is discarded (bounded). */
#define COL_SINK_RESP_MAX 65536u

struct batch {
    struct batch *next; /* link in the ready queue or the backlog */
    char *body;         /* line protocol, every line '\n'-terminated; never changes once cut */
    size_t len, cap;    /* bytes used / allocated */
    size_t points;      /* lines */
    uint64_t mark_lo;   /* mark of the first line */
    uint64_t born_ms;   /* loop time of the first line */
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
    bool last_was_backlog; /* alternation when max_inflight is 1 */
    uint64_t last_mark;
    unsigned fail_streak;       /* consecutive retryable failures */
    uint64_t hold_until;        /* no request starts before this loop time */
    uint64_t server_hold_until; /* the latest Retry-After; survives later successes */
    bool want_room;             /* a CT_E_FULL was answered */
    uint64_t rng;
    struct col_sink_stats st;
    bool closing;
    unsigned pending_closes;
    void (*closed_cb)(void *arg);
    void *closed_arg;
};

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

/* Parses a Retry-After header value in seconds ("1", " 30\r\n") into milliseconds. HTTP-date
 * values are not supported and return false. */
bool col_sink_parse_retry_after(const char *value, size_t len, uint64_t *ms);

/* Returns the store's message from a JSON error body ({"error":...} for v1, {"message":...} for
 * v2), or a copy of the raw body when it is not such JSON; malloc'd, caller frees; NULL on no
 * memory. 'body' need not be NUL-terminated. */
char *col_sink_error_message(const char *body, size_t len);

/* For a 400 answer's message: true when it reports a partial write. */
bool col_sink_is_partial(const char *msg);

/* Copies into *out (malloc'd, caller frees, *out_len bytes, each line '\n'-terminated) the lines
 * of 'batch' that 'msg' names as "unable to parse '<line>'". Returns the number of lines found
 * (0 leaves *out NULL), or -1 when out of memory. */
long col_sink_named_lines(const char *msg, const char *batch, size_t len, char **out,
                          size_t *out_len);

#endif
