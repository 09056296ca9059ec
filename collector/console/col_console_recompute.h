/* col_console_recompute.h - the station's derived points recomputed from the validated data
 * once staff mark a range invalid (docs/console.md, "Recomputed from the validated data").
 *
 * For the hours a range marked invalid touches, the station's raw points are read from the store
 * (with every range of the station marked invalid), the values inside those ranges are left out,
 * and the derived points are written again with the same series key and timestamp as derive
 * wrote them, plus the boolean field `validated`:
 *   <kind>_agg_1h  (tags collector, device, district, ward; time = the hour's start): min, max,
 *                  sum and count of every member from the valid values (a member whose values
 *                  were all invalid: sum 0 and count 0), interval_s, validated=true;
 *   <kind>_agg_<w> (derive's window of aggregate.window_s, e.g. air_agg_1m; in->window_s): the
 *                  same for every window of the hours written (time = the window's start), a
 *                  window longer than an hour once its last hour is written;
 *                  for both aggregates the sum over series is then exact: the whole window's
 *                  valid totals go into this instance's on-time series (tag collector =
 *                  in->instance, no part), and every other series the store holds for the window
 *                  (a late part, tag part; another collector instance's, tag collector; an older
 *                  district or ward) gets sum 0 and count 0 for each member it has (min and max
 *                  left as they were), validated=true, so that readers summing sums and counts
 *                  over parts and collectors get the valid totals;
 *   air_aqi        (air only; tags device, district, ward; time = the hour's end): the hourly
 *                  VN_AQI, US AQI and NowCasts of col_aqi_hour_compute (the live index's code)
 *                  over the valid hourly means, validated=true; when the raw data had an index
 *                  and the valid data has none, only validated=false (so that the public layer
 *                  withholds the raw index);
 *   water_wqi      (water only; same tags and time as air_aqi): the hourly VN_WQI of
 *                  col_wqi_compute over the hour's valid means, validated=true (or false, as
 *                  above).
 *   air_aqi_daily  (air only; at a day's end, 00:00 Asia/Ho_Chi_Minh, when its last hour is
 *                  written): the daily VN_AQI of col_aqi_day_compute, validated as above.
 * An aggregate or index point is written only for a window or hour with readings (as derive
 * does). A job writes the range's hours and the COL_CONSOLE_RECOMPUTE_AFTER_H after them (the
 * hourly index reads 24 hours back: the US AQI's SO2 24-h mean), and at least to the end of the
 * local day whose daily index reads the range (the next day's when the range lies in its day's
 * last 7 hours: the O3 8-h means).
 * The pure part (the query, the points, the kept jobs' text) is here for tests
 * (test_console_recompute); the loop part (jobs, the timer, the store query, the journalled
 * write) runs inside the console. The waiting jobs are kept across restarts in
 * <spool.dir>/console-recompute (col_console_recompute_text/_restore, saved like console-states
 * after a job is added, advances or ends; test_console_recompute_keep, e2e_console). */
#ifndef COL_CONSOLE_RECOMPUTE_H
#define COL_CONSOLE_RECOMPUTE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct/buf.h"
#include "ct/registry.h"
#include "ct/schema.h"

#define COL_CONSOLE_HOUR_MS 3600000LL
#define COL_CONSOLE_DAY_MS (24 * COL_CONSOLE_HOUR_MS)
/* Asia/Ho_Chi_Minh (UTC+7): a local day ends at 17:00 UTC. */
#define COL_CONSOLE_LOCAL_OFFSET_MS (7 * COL_CONSOLE_HOUR_MS)

/* 'ms' rounded down to a multiple of 'unit' (> 0), also below 0. */
int64_t col_console_floor_to(int64_t ms, int64_t unit);
/* Hours after a range's last hour whose indices still read it: the hourly index's 24 hours (the
 * US AQI's SO2 24-h mean; the PM NowCast reads 12). A job also writes at least to the end of the
 * local day whose daily index reads the range's last value: that value's day, or the next one
 * when it lies in its day's last 7 hours (the O3 8-h means of the next day's first hours). */
#define COL_CONSOLE_RECOMPUTE_AFTER_H 24
/* Hours one recompute writes at most; a longer range is done in several passes. */
#define COL_CONSOLE_RECOMPUTE_HOURS_MAX (24 * 31)
/* Windows of aggregate.window_s one recompute writes at most (those hours of one-minute windows):
 * with shorter windows a pass writes fewer hours (col_console_recompute_hours_max). */
#define COL_CONSOLE_RECOMPUTE_WINDOWS_MAX (COL_CONSOLE_RECOMPUTE_HOURS_MAX * 60)
/* Ranges waiting for their recompute; when full, the oldest is dropped (logged, counted). */
#define COL_CONSOLE_RECOMPUTE_JOBS 256

/* A range of one parameter marked invalid, both ends inclusive (ms). */
struct col_console_range {
    char param[CT_MEMBER_NAME_MAX + 1];
    int64_t from_ms, to_ms;
};

