/* app_console.h - the staff console (app_console.c) on the staff listener. */
#ifndef APP_CONSOLE_H
#define APP_CONSOLE_H
#include "app_int.h"

/* Creates the console and adds its routes to the staff listener (nothing when
 * console.users_file is empty); closes it (app->open_handles counts it until closed). */
int app_console_start(struct col_app *app);
void app_console_close(struct col_app *app);

#endif
