/* app_metrics.h - /metrics (app_metrics.c): every module'\''s counters in the Prometheus format. */
#ifndef APP_METRICS_H
#define APP_METRICS_H
#include "app_int.h"
#include "ct/buf.h"

int app_metrics_render(struct col_app *app, struct ct_buf *out);

#endif
