/* console_int.h - shared by the console's files only (not for other modules). */
#ifndef CONSOLE_INT_H
#define CONSOLE_INT_H
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "col_console.h"
#include "col_console_auth.h"
#include "col_console_recompute.h"
#include "col_console_state.h"
#include "col_store.h"
#include "ct/buf.h"

#ifndef container_of
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#endif

/* The page's files, compiled in (console_assets.c is generated from www/ by CMake). */
struct col_console_asset {
    const char *name; /* "index.html", "console.js" */
    const char *type;
    const unsigned char *data;
    size_t len;
};
/* 'rel' is the path below /console/ ("" = index.html); NULL when there is no such file. */
const struct col_console_asset *col_console_asset_find(const char *rel);

/* The session of an allowed request, or NULL after answering 401 (not signed in, expired) or
 * 403 (a change without the CSRF token, or a role below 'need'). */
struct col_console_session *col_console_authed(struct col_console *c, struct col_http_req *req,
                                               enum col_console_role need, bool change);
/* Writes an audit point for a change by session 's' (borrowed). Returns 0 or CT_E_*. */
int col_console_audit(struct col_console *c, const struct col_console_session *s,
                      const char *action, const char *target, const char *why, const char *detail);
/* Hands line protocol to the sink. */
int col_console_write(struct col_console *c, const char *lp, size_t len);
struct col_console_states *col_console_states_of(struct col_console *c);
struct col_store *col_console_store(struct col_console *c);
/* The hooks' rain_adjust (col_console.h); 0 when there is none. */
int col_console_rain_adjust(struct col_console *c, const char *id, const int64_t *ts_ms,
                            const double *mm, size_t n, int sign, int64_t validated_until_ms);
/* Frees at once (no handle open). */
void col_console_free_now(struct col_console *c);

/* console_keep.c: a file the console keeps across restarts (the ongoing alerts, the staff
 * states, the waiting recompute jobs), rewritten whole after a change on the thread pool (temporary
 * file, fsync, rename), one write at a time. The loop thread owns it; it lives inside struct
 * col_console. */
typedef int (*col_console_keep_text_fn)(struct col_console *c, struct ct_buf *out);
struct col_console_keep {
    struct col_console *c;         /* the owner */
    char *path;                    /* owned; NULL: not kept */
    const char *what;              /* for messages: "the ongoing alerts" (static) */
    col_console_keep_text_fn text; /* the file's text from the console's state */
    char *restore;                 /* the file as read at creation (owned), until applied */
    size_t restore_len;
    bool saving;                         /* a write runs on the thread pool */
    uint64_t gen;                        /* changes asked to be saved */
    uint64_t saved_gen;                  /* the changes the running (or last) write holds */
    struct col_console_keep_wait *waits; /* requests answered once their change is written */
};
/* 'path' copied (NULL or "": not kept); 'what' static. Returns 0 or CT_E_NOMEM. */
int col_console_keep_init(struct col_console_keep *k, struct col_console *c, const char *path,
                          const char *what, col_console_keep_text_fn text);
/* Reads the file into k->restore (a missing file: nothing). Returns 0, CT_E_IO (err says why) or
 * CT_E_NOMEM. */
int col_console_keep_load(struct col_console_keep *k, char *err, size_t errcap);
/* Saves the file's text after a change. With 'req' (may be NULL), answers it {"ok":true} once
 * the change is in the file (at once when nothing is kept), or 500 when it cannot be written. */
void col_console_keep_save(struct col_console_keep *k, struct col_http_req *req);
/* Frees the path and the restore text (no write may be running). */
void col_console_keep_free(struct col_console_keep *k);
/* console.c: the loop; frees 'c' when it is closing and nothing runs any more. */
uv_loop_t *col_console_loop(struct col_console *c);
void col_console_maybe_closed(struct col_console *c);
/* Answers {"ok":true} to a change of the staff states once they are kept (console-states). */
void col_console_staff_kept(struct col_console *c, struct col_http_req *req);

/* Saves the waiting recompute jobs (console-recompute) after one is added, advances or ends. */
void col_console_recompute_kept(struct col_console *c);

/* The recompute state, the collector's name (the agg_1h tag) and whether the console closes. */
struct col_console_rc *col_console_rc_of(struct col_console *c);
const char *col_console_instance(const struct col_console *c);

/* console_recompute_jobs.c: a range staff marked invalid waits for its recompute (docs/console.md):
 * recompute_after_ms after the decision, then after each hour close until the range's last hour
 * and COL_CONSOLE_RECOMPUTE_AFTER_H more (and the day whose daily index reads the range) have been
 * written (col_console_recompute_until; test_console_recompute, e2e_console). */
