/* fw_drv_lot.h - parking lot counter fed by an entry and an exit induction loop.
 *
 * The loop detectors (or the board's loop-detector inputs) give one event per vehicle that
 * crosses a loop; entries increment and exits decrement the occupancy. The count is clamped to
 * 0..capacity: an entry into a full lot or an exit from an empty one (a missed or doubled
 * detection, a vehicle leaving by the entry) leaves the count at the bound and is counted as an
 * anomaly, which the application reports so that an attendant can resynchronise the count.
 * Protocol range: 0 <= occupied <= capacity <= 10000. Pure: no I/O, no allocation; the state is
 * caller-owned; call from one context (or with the loop interrupts masked). */
#ifndef FW_DRV_LOT_H
#define FW_DRV_LOT_H
#include <stddef.h>
#include <stdint.h>

#define FW_DRV_LOT_MAX_CAPACITY 10000u

enum fw_drv_lot_ev {
    FW_DRV_LOT_ENTRY = 0, /* a vehicle crossed the entry loop */
    FW_DRV_LOT_EXIT = 1,  /* a vehicle crossed the exit loop */
};

struct fw_drv_lot {
    uint16_t capacity;  /* spaces, 1..10000 */
    uint16_t occupied;  /* vehicles inside, 0..capacity */
    uint32_t entries;   /* entry events; wraps at 2^32 */
    uint32_t exits;     /* exit events; wraps at 2^32 */
    uint32_t anomalies; /* events clamped at 0 or capacity; wraps at 2^32 */
};

/* Initialises 'lot' with 'capacity' and a starting count. Returns 0 or FW_DRV_E_INVAL (NULL,
 * capacity 0 or above 10000, occupied above capacity). */
int fw_drv_lot_init(struct fw_drv_lot *lot, uint16_t capacity, uint16_t occupied);

/* Applies one loop event. Returns 0, FW_DRV_E_RANGE when the event was clamped (full lot on
 * entry, empty lot on exit; counted in lot->anomalies), FW_DRV_E_INVAL for NULL or an unknown
 * event (not counted). */
int fw_drv_lot_event(struct fw_drv_lot *lot, enum fw_drv_lot_ev ev);

/* Sets the count after a manual recount. Returns 0 or FW_DRV_E_RANGE when above capacity. */
int fw_drv_lot_set(struct fw_drv_lot *lot, uint16_t occupied);

/* Builds, for simulators, the shortest event sequence that takes a lot from 'from' to 'to'
 * vehicles, preceded by 'churn' entry/exit pairs (traffic that does not change the count), into
 * 'out' of 'cap' entries; sets *n. Returns 0, FW_DRV_E_LEN when cap is too small (*n untouched),
 * FW_DRV_E_INVAL for NULL pointers. */
int fw_drv_lot_build(uint16_t from, uint16_t to, uint16_t churn, enum fw_drv_lot_ev *out,
                     size_t cap, size_t *n);

#endif
