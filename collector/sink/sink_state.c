/* sink_state.c - the store's state as the sink sees it: ok or failing, why, since when; one log
 * line and one state callback per transition, never one per retry (test_sink_state). */
#include "col_obs.h"
#include "sink_int.h"

#include <stdio.h>
#include <string.h>

void col_sink_state_fail(struct col_sink *s, enum col_sink_fail kind, const char *why)
{
    s->fail_attempts++;
    if (s->failing) {
        if ((int)kind != s->fail_kind) {
            /* Same outage, new cause (the store came back without its database, say): worth
             * one line, since the first reason no longer tells the operator what to fix. */
            s->fail_kind = (int)kind;
            snprintf(s->why, sizeof(s->why), "%s", why);
            col_log(COL_LOG_WARN, "sink", "store still failing, now: %s", why);
        }
        return;
    }
    s->failing = true;
    s->fail_kind = (int)kind;
    s->fail_attempts = 1;
    s->state_since = uv_now(s->loop);
    s->st.store_failures++;
    snprintf(s->why, sizeof(s->why), "%s", why);
    col_log(COL_LOG_ERROR, "sink", "store failing: %s; holding the data and retrying", why);
    if (s->state_fn) {
        s->state_fn(s->state_arg, false, s->why);
    }
}

void col_sink_state_up(struct col_sink *s)
{
    if (!s->failing) {
        return;
    }
    uint64_t now = uv_now(s->loop);
    uint64_t secs = (now - s->state_since + 500) / 1000;
    s->failing = false;
    s->fail_kind = 0;
    s->state_since = now;
    snprintf(s->why, sizeof(s->why), "store accepts writes again after %llu s, %llu retries",
             (unsigned long long)secs, (unsigned long long)s->fail_attempts);
    s->fail_attempts = 0;
    col_log(COL_LOG_INFO, "sink", "%s", s->why);
    if (s->state_fn) {
        s->state_fn(s->state_arg, true, s->why);
    }
}

bool col_sink_ok(const struct col_sink *s, const char **why, int64_t *since_ms)
{
    if (why) {
        *why = s->why;
    }
    if (since_ms) {
        *since_ms = (int64_t)s->state_since;
    }
    return !s->failing;
}

void col_sink_set_state_cb(struct col_sink *s, col_sink_state_fn fn, void *arg)
{
    s->state_fn = fn;
    s->state_arg = arg;
}
