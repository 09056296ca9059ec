/* console.c - the console's life cycle, sign-in (argon2id on the thread pool), sessions, the
 * JSON API and the audit log. Contract: col_console.h. Tests: tests/unit/console (logic),
 * tests/e2e/test_console.py (the real collector in headless Chromium). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "col_console.h"
#include "col_console_auth.h"
#include "col_console_state.h"
#include "col_derive.h"
#include "col_obs.h"
#include "console_int.h"
#include "ct/buf.h"
#include "ct/err.h"
#include "ct/lp.h"

#define COOKIE "ct_console"
#define LOGIN_JOBS_MAX 4 /* password checks running at once; beyond: 503 */
#define TICK_MS 1000
#define JSON_MAX (8u << 20) /* an API answer larger than this is refused (500) */

struct login_job {
    uv_work_t work;
    struct col_console *c;
    struct col_http_req *req;
    char user[COL_CONSOLE_NAME_MAX + 1];
    char hash[COL_CONSOLE_HASH_MAX];
    char password[COL_CONSOLE_PASSWORD_MAX + 1];
    bool known;
    bool ok;
};

struct col_console {
    uv_loop_t *loop;
    uv_timer_t tick;
    struct col_console_hooks hooks;
    struct col_store *store;
    char *users_file;
    char *instance;
    uint32_t max_failures;
    int64_t lockout_ms;
    bool cookie_secure;
    struct col_console_users users;
    struct col_console_sessions sessions;
    struct col_console_limits limits;
    struct col_console_states states;
    int jobs; /* login jobs running */
    int64_t last_audit_ms;
    uint32_t stale_intervals;
    /* Kept across restarts, read at creation and applied with the first registry: the ongoing
     * alerts (console-alerts), the staff-set states (console-states) and the waiting recompute
     * jobs (console-recompute). */
    struct col_console_keep alerts_keep;
    struct col_console_keep staff_keep;
    struct col_console_keep rc_keep;
    struct col_console_rc rc; /* ranges waiting for their recompute (console_recompute.c) */
    bool closing;
    bool timer_closed;
    void (*closed_cb)(void *arg);
    void *closed_arg;
};

int64_t col_console_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- answers ---- */

/* Appends 's' as a JSON string (with its quotes). */
void col_console_json_str(struct ct_buf *b, const char *s)
{
    ct_buf_adds(b, "\"");
    for (; s != NULL && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            ct_buf_add(b, "\\", 1);
            ct_buf_add(b, s, 1);
        } else if (ch < 0x20) {
            ct_buf_printf(b, "\\u%04x", ch);
        } else {
            ct_buf_add(b, s, 1);
        }
    }
    ct_buf_adds(b, "\"");
}

static void reply(struct col_http_req *req, int status, const char *type, const char *body,
                  size_t len, const char *extra)
{
    struct col_http_resp resp = {.status = status,
                                 .content_type = type,
                                 .body = body,
                                 .len = len,
                                 .compress = len > 1024,
                                 .cache_control = "no-store",
                                 .extra_headers = extra};
    col_http_respond(req, &resp);
}

static void reply_json(struct col_http_req *req, int status, struct ct_buf *b, const char *extra)
{
    reply(req, status, "application/json; charset=utf-8", b->p != NULL ? b->p : "", b->len, extra);
}

/* {"error": why} with 'status'. */
static void reply_error(struct col_http_req *req, int status, const char *why)
{
    struct ct_buf b;

    ct_buf_init(&b, 4096);
    ct_buf_adds(&b, "{\"error\":");
    col_console_json_str(&b, why);
    ct_buf_adds(&b, "}\n");
    reply_json(req, status, &b, NULL);
    ct_buf_free(&b);
}

/* ---- audit ---- */

