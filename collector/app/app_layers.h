/* app_layers.h - the public layers and the OGC API (app_layers.c) on the public listener.
 * Loop thread only. */
#ifndef APP_LAYERS_H
#define APP_LAYERS_H
#include "col_config.h"
#include "col_http.h"
#include "col_store.h"
#include "ct/registry.h"

/* What the layers read. Every pointer is borrowed from the app (app.c), which keeps it valid
 * until app_layers_close. 'cfg' is the app's config, read at each request (layers.refresh_ms,
 * store.kind, liveness.stale_intervals; reload changes it in place) and at start
 * (ogc.base_url). 'registry' points at the app's registry pointer, which a reload replaces.
 * 'store' may be NULL (then every layer is unavailable: 503). */
struct app_layers_parts {
    const struct col_config *cfg;
    struct ct_registry *const *registry;
    struct col_store *store; /* the query client; closed before app_layers_close */
    struct col_http *http;   /* the public listener: /layers/, /ogc, /ngsi-ld */
};

/* The layer cache and the OGC API routes: owns the cached documents and the col_ogc. */
struct app_layers;

/* Adds /layers/ and the OGC API and NGSI-LD routes to parts->http (before it listens), from a
 * copy of 'parts'. Returns 0 or a CT_E_* code; *out is NULL only when out of memory, otherwise
 * (failure or not) app_layers_close it. */
int app_layers_start(const struct app_layers_parts *parts, struct app_layers **out);
/* Frees the cache and the OGC API state (after the query client was closed: running queries
 * were answered). NULL: nothing. */
void app_layers_close(struct app_layers *ls);

#endif
