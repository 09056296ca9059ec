/* col_console.h - the environment department's console, served on the staff listener only
 * (never the public one): sign-in with roles (viewer, operator, approver), station states with
 * the time they began, the silent stations, staff decisions (a station calibrating or in fault,
 * a range of a parameter marked invalid, a day approved), and the audit log of every change
 * written to the store (measurement console_audit). Docs: docs/console.md. The public listener
 * answers 404 for it (tests/e2e/test_console.py).
 *
 * Everything runs on the loop thread, except password checks (argon2id), which run on the libuv
 * thread pool (uv_queue_work) so that the slow hash runs off the loop.
 *
 * The app creates the console, adds its routes to the staff listener, tells it the registry
 * (at start and after a reload), feeds it readings and node statuses, and closes it. */
#ifndef COL_CONSOLE_H
#define COL_CONSOLE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "col_http.h"
#include "col_store.h"
#include "ct/payload.h"
#include "ct/registry.h"

struct col_console;

/* The internal topic of the console's journal records: its points (audit, decisions,
 * acknowledgements, "exceeding" alerts) are added to the intake under this topic so that the
 * journal keeps them until the store has them (test_console.py: check_outage_restart); the flow
 * sends such a record's payload (line protocol) to the sink as it is. No MQTT message can carry
 * it: the collector's subscriptions are wildcard filters, which never match a topic beginning with
 * '$' (MQTT 5.0, 4.7.2). */
#define COL_CONSOLE_TOPIC "$citytel/console"

/* True when the topic (topic_len bytes, not NUL-terminated) is COL_CONSOLE_TOPIC. */
static inline bool col_console_record_topic(const char *topic, size_t topic_len)
{
    return topic_len == sizeof(COL_CONSOLE_TOPIC) - 1 &&
           memcmp(topic, COL_CONSOLE_TOPIC, topic_len) == 0;
}

struct col_console_cfg {
    const char *users_file;     /* copied; the accounts (col_console_auth.h) */
    int64_t session_idle_ms;    /* a session unused this long ends */
    int64_t session_max_ms;     /* and any session this old */
    size_t max_sessions;        /* sessions kept; the least recently used goes first */
    uint32_t max_failures;      /* wrong passwords in a row before a lockout (0 = never) */
    int64_t lockout_ms;         /* how long a lockout lasts */
    bool cookie_secure;         /* add Secure to the cookie (behind a TLS proxy) */
    const char *limits;         /* console.limits spec; copied */
    double approach;            /* fraction of a limit where "approaching" begins */
    const char *instance;       /* the collector's name, a tag of the audit points; copied */
    uint32_t stale_intervals;   /* liveness.stale_intervals: a gap this many intervals long is a
                                   disconnect in the completeness report */
    const char *state_file;     /* copied; the ongoing "exceeding" alerts, kept across restarts
                                   (written atomically on the thread pool); NULL or "": not kept */
    const char *staff_file;     /* copied; the staff-set states (calibrating, fault) with who, why
                                   and since when, kept likewise; NULL or "": not kept */
    const char *recompute_file; /* copied; the ranges waiting for their recompute, kept likewise
                                   (docs/console.md); NULL or "": not kept */
    int64_t recompute_after_ms; /* a range marked invalid is recomputed this long after the
                                   decision and after each hour close (docs/console.md) */
    uint32_t window_s;          /* aggregate.window_s: derive's <kind>_agg_<window>, recomputed
                                   with the hour's (must divide 86400; 0: derive's default, 60) */
};

struct col_console_hooks {
    /* Hands line protocol (complete lines, ms timestamps; borrowed for the call) to the sink.
     * Returns 0 or a CT_E_* code (the change is then refused with 503). Required. */
    int (*write_points)(void *arg, const char *lp, size_t len);
    /* Calls mark(c, id) for each station liveness (collector/derive) counts stale now. May be
     * NULL (then no station is silent). */
    void (*each_silent)(void *arg, void (*mark)(struct col_console *c, const char *id),
                        struct col_console *c);
    /* Publishes an "exceeding" alert of a public station on the alert topic (topic and payload
     * from col_derive_alert_format, borrowed for the call), like collector/derive's alerts; a
     * station with `"public": false` raises its alert in the store only. May be NULL. */
    void (*publish)(void *arg, const char *topic, const char *payload, size_t len);
    /* Corrects this instance's live rain sums (collector/derive, col_derive_rain_adjust): takes
     * the interval amounts mm[i] of a gauge's readings at ts_ms[i] (n of them, borrowed for the
     * call) marked invalid out of its 24-h ring (sign -1) or puts them back (sign +1, the range
     * withdrawn), and its rain_1h points of readings up to validated_until_ms carry
     * validated=true. Called by the recompute jobs (console_recompute_jobs.c). Returns 0,
     * CT_E_AGAIN (derive has not rebuilt its state from the store yet: the job calls again at its
     * next run) or another CT_E_* code (logged; not called again for that range). May be NULL
     * (nothing is corrected). */
    int (*rain_adjust)(void *arg, const char *id, const int64_t *ts_ms, const double *mm, size_t n,
                       int sign, int64_t validated_until_ms);
    void *arg;
};

/* Creates the console (loads the users file, parses the limits). 'store' (may be NULL) is
 * borrowed for the audit page's queries and must outlive the console. Returns 0, CT_E_INVAL or
 * CT_E_PARSE (err says why), CT_E_IO or CT_E_NOMEM; on error *out is untouched. */
int col_console_create(uv_loop_t *loop, const struct col_console_cfg *cfg,
                       const struct col_console_hooks *hooks, struct col_store *store,
                       struct col_console **out, char *err, size_t errcap);
/* Adds the console's routes (/console/...) to 'staff' (before col_http_start). */
int col_console_routes(struct col_console *c, struct col_http *staff);
/* The registry (borrowed: must stay valid until the next call or col_console_close). */
int col_console_registry(struct col_console *c, const struct ct_registry *reg);
/* SIGHUP: re-reads the users file. A file that is missing, unreadable or fails to parse keeps
 * the running accounts (logged with the file, the line and the reason; returns its CT_E_*).
 * Otherwise the new accounts apply at once: a removed account's sessions end (its next request
 * gets 401), a changed password ends the account's sessions, a changed role applies to the
 * sessions' next request; a kept account keeps its lockout unless its password changed.
 * Proved by tests/e2e/test_console.py (check_users_reload). Returns 0. */
int col_console_users_reload(struct col_console *c);
/* An accepted reading and a node's applied status (both borrowed for the call). */
void col_console_reading(struct col_console *c, const struct ct_reading *r, int64_t now_ms);
void col_console_status(struct col_console *c, const char *id, bool online, int64_t now_ms);
/* Asynchronous: stops the timer, waits for running password checks, frees 'c' and then calls
 * closed_cb(arg) (may be NULL). Accepts NULL. */
void col_console_close(struct col_console *c, void (*closed_cb)(void *arg), void *arg);

/* `collector staff-user add NAME ROLE`: reads the password (one line) from 'in' and writes the
 * account into 'users_file'. Returns the exit status (0, 1 on error with a message on 'err'). */
int col_console_user_cli(const char *users_file, int argc, char **argv, FILE *in, FILE *err);

#endif
