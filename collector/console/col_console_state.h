/* col_console_state.h - station states for the staff console: pure logic over the caller's clock,
 * no I/O, no libuv; the loop thread owns a struct col_console_states.
 *
 * A station's state, with the time it began:
 *   fault / calibrating: set by staff (with who, why and since when) and kept until staff set
 *           measuring; kept across a restart (col_console_staff_text/_restore: the console
 *           writes them to <spool.dir>/console-states);
 *   silent: liveness says so (collector/derive's rule: no reading for interval_s x
 *           liveness.stale_intervals; the app passes derive's verdict in col_console_states_tick);
 *   offline: the node's own status (its retained status or MQTT will) says offline;
 *   measuring: otherwise.
 * Staff states win over silent, silent over offline.
 *
 * Per parameter: normal, approaching, exceeding against a limit of an averaging time. The mean is
 * taken over the clock hours that overlap [now - averaging, now] (hourly sums kept for 24 h), so
 * a 1 h limit sees the current and the previous clock hour. Approaching: the mean is past the
 * entry's own threshold when it has one, else past 'approach' times a maximum, or below a minimum
 * divided by 'approach'. */
#ifndef COL_CONSOLE_STATE_H
#define COL_CONSOLE_STATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct/buf.h"
#include "ct/payload.h"
#include "ct/registry.h"

#define COL_CONSOLE_LIMITS_MAX 32 /* limits in console.limits */
#define COL_CONSOLE_HOURS 25      /* hourly buckets kept per parameter */

enum col_console_st {
    COL_CONSOLE_ST_MEASURING = 0,
    COL_CONSOLE_ST_CALIBRATING,
    COL_CONSOLE_ST_FAULT,
    COL_CONSOLE_ST_SILENT,
    COL_CONSOLE_ST_OFFLINE,
};

enum col_console_level { COL_CONSOLE_NORMAL = 0, COL_CONSOLE_APPROACHING, COL_CONSOLE_EXCEEDING };

enum col_console_bound { COL_CONSOLE_MAX = 0, COL_CONSOLE_MIN };

struct col_console_limit {
    enum ct_kind kind;
    char param[CT_MEMBER_NAME_MAX + 1];
    uint32_t avg_h; /* averaging time in hours: 1, 8 or 24 */
    enum col_console_bound bound;
    double value;
    double approach_at; /* the "approaching" threshold when given (a 5th field), else 0 */
};

struct col_console_limits {
    struct col_console_limit v[COL_CONSOLE_LIMITS_MAX];
    size_t n;
    double approach; /* fraction of the limit where "approaching" begins (0 < x < 1) */
};

/* Parses "air.pm25:24h:max:50,water.ph:1h:min:6:6.5,..." into *out (approach is set by the
 * caller); an optional 5th field is the entry's own "approaching" threshold (below a maximum,
 * above a minimum), for limits where a fraction means nothing (pH).
 * Returns 0 or CT_E_PARSE (err names the entry). */
int col_console_limits_parse(const char *spec, struct col_console_limits *out, char *err,
                             size_t errcap);

struct col_console_param {
    const struct col_console_limit *limit; /* borrowed from the limits table */
    double sum[COL_CONSOLE_HOURS];
    uint32_t count[COL_CONSOLE_HOURS];
    int64_t hour[COL_CONSOLE_HOURS]; /* the clock hour (ms / 3600000) of each bucket */
    double last;                     /* the last value */
    enum col_console_level level;
    int64_t level_since_ms;
    /* An "exceeding" alert was raised and the exceedance has not been seen to end (a mean at
     * or under the limit); kept across a restart (col_console_alerts_text/_restore), so that a
     * restart never raises the same ongoing exceedance again (test_console_exceed_once,
     * e2e_console). */
    bool alerted;
    int64_t alerted_ms;
};

