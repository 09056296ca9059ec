/* rate.c - the per-client token bucket. A fixed table of COL_HTTP_RATE_SLOTS addresses, open
 * addressing with a probe window of RATE_PROBE slots; a new address takes a free slot of its
 * window or replaces the least recently seen one (that client starts again with a full bucket). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "http_int.h"
#include "ct/bytes.h"

#define RATE_PROBE 8

static size_t hash_addr(const char *s)
{
    return (size_t)(ct_fnv1a64_str(s) % COL_HTTP_RATE_SLOTS);
}

bool col_http_rate_take(struct col_http *h, const char *addr, uint64_t now_ms, unsigned *retry_s)
{
    double rate = h->rate;
    double burst = 2 * rate < 1 ? 1 : 2 * rate;
    size_t start = hash_addr(addr);
    struct rate_slot *slot = NULL, *victim = NULL;
    for (size_t k = 0; k < RATE_PROBE; k++) {
        struct rate_slot *s = &h->rates[(start + k) % COL_HTTP_RATE_SLOTS];
        if (strcmp(s->addr, addr) == 0) {
            slot = s;
            break;
        }
        if (victim == NULL ||
            (victim->addr[0] != '\0' && (s->addr[0] == '\0' || s->last_ms < victim->last_ms))) {
            victim = s;
        }
    }
    if (slot == NULL) {
        slot = victim;
        snprintf(slot->addr, sizeof(slot->addr), "%s", addr);
        slot->tokens = burst;
        slot->last_ms = now_ms;
    }
    if (now_ms > slot->last_ms) {
        slot->tokens += (double)(now_ms - slot->last_ms) / 1000.0 * rate;
        if (slot->tokens > burst) {
            slot->tokens = burst;
        }
    }
    slot->last_ms = now_ms;
    if (slot->tokens >= 1.0) {
        slot->tokens -= 1.0;
        return true;
    }
    double wait = ceil((1.0 - slot->tokens) / rate);
    *retry_s = wait < 1 ? 1u : (unsigned)wait;
    return false;
}
