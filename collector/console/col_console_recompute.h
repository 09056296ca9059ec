/* col_console_recompute.h - the station's derived points recomputed from the validated data
 * once staff mark a range invalid (docs/console.md, "Recomputed from the validated data").
 *
 * For the hours a range marked invalid touches, the station's raw points are read from the store
 * (with every range of the station marked invalid), the values inside those ranges are left out,
 * and the hourly points are written again with the same series key and timestamp as derive wrote
 * them, plus the boolean field `validated`:
 *   <kind>_agg_1h  (tags collector, device, district, ward; time = the hour's start): min, max,
 *                  sum and count of every member from the valid values (a member whose values
 *                  were all invalid: sum 0 and count 0), interval_s, validated=true;
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
 * An index point is written only for an hour with readings (as derive does).
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
/* Hours after a range's last hour whose indices still read it: the PM NowCast's 12 hours (and
 * at least to the end of the range's local day, for its daily index). */
#define COL_CONSOLE_RECOMPUTE_AFTER_H 12
/* Hours one recompute writes at most; a longer range is done in several passes. */
#define COL_CONSOLE_RECOMPUTE_HOURS_MAX (24 * 31)
/* Ranges waiting for their recompute; when full, the oldest is dropped (logged, counted). */
#define COL_CONSOLE_RECOMPUTE_JOBS 256

/* A range of one parameter marked invalid, both ends inclusive (ms). */
struct col_console_range {
    char param[CT_MEMBER_NAME_MAX + 1];
    int64_t from_ms, to_ms;
};

struct col_console_recompute_in {
    const struct ct_device *dev;            /* borrowed: kind, id, district, ward, interval_s */
    const char *instance;                   /* borrowed: the collector tag of <kind>_agg_1h */
    int64_t first_ms;                       /* the first hour (its start) written */
    int64_t last_ms;                        /* the last hour (its start) written; >= first_ms */
    const struct col_console_range *ranges; /* borrowed; left out besides the answer's */
    size_t nranges;
    int64_t withdrawn_ms; /* the answer's decision of this time counts as withdrawn (its revoke
                             may not be in the store yet); 0: none (no decision is made at 0) */
};

/* The two InfluxQL statements of a recompute into 'ql': the station's raw points from 30 hours
 * before first_ms (the daily O3 8-h means) to the end of the last hour, and the station's
 * console_decision rows with action invalid. Returns 0, CT_E_INVAL or CT_E_NOMEM. */
int col_console_recompute_ql(const struct col_console_recompute_in *in, struct ct_buf *ql);

/* The points of the hours [first_ms, last_ms] from the store's answer to those statements
 * ('answer', 'len' bytes, InfluxDB /query JSON with epoch=ms), appended to 'lp' (ms timestamps).
 * Returns 0 (possibly nothing appended: no data), CT_E_INVAL (bad input, more than
 * COL_CONSOLE_RECOMPUTE_HOURS_MAX hours), CT_E_PARSE (not the store's answer) or CT_E_NOMEM. */
int col_console_recompute_lp(const struct col_console_recompute_in *in, const char *answer,
                             size_t len, struct ct_buf *lp);

/* One range waiting for its recompute. */
struct col_console_rc_job {
    char id[CT_ID_MAX + 1];
    struct col_console_range r;
    int64_t due_ms;     /* the next run at or after this */
    int64_t done_ms;    /* the last hour start written so far, or INT64_MIN */
    int64_t until_ms;   /* the last hour start to write: the range's + AFTER_H hours */
    int64_t revoked_ms; /* the range's decision (its time) was withdrawn: the range is valid
                           again and not left out; 0: a range marked invalid */
};

/* The console's recompute state (inside struct col_console; loop thread only). */
struct col_console_rc {
    struct col_console_rc_job jobs[COL_CONSOLE_RECOMPUTE_JOBS];
    size_t n;
    int64_t after_ms; /* console.recompute_after_ms: the delay after a decision or an hour close */
    bool busy;        /* a query is running */
    uint64_t written, failed, dropped; /* recomputes written, failed, jobs dropped when full */
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
