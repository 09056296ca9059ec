/* app_console.h - the staff console (app_console.c) on the staff listener. Loop thread only. */
#ifndef APP_CONSOLE_H
#define APP_CONSOLE_H
#include <stdatomic.h>
#include <stddef.h>
#include <uv.h>

#include "col_config.h"
#include "col_console.h"
#include "col_derive.h"
#include "col_http.h"
#include "col_intake.h"
#include "col_store.h"
#include "ct/registry.h"

/* What the console uses and whom it tells. Every pointer is borrowed from the app (app.c), which
 * keeps it valid until the console is closed. 'cfg' is the app's config (console.*, spool.dir,
 * collector.instance, liveness.stale_intervals; read at start). 'registry' is borrowed until
 * the app hands the console a reloaded one (col_console_registry). 'intake' journals the
 * console's points (NULL, the layers role: changes are refused); 'closing' is the app's stop
 * flag (set: changes are refused). 'derive' may be NULL (no silent stations). */
struct app_console_parts {
    uv_loop_t *loop;
    const struct col_config *cfg;
    const struct ct_registry *registry;
    struct col_store *store;     /* the query client: the console's reports */
    struct col_http *http_staff; /* the staff listener: /console/... */
    struct col_intake *intake;
    struct col_derive *derive;
    const atomic_bool *closing;
    /* Publishes an exceeding alert (app.c: app_alert_publish with the derived flow). */
    void (*publish)(void *arg, const char *topic, const char *payload, size_t len);
    void *publish_arg;
    /* Corrects the live rain sums (app.c: app_rain_adjust with collector/derive; the hook
     * col_console_hooks.rain_adjust). May be NULL. */
    int (*rain_adjust)(void *arg, const char *id, const int64_t *ts_ms, const double *mm, size_t n,
                       int sign, int64_t validated_until_ms);
    void *rain_adjust_arg;
    void (*on_closed)(void *arg); /* once, when the console is closed (app_console_close) */
    void *arg;
};

/* The console wiring: owns the struct col_console. */
struct app_console;

/* Creates the console from a copy of 'parts' and adds its routes to parts->http_staff (before it
 * listens). With console.users_file empty: nothing, *out NULL, 0. Returns 0 or a CT_E_* code
 * (logged); on failure *out is NULL unless the console was created, and then it is closed with
 * app_console_close as after success. */
int app_console_start(const struct app_console_parts *parts, struct app_console **out);
/* The console, borrowed until app_console_close (for the flow and the reload). NULL when 'ac' is
 * NULL. */
struct col_console *app_console_state(const struct app_console *ac);
/* Closes the console, frees 'ac', then calls parts.on_closed(arg). NULL: nothing. */
void app_console_close(struct app_console *ac);

#endif
