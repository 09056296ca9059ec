/* drv_lot.c - clamped entry/exit lot counter. */
#include "fw_drv_lot.h"

#include <stdbool.h>
#include <string.h>

#include "fw_drv_err.h"

int fw_drv_lot_init(struct fw_drv_lot *lot, uint16_t capacity, uint16_t occupied)
{
    if (lot == NULL || capacity == 0 || capacity > FW_DRV_LOT_MAX_CAPACITY || occupied > capacity) {
        return FW_DRV_E_INVAL;
    }
    memset(lot, 0, sizeof(*lot));
    lot->capacity = capacity;
    lot->occupied = occupied;
    return 0;
}

int fw_drv_lot_event(struct fw_drv_lot *lot, enum fw_drv_lot_ev ev)
{
    if (lot == NULL) {
        return FW_DRV_E_INVAL;
    }
    switch (ev) {
    case FW_DRV_LOT_ENTRY:
        lot->entries++;
        if (lot->occupied >= lot->capacity) {
            lot->anomalies++;
            return FW_DRV_E_RANGE;
        }
        lot->occupied++;
        return 0;
    case FW_DRV_LOT_EXIT:
        lot->exits++;
        if (lot->occupied == 0) {
            lot->anomalies++;
            return FW_DRV_E_RANGE;
        }
        lot->occupied--;
        return 0;
    default:
        return FW_DRV_E_INVAL;
    }
}

int fw_drv_lot_set(struct fw_drv_lot *lot, uint16_t occupied)
{
    if (lot == NULL) {
        return FW_DRV_E_INVAL;
    }
    if (occupied > lot->capacity) {
        return FW_DRV_E_RANGE;
    }
    lot->occupied = occupied;
    return 0;
}

int fw_drv_lot_build(uint16_t from, uint16_t to, uint16_t churn, enum fw_drv_lot_ev *out,
                     size_t cap, size_t *n)
{
    size_t delta = from > to ? (size_t)(from - to) : (size_t)(to - from);
    size_t need = 2u * (size_t)churn + delta;
    size_t k = 0;

    if (out == NULL || n == NULL) {
        return FW_DRV_E_INVAL;
    }
    if (need > cap) {
        return FW_DRV_E_LEN;
    }
    for (uint16_t i = 0; i < churn; i++) {
        /* Exit first whenever a vehicle is inside, so that a pair never clamps (a full lot
         * cannot take an entry, an empty one cannot give an exit). */
        bool exit_first = from > 0;

        out[k++] = exit_first ? FW_DRV_LOT_EXIT : FW_DRV_LOT_ENTRY;
        out[k++] = exit_first ? FW_DRV_LOT_ENTRY : FW_DRV_LOT_EXIT;
    }
    for (size_t i = 0; i < delta; i++) {
        out[k++] = to > from ? FW_DRV_LOT_ENTRY : FW_DRV_LOT_EXIT;
    }
    *n = k;
    return 0;
}
