/* app_tt10.h - TT 10/2021 station files (app_tt10.c, docs/tt10.md). */
#ifndef APP_TT10_H
#define APP_TT10_H
#include "app_int.h"

/* Create returns 0 when disabled. */
int app_tt10_create(struct col_app *app);
/* The flow's on_reading hook ('arg': the app). */
void app_tt10_add(void *arg, const struct ct_device *dev, const struct ct_reading *r,
                  const char *qc);
void app_tt10_tick(struct col_app *app, int64_t now_ms);
void app_tt10_close(struct col_app *app);
/* Keeps a copy of the master key (may be NULL) for signing incoming files' readings. */
void app_tt10_set_key(struct col_app *app, const uint8_t *master, size_t len);
/* After a registry reload. */
void app_tt10_registry(struct col_app *app);

#endif
