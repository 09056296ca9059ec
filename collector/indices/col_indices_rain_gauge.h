/* col_indices_rain_gauge.h - one rain gauge's readings turned into its rain_1h points (the
 * 1-h and 24-h sums): the interval amount of each reading (its "mm", or its cumulative tips since
 * the previous reading times mm_per_tip), the 24-h ring of those amounts (col_indices_rain.h) and
 * the points' fields. The one implementation collector/derive (the live points) and the console's
 * recompute from validated data (console_recompute_events.c) call (test_derive_events,
 * test_console_recompute_events).
 *
 * Pure: no I/O, no allocation; a gauge is a plain value. */
#ifndef COL_INDICES_RAIN_GAUGE_H
#define COL_INDICES_RAIN_GAUGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "col_indices_rain.h"
#include "ct/lp.h"

/* Flags of col_rain_gauge_amount and col_rain_gauge_step, for the caller's counters. */
#define COL_RAIN_REBOOT 1u   /* the tips counter started again (a new boot, or it went back) */
#define COL_RAIN_MISMATCH 2u /* the reading's mm differs from the amount of its tips */
#define COL_RAIN_REFUSED 4u  /* the ring refused the amount (col_rain_add: too old, huge) */

/* Fields of a rain_1h point: mm, intense, mm_24h. */
#define COL_RAIN_FIELDS 3

struct col_rain_gauge {
    struct col_rain_ring ring; /* the interval amounts of the last 24 h */
    bool has_prev;             /* a reading with tips was seen */
    uint64_t prev_boot;        /* its boot counter */
    double prev_tips;          /* its tips */
    int64_t last_s;            /* latest end (Unix s) of a reading stepped; INT64_MIN none */
};

/* Empties the gauge. */
void col_rain_gauge_init(struct col_rain_gauge *g);

/* The rain of the interval that ends with one reading, mm: its "mm" ('mm' not NULL), else its
 * tips since the gauge's previous reading times 'mm_per_tip' (after a new boot or a counter that
 * went back, the tips count from 0: COL_RAIN_REBOOT); NAN when neither is known (the first
 * reading with tips only). Remembers the reading's tips ('tips' may be NULL) and boot. ORs
 * COL_RAIN_REBOOT and COL_RAIN_MISMATCH into *flags. */
double col_rain_gauge_amount(struct col_rain_gauge *g, uint64_t boot, const double *tips,
                             const double *mm, double mm_per_tip, unsigned *flags);

/* Adds 'mm' (NAN: nothing; a negative amount counts as 0) for the interval ending at 'ts_ms' to
 * the ring and writes the rain of the hour and of the 24 hours ending with that reading to
 * *mm_1h and *mm_24h. Returns 0, or CT_E_RANGE for a time before 1970 (no point then). ORs
 * COL_RAIN_REFUSED into *flags when the ring refused the amount (the sums are still given). */
int col_rain_gauge_step(struct col_rain_gauge *g, int64_t ts_ms, double mm, double *mm_1h,
                        double *mm_24h, unsigned *flags);

/* The hourly 24-h sum a reading completes (the rain_24h point): when the latest reading stepped
 * before ended at or before an hour boundary H (Unix seconds, a multiple of 3600) and the reading
 * at 'ts_ms' ends after it, the 24 hours ending at H hold all their readings (a gauge's readings
 * come in time order): returns true with *hour_ms = H in ms (the latest such boundary when the
 * gap spans several) and *mm_24h = their rain. False for the gauge's first reading (after a
 * restart too) and for a reading not after the latest. Call it before col_rain_gauge_step for
 * the same reading. */
bool col_rain_gauge_hour(const struct col_rain_gauge *g, int64_t ts_ms, int64_t *hour_ms,
                         double *mm_24h);

/* The fields of a rain_1h point: mm (the hour's sum 'mm_1h'), intense and mm_24h (the 24 hours'
 * sum); the 24-h term follows from mm_24h (col_rain_term_24h). Returns the number of fields. */
size_t col_rain_fields(double mm_1h, double mm_24h, struct ct_lp_field f[COL_RAIN_FIELDS]);

#endif
