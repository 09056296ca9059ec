/* app_derive.h - the derived flow (app_derive.c): collector/derive wired to the flow's sink path,
 * the MQTT client (alerts) and the tick timer; the state rebuild at start. */
#ifndef APP_DERIVE_H
#define APP_DERIVE_H
#include "app_int.h"

int app_derive_create(struct col_app *app);
/* Logs an alert and publishes it at QoS 1 on the MQTT client ('arg': the app); a refusal of the
 * client's queue is counted (alerts_unsent). The derive module's and the console's alerts. */
void app_alert_publish(void *arg, const char *topic, const char *payload, size_t len);
/* Starts the rebuild queries; 'done' runs once all have answered (not when stopping). */
int app_derive_rebuild(struct col_app *app, void (*done)(struct col_app *app));
void app_derive_close(struct col_app *app);

#endif
