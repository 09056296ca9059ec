/* app_console.c - the staff console (collector/console) wired to the app: created with the
 * staff listener when console.users_file is set, fed the registry, readings and node statuses,
 * its audit and decision points written through the one path to the sink (col_flow_enqueue). */
#include <stdio.h>

#include "app_console.h"
#include "col_obs.h"
#include "ct/err.h"
#include "ct/lp.h"

static int write_points(void *arg, const char *lp, size_t len)
{
    struct col_app *app = arg;

    if (app->sink == NULL) {
        return CT_E_STATE;
    }
    /* Not from any journal record: a mark just past the processed ones holds nothing back. */
    return col_flow_enqueue(app->flow, lp, len, col_flow_processed_through(app->flow) + 1);
}

struct silent_walk {
    void (*mark)(struct col_console *c, const char *id);
    struct col_console *c;
};

static bool on_stale(void *arg, const char *id, int64_t last_seen_ms)
{
    struct silent_walk *w = arg;

    (void)last_seen_ms;
    w->mark(w->c, id);
    return true;
}

static void each_silent(void *arg, void (*mark)(struct col_console *c, const char *id),
                        struct col_console *c)
{
    struct col_app *app = arg;
    struct silent_walk w = {mark, c};

    if (app->derive != NULL) {
        col_derive_stale_each(app->derive, on_stale, &w);
    }
}

int app_console_start(struct col_app *app)
{
    const struct col_config *k = &app->cfg;
    struct col_console_cfg cc = {.users_file = k->console_users_file,
                                 .session_idle_ms = k->console_session_idle_ms,
                                 .session_max_ms = k->console_session_max_ms,
                                 .max_sessions = (size_t)k->console_max_sessions,
                                 .max_failures = (uint32_t)k->console_max_failures,
                                 .lockout_ms = k->console_lockout_ms,
                                 .cookie_secure = k->console_cookie_secure,
                                 .limits = k->console_limits,
                                 .approach = k->console_approach,
                                 .instance = k->collector_instance,
                                 .stale_intervals = (uint32_t)k->liveness_stale_intervals};
    struct col_console_hooks hooks = {
        .write_points = write_points, .each_silent = each_silent, .arg = app};
    char err[256];
    int rc;

    if (k->console_users_file[0] == '\0') {
        return 0;
    }
    rc = col_console_create(app->loop, &cc, &hooks, app->store, &app->console, err, sizeof(err));
    if (rc != 0) {
        col_log(COL_LOG_ERROR, "console", "%s", rc == CT_E_NOMEM ? "out of memory" : err);
        return rc;
    }
    rc = col_console_registry(app->console, app->registry);
    return rc ? rc : col_console_routes(app->console, app->http_staff);
}

static void on_console_closed(void *arg)
{
    struct col_app *app = arg;

    app->open_handles--;
}

void app_console_close(struct col_app *app)
{
    if (app->console != NULL) {
        app->open_handles++;
        col_console_close(app->console, on_console_closed, app);
        app->console = NULL;
    }
}
