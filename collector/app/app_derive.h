/* app_derive.h - the derived flow (app_derive.c): collector/derive wired to the flow's sink path,
 * the MQTT client (alerts) and the tick timer; the state rebuild at start. Loop thread only. */
#ifndef APP_DERIVE_H
#define APP_DERIVE_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "col_config.h"
#include "col_derive.h"
#include "col_flow.h"
#include "col_mqtt.h"
#include "col_store.h"
#include "ct/registry.h"

/* What the derived flow uses and whom it tells. Every pointer is borrowed from the app (app.c),
 * which keeps it valid until app_derive_free; 'mqtt' may be NULL (alerts are then only logged).
 * 'cfg' is the app's config (aggregate.*, liveness.*, collector.instance at create, store.kind at
 * each rebuild query); 'closing' is the app's stop flag: a rebuild that ends after it was set
 * does not call on_rebuilt. 'store' is used by app_derive_start only. */
struct app_derive_parts {
    uv_loop_t *loop;
    const struct col_config *cfg;
    struct col_flow *flow;   /* the one path to the sink (col_flow_enqueue) */
    struct col_mqtt *mqtt;   /* alerts */
    struct col_store *store; /* the rebuild queries */
    const atomic_bool *closing;
    /* Called each second once the flow is live and the rebuild is over, after col_derive_tick
     * (app.c: the TT 10 station files' tick). May be NULL. */
    void (*on_tick)(void *arg, int64_t now_ms);
    /* Called once, when every rebuild query has answered (app.c: starts the flow). */
    void (*on_rebuilt)(void *arg);
    void (*on_closed)(void *arg); /* once, when the tick timer is closed (app_derive_close) */
    void *arg;
};

/* The derived flow: owns the collector/derive state and the tick timer. */
struct app_derive;

/* Creates the derive state from a copy of 'parts' and tells it 'reg' (borrowed for the call).
 * Returns 0 or a CT_E_* code (logged); on failure *out is NULL and nothing is left to close. */
int app_derive_create(const struct app_derive_parts *parts, const struct ct_registry *reg,
                      struct app_derive **out);
/* The derive state, borrowed until app_derive_free (for the flow, the listeners, the console and
 * the reload). NULL when 'd' is NULL. */
struct col_derive *app_derive_state(const struct app_derive *d);
/* Starts the tick timer and the rebuild queries; parts.on_rebuilt runs once all have answered
 * (not when stopping; at once when none could be sent). Returns 0 or a CT_E_* code. */
int app_derive_start(struct app_derive *d);
/* Logs an alert and publishes it at QoS 1 on parts.mqtt ('arg': the struct app_derive, or NULL:
 * logged only); a refusal of the client's queue is counted. The derive module's and the
 * console's alerts. */
void app_alert_publish(void *arg, const char *topic, const char *payload, size_t len);
/* Stops and closes the tick timer, then calls parts.on_closed(arg). NULL: nothing. */
void app_derive_close(struct app_derive *d);
/* After the loop ended and the flow was freed (its final commit reads the derive's low water):
 * frees the derive state and 'd'. NULL: nothing. */
void app_derive_free(struct app_derive *d);

#endif