void col_console_recompute_add(struct col_console *c, const char *id, const char *param,
                               int64_t from_ms, int64_t to_ms, int64_t now_ms);
/* After staff withdraw the decision of time 'decided_ms' that marked the range invalid (POST
 * revoke): the range's hours are recomputed again, now with its values valid, on the same
 * schedule as col_console_recompute_add. A job still waiting for that range becomes this one. */
void col_console_recompute_revoked(struct col_console *c, const char *id, const char *param,
                                   int64_t from_ms, int64_t to_ms, int64_t decided_ms,
                                   int64_t now_ms);
/* From the console's tick: starts the next due recompute when none runs. */
void col_console_recompute_tick(struct col_console *c, int64_t now_ms);

/* Answers; each ends the request. */
void col_console_reply_json(struct col_http_req *req, int status, struct ct_buf *b);
void col_console_reply_error(struct col_http_req *req, int status, const char *why);
void col_console_reply(struct col_http_req *req, int status, const char *type, const char *body,
                       size_t len, const char *extra);
void col_console_json_str(struct ct_buf *b, const char *s);
/* The body as a JSON object, or NULL after answering 400. The caller deletes it. */
cJSON *col_console_body(struct col_http_req *req);
const char *col_console_jstr(const cJSON *obj, const char *name);

/* The wall clock in ms. */
int64_t col_console_now_ms(void);
/* liveness.stale_intervals as the console was created with. */
uint32_t col_console_stale_intervals(const struct col_console *c);

/* console_api.c: starts 'influxql' with cb(ctx) (ctx allocated with malloc); on failure answers
 * 503 and frees ctx. */
void col_console_query(struct col_console *c, struct col_http_req *req, const char *influxql,
                       col_store_cb cb, void *ctx);
/* Answers with the store's /query JSON for 'influxql'. */
void col_console_query_pass(struct col_console *c, struct col_http_req *req, const char *influxql);

/* console_report.c: GET completeness, alerts (CT_E_NOTFOUND for another path); POST ack. */
int col_console_report_get(struct col_console *c, struct col_http_req *req, const char *path);
int col_console_ack(struct col_console *c, struct col_http_req *req);
/* Appends 's' as the body of an InfluxQL string literal (quote and backslash escaped). */
void col_console_ql_str(struct ct_buf *b, const char *s);
/* "YYYY-MM-DD" -> the day's start (00:00 in Hanoi, UTC+7) in ms; false when bad. */
bool col_console_day_start(const char *day, int64_t *out);
/* True when a console_decision row of 'decisions' (InfluxDB /query values with 'cols') marks
 * 'param' invalid at 'ts'. Rows withdrawn (revoked = true, POST revoke) do not count, nor the row
 * whose time is 'except_ms' (a decision just withdrawn whose revoke the store may not hold yet;
 * INT64_MIN: none). test_console_recompute_revoked. */
bool col_console_invalid_at(const cJSON *cols, const cJSON *decisions, const char *param,
                            int64_t ts, int64_t except_ms);
/* The position of column 'name' in 'cols' (an InfluxDB /query "columns" array), or -1. */
int col_console_column(const cJSON *cols, const char *name);
/* The first series of statement 'stmt' of an InfluxDB /query answer ('results', its "results"
 * array), or NULL when the statement has none. */
const cJSON *col_console_stmt_series(const cJSON *results, int stmt);
/* True when the console_decision row 'row' (columns 'cols') was withdrawn (revoked = true). A
 * row without the column is not: InfluxQL would compare a missing field as false, so the rows
 * are filtered here rather than in WHERE. */
bool col_console_decision_revoked(const cJSON *cols, const cJSON *row);
/* For GET ...?id=&day=: the signed-in viewer's station 'id' (an air station when 'air_only') and
 * the day's start in *start (may be NULL), or NULL after answering 401, 403 or 400. */
struct col_console_station *col_console_station_day(struct col_console *c, struct col_http_req *req,
                                                    bool air_only, int64_t *start);
/* console_aqi.c: GET aqi?id=&day=: an air station's hourly VN_AQI, raw and validated. */
int col_console_aqi(struct col_console *c, struct col_http_req *req);
/* GET export?id=&day=: the approved day's raw values minus those marked invalid (CSV). */
int col_console_export(struct col_console *c, struct col_http_req *req);

/* console_api.c: GET and POST below /console/api/ ('path' without that prefix). Return
 * CT_E_NOTFOUND (nothing answered) for an unknown path, else 0 (answered). */
int col_console_api_get(struct col_console *c, struct col_http_req *req, const char *path);
int col_console_api_post(struct col_console *c, struct col_http_req *req, const char *path);

#endif
