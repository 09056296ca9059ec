/* col_indices_rain.h - rain accumulations over 1 h / 3 h / 24 h, the hydro-meteorological
 * service's rainfall terms for 12-h and 24-h amounts, and the waterlogging intensity flag.
 *
 * Amounts are kept as integer micrometres, so sums are exact (no floating drift however many
 * intervals are added). A ring is a plain value: init it, then add; no allocation. */
#ifndef COL_INDICES_RAIN_H
#define COL_INDICES_RAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* Width of one ring slot, seconds. Slot k holds timestamps in (k*300, (k+1)*300]: an amount
 * stamped exactly on a boundary belongs to the interval that ends there. */
#define COL_RAIN_SLOT_S 300
/* Slots kept: 24 h. Windows longer than this are refused. */
#define COL_RAIN_SLOTS 288
#define COL_RAIN_WINDOW_MAX_S ((int64_t)COL_RAIN_SLOT_S * COL_RAIN_SLOTS)
/* Largest amount accepted for one interval, mm (far above any recorded rain). */
#define COL_RAIN_INTERVAL_MAX_MM 10000.0
/* Hourly intensity at and above which Hanoi's warnings expect waterlogging ("gây ngập úng"). */
#define COL_RAIN_INTENSE_MM_H 30.0

struct col_rain_ring {
    int64_t slot[COL_RAIN_SLOTS]; /* slot number held at each index; INT64_MIN = empty */
    int64_t um[COL_RAIN_SLOTS];   /* rain in that slot, micrometres */
    int64_t newest;               /* newest slot number added; INT64_MIN = none */
};

/* Empties the ring. */
void col_rain_init(struct col_rain_ring *r);

/* Adds 'mm' (>= 0) of rain for an interval that ends at 'ts' (Unix seconds, >= 0) to its slot;
 * the amount is rounded to the micrometre. Returns 0; CT_E_INVAL for NULL or NAN; CT_E_RANGE for
 * a negative or huge amount, a negative ts, or ts more than 24 h older than the newest slot
 * (nothing is stored then). */
int col_rain_add(struct col_rain_ring *r, int64_t ts, double mm);

/* Takes back up to 'mm' (>= 0) of rain from the slot of an interval ending at 'ts' (Unix seconds,
 * >= 0), as much as the slot holds (a slot never goes below 0; a slot the ring no longer holds,
 * older than 24 h, gives nothing), rounded to the micrometre like col_rain_add, so taking what
 * was added is exact. Writes to *left the part of 'mm' the slot did not hold. Returns 0;
 * CT_E_INVAL for NULL or NAN; CT_E_RANGE for a negative or huge amount or a negative ts
 * (nothing taken then). */
int col_rain_take(struct col_rain_ring *r, int64_t ts, double mm, double *left);

/* Writes to *mm the rain of the whole slots in the window of 'window_s' seconds that ends with
 * the slot holding 'now': exactly (now - window_s, now] when 'now' is a multiple of 300 s.
 * window_s must be a multiple of COL_RAIN_SLOT_S in [300, 86400] and now >= 0. Returns 0 or
 * CT_E_INVAL. */
int col_rain_sum(const struct col_rain_ring *r, int64_t now, int64_t window_s, double *mm);

/* Rebuilds the ring from stored hourly sums (for example after a restart): empties it, then adds
 * mm[i] at hour_end[i] (the hour (hour_end - 3600, hour_end]). Sums over windows that end on an
 * hour boundary are then exact; mid-hour windows count each stored hour whole. Hours more than
 * 24 h older than the newest are skipped. Returns 0, CT_E_INVAL (NULL with n > 0) or the first
 * CT_E_RANGE of a bad amount (the others are still added). */
int col_rain_rebuild(struct col_rain_ring *r, const int64_t *hour_end, const double *mm, size_t n);

/* Rainfall terms of the hydro-meteorological service (NCHMF bulletins). */
enum col_rain_term {
    COL_RAIN_TERM_INVALID = -1, /* NAN or negative amount */
    COL_RAIN_TERM_NONE = 0,     /* 0 mm: the project's "no rain" */
    COL_RAIN_TERM_NEGLIGIBLE,   /* 12 h only: < 0.3 mm */
    COL_RAIN_TERM_LIGHT,        /* mua nho */
    COL_RAIN_TERM_RAIN,         /* mua */
    COL_RAIN_TERM_MODERATE,     /* mua vua */
    COL_RAIN_TERM_HEAVY,        /* mua to */
    COL_RAIN_TERM_VERY_HEAVY    /* mua rat to */
};

/* Term of a 12-h amount: 0 none, < 0.3 negligible, < 3.0 light, < 8.0 rain, <= 25 moderate,
 * <= 50 heavy, > 50 very heavy. */
enum col_rain_term col_rain_term_12h(double mm);
/* Term of a 24-h amount: 0 none, < 6.0 light, <= 15 rain, <= 50 moderate, <= 100 heavy,
 * > 100 very heavy. */
enum col_rain_term col_rain_term_24h(double mm);
/* Name of a term, Vietnamese or English; static string, NULL for INVALID or a bad value. */
const char *col_rain_term_name(enum col_rain_term t, bool vietnamese);

/* True when a 1-h amount is at least COL_RAIN_INTENSE_MM_H (false for NAN). */
bool col_rain_is_intense(double mm_1h);
/* The flag's label: "gây ngập úng" / "may cause waterlogging"; static string. */
const char *col_rain_intense_label(bool vietnamese);

#endif