struct col_console_station {
    const struct ct_device *dev; /* borrowed from the registry */
    enum col_console_st state;
    int64_t since_ms;     /* when 'state' began (0 = since the collector started) */
    int64_t last_seen_ms; /* the last accepted reading's arrival (0 = none since start) */
    bool silent;
    bool offline;
    enum col_console_st staff; /* MEASURING (none), CALIBRATING or FAULT */
    int64_t staff_since_ms;    /* when staff set 'staff' (the state's 'since' while it lasts) */
    char staff_by[33];
    char staff_why[128];
    size_t nparams;
    struct col_console_param *params; /* owned; one per limit of its kind */
};

struct col_console_states {
    struct col_console_station *v; /* owned, registry order */
    size_t n;
    const struct col_console_limits *limits; /* borrowed */
    /* Called by col_console_states_tick when a parameter starts exceeding its limit (an alert
     * of type "exceeding"); may be NULL. */
    void (*on_exceed)(void *arg, const struct col_console_station *st,
                      const struct col_console_param *p, double mean, int64_t now_ms);
    void *exceed_arg;
    bool alerts_changed; /* set by the tick when a parameter's 'alerted' changed */
};

/* Builds the table from the registry (borrowed: must outlive the table, so rebuild after a
 * reload) and the limits (borrowed likewise). States of stations present in 'old' (may be NULL)
 * are carried over. Returns 0 or CT_E_NOMEM. */
int col_console_states_build(struct col_console_states *out, const struct ct_registry *reg,
                             const struct col_console_limits *limits,
                             const struct col_console_states *old);
void col_console_states_free(struct col_console_states *s);
/* The station 'id', or NULL. */
struct col_console_station *col_console_station_find(struct col_console_states *s, const char *id);

/* An accepted reading of the station (its ts places the value in its hour). */
void col_console_states_reading(struct col_console_states *s, const struct ct_reading *r,
                                int64_t now_ms);
/* The node's own status. */
void col_console_states_status(struct col_console_states *s, const char *id, bool online,
                               int64_t now_ms);
/* Staff set a station's state (MEASURING clears theirs). The state begins at now_ms, shown from
 * the next tick; setting the state a station already has keeps its start (who and why are
 * replaced). Returns 0, CT_E_NOTFOUND or CT_E_INVAL. */
int col_console_states_staff(struct col_console_states *s, const char *id, enum col_console_st st,
                             const char *by, const char *why, int64_t now_ms);
/* Liveness, before each tick: clear every station's silent flag, then mark those that
 * collector/derive counts stale now. */
void col_console_states_clear_silent(struct col_console_states *s);
void col_console_states_mark_silent(struct col_console_states *s, const char *id);
/* Recomputes every state and level; a change starts its 'since'. */
void col_console_states_tick(struct col_console_states *s, int64_t now_ms);
/* Mean over the parameter's averaging time at now_ms; false when no value falls in it. */
bool col_console_param_mean(const struct col_console_param *p, int64_t now_ms, double *mean);

/* The parameters with an ongoing alert, one "device param avg_h alerted_ms" line each,
 * appended to 'out'. Returns 0 or CT_E_NOMEM. */
int col_console_alerts_text(const struct col_console_states *s, struct ct_buf *out);
/* Marks the parameters named in 'text' (col_console_alerts_text's lines; borrowed) as alerted;
 * lines naming no station or parameter of the table, or malformed, are skipped. Returns the
 * number of parameters marked. */
size_t col_console_alerts_restore(struct col_console_states *s, const char *text, size_t len);

/* The staff-set states, one "device state since_ms by why" line each (control characters of
 * 'why' written as spaces), appended to 'out'. Returns 0 or CT_E_NOMEM. */
int col_console_staff_text(const struct col_console_states *s, struct ct_buf *out);
/* Sets the staff states named in 'text' (col_console_staff_text's lines; borrowed), with their
 * start, who and why; lines naming no station of the table, or malformed, are skipped. Returns
 * the number of stations set (test_console_staff_restore). */
size_t col_console_staff_restore(struct col_console_states *s, const char *text, size_t len);

const char *col_console_st_name(enum col_console_st st);
/* "calibrating" -> CALIBRATING; false for an unknown name. */
bool col_console_st_parse(const char *s, enum col_console_st *out);
const char *col_console_level_name(enum col_console_level l);

#endif
