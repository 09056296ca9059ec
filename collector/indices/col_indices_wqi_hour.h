/* col_indices_wqi_hour.h - the hourly water index of one station and hour, as the water_wqi
 * point holds it, from the hourly means of the probe members (ph, do, t, cod, nh4). The one
 * implementation collector/derive (the live water_wqi) and the console's recompute from
 * validated data (console_recompute.c) call (test_derive_air, test_console_recompute).
 *
 * Pure: no I/O, no allocation; safe on any thread. */
#ifndef COL_INDICES_WQI_HOUR_H
#define COL_INDICES_WQI_HOUR_H

#include <stdbool.h>
#include <stddef.h>

#include "col_indices_wqi.h"
#include "ct/lp.h"

/* Fields of a water_wqi point (col_wqi_hour_fields). */
#define COL_WQI_HOUR_FIELDS 5

/* Sets every input of 'in' to NAN (nothing measured). */
void col_wqi_hour_clear(struct col_wqi_in *in);

/* Sets the input of the member 'name' ("ph", "do", "t", "cod", "nh4") to its hourly mean;
 * false (nothing set) for another member. */
bool col_wqi_hour_set(struct col_wqi_in *in, const char *name, double mean);

/* The water_wqi fields of 'r' (wqi, category_vi, category_en, color, preliminary) into f[0..n);
 * returns n: 0 when the index is COL_WQI_NONE. The strings are static. */
size_t col_wqi_hour_fields(const struct col_wqi_result *r,
                           struct ct_lp_field f[COL_WQI_HOUR_FIELDS]);

#endif
