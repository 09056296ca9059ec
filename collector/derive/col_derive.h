/* col_derive.h - everything the store and the operators need beyond the raw points: quality
 * flags, window aggregates, hourly means and the indices built on them (air_aqi, air_aqi_daily,
 * water_wqi, rain_1h (1-h and 24-h sums), flood_level, parking_lot), station liveness, alerts, and
 * the state rebuilt from the store at start. Contract and line protocol: docs/derived.md.
 *
 * Pure logic driven by the caller's clock (now_ms arguments): no I/O, no libuv, no threads. Not
 * thread-safe: the app calls it on its loop thread. Output goes through the callbacks, called
 * synchronously from inside col_derive_add / col_derive_tick / col_derive_status /
 * col_derive_rebuild_apply; a callback must not call back into the same col_derive.
 *
 * Memory is bounded: a table of at most cfg.max_devices devices is allocated at create, and the
 * per-kind state of a device is allocated when it is first seen. At the bound a new device is
 * refused (counted in devices_refused): its raw points are unaffected, it simply gets no derived
 * points, flags or alerts. */
#ifndef COL_DERIVE_H
#define COL_DERIVE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "col_storeq.h"
#include "ct/buf.h"
#include "ct/payload.h"
#include "ct/registry.h"

/* Values of the quality-control window (spike detection) kept per member. */
#define COL_DERIVE_QC_WINDOW_MAX 32
/* Room for the qc string field ("pm25:stuck,pm10:spike"). */
#define COL_DERIVE_QC_TEXT 256

struct col_derive_cfg {
    const char *instance; /* collector tag of aggregates; copied; required, non-empty */
    uint32_t window_s;    /* aggregate window, seconds (0 = 60); divides 86400 */
    int64_t grace_ms;     /* a window closes after end + grace (0 = 2 x window, < 0 none) */
    int64_t update_ms;    /* a window past its close that keeps receiving readings (a late part, a
                           * backlog) is written at most once per this (0 = 10 s) */
    uint32_t stale_intervals;  /* stale after this many missed intervals (0 = 3) */
    size_t max_devices;        /* bound of the device table (0 = 10000) */
    int64_t qc_stuck_air_ms;   /* same air value longer than this: stuck (0 = 6 h, < 0 off) */
    int64_t qc_stuck_water_ms; /* same for water (0 = 2 h, < 0 off) */
    uint32_t qc_window;        /* values kept for the spike test (0 = 12; max QC_WINDOW_MAX) */
    uint32_t qc_min_values;    /* values needed before a spike can be flagged (0 = 6) */
    double qc_spike_z;         /* robust z-score threshold (0 = 3.5) */
    double qc_jump_scale;      /* multiplies the per-member minimum jump (0 = 1.0) */
};

/* Hands line protocol (one or more complete lines, ms timestamps) to the sink. 'lp' is borrowed
 * for the call. 'mark' is the LOWEST spool mark of the records the points were derived from (a
 * window's points: the lowest mark of the readings in it; points a reading triggers: its mark;
 * points derived from no record, such as a station going stale: the highest mark added so far).
 * Marks are therefore NOT monotonic across calls; pass them unchanged to col_sink_enqueue, whose
 * low water is the minimum over everything held, so the journal keeps every record behind the
 * points until the store has them (test_derived_mark_is_lowest_input). Returns 0; a non-zero
 * return is counted (emit_errors), the points are not retried. */
typedef int (*col_derive_points_cb)(void *arg, const char *lp, size_t len, uint64_t mark);
/* Publishes an alert: topic "city/v1/alert/<kind>/<district>" and a JSON payload (both
 * borrowed for the call; the topic is NUL-terminated, the payload is 'len' bytes). */
typedef void (*col_derive_alert_cb)(void *arg, const char *topic, const char *payload, size_t len);

/* One alert's message (every string borrowed). */
struct col_derive_alert_msg {
    enum ct_kind kind;
    const char *type; /* "flood", "aqi", "stale", "exceeding" */
    const char *id;
    const char *name;
    const char *district;
    int64_t ts;
    int level;
    const char *label_vi;
    const char *label_en;
    double value;
};

/* Formats an alert for MQTT: the topic "city/v1/alert/<kind>/<district slug>" into topic (cap
 * bytes, NUL-terminated) and the JSON payload (docs/derived.md) appended to js. The console's
 * "exceeding" alerts use it too, so every alert on the topic has one shape. Returns 0 or
 * CT_E_NOMEM. */
