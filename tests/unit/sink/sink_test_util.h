/* sink_test_util.h - shared fixture for the sink tests: a loop, the fake InfluxDB on it, a sink
 * with recording callbacks, and run-until-condition-or-deadline. */
#ifndef SINK_TEST_UTIL_H
#define SINK_TEST_UTIL_H
#include "col_sink.h"
#include "fake_influx.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct tctx {
    uv_loop_t loop;
    struct fake_influx *fake;
    struct col_sink *sink;
    struct col_sink_cfg cfg;
    char url[64];
    int rooms; /* on_room calls */
    int auth_calls, auth_status;
    int reject_calls, reject_status;
    enum col_sink_reject reject_cls;
    char rejected[8192]; /* all rejected lines, concatenated */
    size_t rejected_len;
    char reason[512]; /* last reject reason */
    bool closed;
};

typedef bool (*tcond_fn)(struct tctx *t);

/* Initialises the loop, starts the fake and fills t->cfg with test defaults (v1, db "city",
 * flush_ms 50, fast retries). The sink is created by tctx_sink(). */
void tctx_init(struct tctx *t);
/* Creates t->sink from t->cfg with the recording callbacks; fails the test on error. */
void tctx_sink(struct tctx *t);
/* Closes the sink, stops the fake, runs the loop empty and asserts uv_loop_close() == 0. */
void tctx_finish(struct tctx *t);
/* Runs the loop until cond(t) holds or timeout_ms pass; returns cond(t). */
bool tctx_run_until(struct tctx *t, tcond_fn cond, uint64_t timeout_ms);
/* Conditions. */
bool tcond_settled(struct tctx *t);
/* Milliseconds of the loop's clock since 'start' (uv_hrtime based). */
uint64_t tctx_ms(void);
/* The concatenation of the bodies of recorded requests answered 'status' (0: all), malloc'd. */
char *tctx_bodies(struct tctx *t, int status, size_t *len);

#endif
