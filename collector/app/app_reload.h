/* app_reload.h - SIGHUP (app_reload.c): the registry and the reloadable config keys. */
#ifndef APP_RELOAD_H
#define APP_RELOAD_H
#include "app_int.h"

/* Reloads the config file and the registry; applies what may change while running. */
void app_reload(struct col_app *app);

#endif
