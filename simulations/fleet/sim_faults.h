/* sim_faults.h - the faults of a real fleet, applied to fleet-sim's nodes by a scenario.
 *
 * Sensor faults change the values the HAL sensor source returns, before the firmware's own
 * self-check (so a spike beyond the contract's range is dropped by the node, as on a board):
 *   stuck: every channel keeps the value it had when the fault started;
 *   drift: air, water and flood values biased by 'value' % per simulated day since the start;
 *   spike: with probability 'prob' per channel read, an air, water or flood value becomes
 *          value * factor + factor.
 * Node faults (offline, reboot, replace, skew, garbage) are carried out by fleet-sim's run loop;
 * this module decides who and when. Selection: a fault hits a node when its kind matches and its
 * id is listed or hash(seed, fault, id) < fraction, so the same seed hits the same nodes. */
#ifndef SIM_FAULTS_H
#define SIM_FAULTS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct/registry.h"
#include "sim_scenario.h"

#define SIM_FROZEN_MAX 12 /* channels of one kind */

struct sim_fault_ctx {
    const struct sim_scenario *sc; /* borrowed */
    int64_t start_sim;             /* simulated epoch ms of the start */
    uint64_t seed;
};

/* Per-node fault state. */
struct sim_fault_state {
    uint32_t mask; /* bit i: scenario fault i hits this node */
    uint32_t done; /* bit i: one-shot fault i was carried out */
    struct {
        const char *channel; /* the schema's name (compared by content) */
        double value;
    } frozen[SIM_FROZEN_MAX];
    size_t nfrozen;
};

/* Which scenario faults hit the device (bit per fault). */
uint32_t sim_faults_select(const struct sim_fault_ctx *ctx, const struct ct_device *dev);
/* True when fault f is active at simulated time t (at <= t - start < at + for; for 0: no end). */
bool sim_fault_active(const struct sim_fault_ctx *ctx, const struct sim_fault_spec *f, int64_t t);
/* Applies the node's active sensor faults to one channel value read at simulated time t. */
double sim_faults_filter(const struct sim_fault_ctx *ctx, struct sim_fault_state *st,
                         const struct ct_device *dev, const char *channel, int64_t t, double v);
/* The node's clock offset (ms) at simulated time t: the sum of its active skew faults. */
int64_t sim_faults_skew_ms(const struct sim_fault_ctx *ctx, const struct sim_fault_state *st,
                           int64_t t);
/* True while one of the node's offline faults is active. */
bool sim_faults_offline(const struct sim_fault_ctx *ctx, const struct sim_fault_state *st,
                        int64_t t);
/* The index of a one-shot fault of 'type' (reboot or replace) due at t and not yet done, or -1.
 * The caller marks it in st->done once carried out. */
int sim_faults_due(const struct sim_fault_ctx *ctx, const struct sim_fault_state *st,
                   enum sim_fault_type type, int64_t t);
/* Garbage: true when reading 'n' of the node (a counter) should be followed by a malformed
 * payload at simulated time t. */
bool sim_faults_garbage(const struct sim_fault_ctx *ctx, const struct sim_fault_state *st,
                        const struct ct_device *dev, uint64_t n, int64_t t);
/* A malformed payload (one of a few shapes, chosen by n) for device 'id' into buf; returns its
 * length. */
size_t sim_faults_garbage_payload(const char *id, uint64_t n, char *buf, size_t cap);

#endif
