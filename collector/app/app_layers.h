/* app_layers.h - the public layers and the OGC API (app_layers.c) on the public listener. */
#ifndef APP_LAYERS_H
#define APP_LAYERS_H
#include "app_int.h"

int app_layers_routes(struct col_app *app);
void app_layers_close(struct col_app *app);

#endif