/* Writes one audit point (who, what, when, why). Returns 0 or a CT_E_* code. */
static int audit(struct col_console *c, const char *user, enum col_console_role role,
                 const char *action, const char *target, const char *why, const char *detail)
{
    struct ct_buf b;
    int64_t ts = col_console_now_ms();
    int rc;

    /* Two changes in one millisecond would be one point in the store: keep times distinct. */
    if (ts <= c->last_audit_ms) {
        ts = c->last_audit_ms + 1;
    }
    c->last_audit_ms = ts;
    struct ct_lp_tag tags[] = {{"action", action},
                               {"instance", c->instance},
                               {"role", col_console_role_name(role)},
                               {"user", user}};
    struct ct_lp_field fields[] = {{.key = "target", .type = CT_LP_STRING, .s = target},
                                   {.key = "why", .type = CT_LP_STRING, .s = why},
                                   {.key = "detail", .type = CT_LP_STRING, .s = detail}};
    ct_buf_init(&b, 8192);
    rc = ct_lp_point(&b, "console_audit", tags, 4, fields, 3, ts);
    if (rc == 0) {
        rc = c->hooks.write_points(c->hooks.arg, b.p, b.len);
    }
    ct_buf_free(&b);
    col_log(COL_LOG_INFO, "console", "audit: %s (%s) %s %s: %s", user, col_console_role_name(role),
            action, target, why);
    return rc;
}

int col_console_audit(struct col_console *c, const struct col_console_session *s,
                      const char *action, const char *target, const char *why, const char *detail)
{
    return audit(c, s->user, s->role, action, target, why, detail);
}

int col_console_write(struct col_console *c, const char *lp, size_t len)
{
    return c->hooks.write_points(c->hooks.arg, lp, len);
}

int col_console_rain_adjust(struct col_console *c, const char *id, const int64_t *ts_ms,
                            const double *mm, size_t n, int sign, int64_t validated_until_ms)
{
    if (c->hooks.rain_adjust == NULL) {
        return 0;
    }
    return c->hooks.rain_adjust(c->hooks.arg, id, ts_ms, mm, n, sign, validated_until_ms);
}

struct col_console_states *col_console_states_of(struct col_console *c)
{
    return &c->states;
}

uint32_t col_console_stale_intervals(const struct col_console *c)
{
    return c->stale_intervals;
}

struct col_store *col_console_store(struct col_console *c)
{
    return c->store;
}

/* ---- sessions ---- */

struct col_console_session *col_console_authed(struct col_console *c, struct col_http_req *req,
                                               enum col_console_role need, bool change)
{
    char token[COL_CONSOLE_TOKEN_HEX + 1];
    struct col_console_session *s = NULL;
    enum col_console_sess r = COL_CONSOLE_SESS_NONE;
    char why[160];

    if (col_console_cookie(col_http_req_cookie(req), COOKIE, token, sizeof(token))) {
        r = col_console_session_get(&c->sessions, token, col_console_now_ms(), &s);
    }
    if (r == COL_CONSOLE_SESS_EXPIRED) {
        reply_error(req, 401, "Your session has expired. Sign in again.");
        return NULL;
    }
    if (r != COL_CONSOLE_SESS_OK) {
        reply_error(req, 401, "You are not signed in.");
        return NULL;
    }
    if (change && !col_console_csrf_ok(s, col_http_req_csrf_token(req))) {
        reply_error(req, 403,
                    "Refused: the request carries no valid CSRF token. Reload the page and try "
                    "again.");
        return NULL;
    }
    if (!col_console_role_allows(s->role, need)) {
        snprintf(why, sizeof(why), "Refused: this needs the %s role; %s has the %s role.",
                 col_console_role_name(need), s->user, col_console_role_name(s->role));
        reply_error(req, 403, why);
        return NULL;
    }
    return s;
}

static void session_json(struct ct_buf *b, const struct col_console_session *s)
{
    ct_buf_adds(b, "{\"user\":");
    col_console_json_str(b, s->user);
    ct_buf_adds(b, ",\"role\":");
    col_console_json_str(b, col_console_role_name(s->role));
    ct_buf_adds(b, ",\"csrf\":");
    col_console_json_str(b, s->csrf);
    ct_buf_adds(b, "}\n");
}

/* ---- closing ---- */

/* Frees 'c' and calls its closed_cb once it is closing, its timer is closed and no job runs. */
static void maybe_closed(struct col_console *c)
{
    if (c->closing && c->jobs == 0 && c->timer_closed && !c->alerts_keep.saving &&
        !c->staff_keep.saving && !c->rc_keep.saving && !c->rc.busy) {
        void (*cb)(void *) = c->closed_cb;
        void *arg = c->closed_arg;
        col_console_free_now(c);
        if (cb != NULL) {
            cb(arg);
        }
    }
}

