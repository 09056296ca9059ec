/* app_http.h - the HTTP surfaces (app_http.c): the public listener (map, layers, OGC API) and
 * the staff listener (/healthz, /metrics, the console). */
#ifndef APP_HTTP_H
#define APP_HTTP_H
#include <uv.h>

#include "app_metrics.h"
#include "col_config.h"
#include "col_derive.h"
#include "col_flow.h"
#include "col_http.h"
#include "col_intake.h"
#include "col_sink.h"
#include "col_spool.h"

/* What the listeners read and whom they tell. Every pointer is borrowed from the app (app.c),
 * which keeps them valid until app_http_close; a module pointer is NULL when the role has no
 * such module. 'cfg' is the app's config, read at each request and at app_http_apply_limits
 * (reload changes it in place). */
struct app_http_parts {
    uv_loop_t *loop;
    const struct col_config *cfg;
    struct col_flow *flow;
    struct col_sink *sink;
    struct col_spool *spool;
    struct col_intake *intake;
    struct col_derive *derive;
    const struct app_metrics_src *metrics;
    /* Add the other app parts' routes before the listeners listen: staff_routes after /healthz
     * (the console), public_routes before the map's files (the layers); not called for the
     * ingest role's public listener. Return 0 or a CT_E_* code. */
    int (*staff_routes)(void *arg);
    int (*public_routes)(void *arg);
    void (*on_closed)(void *arg); /* once, when both listeners are closed (app_http_close) */
    void *arg;
};

/* Both listeners; owns them. */
struct app_http;

/* Creates both listeners (not listening yet) from a copy of 'parts'. Returns 0 or a CT_E_* code;
 * on failure *out is NULL and nothing is left to close. */
int app_http_create(const struct app_http_parts *parts, struct app_http **out);
/* The listeners, borrowed until app_http_close (for the routes of the console and the layers,
 * and for /metrics). */
struct col_http *app_http_public(const struct app_http *h);
struct col_http *app_http_staff(const struct app_http *h);
/* Adds the routes (the parts' hooks among them) and starts listening on both. */
int app_http_start(struct app_http *h);
/* Applies the reloadable http.* limits of parts.cfg to both listeners (after a SIGHUP). */
void app_http_apply_limits(struct app_http *h);
/* Closes both listeners and frees h, then calls parts.on_closed(arg). NULL: nothing. */
void app_http_close(struct app_http *h);

#endif
