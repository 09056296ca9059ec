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
#include "app_tt10.h"
#include "col_obs.h"
#include "col_storeq.h"
#include "ct/err.h"

#define APP_TICK_MS 1000

static int on_points(void *arg, const char *lp, size_t len, uint64_t mark)
{
    struct col_app *app = arg;

    return col_flow_enqueue(app->flow, lp, len, mark);
}

void app_alert_publish(void *arg, const char *topic, const char *payload, size_t len)
{
    struct col_app *app = arg;

    col_log(COL_LOG_WARN, "alert", "%s %.*s", topic, (int)(len < 300 ? len : 300), payload);
    if (app->mqtt != NULL && col_mqtt_publish(app->mqtt, topic, payload, len, 1, false) != 0) {
        app->alerts_unsent++;
    }
}

static void on_tick(uv_timer_t *t)
{
    struct col_app *app = container_of(t, struct col_app, tick_timer);

    /* Not while the journal is replayed: a tick would close windows that replayed records
     * still belong to. */
    if (col_flow_live(app->flow) && !app->rebuilding) {
        col_derive_tick(app->derive, col_now_ms());
        app_tt10_tick(app, col_now_ms());
    }
}

int app_derive_create(struct col_app *app)
{
    struct col_derive_cfg dc;
    struct col_derive_emit emit = {on_points, app_alert_publish, app};
    int rc;

    memset(&dc, 0, sizeof(dc));
    dc.instance = app->cfg.collector_instance;
    dc.window_s = (uint32_t)app->cfg.aggregate_window_s;
    dc.update_ms = app->cfg.aggregate_update_s * 1000;
    dc.stale_intervals = (uint32_t)app->cfg.liveness_stale_intervals;
    dc.max_devices = 2 * ct_registry_count(app->registry) + 1024;
    rc = col_derive_create(&dc, &emit, &app->derive);
    if (rc != 0) {
        col_log(COL_LOG_ERROR, "derive", "cannot create: %s", ct_strerror(rc));
        return rc;
    }
    rc = col_derive_registry(app->derive, app->registry);
    if (rc != 0) {
        return rc;
    }
    rc = uv_timer_init(app->loop, &app->tick_timer);
    if (rc != 0) {
        return CT_E_IO;
    }
    uv_timer_start(&app->tick_timer, on_tick, APP_TICK_MS, APP_TICK_MS);
    return 0;
}

static void rebuild_done(struct col_app *app)
{
    app->rebuilding = false;
    col_log(COL_LOG_INFO, "derive", "state rebuilt from the store (%llu rows)",
            (unsigned long long)app->rebuild_rows);
    app->rebuilt(app);
}

static void on_rebuild_answer(void *arg, int status, const char *body, size_t len)
{
    struct col_app *app = arg;
    struct col_derive_stats st;

    if (status == 200 && body != NULL) {
        if (col_derive_rebuild_apply(app->derive, body, len) != 0) {
            col_log(COL_LOG_WARN, "derive", "a rebuild answer could not be used");
        }
    } else {
        col_log(COL_LOG_WARN, "derive",
                "rebuild query failed (%d); starting without that state (the store may be down)",
                status);
    }
    col_derive_stats(app->derive, &st);
    app->rebuild_rows = st.rebuild_rows;
    if (--app->rebuild_pending == 0 && !atomic_load(&app->closing)) {
        rebuild_done(app);
    }
}

/* Starts the rebuild queries; the journal replay (and so the subscription) follows when all have
 * answered. Returns 0 or an error (then nothing was started). */
int app_derive_rebuild(struct col_app *app, void (*done)(struct col_app *app))
{
    struct col_store *store = app->store;

    app->rebuilding = true;
    app->rebuilt = done;
    for (int w = 0; w < COL_DERIVE_RB__COUNT; w++) {
        const struct col_storeq_sel *q = col_derive_rebuild_sel((enum col_derive_rebuild)w);
        if (q != NULL &&
            col_storeq_query(store, app->cfg.store_kind, q, 1, on_rebuild_answer, app) == 0) {
            app->rebuild_pending++;
        }
    }
    if (app->rebuild_pending == 0) {
        rebuild_done(app);
    }
    return 0;
}

void app_derive_close(struct col_app *app)
{
    if (app->tick_timer.loop != NULL && !uv_is_closing((uv_handle_t *)&app->tick_timer)) {
        uv_timer_stop(&app->tick_timer);
    }
}
