/* tt10_out_int.h - the outbox's state, shared by tt10_out.c (the outbox files: writer and pruner
 * jobs, create, close, stats) and tt10_deliver.c (delivery: per receiver a pump that reads its
 * queue and uploads with libcurl multi). Not a public header; loop thread only, except where a
 * field says a thread-pool job owns it. */
#ifndef TT10_OUT_INT_H
#define TT10_OUT_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "col_curl_uv.h"
#include "col_tt10.h"
#include "col_tt10_out.h"

#define MOD "tt10"
#define PATH_CAP 1024
#define PARALLEL_MAX 16

enum scheme { SC_FTP = 0, SC_FTPES, SC_FTPS, SC_SFTP };

struct item {
    char name[COL_TT10_NAME_MAX + 1];
    char *data; /* owned */
    size_t len;
};

struct rcv;

struct upload {
    struct col_curl_xfer x;
    struct rcv *r;
    struct item *it;
    size_t off;
    struct curl_slist *post;
    char errbuf[CURL_ERROR_SIZE];
};

struct rcv {
    struct col_tt10_out *o;
    enum scheme scheme;
    char *url;      /* as given, credentials included; owned */
    char *curl_url; /* the URL handed to libcurl (ftpes:// becomes ftp://); owned */
    char *path;     /* decoded remote directory (sftp rename), owned */
    char qdir[PATH_CAP];
    uv_timer_t retry;
    int64_t backoff_ms;
    bool in_backoff;
    bool filling;
    bool more;   /* something was queued since the last fill started */
    bool failed; /* an upload of the current batch failed */
    struct item *items;
    size_t nitems, next, active;
    unsigned unlinks; /* unlinks of delivered entries still running */
    struct upload ups[PARALLEL_MAX];
    struct col_tt10_out_rstats st;
};

struct put {
    struct put *next;
    char name[COL_TT10_NAME_MAX + 1];
    char *data;
    size_t len;
    uint64_t mark; /* the lowest journal record behind it; 0: none */
    int rc;        /* set by the writer: 0, 1 (already in files/: skipped) or CT_E_* */
};

struct write_job;

struct col_tt10_out {
    uv_loop_t *loop;
    struct col_curl_uv *cu;
    char *dir;
    char files[PATH_CAP];
    char *ca_file, *ssh_priv, *ssh_pub, *ssh_known;
    bool tls_verify, fsync;
    int64_t retention_ms, prune_interval_ms, retry_base_ms, retry_max_ms, timeout_ms;
    uint32_t parallel, batch;
    size_t max_puts;
    struct rcv r[COL_TT10_OUT_RECEIVERS_MAX];
    size_t nr;
    struct put *puts, **puts_tail; /* waiting for the writer */
    size_t nputs;
    bool writing;
    struct write_job *wjob; /* the running write job, or NULL */
    uv_timer_t prune;
    uv_timer_t nudge; /* col_curl_uv_run_all() while uploads run (col_curl_uv.h says why) */
    unsigned jobs;    /* thread-pool jobs and fs requests running */
    unsigned handles; /* uv handles open (timers) */
    bool closing, curl_closed;
    void (*closed_cb)(void *);
    void *closed_arg;
    uint64_t written, write_errors, full, pruned, skipped;
};

/* tt10_out.c */

/* Frees o once it is closing and no job, handle or curl multi is left; then calls closed_cb. */
void tt10_out_maybe_free(struct col_tt10_out *o);

/* tt10_deliver.c */

/* Fills r from 'url' (len bytes): scheme, the URL without credentials (for stats and the queue's
 * id), the decoded path. Returns 0, CT_E_INVAL (err filled) or CT_E_NOMEM. */
int tt10_rcv_init(struct col_tt10_out *o, struct rcv *r, const char *url, size_t len, char *err,
                  size_t errcap);
/* Something was queued for r: reads its queue now unless a batch or a backoff runs. */
void tt10_rcv_kick(struct rcv *r);
/* The receiver's retry timer: ends a backoff and reads the queue again (data: the outbox). */
void tt10_rcv_retry_cb(uv_timer_t *t);

#endif
