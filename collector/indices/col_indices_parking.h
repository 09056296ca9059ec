/* col_indices_parking.h - per-lot free spaces and occupancy ratio (iParking counts are
 * registered vehicles against declared capacity: approximate, see docs/indices.md). */
#ifndef COL_INDICES_PARKING_H
#define COL_INDICES_PARKING_H

#include <stdbool.h>
#include <stdint.h>

/* Occupied spaces clamped to 0..capacity (a negative capacity counts as 0). */
int64_t col_parking_occupied(int64_t capacity, int64_t occupied);
/* Free spaces: capacity minus the clamped occupied count, 0..capacity. */
int64_t col_parking_free(int64_t capacity, int64_t occupied);
/* Writes the occupancy ratio occupied/capacity (clamped, 0..1) to *ratio and returns true, or
 * returns false (ratio untouched) when capacity <= 0 or ratio is NULL: no ratio to publish. */
bool col_parking_ratio(int64_t capacity, int64_t occupied, double *ratio);

#endif
