/* fw_app_model.h - sensor-node's simulated sensors: a bounded random walk per channel with
 * plausible Hanoi values, installed as the HAL's sensor source (fw_hal_sensor_set_source).
 *
 * Deterministic from the seed. Rain: a tipping-bucket counter that advances during random
 * showers; flood: depth that rises during events and drains back to 0; parking: a lot's
 * occupancy (capacity 120) or a bay's 0/1. Not thread-safe: the firmware thread only. */
#ifndef FW_APP_MODEL_H
#define FW_APP_MODEL_H
#include <stdint.h>

#include "ct/schema.h"

#define FW_APP_MODEL_CHANNELS 16

struct fw_app_model {
    enum ct_kind kind;
    uint64_t rng;                        /* xorshift64* state, never 0 */
    double value[FW_APP_MODEL_CHANNELS]; /* current value per schema member */
    double tips;                         /* rain: cumulative tips */
    int rain_left;                       /* rain: samples left in the current shower */
    int bay;                             /* parking: 1 = a bay sensor (0/1), 0 = a lot */
};

/* Initialises 'm' for 'kind' from 'seed'. */
void fw_app_model_init(struct fw_app_model *m, enum ct_kind kind, uint64_t seed);
/* The HAL sensor source callback: 'arg' is a struct fw_app_model; 'node' is ignored; set m->bay
 * after init for a bay sensor. Returns 0, or CT_E_NOTFOUND for a channel the model does not
 * simulate. */
int fw_app_model_read(void *arg, void *node, enum ct_kind kind, const char *channel, int64_t now_ms,
                      double *out);

#endif
