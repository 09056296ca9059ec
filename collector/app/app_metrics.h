/* app_metrics.h - /metrics (app_metrics.c): every module's counters in the Prometheus format. */
#ifndef APP_METRICS_H
#define APP_METRICS_H
#include <stdint.h>

#include "col_config.h"
#include "col_derive.h"
#include "col_flow.h"
#include "col_http.h"
#include "col_intake.h"
#include "col_mqtt.h"
#include "col_pipeline.h"
#include "col_sink.h"
#include "col_spool.h"
#include "col_tt10_in.h"
#include "col_tt10_writer.h"
#include "ct/buf.h"
#include "ct/registry.h"

/* What /metrics reads. Every pointer is borrowed from the app (app.c fills this once the
 * modules and both listeners exist, and owns it); the modules outlive every request, since the
 * app closes the listeners in the same loop turn as the modules. A module pointer is NULL when
 * the role has no such module. 'registry' and the counters point at live fields: the app's
 * registry pointer (replaced on reload) and watchdog counter, app_tt10.c's counts (valid until
 * app_tt10_free, after the loop). */
struct app_metrics_src {
    const struct col_config *cfg;
    struct ct_registry *const *registry;
    struct col_pipeline *pipeline;
    struct col_flow *flow;
    struct col_spool *spool;
    struct col_sink *sink;
    struct col_mqtt *mqtt;
    struct col_intake *intake;
    struct col_derive *derive;
    struct col_tt10_writer *tt10;
    struct col_tt10_in *tt10_in;
    struct col_http *http;       /* public listener */
    struct col_http *http_staff; /* staff listener */
    const uint64_t *tt10_in_flagged;
    const uint64_t *tt10_in_refused;
    const uint64_t *wd_reconnects;
    int64_t started_ms;
};

/* Renders every metric into 'out'. Returns 0 or a CT_E_* code. */
int app_metrics_render(const struct app_metrics_src *app, struct ct_buf *out);

#endif
