/* col_obs.h - observability: the leveled log and the metrics registry.
 *
 * Log: col_log() writes one line to stderr (or the stream set by col_log_set_stream()):
 *   "2026-11-23T16:30:10.123Z WARN  [sink] message"
 * UTC time with milliseconds, level, module tag, message. A line is formatted into a bounded
 * buffer (COL_LOG_LINE_MAX; longer messages are cut and end in "...") and written with one
 * fwrite (stdio locks the stream for each call), so that lines of different threads do not mix.
 * Control characters in the message (newlines included) are written as '?', so no input can
 * forge a log line (proved by test_obs). The metrics registry is thread-safe
 * (test_obs_metrics_threads).
 *
 * Metrics: counters and gauges in families (one name, help text, type and label names), each
 * series with fixed label values. Registration (col_metrics_register) and rendering
 * (col_metrics_render) happen on one thread (the loop); updates through the returned handle
 * (col_metric_inc/add/set) are lock-free C11 atomics, safe from any thread. The number of
 * series is bounded at creation; registration beyond it fails with CT_E_FULL. Rendering is the
 * Prometheus text exposition format 0.0.4. */
#ifndef COL_OBS_H
#define COL_OBS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ct/buf.h"

/* ---- Log ---- */

enum col_log_level { COL_LOG_ERROR = 0, COL_LOG_WARN, COL_LOG_INFO, COL_LOG_DEBUG };

#define COL_LOG_LINE_MAX 2048 /* bytes of one line, newline included; longer is cut */

/* Sets the lowest level that is written (default COL_LOG_INFO). Any thread. */
void col_log_set_level(enum col_log_level level);

/* The wall clock in milliseconds since the epoch (CLOCK_REALTIME). */
int64_t col_now_ms(void);
enum col_log_level col_log_get_level(void);
/* True when a line of 'level' would be written (to skip costly arguments). */
bool col_log_enabled(enum col_log_level level);
/* Returns 0 and sets *level for "error", "warn", "info" or "debug"; CT_E_INVAL otherwise. */
int col_log_level_parse(const char *name, enum col_log_level *level);
/* "ERROR", "WARN", "INFO", "DEBUG"; "?" for other values. */
const char *col_log_level_name(enum col_log_level level);
/* Redirects the log (borrowed; must stay open until redirected again); NULL restores stderr.
 * Meant for start-up and tests; not synchronised with concurrent col_log() calls. */
void col_log_set_stream(FILE *stream);
/* Writes one line when 'level' is enabled. 'module' is a short tag ("sink"); NULL gives "-". */
void col_log(enum col_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- Metrics ---- */

/* COL_METRIC_GAUGE_MILLI: a gauge set in thousandths of its unit and rendered in the unit with
 * three decimals (set 1234 -> "1.234"), so that times kept in milliseconds are exposed in seconds,
 * Prometheus' base unit (tests/unit/obs/test_metrics.c, tests/e2e/test_prometheus.py). */
enum col_metric_type { COL_METRIC_COUNTER = 0, COL_METRIC_GAUGE, COL_METRIC_GAUGE_MILLI };

#define COL_METRICS_MAX_LABELS 4  /* label pairs of one series */
#define COL_METRICS_NAME_MAX 128  /* bytes of a metric or label name */
#define COL_METRICS_VALUE_MAX 256 /* bytes of a label value */
#define COL_METRICS_HELP_MAX 512  /* bytes of a help text */

struct col_metrics; /* opaque registry */
struct col_metric;  /* one series; owned by the registry, valid until col_metrics_destroy() */

/* Creates a registry of at most 'max_series' series (1..65536). Returns 0, CT_E_INVAL or
 * CT_E_NOMEM. All memory is allocated here; registration never reallocates. */
int col_metrics_create(size_t max_series, struct col_metrics **out);
/* Frees the registry and invalidates every handle. Accepts NULL. No update may be in flight. */
void col_metrics_destroy(struct col_metrics *m);

/* Registers one series of family 'name' (Prometheus name syntax) and returns its handle in *out.
 * 'labels' is NULL or a flat NULL-terminated array of name/value pairs
 * ({"reason", "bad_sig", NULL}), at most COL_METRICS_MAX_LABELS pairs; names, help and values are
 * copied. The first series of a family fixes its type, help text and label names; a later series
 * must repeat them (else CT_E_INVAL). Returns 0, CT_E_INVAL (bad name, label or mismatch),
 * CT_E_EXISTS (same family and label values; *out is then the existing series), CT_E_FULL (the
 * series limit) or CT_E_NOMEM. Loop thread only (not concurrent with itself or rendering). */
int col_metrics_register(struct col_metrics *m, enum col_metric_type type, const char *name,
                         const char *help, const char *const *labels, struct col_metric **out);

/* Counter or gauge: adds 1 / n. Any thread; lock-free. */
void col_metric_inc(struct col_metric *s);
void col_metric_add(struct col_metric *s, uint64_t n);
/* Gauges only (ignored on a counter): sets the value / adds a signed delta. Any thread. */
void col_metric_set(struct col_metric *s, int64_t v);
void col_metric_gauge_add(struct col_metric *s, int64_t delta);
/* The current value (counters are read as unsigned and fit int64 in practice). Any thread. */
int64_t col_metric_value(const struct col_metric *s);

/* Appends the exposition text (HELP and TYPE once per family, families in registration order,
 * label values escaped) to 'out'. Returns 0, or CT_E_TOOBIG / CT_E_NOMEM from the buffer (the
 * output is then incomplete). Loop thread. */
int col_metrics_render(const struct col_metrics *m, struct ct_buf *out);
/* The Content-Type of the rendered text. */
#define COL_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
