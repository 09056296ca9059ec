/* app_reload.h - SIGHUP (app_reload.c): the registry and the reloadable config keys. Part of the
 * wiring, like app.c, and so on struct col_app: a reload replaces the registry that every part
 * borrows and hands each changed key to the part that uses it (the sink, the pipeline, the
 * derived flow, the listeners, the console, the station files, the watchdog timer); a context
 * of its own would hold nearly every field of struct col_app. */
#ifndef APP_RELOAD_H
#define APP_RELOAD_H
#include "app_int.h"

/* Reloads the config file and the registry; applies what may change while running. */
void app_reload(struct col_app *app);

#endif
