/* fw_drv_tipbucket.h - tipping-bucket rain gauge with a reed contact, counted in the GPIO edge
 * interrupt with contact debounce.
 *
 * Each tip closes the contact briefly (about 50..150 ms) while the magnet passes; the contact
 * bounces for a few ms at each transition. fw_drv_tipbucket_edge() is called from the edge ISR
 * (both edges) with the time and the pin level after the edge. A level counts only once it has
 * held for debounce_ms: each edge confirms the level set by the previous edge when that edge is
 * at least debounce_ms old, and edges closer together than that are bounces (counted, their
 * levels never confirmed). A tip is counted when a confirmed closed level is followed by a
 * confirmed open level, so a real tip needs the contact closed and then opened, each for at least
 * the window; glitches shorter than the window (a drop hitting the bucket) are ignored entirely.
 * The open level that ends the last tip is confirmed by the next edge or by
 * fw_drv_tipbucket_poll(), which the application calls before reading the count.
 * The open that ends a closure present at init is not a tip (its close was never seen).
 *
 * Time is a free-running uint32 millisecond clock; differences are computed modulo 2^32, so the
 * clock may wrap (every 49.7 days) between edges. 'tips' is a uint32 that wraps at 2^32 (over
 * 850 km of rain at 0.2 mm per tip); readers compute deltas modulo 2^32
 * (fw_drv_tipbucket_mm_between()).
 *
 * Concurrency: fw_drv_tipbucket_edge() runs in the ISR; fw_drv_tipbucket_poll() runs in the
 * application with the edge interrupt masked (a few instructions). fw_drv_tipbucket_tips() is a
 * single aligned 32-bit load, atomic on the supported MCUs (Cortex-M), so it needs no masking.
 * Pure: no I/O, no allocation. */
#ifndef FW_DRV_TIPBUCKET_H
#define FW_DRV_TIPBUCKET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FW_DRV_TIPBUCKET_DEBOUNCE_MS 25u /* default debounce window */
#define FW_DRV_TIPBUCKET_MM_PER_TIP 0.2f /* default bucket size, mm of rain per tip */

struct fw_drv_tipbucket {
    uint32_t debounce_ms;   /* a level must hold this long to count, ms */
    uint32_t last_edge_ms;  /* time of the latest edge */
    bool last_closed;       /* level set by the latest edge (true = closed) */
    bool unconfirmed;       /* the latest edge's level has not been confirmed yet */
    bool closed;            /* confirmed contact state */
    bool armed;             /* a confirmed close was seen: the next confirmed open is a tip */
    volatile uint32_t tips; /* tips counted since init; wraps at 2^32 */
    uint32_t bounces;       /* edges within debounce_ms of the previous edge; wraps at 2^32 */
};

/* One edge for the simulator: time and pin level after it (true = contact closed). */
struct fw_drv_tipbucket_ev {
    uint32_t t_ms;
    bool closed;
};

/* Parameters of the simulated contact signal. */
struct fw_drv_tipbucket_sim {
    uint32_t start_ms;      /* time of the first closing edge */
    uint32_t period_ms;     /* time between the starts of two tips, > closed_ms */
    uint32_t closed_ms;     /* contact closed time of one tip */
    uint32_t bounces;       /* extra edge pairs after each transition (0 = clean contact) */
    uint32_t bounce_gap_ms; /* spacing of bounce edges, < debounce window */
};

/* Initialises 'st' (caller-owned) with zero counters and debounce_ms (0 selects
 * FW_DRV_TIPBUCKET_DEBOUNCE_MS). 'closed' is the pin's current level, taken as confirmed. */
void fw_drv_tipbucket_init(struct fw_drv_tipbucket *st, uint32_t debounce_ms, bool closed);

/* Edge interrupt handler body: 'closed' is the level after the edge at time now_ms. Returns true
 * when this edge confirmed the open level that completes a tip. Constant time, no blocking. */
bool fw_drv_tipbucket_edge(struct fw_drv_tipbucket *st, uint32_t now_ms, bool closed);

/* Confirms the latest edge's level when it has held for debounce_ms at now_ms (no edge since).
 * Returns true when that completed a tip. Call with the edge interrupt masked. */
bool fw_drv_tipbucket_poll(struct fw_drv_tipbucket *st, uint32_t now_ms);

/* Returns the tip count (one 32-bit load; safe to call outside the ISR). */
uint32_t fw_drv_tipbucket_tips(const struct fw_drv_tipbucket *st);

/* Returns rain in mm between two tip counts (prev read first), modulo-2^32 safe. */
float fw_drv_tipbucket_mm_between(uint32_t prev_tips, uint32_t tips, float mm_per_tip);

/* Returns the number of tips that 'mm' of rain makes with buckets of mm_per_tip, rounded down to
 * whole tips (the remainder stays in the next bucket); 0 for mm <= 0 or mm_per_tip <= 0. */
uint32_t fw_drv_tipbucket_tips_for_mm(float mm, float mm_per_tip);

/* Builds the edge sequence of 'tips' tips with contact bounce into 'out' (caller-owned, 'cap'
 * entries). Each tip gives 2 + 4 * bounces edges. Sets *n to the count. Returns 0,
 * FW_DRV_E_LEN when cap is too small (*n untouched), FW_DRV_E_INVAL for NULL
 * pointers or timing the debounce cannot resolve: bounce_gap_ms of 0 (with bounces) or not
 * below the window, or a closed or open time that is not at least the window longer than the
 * chatter (2 * bounces * bounce_gap_ms). */
int fw_drv_tipbucket_build(const struct fw_drv_tipbucket_sim *sim, uint32_t debounce_ms,
                           uint32_t tips, struct fw_drv_tipbucket_ev *out, size_t cap, size_t *n);

#endif