int col_derive_alert_format(const struct col_derive_alert_msg *a, char *topic, size_t cap,
                            struct ct_buf *js);

struct col_derive_emit {
    col_derive_points_cb on_points; /* required */
    col_derive_alert_cb on_alert;   /* may be NULL: alerts are then only `alert` points */
    void *arg;
};

struct col_derive_stats {
    uint64_t windows_emitted; /* aggregate points written on time (part 0) */
    uint64_t late_parts;      /* aggregate points written as late parts (part >= 1) */
    uint64_t windows_forced;  /* windows emitted early because a device had too many open */
    uint64_t qc_stuck;        /* flags by kind */
    uint64_t qc_spike;
    uint64_t qc_sentinel;
    uint64_t alerts_flood; /* alerts by type */
    uint64_t alerts_aqi;
    uint64_t alerts_stale;
    uint64_t devices_tracked;
    uint64_t devices_refused;     /* new devices refused at max_devices (counted per message) */
    uint64_t rain_mismatch;       /* mm disagreeing with the tips delta of the same boot */
    uint64_t rain_reboots;        /* tips restarted (new boot or counter went back) */
    uint64_t rain_refused;        /* interval amounts the rain ring refused (too old) */
    uint64_t rain_adjusts;        /* col_derive_rain_adjust calls applied */
    uint64_t rain_adjust_unknown; /* col_derive_rain_adjust for an unknown device or not a gauge */
    uint64_t rain_adjust_missing; /* amounts to take out whose slot held less (another instance
                                     received the reading, or it was taken out already) */
    uint64_t emit_errors;         /* encoder failures and non-zero on_points returns */
    uint64_t rebuild_rows;        /* rows restored by col_derive_rebuild_apply */
};

/* The quality flags of one reading, for the raw point. */
struct col_derive_qc {
    size_t nflags;                 /* 0 when clean */
    char text[COL_DERIVE_QC_TEXT]; /* "pm25:stuck,pm10:spike" ("" when clean) */
};

struct col_derive;

/* Creates the module. Copies cfg (and the instance string) and emit. Returns 0, CT_E_INVAL (no
 * instance or on_points, window_s not dividing a day, qc_window too large) or CT_E_NOMEM; on
 * error *out is untouched. */
int col_derive_create(const struct col_derive_cfg *cfg, const struct col_derive_emit *emit,
                      struct col_derive **out);

/* Tells the module the registry (at start and after each reload): copies, for parking, each
 * lot's capacity (lot counters), the number of bays registered per lot, and the lots' district
 * and ward, so that bay readings give lot occupancy. 'reg' is borrowed for the call. Lots beyond
 * max_devices are not tracked. Returns 0 or CT_E_INVAL. */
int col_derive_registry(struct col_derive *d, const struct ct_registry *reg);

/* Quality control of one accepted reading, before col_derive_add (which does not repeat it):
 * updates the per-member state (stuck timer, recent values) and fills *out. 'dev' and 'r' are
 * borrowed for the call. Flags: stuck, spike, sentinel (docs/derived.md). Returns 0, CT_E_INVAL
 * (NULL) or CT_E_FULL (device table at its bound: *out is clean). */
int col_derive_qc(struct col_derive *d, const struct ct_device *dev, const struct ct_reading *r,
                  struct col_derive_qc *out);

/* Adds the field qc="<text>" to one raw point: 'line' holds a complete line-protocol line
 * (with or without its newline) starting at byte 'start'; the field is inserted before the
 * timestamp. Nothing changes for a clean reading. Returns 0, CT_E_INVAL (no line at 'start'),
 * CT_E_TOOBIG or CT_E_NOMEM (then the line is unchanged). */
int col_derive_qc_lp(const struct col_derive_qc *qc, struct ct_buf *line, size_t start);

/* Feeds one accepted reading ('dev' and 'r' borrowed for the call; names copied) with its spool
 * 'mark' (journal order: marks do not decrease). 'now_ms' is the arrival time, used for
 * liveness (last_seen_ms). The reading goes into the window of its ts: an open window of that
 * start if there is one, else a late part (part = previous part + 1) when this process already
 * wrote that window, else a new window. Emits what the reading triggers at once (rain_1h,
 * flood_level, parking_lot, a station point when a stale station is fresh again, and
 * alerts). Returns 0, CT_E_INVAL (NULL, kind or id mismatch) or CT_E_FULL (device refused at the
 * bound). */
int col_derive_add(struct col_derive *d, const struct ct_device *dev, const struct ct_reading *r,
                   uint64_t mark, int64_t now_ms);

