/* drv_tipbucket.c - debounced tipping-bucket counter and its contact-signal builder. */
#include "fw_drv_tipbucket.h"

#include <string.h>

#include "fw_drv_err.h"

void fw_drv_tipbucket_init(struct fw_drv_tipbucket *st, uint32_t debounce_ms, bool closed)
{
    memset(st, 0, sizeof(*st));
    st->debounce_ms = debounce_ms != 0 ? debounce_ms : FW_DRV_TIPBUCKET_DEBOUNCE_MS;
    st->closed = closed;
    st->last_closed = closed;
}

/* Makes 'closed' the confirmed level; returns true when that completes a tip. */
static bool confirm(struct fw_drv_tipbucket *st, bool closed)
{
    if (closed == st->closed) {
        return false;
    }
    st->closed = closed;
    if (closed) {
        st->armed = true;
        return false;
    }
    if (!st->armed) {
        return false;
    }
    st->armed = false;
    st->tips = st->tips + 1u;
    return true;
}

bool fw_drv_tipbucket_edge(struct fw_drv_tipbucket *st, uint32_t now_ms, bool closed)
{
    bool tip = false;

    if (st->unconfirmed) {
        if ((uint32_t)(now_ms - st->last_edge_ms) >= st->debounce_ms) {
            tip = confirm(st, st->last_closed);
        } else {
            st->bounces++;
        }
    }
    st->last_edge_ms = now_ms;
    st->last_closed = closed;
    st->unconfirmed = true;
    return tip;
}

bool fw_drv_tipbucket_poll(struct fw_drv_tipbucket *st, uint32_t now_ms)
{
    if (!st->unconfirmed || (uint32_t)(now_ms - st->last_edge_ms) < st->debounce_ms) {
        return false;
    }
    st->unconfirmed = false;
    return confirm(st, st->last_closed);
}

uint32_t fw_drv_tipbucket_tips(const struct fw_drv_tipbucket *st)
{
    return st->tips;
}

float fw_drv_tipbucket_mm_between(uint32_t prev_tips, uint32_t tips, float mm_per_tip)
{
    return (float)(uint32_t)(tips - prev_tips) * mm_per_tip;
}

uint32_t fw_drv_tipbucket_tips_for_mm(float mm, float mm_per_tip)
{
    float t;

    if (!(mm > 0.0f) || !(mm_per_tip > 0.0f)) {
        return 0;
    }
    /* A small tolerance keeps 1.0 mm / 0.2 mm at 5 tips despite float rounding. */
    t = mm / mm_per_tip + 1e-4f;
    if (!(t < 4294967295.0f)) {
        return UINT32_MAX;
    }
    return (uint32_t)t;
}

/* Appends one edge; the caller has checked the capacity. */
static void put(struct fw_drv_tipbucket_ev *out, size_t *k, uint32_t t_ms, bool closed)
{
    out[*k].t_ms = t_ms;
    out[*k].closed = closed;
    (*k)++;
}

int fw_drv_tipbucket_build(const struct fw_drv_tipbucket_sim *sim, uint32_t debounce_ms,
                           uint32_t tips, struct fw_drv_tipbucket_ev *out, size_t cap, size_t *n)
{
    uint64_t per_tip;
    uint64_t bounce_span;

    if (sim == NULL || out == NULL || n == NULL) {
        return FW_DRV_E_INVAL;
    }
    if (debounce_ms == 0) {
        debounce_ms = FW_DRV_TIPBUCKET_DEBOUNCE_MS;
    }
    bounce_span = (uint64_t)sim->bounces * 2u * sim->bounce_gap_ms;
    if ((sim->bounces > 0 && (sim->bounce_gap_ms == 0 || sim->bounce_gap_ms >= debounce_ms)) ||
        sim->closed_ms < bounce_span + debounce_ms || sim->period_ms < sim->closed_ms ||
        sim->period_ms - sim->closed_ms < bounce_span + debounce_ms) {
        return FW_DRV_E_INVAL;
    }
    per_tip = 2u + 4u * (uint64_t)sim->bounces;
    if ((uint64_t)tips * per_tip > cap) {
        return FW_DRV_E_LEN;
    }
    *n = 0;
    for (uint32_t i = 0; i < tips; i++) {
        uint32_t t_close = sim->start_ms + i * sim->period_ms;
        uint32_t t_open = t_close + sim->closed_ms;

        put(out, n, t_close, true);
        for (uint32_t b = 0; b < sim->bounces; b++) {
            put(out, n, t_close + (2 * b + 1) * sim->bounce_gap_ms, false);
            put(out, n, t_close + (2 * b + 2) * sim->bounce_gap_ms, true);
        }
        put(out, n, t_open, false);
        for (uint32_t b = 0; b < sim->bounces; b++) {
            put(out, n, t_open + (2 * b + 1) * sim->bounce_gap_ms, true);
            put(out, n, t_open + (2 * b + 2) * sim->bounce_gap_ms, false);
        }
    }
    return 0;
}
