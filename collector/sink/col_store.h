/* col_store.h - a small InfluxDB 1.x query client on the collector's uv loop (libcurl multi), for
 * the map layers and for rebuilding state at start. Not thread-safe: loop thread only.
 *
 * col_store_query() sends InfluxQL to /query?db=<db>&q=<statement>[&epoch=<epoch>]: with GET
 * when the statement starts with SELECT or SHOW, with POST otherwise (InfluxDB 1.x requires POST
 * for CREATE, DROP, ...). The answer body is kept up to max_response_bytes. */
#ifndef COL_STORE_H
#define COL_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct col_store; /* opaque; owns a libcurl multi and its uv handles */

struct col_store_cfg {
    const char *url;  /* borrowed, copied: "http://127.0.0.1:8086" */
    const char *db;   /* database for q=, NULL or "" for none (CREATE DATABASE) */
    const char *user; /* u= and p=, NULL for none */
    const char *password;
    const char *epoch;         /* "ms", "s", ... for numeric times; NULL for RFC 3339 */
    long connect_timeout_ms;   /* 0 means 5000 */
    long timeout_ms;           /* whole request, 0 means 10000 */
    size_t max_response_bytes; /* 0 means 4 MiB; a longer answer fails with CT_E_TOOBIG */
    unsigned max_inflight;     /* concurrent queries, 0 means 16; beyond: CT_E_FULL */
};

/* Called once per query on the loop thread. 'status' is the HTTP status (> 0), or a negative
 * CT_E_*: CT_E_TIMEOUT, CT_E_NET (transport), CT_E_TOOBIG (answer over the limit), CT_E_STATE
 * (the store was closed first). 'body' (len bytes, NUL-terminated after len) is borrowed for the
 * call and is NULL when status < 0. */
typedef void (*col_store_cb)(void *arg, int status, const char *body, size_t len);

/* Creates a client on 'loop' (borrowed). Copies 'cfg'. Returns 0, CT_E_INVAL (no url),
 * CT_E_NOMEM or CT_E_IO; on error *out is untouched. */
int col_store_create(uv_loop_t *loop, const struct col_store_cfg *cfg, struct col_store **out);

/* Starts a query ('influxql' is copied). Returns 0 and calls cb later, or CT_E_FULL (max_inflight
 * queries running), CT_E_STATE (closing), CT_E_INVAL (empty query), CT_E_NOMEM or CT_E_IO; on
 * error cb is not called. */
int col_store_query(struct col_store *st, const char *influxql, col_store_cb cb, void *arg);

/* Starts a GET of '<url><path>' ('path' copied, from its '/' with its query string already
 * escaped; with the configured user, HTTP basic auth), for stores that answer elsewhere than
 * /query (VictoriaMetrics' /api/v1/export). Returns and calls back as col_store_query. */
int col_store_get(struct col_store *st, const char *path, col_store_cb cb, void *arg);

/* Asynchronous close: every running query's cb is called with CT_E_STATE before this returns;
 * then the handles close, 'st' is freed, and closed_cb(arg) is called (may be NULL). Accepts
 * NULL. */
void col_store_close(struct col_store *st, void (*closed_cb)(void *arg), void *arg);

#endif
