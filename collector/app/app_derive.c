/* app_derive.c - derived data: quality flags, window aggregates, indices, rain, flood, parking,
 * liveness and alerts (collector/derive), wired to the sink (through col_flow_enqueue, the one
 * path by which every point reaches the sink) and the MQTT client.
 *
 * At start the module's long-lived state (NowCast's hourly means, rain sums, flood bands) is
 * rebuilt from the store before the journal replay begins (protocol.md section 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_derive.h"
#include "col_obs.h"
#include "col_storeq.h"
#include "ct/err.h"

#define APP_TICK_MS 1000

struct app_derive {
    struct app_derive_parts p;
    struct col_derive *derive; /* owned */
    uv_timer_t tick_timer;     /* drives col_derive_tick; initialised at create */
    uint64_t alerts_unsent;    /* alerts the MQTT client's queue refused */
    bool rebuilding;           /* rebuild queries running: ticks wait */
    int rebuild_pending;
    uint64_t rebuild_rows;
};

static int on_points(void *arg, const char *lp, size_t len, uint64_t mark)
{
    struct app_derive *d = arg;

    return col_flow_enqueue(d->p.flow, lp, len, mark);
}

void app_alert_publish(void *arg, const char *topic, const char *payload, size_t len)
{
    struct app_derive *d = arg;

    col_log(COL_LOG_WARN, "alert", "%s %.*s", topic, (int)(len < 300 ? len : 300), payload);
    if (d != NULL && d->p.mqtt != NULL &&
        col_mqtt_publish(d->p.mqtt, topic, payload, len, 1, false) != 0) {
        d->alerts_unsent++;
    }
}

static void on_tick(uv_timer_t *t)
{
    struct app_derive *d = t->data;

    /* Not while the journal is replayed: a tick would close windows that replayed records
     * still belong to. */
    if (col_flow_live(d->p.flow) && !d->rebuilding) {
        col_derive_tick(d->derive, col_now_ms());
        if (d->p.on_tick != NULL) {
            d->p.on_tick(d->p.arg, col_now_ms());
        }
    }
}

int app_derive_create(const struct app_derive_parts *parts, const struct ct_registry *reg,
                      struct app_derive **out)
{
    const struct col_config *c = parts->cfg;
    struct app_derive *d = calloc(1, sizeof(*d));
    struct col_derive_cfg dc;
    struct col_derive_emit emit = {on_points, app_alert_publish, d};
    int rc;

    *out = NULL;
    if (d == NULL) {
        return CT_E_NOMEM;
    }
    d->p = *parts;
    memset(&dc, 0, sizeof(dc));
    dc.instance = c->collector_instance;
    dc.window_s = (uint32_t)c->aggregate_window_s;
    dc.update_ms = c->aggregate_update_s * 1000;
    dc.stale_intervals = (uint32_t)c->liveness_stale_intervals;
    dc.max_devices = 2 * ct_registry_count(reg) + 1024;
    rc = col_derive_create(&dc, &emit, &d->derive);
    if (rc != 0) {
        col_log(COL_LOG_ERROR, "derive", "cannot create: %s", ct_strerror(rc));
        goto out_free;
    }
    rc = col_derive_registry(d->derive, reg);
    if (rc != 0) {
        goto out_free;
    }
    if (uv_timer_init(d->p.loop, &d->tick_timer) != 0) {
        rc = CT_E_IO;
        goto out_free;
    }
    d->tick_timer.data = d;
    *out = d;
    return 0;

out_free:
    col_derive_free(d->derive);
    free(d);
    return rc;
}

struct col_derive *app_derive_state(const struct app_derive *d)
{
    return d != NULL ? d->derive : NULL;
}

static void rebuild_done(struct app_derive *d)
{
    d->rebuilding = false;
    col_log(COL_LOG_INFO, "derive", "state rebuilt from the store (%llu rows)",
            (unsigned long long)d->rebuild_rows);
    d->p.on_rebuilt(d->p.arg);
}

static void on_rebuild_answer(void *arg, int status, const char *body, size_t len)
{
    struct app_derive *d = arg;
    struct col_derive_stats st;

    if (status == 200 && body != NULL) {
        if (col_derive_rebuild_apply(d->derive, body, len) != 0) {
            col_log(COL_LOG_WARN, "derive", "a rebuild answer could not be used");
        }
    } else {
        col_log(COL_LOG_WARN, "derive",
                "rebuild query failed (%d); starting without that state (the store may be down)",
                status);
    }
    col_derive_stats(d->derive, &st);
    d->rebuild_rows = st.rebuild_rows;
    if (--d->rebuild_pending == 0 && !atomic_load(d->p.closing)) {
        rebuild_done(d);
    }
}

/* Starts the rebuild queries; the journal replay (and so the subscription) follows when all have
 * answered. Returns 0 or an error (then nothing was started). */
int app_derive_start(struct app_derive *d)
{
    uv_timer_start(&d->tick_timer, on_tick, APP_TICK_MS, APP_TICK_MS);
    d->rebuilding = true;
    for (int w = 0; w < COL_DERIVE_RB__COUNT; w++) {
        const struct col_storeq_sel *q = col_derive_rebuild_sel((enum col_derive_rebuild)w);
        if (q != NULL &&
            col_storeq_query(d->p.store, d->p.cfg->store_kind, q, 1, on_rebuild_answer, d) == 0) {
            d->rebuild_pending++;
        }
    }
    if (d->rebuild_pending == 0) {
        rebuild_done(d);
    }
    return 0;
}

static void on_tick_closed(uv_handle_t *h)
{
    struct app_derive *d = h->data;

    d->p.on_closed(d->p.arg);
}

void app_derive_close(struct app_derive *d)
{
    if (d == NULL || uv_is_closing((uv_handle_t *)&d->tick_timer)) {
        return;
    }
    uv_timer_stop(&d->tick_timer);
    uv_close((uv_handle_t *)&d->tick_timer, on_tick_closed);
}

void app_derive_free(struct app_derive *d)
{
    if (d == NULL) {
        return;
    }
    col_derive_free(d->derive);
    free(d);
}
