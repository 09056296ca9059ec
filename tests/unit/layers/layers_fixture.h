/* layers_fixture.h - a small registry and canned InfluxDB /query responses for the col_layers
 * tests, and an RFC 7946 FeatureCollection validator. */
#ifndef LAYERS_FIXTURE_H
#define LAYERS_FIXTURE_H
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "col_layers.h"

/* 2026-11-23T10:00:00Z in ms. */
#define FX_NOW_MS 1795428000000LL
#define FX_MIN 60000LL

struct fx {
    struct ct_registry *reg;
    const struct ct_device **devs;
    size_t ndevs;
    const char *resp[1];
    size_t resp_len[1];
    struct col_layers_src src;
};

/* Loads the fixture registry and points src at the layer's canned response (its stale threshold
 * is the layer default). Returns 0 or fails the test. */
int fx_setup(struct fx *fx, enum ct_kind kind);
void fx_teardown(struct fx *fx);

/* Checks RFC 7946 rules; on failure writes the reason into why and returns false:
 * type "FeatureCollection", "features" an array, each Feature with type "Feature", geometry a
 * Point with exactly 2 finite numbers, lon in -180..180 and lat in -90..90, "properties" an
 * object, and no "crs" member on the collection or the features. */
bool fx_valid_rfc7946(const cJSON *doc, char *why, size_t cap);

/* The feature with properties.id == id, or NULL. */
const cJSON *fx_feature(const cJSON *fc, const char *id);
/* properties.<name> of a feature, or NULL. */
const cJSON *fx_prop(const cJSON *feature, const char *name);

#endif