struct col_console_recompute_in {
    const struct ct_device *dev;            /* borrowed: kind, id, district, ward, interval_s */
    const char *instance;                   /* borrowed: the collector tag of the aggregates */
    uint32_t window_s;                      /* aggregate.window_s: derive's <kind>_agg_<w> is
                                               written too; 0 or 3600: the hour alone. Must
                                               divide 86400 */
    int64_t first_ms;                       /* the first hour (its start) written */
    int64_t last_ms;                        /* the last hour (its start) written; >= first_ms */
    const struct col_console_range *ranges; /* borrowed; left out besides the answer's */
    size_t nranges;
    int64_t withdrawn_ms; /* the answer's decision of this time counts as withdrawn (its revoke
                             may not be in the store yet); 0: none (no decision is made at 0) */
};

/* Hours one recompute writes at most with derive's window of 'window_s' seconds (0: the hour
 * alone): COL_CONSOLE_RECOMPUTE_HOURS_MAX, or fewer so that they hold at most
 * COL_CONSOLE_RECOMPUTE_WINDOWS_MAX windows (10-s windows: 124 hours); at least 1. */
int64_t col_console_recompute_hours_max(uint32_t window_s);

/* The three InfluxQL statements of a recompute into 'ql': the station's raw points from 30 hours
 * before first_ms (the daily O3 8-h means) to the end of the last hour; the station's
 * console_decision rows with action invalid; and the `<member>_count` fields of the station's
 * aggregate series (<kind>_agg_1h and <kind>_agg_<w>) of the windows written, GROUP BY * (every
 * collector instance and late part). Returns 0, CT_E_INVAL or CT_E_NOMEM. */
int col_console_recompute_ql(const struct col_console_recompute_in *in, struct ct_buf *ql);

/* The points of the hours [first_ms, last_ms] from the store's answer to those statements
 * ('answer', 'len' bytes, InfluxDB /query JSON with epoch=ms), appended to 'lp' (ms timestamps):
 * the hours' points and those of every window of aggregate.window_s that ends after first_ms and
 * at or before the end of the last hour. Returns 0 (possibly nothing appended: no data),
 * CT_E_INVAL (bad input, more than col_console_recompute_hours_max hours), CT_E_PARSE (not the
 * store's answer) or CT_E_NOMEM. */
int col_console_recompute_lp(const struct col_console_recompute_in *in, const char *answer,
                             size_t len, struct ct_buf *lp);

/* One range waiting for its recompute. */
struct col_console_rc_job {
    char id[CT_ID_MAX + 1];
    struct col_console_range r;
    int64_t due_ms;     /* the next run at or after this */
    int64_t done_ms;    /* the last hour start written so far, or INT64_MIN */
    int64_t until_ms;   /* the last hour start to write: the range's + AFTER_H hours, or the end
                           of the day whose daily index reads the range */
    int64_t revoked_ms; /* the range's decision (its time) was withdrawn: the range is valid
                           again and not left out; 0: a range marked invalid */
    bool adjusted;      /* a rain gauge's tips or mm: this process's derive has had the range's
                           invalid amounts taken out of its live 24-h sums (col_console_hooks
                           rain_adjust). Not kept in the file: derive rebuilds its ring from the raw
                           points at start, so a restored job takes them out again */
};

/* The last hour (its start) a job of a range ending at 'to_ms' writes:
 * COL_CONSOLE_RECOMPUTE_AFTER_H hours after the range's last hour, or the last hour of the local
 * day whose daily index reads to_ms (to_ms's day; the next one when to_ms is 17:00 local or later)
 * when that is later. */
int64_t col_console_recompute_until(int64_t to_ms);

/* The console's recompute state (inside struct col_console; loop thread only). */
struct col_console_rc {
    struct col_console_rc_job jobs[COL_CONSOLE_RECOMPUTE_JOBS];
    size_t n;
    int64_t after_ms; /* console.recompute_after_ms: the delay after a decision or an hour close */
    bool busy;        /* a query is running */
    uint64_t written, failed, dropped; /* recomputes written, failed, jobs dropped when full */
    /* aggregate.window_s: derive's window, whose aggregates are rewritten with the hour's */
    uint32_t window_s;
};

/* The jobs' text for <spool.dir>/console-recompute, one line per job, in the table's order:
 *   <station id> <param> <from_ms> <to_ms> <due_ms> <done_ms or -> <until_ms>[ <revoked_ms>]
 * (the eighth field only for a withdrawn range: the time of the decision withdrawn).
 * Returns 0 or CT_E_NOMEM. */
int col_console_recompute_text(const struct col_console_rc *rc, struct ct_buf *out);
/* Appends the jobs of 'text' ('len' bytes, col_console_recompute_text's lines; borrowed) to the
 * table, parsed strictly: a line with a bad field, a range already waiting or no room left is
 * skipped and logged with 'file', its line number and the reason (test_console_recompute_keep).
 * Returns the number of jobs added. */
size_t col_console_recompute_restore(struct col_console_rc *rc, const char *text, size_t len,
                                     const char *file);

#endif
