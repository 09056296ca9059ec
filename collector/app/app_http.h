/* app_http.h - the HTTP surfaces (app_http.c): the public listener (map, layers, OGC API) and
 * the staff listener (/healthz, /metrics, the console). */
#ifndef APP_HTTP_H
#define APP_HTTP_H
#include "app_int.h"

int app_http_start(struct col_app *app);
/* Applies the reloadable http.* limits of app->cfg to both listeners (after a SIGHUP). */
void app_http_apply_limits(struct col_app *app);
/* Closes both listeners (app->open_handles counts them until closed). */
void app_http_close(struct col_app *app);

#endif
