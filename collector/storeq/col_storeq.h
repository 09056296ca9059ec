/* col_storeq.h - the few read shapes the collector asks of its store (the start-up rebuild, the
 * public layers), with one implementation per store kind:
 *   InfluxDB 1.x: InfluxQL on /query (epoch=ms), answered as is;
 *   VictoriaMetrics: MetricsQL (an instant query of last values for newest rows and last(), a
 *   range query of hourly rollups for hourly aggregates) or raw samples from /api/v1/export
 *   (other aggregates), reduced here to the very answer InfluxDB
 *   would give ({"results":[{"statement_id":i,"series":[{name, tags, columns, values}]}]}, times in
 *   ms), so that the callers parse one shape and compute the same things on either store.
 * VictoriaMetrics names a line-protocol field "<measurement>_<field>" and keeps numbers only
 * (string fields are dropped at ingest), so string columns (air_aqi.dominant,
 * water_wqi.category_vi, ...) are absent on it; booleans arrive as 0/1.
 *
 * The pure part (col_storeq_influxql, col_storeq_vm_*) is in the library col_storeq_spec; the
 * runner (col_storeq_query, loop thread only) in col_storeq. */
#ifndef COL_STOREQ_H
#define COL_STOREQ_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum col_storeq_kind {
    COL_STOREQ_INFLUXDB = 0, /* store.kind "influxdb" */
    COL_STOREQ_VICTORIAMETRICS = 1,
};

/* One aggregate column: fn("field") AS "as". fn: sum, count, max, min or last. */
struct col_storeq_agg {
    const char *fn, *field, *as;
};

#define COL_STOREQ_TAGS_MAX 2
#define COL_STOREQ_AGGS_MAX 16
#define COL_STOREQ_SEL_MAX 4 /* selections in one request */
#define COL_STOREQ_COLS_MAX 4

/* One statement. Every string and the aggs array are borrowed and must outlive the query (the
 * callers use static tables). */
struct col_storeq_sel {
    const char *meas;
    const struct col_storeq_agg *aggs;     /* NULL: the newest row of each series (SELECT *) */
    size_t naggs;                          /* 0 with aggs NULL, else 1..COL_STOREQ_AGGS_MAX */
    uint32_t window_s;                     /* time > now() - window (>= with window_incl) */
    char window_unit;                      /* how InfluxQL spells the window: 's', 'h' or 'd' */
    bool window_incl;                      /* ">=" rather than ">" */
    bool hourly;                           /* aggs per hour: GROUP BY time(1h), <tags> fill(none) */
    const char *tags[COL_STOREQ_TAGS_MAX]; /* GROUP BY tags, NULL-terminated when fewer */
    /* Every row in the window (aggs NULL, not hourly), only the columns 'cols' (NULL-terminated
     * when fewer), only rows whose tag 'where_tag' (if set) equals 'where_value': the console's
     * decisions. InfluxDB only: VictoriaMetrics keeps no string tags' rows as such, and its answer
     * to such a selection has no series (the console runs on InfluxDB, docs/deployment.md). */
    bool rows;
    const char *cols[COL_STOREQ_COLS_MAX];
    const char *where_tag, *where_value;
};

/* Writes the InfluxQL of 'n' selections joined by "; " into buf. Returns 0, CT_E_INVAL or
 * CT_E_TOOBIG. */
int col_storeq_influxql(const struct col_storeq_sel *sel, size_t n, char *buf, size_t cap);

/* Writes the VictoriaMetrics request (path and query string) for 'n' selections at 'now_ms':
 * newest rows and last()-only selections: a MetricsQL instant query, /api/v1/query?query=union(
 * label_set(last_over_time(...) keep_metric_names, "__q", "v"), label_set(tlast_over_time(...)
 * ...)) (the last value and the time of every series); one hourly selection: /api/v1/query_range
 * of "<fn>_over_time(<field>[1h] offset 1ms)" per aggregate (label "__a"), step 1 h, so that the
 * value at T is the hour [T - 1 h, T) (the oldest hour whole); otherwise: /api/v1/export of the
 * fields over the longest window (raw samples, reduced here). Returns 0,
 * CT_E_INVAL or CT_E_TOOBIG. */
int col_storeq_vm_request(const struct col_storeq_sel *sel, size_t n, int64_t now_ms, char *buf,
                          size_t cap);

/* Reduces a VictoriaMetrics answer to the one of col_storeq_vm_request (export JSON lines, or a
 * query's {"status":"success","data":{"resultType":"vector"|"matrix","result":[...]}}) to the
 * InfluxDB 1.x answer of
 * the same selections: *out is malloc'd, NUL-terminated, owned by the caller. Lines or results
 * that do not parse are skipped. Returns 0, CT_E_INVAL or CT_E_NOMEM. */
int col_storeq_vm_answer(const struct col_storeq_sel *sel, size_t n, int64_t now_ms,
                         const char *body, size_t len, char **out);

struct col_store;

/* Called once on the loop thread with the HTTP status (> 0) or a negative CT_E_* and, for a
 * status > 0, the InfluxDB-shaped answer ('body' borrowed for the call). */
typedef void (*col_storeq_cb)(void *arg, int status, const char *body, size_t len);

/* Runs 'n' (1..COL_STOREQ_SEL_MAX) selections on 'st' (borrowed; made with epoch "ms") as one
 * request. 'sel' is copied (its strings are not). Returns 0 and calls cb later, or an error of
 * col_store_query / col_store_get (then cb is not called). */
int col_storeq_query(struct col_store *st, enum col_storeq_kind kind,
                     const struct col_storeq_sel *sel, size_t n, col_storeq_cb cb, void *arg);

#endif