/* The console's correction of a rain gauge's live sums once staff mark its tips or mm invalid
 * (docs/console.md, "Recomputed from the validated data"): sign -1 takes the interval amounts
 * mm[i] of the readings at ts_ms[i] out of the gauge's 24-h ring, sign +1 (the range withdrawn)
 * puts them back. Exact: the ring keeps micrometres per 5-minute slot, and an amount is rounded
 * as col_derive_add rounded it; a slot never goes below 0 (the part it did not hold is counted in
 * rain_adjust_missing); an amount older than the ring is ignored; NAN or <= 0 is skipped. An hour
 * restored by col_derive_rebuild_apply holds its sum in its last slot, and an amount of such an
 * hour is taken from there. Also remembers max(validated_until_ms, what it was told before): a
 * later reading whose time is at or before it gets the field validated=true on its rain_1h point
 * (the public layer then shows the sums). 'id', 'ts_ms' and 'mm' are borrowed for the call.
 * Returns 0, CT_E_INVAL (NULL, n > 0 without arrays, sign not +-1) or CT_E_NOTFOUND (no such
 * device, or not a rain gauge: nothing changes; counted in rain_adjust_unknown). Proved by
 * test_derive_rain_adjust. */
int col_derive_rain_adjust(struct col_derive *d, const char *id, const int64_t *ts_ms,
                           const double *mm, size_t n, int sign, int64_t validated_until_ms);

/* Status message of a device (retained status / will): online or offline. Emits a `station`
 * point when the state changes. Returns 0, CT_E_INVAL or CT_E_FULL. */
int col_derive_status(struct col_derive *d, const struct ct_device *dev, bool online,
                      int64_t now_ms);

/* SIGHUP: a device is stale after 'n' missed reporting intervals (0 = 3) from the next tick on.
 * Proved by tests/e2e/test_reload_keys.py. */
void col_derive_set_stale_intervals(struct col_derive *d, uint32_t n);

/* Called every second: emits windows whose end + grace has passed and pending late parts,
 * closes hours (air_aqi, water_wqi, air_aqi_daily at 00:00 Asia/Ho_Chi_Minh) and checks
 * liveness (station points and stale alerts). */
void col_derive_tick(struct col_derive *d, int64_t now_ms);

/* Lowest spool mark held by any open window, the one-hour aggregate included (UINT64_MAX when
 * none): the journal must not be committed at or past it (test_low_water_every_window). */
uint64_t col_derive_low_water(const struct col_derive *d);

/* Calls fn for each stale station (id and last_seen_ms, 0 when never seen since start); stops
 * when fn returns false. Returns the number of stale stations. */
size_t col_derive_stale_each(const struct col_derive *d,
                             bool (*fn)(void *arg, const char *id, int64_t last_seen_ms),
                             void *arg);

void col_derive_stats(const struct col_derive *d, struct col_derive_stats *out);

/* State rebuilt from the store at start (protocol.md section 1). */
enum col_derive_rebuild {
    COL_DERIVE_RB_AIR = 0, /* hourly means of the last 32 h (NowCast, 8-h means, daily AQI) */
    COL_DERIVE_RB_WATER,   /* hourly means of the last 2 h (nothing long-lived; for symmetry) */
    COL_DERIVE_RB_RAIN,    /* hourly rain sums of the last 25 h */
    COL_DERIVE_RB_FLOOD,   /* the last confirmed flood band of each station (7 days) */
    COL_DERIVE_RB__COUNT
};

/* The InfluxQL the app runs (InfluxDB 1.x /query with epoch=ms) for 'what'; static string, NULL
 * for a bad value. */
const char *col_derive_rebuild_query(enum col_derive_rebuild what);

/* The same statement as a store-neutral selection (col_storeq.h), for col_storeq_query; static,
 * NULL for a bad value. */
const struct col_storeq_sel *col_derive_rebuild_sel(enum col_derive_rebuild what);

/* Restores state from one /query response (InfluxDB 1.x JSON, epoch=ms) of any of the queries
 * above, recognised by the series name. Devices not yet known are created (kind from the
 * series); the names and district are filled by their first reading. Call before the journal
 * replay. 'json' is borrowed. Returns 0, CT_E_PARSE (not a /query response, or the response
 * carries an error) or CT_E_NOMEM. Rows of devices refused at the bound are skipped. */
int col_derive_rebuild_apply(struct col_derive *d, const char *json, size_t len);

/* Frees everything; accepts NULL. */
void col_derive_free(struct col_derive *d);

#endif
