/* app_console.c - the staff console (collector/console) wired to the app: created with the
 * staff listener when console.users_file is set, fed the registry, readings and node statuses.
 * Its points (audit, decisions, acknowledgements, "exceeding" alerts) are journalled like
 * readings: each becomes a spool record of the internal topic COL_CONSOLE_TOPIC (the intake makes
 * it durable), and the flow hands the record's line protocol to the sink under the record's seq,
 * so the journal keeps it until the store has it and a restart replays it (test_console.py:
 * check_outage_restart). Its "exceeding" alerts are published like collector/derive's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_console.h"
#include "col_obs.h"
#include "ct/err.h"
#include "ct/lp.h"

struct app_console {
    struct app_console_parts p;
    struct col_console *console; /* owned; freed by col_console_close */
};

/* Journals the points: records of whole lines, each at most COL_MSG_PAYLOAD_MAX bytes. */
static int write_points(void *arg, const char *lp, size_t len)
{
    struct app_console *ac = arg;
    int rc = 0;

    if (ac->p.intake == NULL || atomic_load(ac->p.closing)) {
        return CT_E_STATE;
    }
    while (rc == 0 && len > 0) {
        size_t n = len;
        if (n > COL_MSG_PAYLOAD_MAX) {
            for (n = COL_MSG_PAYLOAD_MAX; n > 0 && lp[n - 1] != '\n'; n--) {
            }
            if (n == 0) {
                return CT_E_TOOBIG; /* one line longer than a record */
            }
        }
        rc = col_intake_add(ac->p.intake, COL_CONSOLE_TOPIC, sizeof(COL_CONSOLE_TOPIC) - 1, NULL, 0,
                            lp, n, col_now_ms(), 0);
        lp += n;
        len -= n;
    }
    return rc;
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
    struct app_console *ac = arg;
    struct silent_walk w = {mark, c};

    if (ac->p.derive != NULL) {
        col_derive_stale_each(ac->p.derive, on_stale, &w);
    }
}

/* The console's alerts go where the app's parts say (the derived flow's publisher). */
static void publish_alert(void *arg, const char *topic, const char *payload, size_t len)
{
    struct app_console *ac = arg;

    ac->p.publish(ac->p.publish_arg, topic, payload, len);
}

/* The console's corrections of the live rain sums go where the app's parts say (derive). */
static int rain_adjust(void *arg, const char *id, const int64_t *ts_ms, const double *mm, size_t n,
                       int sign, int64_t validated_until_ms)
{
    struct app_console *ac = arg;

    if (ac->p.rain_adjust == NULL) {
        return 0;
    }
    return ac->p.rain_adjust(ac->p.rain_adjust_arg, id, ts_ms, mm, n, sign, validated_until_ms);
}

int app_console_start(const struct app_console_parts *parts, struct app_console **out)
{
    const struct col_config *k = parts->cfg;
    struct col_console_cfg cc = {.users_file = k->console_users_file,
                                 .session_idle_ms = k->console_session_idle_ms,
                                 .session_max_ms = k->console_session_max_ms,
                                 .max_sessions = (size_t)k->console_max_sessions,
                                 .max_failures = (uint32_t)k->console_max_failures,
                                 .lockout_ms = k->console_lockout_ms,
                                 .cookie_secure = k->console_cookie_secure,
                                 .limits = k->console_limits,
                                 .approach = k->console_approach,
                                 .recompute_after_ms = k->console_recompute_after_ms,
                                 .window_s = (uint32_t)k->aggregate_window_s,
                                 .instance = k->collector_instance,
                                 .stale_intervals = (uint32_t)k->liveness_stale_intervals};
    struct col_console_hooks hooks = {.write_points = write_points,
                                      .each_silent = each_silent,
                                      .publish = publish_alert,
                                      .rain_adjust = rain_adjust,
                                      .arg = NULL};
    char state_file[4096];
    char staff_file[4096];
    char recompute_file[4096];
    char err[256];
    struct app_console *ac;
    int rc;

    *out = NULL;
    if (k->console_users_file[0] == '\0') {
        return 0;
    }
    ac = calloc(1, sizeof(*ac));
    if (ac == NULL) {
        return CT_E_NOMEM;
    }
    ac->p = *parts;
    hooks.arg = ac;
    snprintf(state_file, sizeof(state_file), "%s/console-alerts", k->spool_dir);
    cc.state_file = state_file;
    snprintf(staff_file, sizeof(staff_file), "%s/console-states", k->spool_dir);
    cc.staff_file = staff_file;
    snprintf(recompute_file, sizeof(recompute_file), "%s/console-recompute", k->spool_dir);
    cc.recompute_file = recompute_file;
    rc = col_console_create(parts->loop, &cc, &hooks, parts->store, &ac->console, err, sizeof(err));
    if (rc != 0) {
        col_log(COL_LOG_ERROR, "console", "%s", rc == CT_E_NOMEM ? "out of memory" : err);
        free(ac);
        return rc;
    }
    *out = ac;
    rc = col_console_registry(ac->console, parts->registry);
    return rc ? rc : col_console_routes(ac->console, parts->http_staff);
}

struct col_console *app_console_state(const struct app_console *ac)
{
    return ac != NULL ? ac->console : NULL;
}

static void on_console_closed(void *arg)
{
    struct app_console *ac = arg;

    ac->p.on_closed(ac->p.arg);
    free(ac);
}

void app_console_close(struct app_console *ac)
{
    if (ac != NULL) {
        col_console_close(ac->console, on_console_closed, ac);
        ac->console = NULL;
    }
}