void col_console_maybe_closed(struct col_console *c)
{
    maybe_closed(c);
}

struct col_console_rc *col_console_rc_of(struct col_console *c)
{
    return &c->rc;
}

const char *col_console_instance(const struct col_console *c)
{
    return c->instance;
}

uv_loop_t *col_console_loop(struct col_console *c)
{
    return c->loop;
}

void col_console_staff_kept(struct col_console *c, struct col_http_req *req)
{
    col_console_keep_save(&c->staff_keep, req);
}

void col_console_recompute_kept(struct col_console *c)
{
    col_console_keep_save(&c->rc_keep, NULL);
}

/* The kept files' texts (console_keep.c). */
static int alerts_text(struct col_console *c, struct ct_buf *out)
{
    return col_console_alerts_text(&c->states, out);
}

static int staff_text(struct col_console *c, struct ct_buf *out)
{
    return col_console_staff_text(&c->states, out);
}

static int recompute_text(struct col_console *c, struct ct_buf *out)
{
    return col_console_recompute_text(&c->rc, out);
}

/* ---- sign-in ---- */

static void login_work(uv_work_t *w)
{
    struct login_job *j = container_of(w, struct login_job, work);

    if (j->known) {
        j->ok = col_console_password_ok(j->hash, j->password);
    } else {
        /* An unknown name costs as much time as a known one: no user enumeration by timing. */
        char dummy[COL_CONSOLE_HASH_MAX];
        col_console_password_hash(j->password, 0, 0, dummy);
        j->ok = false;
    }
    sodium_memzero(j->password, sizeof(j->password));
}

static void login_done(uv_work_t *w, int status)
{
    struct login_job *j = container_of(w, struct login_job, work);
    struct col_console *c = j->c;
    struct col_console_user *u = col_console_user_find(&c->users, j->user);
    int64_t now = col_console_now_ms();
    struct col_console_session *s;
    struct ct_buf b;
    char cookie[256];
    char why[200];

    c->jobs--;
    if (status != 0 || c->closing) {
        reply_error(j->req, 503, "The console is shutting down.");
        goto out_free;
    }
    /* A SIGHUP may have changed or removed the account while its password was checked. */
    if (u != NULL && strcmp(u->hash, j->hash) != 0) {
        u = NULL;
    }
    if (!j->ok || u == NULL) {
        if (u != NULL && col_console_failed(u, now, c->max_failures, c->lockout_ms)) {
            snprintf(why, sizeof(why), "%u wrong passwords in a row", c->max_failures);
            audit(c, j->user, u->role, "lockout", j->user, why, "");
        }
        audit(c, j->user, u != NULL ? u->role : COL_CONSOLE_NONE, "login_failed", j->user,
              "wrong user name or password", "");
        reply_error(j->req, 401, "Wrong user name or password.");
        goto out_free;
    }
    col_console_succeeded(u);
    if (col_console_session_new(&c->sessions, u->name, u->role, now, &s) != 0) {
        reply_error(j->req, 500, "Cannot start a session.");
        goto out_free;
    }
    audit(c, u->name, u->role, "login", u->name, "", "");
    snprintf(cookie, sizeof(cookie),
             "Set-Cookie: " COOKIE "=%s; Path=/console/; HttpOnly; SameSite=Strict%s\r\n", s->token,
             c->cookie_secure ? "; Secure" : "");
    ct_buf_init(&b, 4096);
    session_json(&b, s);
    reply_json(j->req, 200, &b, cookie);
    ct_buf_free(&b);
out_free:
    sodium_memzero(j, sizeof(*j));
    free(j);
    maybe_closed(c);
}

/* Parses the request body as a JSON object; answers 400 and returns NULL when it is not. */
cJSON *col_console_body(struct col_http_req *req)
{
    size_t len;
    const char *body = col_http_req_body(req, &len);
    cJSON *j = cJSON_ParseWithLength(body, len);

    if (j == NULL || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        reply_error(req, 400, "The request body must be a JSON object.");
        return NULL;
    }
    return j;
}

