/* col_console_recompute_events.h - the per-reading derived points of a rain, flood or parking
 * station recomputed from the validated data once staff mark a range invalid (docs/console.md,
 * "Recomputed from the validated data"). Run by the recompute jobs of console_recompute_jobs.c with
 * the same hours as the hourly points (to COL_CONSOLE_RECOMPUTE_AFTER_H = 24 hours after a range,
 * which covers rain's 24-h sums): each run rewrites the points of the readings in the hours
 * [first_ms, last_ms + 1 h), same series key and timestamp as derive wrote them
 * (collector/derive/derive_events.c), plus the boolean field `validated`:
 *   rain_1h        (tags device, district, ward; at each reading): the rolling 1-h and 24-h
 *                  sums and the intense flag from the valid readings only
 *                  (col_indices_rain_gauge.h, derive's code), validated=true. A reading whose
 *                  tips or mm is marked invalid adds nothing; the tips it counted are not carried
 *                  into the next reading (its interval amount is dropped, not the counter).
 *   rain_24h       (tags device, district, ward; at each hour boundary a reading is the first
 *                  past, col_rain_gauge_hour): the 24 hours ending there, validated=true.
 *   flood_level    (tags device, district, ward): at a reading whose depth is marked invalid,
 *                  validated=false alone (the public layer withholds the point); at a valid
 *                  reading whose rate window (col_flood_cfg.rate_window_s) holds an invalid one,
 *                  rise_cm_h from the valid readings (col_flood_rate_cm_h) and validated=true.
 *   parking_lot    (a lot's own counter only; tags district, lot, ward): at a reading whose
 *                  occupied or capacity is marked invalid, validated=false alone. A bay sensor's
 *                  lot is not rewritten (docs/console.md says why).
 * A range withdrawn (POST revoke) gets its points back: the rain sums count its readings again,
 * flood_level (with rise_cm_h) and a lot's points inside it are written with validated=true.
 * Pure: the query and the points (test_console_recompute_events). */
#ifndef COL_CONSOLE_RECOMPUTE_EVENTS_H
#define COL_CONSOLE_RECOMPUTE_EVENTS_H
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "col_console_recompute.h"
#include "ct/buf.h"

/* True for the kinds whose per-reading points are recomputed (rain, flood, parking). */
bool col_console_events_kind(enum ct_kind kind);

/* True when 'param' at 'ts' is inside one of in->ranges or one of the console_decision rows
 * (action invalid) of the store's series 'dec' (may be NULL), those withdrawn left out
 * (col_console_invalid_at, in->withdrawn_ms). Shared with console_recompute.c. */
bool col_console_range_invalid(const struct col_console_recompute_in *in, const cJSON *dec,
                               const char *param, int64_t ts);

/* Appends the two InfluxQL statements of the events' recompute to 'ql': the station's raw points
 * from the hours its first points read back (rain 25 h, flood 1 h) to the end of last_ms's hour,
 * and its console_decision rows with action invalid. Returns 0, CT_E_INVAL (not an events kind)
 * or CT_E_NOMEM. */
int col_console_events_ql(const struct col_console_recompute_in *in, struct ct_buf *ql);

/* The points (above) from the store's answer ('answer', 'len' bytes, /query JSON with epoch=ms)
 * whose last two statements answer col_console_events_ql's (appended after the recompute's own),
 * appended to 'lp' (ms timestamps). Returns 0 (possibly nothing appended), CT_E_INVAL, CT_E_PARSE
 * or CT_E_NOMEM. */
int col_console_events_lp(const struct col_console_recompute_in *in, const char *answer, size_t len,
                          struct ct_buf *lp);

/* Readings whose interval amounts one call of col_console_rain_amounts gives at most: a day of
 * readings every 10 s. */
#define COL_CONSOLE_RAIN_ADJUST_MAX 8640

/* The interval amounts (col_indices_rain_gauge.h, computed as the rain_1h points' recompute
 * computes them) of a rain gauge's readings in the answer's raw points (the statements of
 * col_console_events_ql, last) that lie in the range 'take' (a range of tips or mm: for another
 * parameter none), after since_ms, in none of the nskip ranges 'skip' of tips or mm (their amounts
 * were taken out already), and are above 0: their times into ts_ms and amounts into mm (both 'cap'
 * long), their number into *n, for the live sums' correction (col_console_hooks rain_adjust).
 * Returns 0, CT_E_FULL (more than 'cap': the first 'cap' are given), CT_E_INVAL (not a rain
 * gauge, NULL) or CT_E_PARSE (test_console_rain_amounts). */
int col_console_rain_amounts(const struct col_console_recompute_in *in, const char *answer,
                             size_t len, const struct col_console_range *take,
                             const struct col_console_range *skip, size_t nskip, int64_t since_ms,
                             int64_t *ts_ms, double *mm, size_t cap, size_t *n);

/* The alerts view (GET /console/api/alerts): 'answer' is the store's /query JSON of four
 * statements: the alerts, the acknowledgements, the console_decision rows with action invalid
 * (columns station, param, from, to, revoked: a withdrawn decision marks nothing) and the hourly
 * air_aqi points the console recomputed (columns device, aqi_vn, validated). *out (malloc'd, the
 * caller frees it) is the same JSON with the first two only, each alert with the added column
 * "over_invalid": true when the data that raised it lies in a range marked invalid: flood      the
 * alert's time (the depth reading's) inside a range of depth of its station; aqi        the
 * station's air_aqi of the alert's hour recomputed (validated=true) below the alert's value, or to
 * no index (validated=false); exceeding  a range of any parameter of its station meets the 24 hours
 * before the alert; stale      never. Alerts are never deleted: they are only marked
 * (test_console_recompute_events, e2e_console). Returns 0, CT_E_PARSE or CT_E_NOMEM (*out NULL
 * then). */
int col_console_alerts_mark(const char *answer, size_t len, char **out);

#endif
