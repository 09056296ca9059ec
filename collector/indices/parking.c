/* parking.c - free spaces and occupancy ratio of a parking lot. */
#include "col_indices_parking.h"

#include <stddef.h>

int64_t col_parking_occupied(int64_t capacity, int64_t occupied)
{
    if (capacity < 0) {
        capacity = 0;
    }
    if (occupied < 0) {
        return 0;
    }
    return occupied > capacity ? capacity : occupied;
}

int64_t col_parking_free(int64_t capacity, int64_t occupied)
{
    if (capacity < 0) {
        capacity = 0;
    }
    return capacity - col_parking_occupied(capacity, occupied);
}

bool col_parking_ratio(int64_t capacity, int64_t occupied, double *ratio)
{
    if (capacity <= 0 || ratio == NULL) {
        return false;
    }
    *ratio = (double)col_parking_occupied(capacity, occupied) / (double)capacity;
    return true;
}
