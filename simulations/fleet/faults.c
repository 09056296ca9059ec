/* faults.c - fleet faults (see sim_faults.h). */
#include "sim_faults.h"

#include <stdio.h>
#include <string.h>

#include "sim_physics.h"
#include "ct/bytes.h"

uint32_t sim_faults_select(const struct sim_fault_ctx *ctx, const struct ct_device *dev)
{
    uint32_t mask = 0;
    if (ctx->sc == NULL) {
        return 0;
    }
    for (size_t i = 0; i < ctx->sc->nfaults; i++) {
        const struct sim_fault_spec *f = &ctx->sc->faults[i];
        if (f->kinds != 0 && !(f->kinds & (1u << dev->kind))) {
            continue;
        }
        bool hit =
            f->fraction > 0 && sim_h01(ctx->seed, 90 + i, ct_fnv1a64_str(dev->id), 0) < f->fraction;
        for (size_t k = 0; k < f->nids && !hit; k++) {
            hit = strcmp(f->ids[k], dev->id) == 0;
        }
        mask |= hit ? 1u << i : 0;
    }
    return mask;
}

bool sim_fault_active(const struct sim_fault_ctx *ctx, const struct sim_fault_spec *f, int64_t t)
{
    int64_t rel = t - ctx->start_sim;
    return rel >= f->at_ms && (f->for_ms == 0 || rel < f->at_ms + f->for_ms);
}

static bool analog(const struct ct_device *dev)
{
    return dev->kind == CT_KIND_AIR || dev->kind == CT_KIND_WATER || dev->kind == CT_KIND_FLOOD;
}

double sim_faults_filter(const struct sim_fault_ctx *ctx, struct sim_fault_state *st,
                         const struct ct_device *dev, const char *channel, int64_t t, double v)
{
    if (st->mask == 0) {
        return v;
    }
    bool stuck = false;
    for (size_t i = 0; i < ctx->sc->nfaults; i++) {
        const struct sim_fault_spec *f = &ctx->sc->faults[i];
        if (!(st->mask & (1u << i)) || !sim_fault_active(ctx, f, t)) {
            continue;
        }
        if (f->type == SIM_FAULT_STUCK) {
            stuck = true;
        } else if (f->type == SIM_FAULT_DRIFT && analog(dev)) {
            double days = (double)(t - ctx->start_sim - f->at_ms) / (double)SIM_DAY_MS;
            v *= 1.0 + f->value / 100.0 * days;
            v = v < 0 ? 0 : v;
        } else if (f->type == SIM_FAULT_SPIKE && analog(dev) &&
                   sim_h01(ctx->seed, 95 + i, ct_fnv1a64_str(dev->id) ^ ct_fnv1a64_str(channel),
                           (uint64_t)(t / 1000)) < f->prob) {
            v = v * f->value + f->value;
        }
    }
    if (!stuck) {
        st->nfrozen = 0;
        return v;
    }
    for (size_t k = 0; k < st->nfrozen; k++) {
        if (strcmp(st->frozen[k].channel, channel) == 0) {
            return st->frozen[k].value;
        }
    }
    if (st->nfrozen < SIM_FROZEN_MAX) {
        st->frozen[st->nfrozen].channel = channel;
        st->frozen[st->nfrozen].value = v;
        st->nfrozen++;
    }
    return v;
}

int64_t sim_faults_skew_ms(const struct sim_fault_ctx *ctx, const struct sim_fault_state *st,
                           int64_t t)
{
    int64_t skew = 0;
    for (size_t i = 0; st->mask != 0 && i < ctx->sc->nfaults; i++) {
        const struct sim_fault_spec *f = &ctx->sc->faults[i];
        if ((st->mask & (1u << i)) && f->type == SIM_FAULT_SKEW && sim_fault_active(ctx, f, t)) {
            skew += (int64_t)f->value;
        }
    }
    return skew;
}

bool sim_faults_offline(const struct sim_fault_ctx *ctx, const struct sim_fault_state *st,
                        int64_t t)
{
    for (size_t i = 0; st->mask != 0 && i < ctx->sc->nfaults; i++) {
        const struct sim_fault_spec *f = &ctx->sc->faults[i];
        if ((st->mask & (1u << i)) && f->type == SIM_FAULT_OFFLINE && sim_fault_active(ctx, f, t)) {
            return true;
        }
    }
    return false;
}

int sim_faults_due(const struct sim_fault_ctx *ctx, const struct sim_fault_state *st,
                   enum sim_fault_type type, int64_t t)
{
    for (size_t i = 0; st->mask != 0 && i < ctx->sc->nfaults; i++) {
        const struct sim_fault_spec *f = &ctx->sc->faults[i];
        if ((st->mask & (1u << i)) && !(st->done & (1u << i)) && f->type == type &&
            t - ctx->start_sim >= f->at_ms) {
            return (int)i;
        }
    }
    return -1;
}

bool sim_faults_garbage(const struct sim_fault_ctx *ctx, const struct sim_fault_state *st,
                        const struct ct_device *dev, uint64_t n, int64_t t)
{
    for (size_t i = 0; st->mask != 0 && i < ctx->sc->nfaults; i++) {
        const struct sim_fault_spec *f = &ctx->sc->faults[i];
        if ((st->mask & (1u << i)) && f->type == SIM_FAULT_GARBAGE && sim_fault_active(ctx, f, t) &&
            sim_h01(ctx->seed, 99 + i, ct_fnv1a64_str(dev->id), n) < f->prob) {
            return true;
        }
    }
    return false;
}

size_t sim_faults_garbage_payload(const char *id, uint64_t n, char *buf, size_t cap)
{
    int len;
    switch (n % 4) {
    case 0: /* cut off mid-message (a radio frame lost its tail) */
        len = snprintf(buf, cap, "{\"v\":1,\"id\":\"%s\",\"boot\":", id);
        break;
    case 1: /* wrong types from a firmware bug */
        len = snprintf(buf, cap,
                       "{\"v\":1,\"id\":\"%s\",\"boot\":\"x\",\"seq\":-1,\"ts\":0,\"m\":[]}", id);
        break;
    case 2: /* another device's id in the payload */
        len = snprintf(buf, cap, "{\"v\":1,\"id\":\"%s-x\",\"boot\":0,\"seq\":0,\"ts\":0,\"m\":{}}",
                       id);
        break;
    default: /* line noise */
        len = snprintf(buf, cap, "\x01\x7f garbage \xc3\x28 %llu", (unsigned long long)n);
        break;
    }
    return len < 0 ? 0 : ((size_t)len >= cap ? cap - 1 : (size_t)len);
}