/* The string member 'name' of 'obj' or NULL. */
const char *col_console_jstr(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void on_login(struct col_console *c, struct col_http_req *req)
{
    cJSON *j = col_console_body(req);
    const char *user, *password;
    struct col_console_user *u;
    struct login_job *job;
    int64_t until;
    char why[200];

    if (j == NULL) {
        return;
    }
    user = col_console_jstr(j, "user");
    password = col_console_jstr(j, "password");
    if (user == NULL || password == NULL || !col_console_name_ok(user) || password[0] == '\0' ||
        strlen(password) > COL_CONSOLE_PASSWORD_MAX) {
        reply_error(req, 401, "Wrong user name or password.");
        goto out_free;
    }
    u = col_console_user_find(&c->users, user);
    if (u != NULL && col_console_locked(u, col_console_now_ms(), &until)) {
        time_t t = (time_t)(until / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        snprintf(why, sizeof(why),
                 "This account is locked after %u wrong passwords. Try again after %02d:%02d:%02d "
                 "UTC.",
                 c->max_failures, tm.tm_hour, tm.tm_min, tm.tm_sec);
        reply_error(req, 403, why);
        goto out_free;
    }
    if (c->jobs >= LOGIN_JOBS_MAX) {
        reply_error(req, 503, "Too many sign-ins at once. Try again in a moment.");
        goto out_free;
    }
    job = calloc(1, sizeof(*job));
    if (job == NULL) {
        reply_error(req, 500, "Out of memory.");
        goto out_free;
    }
    job->c = c;
    job->req = req;
    job->known = u != NULL;
    snprintf(job->user, sizeof(job->user), "%s", user);
    snprintf(job->password, sizeof(job->password), "%s", password);
    if (u != NULL) {
        memcpy(job->hash, u->hash, sizeof(job->hash));
    }
    if (uv_queue_work(c->loop, &job->work, login_work, login_done) != 0) {
        sodium_memzero(job, sizeof(*job));
        free(job);
        reply_error(req, 500, "Cannot check the password now.");
        goto out_free;
    }
    c->jobs++;
out_free:
    cJSON_Delete(j);
}

static void on_logout(struct col_console *c, struct col_http_req *req)
{
    struct col_console_session *s = col_console_authed(c, req, COL_CONSOLE_VIEWER, true);
    char token[COL_CONSOLE_TOKEN_HEX + 1];

    if (s == NULL) {
        return;
    }
    audit(c, s->user, s->role, "logout", s->user, "", "");
    if (col_console_cookie(col_http_req_cookie(req), COOKIE, token, sizeof(token))) {
        col_console_session_end(&c->sessions, token);
    }
    reply(req, 200, "application/json", "{}\n", 3,
          "Set-Cookie: " COOKIE "=; Path=/console/; HttpOnly; SameSite=Strict; Max-Age=0\r\n");
}

/* ---- routes ---- */

static void on_get(struct col_http_req *req, void *arg)
{
    struct col_console *c = arg;
    const char *path = col_http_req_path(req);

    if (strcmp(path, "/console") == 0) {
        reply(req, 301, NULL, NULL, 0, "Location: /console/\r\n");
        return;
    }
    if (strncmp(path, "/console/api/", 13) != 0) {
        const struct col_console_asset *a = col_console_asset_find(path + 9);
        if (a == NULL) {
            col_http_respond_error(req, 404);
            return;
        }
        struct col_http_resp resp = {.status = 200,
                                     .content_type = a->type,
                                     .body = (const char *)a->data,
                                     .len = a->len,
                                     .compress = true,
                                     .etag = true,
                                     .cache_control = "no-cache"};
        col_http_respond(req, &resp);
        return;
    }
    path += 13;
    if (strcmp(path, "me") == 0) {
        struct col_console_session *s = col_console_authed(c, req, COL_CONSOLE_VIEWER, false);
        if (s != NULL) {
            struct ct_buf b;
            ct_buf_init(&b, 4096);
            session_json(&b, s);
            reply_json(req, 200, &b, NULL);
            ct_buf_free(&b);
        }
        return;
    }
    if (col_console_api_get(c, req, path) != 0) {
        reply_error(req, 404, "No such page.");
    }
}

static void on_post(struct col_http_req *req, void *arg)
{
    struct col_console *c = arg;
    const char *path = col_http_req_path(req) + 13;

    if (strcmp(path, "login") == 0) {
        on_login(c, req);
    } else if (strcmp(path, "logout") == 0) {
        on_logout(c, req);
    } else if (col_console_api_post(c, req, path) != 0) {
        reply_error(req, 404, "No such action.");
    }
}

void col_console_reply_json(struct col_http_req *req, int status, struct ct_buf *b)
{
    reply_json(req, status, b, NULL);
}

void col_console_reply_error(struct col_http_req *req, int status, const char *why)
{
    reply_error(req, status, why);
}

void col_console_reply(struct col_http_req *req, int status, const char *type, const char *body,
                       size_t len, const char *extra)
{
    reply(req, status, type, body, len, extra);
}

int col_console_routes(struct col_console *c, struct col_http *staff)
{
    int rc = col_http_route(staff, "GET", "/console", false, on_get, c);

    rc = rc ? rc : col_http_route(staff, "GET", "/console/", true, on_get, c);
    return rc ? rc : col_http_route(staff, "POST", "/console/api/", true, on_post, c);
}

/* ---- life cycle ---- */

static void mark_silent(struct col_console *c, const char *id)
{
    col_console_states_mark_silent(&c->states, id);
}

static void on_tick(uv_timer_t *t)
{
    struct col_console *c = container_of(t, struct col_console, tick);

    col_console_states_clear_silent(&c->states);
    if (c->hooks.each_silent != NULL) {
        c->hooks.each_silent(c->hooks.arg, mark_silent, c);
    }
    col_console_states_tick(&c->states, col_console_now_ms());
    if (!c->closing) {
        col_console_recompute_tick(c, col_console_now_ms());
    }
    if (c->states.alerts_changed) {
        c->states.alerts_changed = false;
        col_console_keep_save(&c->alerts_keep, NULL);
    }
}

int col_console_create(uv_loop_t *loop, const struct col_console_cfg *cfg,
                       const struct col_console_hooks *hooks, struct col_store *store,
                       struct col_console **out, char *err, size_t errcap)
{
    struct col_console *c;
    int rc;

    if (loop == NULL || cfg == NULL || hooks == NULL || hooks->write_points == NULL ||
        cfg->users_file == NULL || cfg->limits == NULL || !(cfg->approach > 0) ||
        !(cfg->approach < 1) || (cfg->window_s != 0 && 86400 % cfg->window_s != 0)) {
        snprintf(err, errcap, "console: bad configuration");
        return CT_E_INVAL;
    }
    rc = col_console_crypto_init();
    if (rc != 0) {
        snprintf(err, errcap, "console: libsodium cannot start");
        return rc;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return CT_E_NOMEM;
    }
    c->loop = loop;
    c->hooks = *hooks;
    c->store = store;
    c->max_failures = cfg->max_failures;
    c->lockout_ms = cfg->lockout_ms;
    c->cookie_secure = cfg->cookie_secure;
    c->stale_intervals = cfg->stale_intervals;
    c->rc.after_ms = cfg->recompute_after_ms;
    c->rc.window_s = cfg->window_s != 0 ? cfg->window_s : 60;
    c->users_file = strdup(cfg->users_file);
    c->instance = strdup(cfg->instance != NULL ? cfg->instance : "");
    if (c->users_file == NULL || c->instance == NULL) {
        rc = CT_E_NOMEM;
        goto out_free;
    }
    rc = col_console_keep_init(&c->alerts_keep, c, cfg->state_file, "the ongoing alerts",
                               alerts_text);
    rc = rc ? rc
            : col_console_keep_init(&c->staff_keep, c, cfg->staff_file, "the staff-set states",
                                    staff_text);
    rc = rc ? rc
            : col_console_keep_init(&c->rc_keep, c, cfg->recompute_file,
                                    "the waiting recompute jobs", recompute_text);
    rc = rc ? rc : col_console_keep_load(&c->alerts_keep, err, errcap);
    rc = rc ? rc : col_console_keep_load(&c->staff_keep, err, errcap);
    rc = rc ? rc : col_console_keep_load(&c->rc_keep, err, errcap);
    if (rc != 0) {
        goto out_free;
    }
    rc = col_console_limits_parse(cfg->limits, &c->limits, err, errcap);
    if (rc != 0) {
        goto out_free;
    }
    c->limits.approach = cfg->approach;
    rc = col_console_users_load(cfg->users_file, &c->users, err, errcap);
    if (rc != 0) {
        goto out_free;
    }
    if (c->users.n == 0) {
        col_log(COL_LOG_WARN, "console",
                "no accounts in %s: add one with `collector staff-user add NAME ROLE`",
                cfg->users_file);
    }
    rc = col_console_sessions_init(&c->sessions, cfg->max_sessions, cfg->session_idle_ms,
                                   cfg->session_max_ms);
    if (rc != 0) {
        snprintf(err, errcap, "console: bad session limits");
        goto out_free;
    }
    uv_timer_init(loop, &c->tick);
    uv_timer_start(&c->tick, on_tick, TICK_MS, TICK_MS);
    *out = c;
    return 0;
out_free:
    col_console_free_now(c);
    return rc;
}

int col_console_users_reload(struct col_console *c)
{
    struct col_console_users fresh = {0};
    size_t removed = 0, changed = 0;
    struct stat sb;
    char err[300];
    int rc;

    if (stat(c->users_file, &sb) != 0) {
        col_log(COL_LOG_ERROR, "console", "users file %s: %s; the running accounts stay",
                c->users_file, strerror(errno));
        return CT_E_IO;
    }
    rc = col_console_users_load(c->users_file, &fresh, err, sizeof(err));
    if (rc != 0) {
        col_log(COL_LOG_ERROR, "console", "users file %s refused (%s); the running accounts stay",
                c->users_file, rc == CT_E_NOMEM ? "out of memory" : err);
        return rc;
    }
    for (size_t i = 0; i < c->users.n; i++) {
        const struct col_console_user *old = &c->users.v[i];
        struct col_console_user *nu = col_console_user_find(&fresh, old->name);
        if (nu == NULL) {
            col_console_session_end_user(&c->sessions, old->name);
            removed++;
        } else if (strcmp(nu->hash, old->hash) != 0) {
            col_console_session_end_user(&c->sessions, old->name);
            changed++;
        } else {
            nu->failures = old->failures;
            nu->locked_until_ms = old->locked_until_ms;
            if (nu->role != old->role) {
                col_console_session_set_role(&c->sessions, old->name, nu->role);
                changed++;
            }
        }
    }
    size_t added = fresh.n + removed - c->users.n;
    col_console_users_free(&c->users);
    c->users = fresh;
    col_log(COL_LOG_INFO, "console",
            "users file %s reloaded: %zu accounts (%zu added, %zu removed, %zu changed)",
            c->users_file, c->users.n, added, removed, changed);
    return 0;
}

/* A parameter started exceeding its limit: an `alert` point of type "exceeding", in the shape
 * of collector/derive's alerts (docs/derived.md), so the alerts view and Grafana list it. */
static void on_exceed(void *arg, const struct col_console_station *st,
                      const struct col_console_param *p, double mean, int64_t now_ms)
{
    struct col_console *c = arg;
    char label[96];
    struct ct_buf b;

    snprintf(label, sizeof(label), "Vượt giới hạn %s (%u giờ)", p->limit->param,
             (unsigned)p->limit->avg_h);
    struct ct_lp_tag tags[] = {
        {"device", st->dev->id}, {"district", st->dev->district}, {"type", "exceeding"}};
    struct ct_lp_field fields[] = {{.key = "level", .type = CT_LP_INT, .i = 1},
                                   {.key = "label", .type = CT_LP_STRING, .s = label},
                                   {.key = "value", .type = CT_LP_FLOAT, .f = mean}};
    ct_buf_init(&b, 4096);
    if (ct_lp_point(&b, "alert", tags, 3, fields, 3, now_ms) == 0) {
        c->hooks.write_points(c->hooks.arg, b.p, b.len);
    }
    /* On the alert topic like collector/derive's alerts, and like them never for a private
     * station (test_console.py: "the exceeding alert on the MQTT alert topic", "the private
     * station's exceeding alert is in the store, never on MQTT"). */
    if (c->hooks.publish != NULL && st->dev->is_public) {
        char topic[256];
        char label_en[96];
        struct col_derive_alert_msg a = {st->dev->kind,     "exceeding", st->dev->id, st->dev->name,
                                         st->dev->district, now_ms,      1,           label,
                                         label_en,          mean};
        snprintf(label_en, sizeof(label_en), "%s over its limit (%u h)", p->limit->param,
                 (unsigned)p->limit->avg_h);
        ct_buf_reset(&b);
        if (col_derive_alert_format(&a, topic, sizeof(topic), &b) == 0) {
            c->hooks.publish(c->hooks.arg, topic, b.p, b.len);
        }
    }
    ct_buf_free(&b);
    col_log(COL_LOG_WARN, "console", "%s %s: %s mean %.4g over %u h exceeds %.4g", st->dev->id,
            p->limit->param, p->limit->bound == COL_CONSOLE_MAX ? "max" : "min", mean,
            (unsigned)p->limit->avg_h, p->limit->value);
}

int col_console_registry(struct col_console *c, const struct ct_registry *reg)
{
    struct col_console_states fresh;
    int rc = col_console_states_build(&fresh, reg, &c->limits, &c->states);

    if (rc != 0) {
        col_console_states_free(&c->states); /* it borrows the registry being replaced */
        return rc;
    }
    col_console_states_free(&c->states);
    c->states = fresh;
    c->states.on_exceed = on_exceed;
    c->states.exceed_arg = c;
    if (c->alerts_keep.restore != NULL) {
        struct col_console_keep *k = &c->alerts_keep;
        size_t n = col_console_alerts_restore(&c->states, k->restore, k->restore_len);
        col_log(COL_LOG_INFO, "console", "%zu ongoing exceeding alert(s) restored from %s", n,
                k->path);
        free(k->restore);
        k->restore = NULL;
    }
    if (c->staff_keep.restore != NULL) {
        struct col_console_keep *k = &c->staff_keep;
        size_t n = col_console_staff_restore(&c->states, k->restore, k->restore_len);
        col_log(COL_LOG_INFO, "console", "%zu staff-set station state(s) restored from %s", n,
                k->path);
        free(k->restore);
        k->restore = NULL;
    }
    if (c->rc_keep.restore != NULL) {
        /* After the registry: a job runs only for a station in it (a due one at the next tick). */
        struct col_console_keep *k = &c->rc_keep;
        size_t n = col_console_recompute_restore(&c->rc, k->restore, k->restore_len, k->path);
        col_log(COL_LOG_INFO, "console", "%zu waiting recompute job(s) restored from %s", n,
                k->path);
        free(k->restore);
        k->restore = NULL;
    }
    return 0;
}

void col_console_reading(struct col_console *c, const struct ct_reading *r, int64_t now_ms)
{
    if (c != NULL) {
        col_console_states_reading(&c->states, r, now_ms);
    }
}

void col_console_status(struct col_console *c, const char *id, bool online, int64_t now_ms)
{
    if (c != NULL) {
        col_console_states_status(&c->states, id, online, now_ms);
    }
}

void col_console_free_now(struct col_console *c)
{
    if (c == NULL) {
        return;
    }
    col_console_states_free(&c->states);
    col_console_sessions_free(&c->sessions);
    col_console_users_free(&c->users);
    free(c->users_file);
    free(c->instance);
    col_console_keep_free(&c->alerts_keep);
    col_console_keep_free(&c->staff_keep);
    col_console_keep_free(&c->rc_keep);
    free(c);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct col_console *c = container_of((uv_timer_t *)h, struct col_console, tick);

    c->timer_closed = true;
    maybe_closed(c);
}

void col_console_close(struct col_console *c, void (*closed_cb)(void *arg), void *arg)
{
    if (c == NULL) {
        if (closed_cb != NULL) {
            closed_cb(arg);
        }
        return;
    }
    c->closing = true;
    c->closed_cb = closed_cb;
    c->closed_arg = arg;
    uv_timer_stop(&c->tick);
    uv_close((uv_handle_t *)&c->tick, on_timer_closed);
}
