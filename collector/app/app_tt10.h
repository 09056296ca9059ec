/* app_tt10.h - TT 10/2021 station files (app_tt10.c, docs/tt10.md). */
#ifndef APP_TT10_H
#define APP_TT10_H
#include "app_int.h"

/* Create returns 0 when disabled. */
int app_tt10_create(struct col_app *app);
/* The flow's on_reading hook ('arg': the app): 'mark' is the reading's journal record. */
void app_tt10_add(void *arg, const struct ct_device *dev, const struct ct_reading *r,
                  const char *qc, uint64_t mark);
/* The flow's low_water hook ('arg': the app): the lowest journal record the station files still
 * need (UINT64_MAX: none); after close, the value at close (the final commit keeps the open
 * intervals' records). */
uint64_t app_tt10_low_water(void *arg);
/* The flow's on_local_ack hook ('arg': the app): the intake made the reading of an incoming
 * file's ticket durable. */
void app_tt10_durable(void *arg, uint64_t ticket);
void app_tt10_tick(struct col_app *app, int64_t now_ms);
void app_tt10_close(struct col_app *app);
/* Keeps a copy of the master key (may be NULL) for signing incoming files' readings. */
void app_tt10_set_key(struct col_app *app, const uint8_t *master, size_t len);
/* After a registry reload. */
void app_tt10_registry(struct col_app *app);

#endif
