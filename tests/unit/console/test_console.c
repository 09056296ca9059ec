/* test_console.c - the staff console's logic without a loop: roles, the users file, argon2id
 * hashes, lockout, sessions (idle and absolute expiry, eviction), CSRF, cookies, limits and
 * station states. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "col_console_auth.h"
#include "col_console_state.h"
#include "ct/err.h"
#include "ct/registry.h"

/* Cheap argon2id parameters: the tests check behaviour, not cost. */
#define OPS crypto_pwhash_OPSLIMIT_MIN
#define MEM crypto_pwhash_MEMLIMIT_MIN

static void test_console_roles(void **state)
{
    (void)state;
    assert_int_equal(col_console_role_parse("viewer"), COL_CONSOLE_VIEWER);
    assert_int_equal(col_console_role_parse("approver"), COL_CONSOLE_APPROVER);
    assert_int_equal(col_console_role_parse("admin"), COL_CONSOLE_NONE);
    assert_true(col_console_role_allows(COL_CONSOLE_APPROVER, COL_CONSOLE_OPERATOR));
    assert_true(col_console_role_allows(COL_CONSOLE_OPERATOR, COL_CONSOLE_VIEWER));
    assert_false(col_console_role_allows(COL_CONSOLE_VIEWER, COL_CONSOLE_APPROVER));
    assert_false(col_console_role_allows(COL_CONSOLE_OPERATOR, COL_CONSOLE_APPROVER));
    assert_false(col_console_role_allows(COL_CONSOLE_APPROVER, COL_CONSOLE_NONE));
    assert_true(col_console_name_ok("nguyen.van-a_1"));
    assert_false(col_console_name_ok("Admin"));
    assert_false(col_console_name_ok("a:b"));
    assert_false(col_console_name_ok(""));
}

static void test_console_password_hash(void **state)
{
    char hash[COL_CONSOLE_HASH_MAX];

    (void)state;
    assert_int_equal(col_console_crypto_init(), 0);
    assert_int_equal(col_console_password_hash("đúng mật khẩu", OPS, MEM, hash), 0);
    assert_memory_equal(hash, "$argon2id$", 10);
    assert_true(col_console_password_ok(hash, "đúng mật khẩu"));
    assert_false(col_console_password_ok(hash, "đúng mật khẩU"));
    assert_false(col_console_password_ok(hash, ""));
    assert_int_equal(col_console_password_hash("", OPS, MEM, hash), CT_E_INVAL);
}

static void test_console_users_file(void **state)
{
    char hash[COL_CONSOLE_HASH_MAX];
    char text[1024];
    char err[256];
    struct col_console_users u;

    (void)state;
    assert_int_equal(col_console_password_hash("pw", OPS, MEM, hash), 0);
    snprintf(text, sizeof(text), "# comment\nan:viewer:%s\r\nbinh:approver:%s\n", hash, hash);
    assert_int_equal(col_console_users_parse(text, strlen(text), &u, err, sizeof(err)), 0);
    assert_int_equal(u.n, 2);
    assert_int_equal(col_console_user_find(&u, "binh")->role, COL_CONSOLE_APPROVER);
    assert_null(col_console_user_find(&u, "chi"));
    col_console_users_free(&u);
    /* A bad role, a duplicate name, a hash that is not argon2id: refused, the line named. */
    snprintf(text, sizeof(text), "an:viewer:%s\nan:root:%s\n", hash, hash);
    assert_int_equal(col_console_users_parse(text, strlen(text), &u, err, sizeof(err)), CT_E_PARSE);
    assert_non_null(strstr(err, "line 2"));
    snprintf(text, sizeof(text), "an:viewer:%s\nan:viewer:%s\n", hash, hash);
    assert_int_equal(col_console_users_parse(text, strlen(text), &u, err, sizeof(err)), CT_E_PARSE);
    assert_non_null(strstr(err, "again"));
    snprintf(text, sizeof(text), "an:viewer:$2y$10$abc\n");
    assert_int_equal(col_console_users_parse(text, strlen(text), &u, err, sizeof(err)), CT_E_PARSE);
}

/* col_console_user_put adds, then replaces a role and password, keeping the others. */
static void test_console_user_put(void **state)
{
    char path[] = "/tmp/test_console_usersXXXXXX";
    int fd = mkstemp(path);
    char err[256];
    struct col_console_users u;

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    assert_int_equal(col_console_user_put(path, "an", COL_CONSOLE_VIEWER, "one", err, 256), 0);
    assert_int_equal(col_console_user_put(path, "binh", COL_CONSOLE_OPERATOR, "two", err, 256), 0);
    assert_int_equal(col_console_user_put(path, "an", COL_CONSOLE_APPROVER, "three", err, 256), 0);
    assert_int_equal(col_console_users_load(path, &u, err, sizeof(err)), 0);
    assert_int_equal(u.n, 2);
    assert_int_equal(col_console_user_find(&u, "an")->role, COL_CONSOLE_APPROVER);
    assert_true(col_console_password_ok(col_console_user_find(&u, "an")->hash, "three"));
    assert_false(col_console_password_ok(col_console_user_find(&u, "an")->hash, "one"));
    assert_true(col_console_password_ok(col_console_user_find(&u, "binh")->hash, "two"));
    col_console_users_free(&u);
    assert_int_equal(col_console_user_put(path, "Bad", COL_CONSOLE_VIEWER, "x", err, 256),
                     CT_E_INVAL);
    unlink(path);
}

static void test_console_lockout(void **state)
{
    struct col_console_user u = {.name = "an", .role = COL_CONSOLE_OPERATOR};
    int64_t until;

    (void)state;
    assert_false(col_console_failed(&u, 1000, 3, 60000));
    assert_false(col_console_failed(&u, 1001, 3, 60000));
    assert_false(col_console_locked(&u, 1002, NULL));
    assert_true(col_console_failed(&u, 1002, 3, 60000));
    assert_true(col_console_locked(&u, 1003, &until));
    assert_int_equal(until, 61002);
    assert_true(col_console_locked(&u, 61001, NULL));
    assert_false(col_console_locked(&u, 61002, NULL));
    /* A success resets the count: two more failures do not lock. */
    col_console_succeeded(&u);
    assert_false(col_console_failed(&u, 70000, 3, 60000));
    assert_false(col_console_failed(&u, 70001, 3, 60000));
    assert_false(col_console_locked(&u, 70002, NULL));
    /* max_failures 0: never locked. */
    for (int i = 0; i < 100; i++) {
        assert_false(col_console_failed(&u, 80000, 0, 60000));
    }
}

static void test_console_sessions(void **state)
{
    struct col_console_sessions s;
    struct col_console_session *a, *b, *got;
    char ta[COL_CONSOLE_TOKEN_HEX + 1], tb[COL_CONSOLE_TOKEN_HEX + 1];

    (void)state;
    assert_int_equal(col_console_sessions_init(&s, 2, 1000, 5000), 0);
    assert_int_equal(col_console_session_new(&s, "an", COL_CONSOLE_VIEWER, 0, &a), 0);
    memcpy(ta, a->token, sizeof(ta));
    assert_int_equal(strlen(ta), COL_CONSOLE_TOKEN_HEX);
    assert_string_not_equal(a->token, a->csrf);
    assert_int_equal(col_console_session_new(&s, "binh", COL_CONSOLE_APPROVER, 10, &b), 0);
    memcpy(tb, b->token, sizeof(tb));
    assert_string_not_equal(ta, tb);
    assert_int_equal(col_console_session_get(&s, ta, 500, &got), COL_CONSOLE_SESS_OK);
    assert_string_equal(got->user, "an");
    /* CSRF: the session's own token only. */
    assert_true(col_console_csrf_ok(got, got->csrf));
    assert_false(col_console_csrf_ok(got, NULL));
    assert_false(col_console_csrf_ok(got, ""));
    assert_false(col_console_csrf_ok(got, got->token));
    /* Idle expiry: binh was last used at 10; 1010 is 1000 later. */
    assert_int_equal(col_console_session_get(&s, tb, 1010, &got), COL_CONSOLE_SESS_EXPIRED);
    assert_int_equal(col_console_session_get(&s, tb, 1011, &got), COL_CONSOLE_SESS_NONE);
    /* Absolute expiry, however busy. */
    for (int64_t t = 1000; t < 5000; t += 900) {
        assert_int_equal(col_console_session_get(&s, ta, t, &got), COL_CONSOLE_SESS_OK);
    }
    assert_int_equal(col_console_session_get(&s, ta, 5000, &got), COL_CONSOLE_SESS_EXPIRED);
    /* Full table: the least recently used goes. */
    assert_int_equal(col_console_session_new(&s, "an", COL_CONSOLE_VIEWER, 6000, &a), 0);
    memcpy(ta, a->token, sizeof(ta));
    assert_int_equal(col_console_session_new(&s, "binh", COL_CONSOLE_VIEWER, 6001, &b), 0);
    memcpy(tb, b->token, sizeof(tb));
    assert_int_equal(col_console_session_get(&s, ta, 6002, &got), COL_CONSOLE_SESS_OK);
    assert_int_equal(col_console_session_new(&s, "chi", COL_CONSOLE_VIEWER, 6003, &b), 0);
    assert_int_equal(col_console_session_get(&s, tb, 6004, &got), COL_CONSOLE_SESS_NONE);
    assert_int_equal(col_console_session_get(&s, ta, 6004, &got), COL_CONSOLE_SESS_OK);
    /* A reloaded users file changes a role: the session keeps going with the new one. */
    col_console_session_set_role(&s, "an", COL_CONSOLE_APPROVER);
    assert_int_equal(col_console_session_get(&s, ta, 6004, &got), COL_CONSOLE_SESS_OK);
    assert_int_equal(got->role, COL_CONSOLE_APPROVER);
    col_console_session_end_user(&s, "an");
    assert_int_equal(col_console_session_get(&s, ta, 6005, &got), COL_CONSOLE_SESS_NONE);
    assert_int_equal(col_console_session_get(&s, "short", 6005, &got), COL_CONSOLE_SESS_NONE);
    col_console_sessions_free(&s);
}

static void test_console_cookie(void **state)
{
    char v[70];

    (void)state;
    assert_true(col_console_cookie("a=1; ct_console=abc; b=2", "ct_console", v, sizeof(v)));
    assert_string_equal(v, "abc");
    assert_true(col_console_cookie("ct_console=xyz", "ct_console", v, sizeof(v)));
    assert_string_equal(v, "xyz");
    assert_false(col_console_cookie("xct_console=1", "ct_console", v, sizeof(v)));
    assert_false(col_console_cookie(NULL, "ct_console", v, sizeof(v)));
    assert_false(col_console_cookie("ct_console=123456", "ct_console", v, 4));
}

static void test_console_limits_parse(void **state)
{
    struct col_console_limits l;
    char err[200];

    (void)state;
    assert_int_equal(
        col_console_limits_parse("air.pm25:24h:max:50,water.do:1h:min:6", &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.v[0].kind, CT_KIND_AIR);
    assert_string_equal(l.v[0].param, "pm25");
    assert_int_equal(l.v[0].avg_h, 24);
    assert_true(l.v[1].bound == COL_CONSOLE_MIN && l.v[1].value == 6);
    assert_int_equal(col_console_limits_parse("air.pm25:2h:max:50", &l, err, sizeof(err)),
                     CT_E_PARSE);
    assert_non_null(strstr(err, "air.pm25:2h"));
    assert_int_equal(col_console_limits_parse("sky.pm25:1h:max:50", &l, err, sizeof(err)),
                     CT_E_PARSE);
    assert_int_equal(col_console_limits_parse("air.pm25:1h:most:50", &l, err, sizeof(err)),
                     CT_E_PARSE);
    assert_int_equal(col_console_limits_parse("air.pm25:1h:max:-1", &l, err, sizeof(err)),
                     CT_E_PARSE);
    /* An entry's own approaching threshold: below a maximum, above a minimum. */
    assert_int_equal(col_console_limits_parse("water.ph:1h:min:6:6.5,water.ph:1h:max:8.5:8", &l,
                                              err, sizeof(err)),
                     0);
    assert_true(l.v[0].approach_at == 6.5 && l.v[1].approach_at == 8);
    assert_int_equal(col_console_limits_parse("water.ph:1h:max:8.5:9", &l, err, sizeof(err)),
                     CT_E_PARSE);
    assert_int_equal(col_console_limits_parse("water.ph:1h:min:6:5", &l, err, sizeof(err)),
                     CT_E_PARSE);
}

static const char REG[] =
    "{\"id\":\"hn-air-0001\",\"kind\":\"air\",\"name\":\"A\",\"lat\":21,\"lon\":105,"
    "\"district\":\"D\",\"ward\":\"W\",\"interval_s\":60}\n"
    "{\"id\":\"hn-water-0001\",\"kind\":\"water\",\"name\":\"B\",\"lat\":21,\"lon\":105,"
    "\"district\":\"D\",\"ward\":\"W\"}\n";

static void reading(struct ct_reading *r, const char *id, int64_t ts, const char *name, double v)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->id, sizeof(r->id), "%s", id);
    r->ts_ms = ts;
    r->n = 1;
    snprintf(r->values[0].name, sizeof(r->values[0].name), "%s", name);
    r->values[0].type = CT_VT_NUMBER;
    r->values[0].num = v;
}

/* States: staff over silent over offline; since begins at the change; levels from the mean over
 * the averaging time; a rebuild (registry reload) keeps states. */
static void test_console_states(void **state)
{
    struct ct_registry *reg;
    struct col_console_limits l;
    struct col_console_states s = {0}, s2;
    struct col_console_station *a, *w;
    struct ct_reading r;
    char err[200];
    const int64_t H = 3600000;
    const int64_t t0 = 1000 * H; /* on an hour boundary */
    double mean;

    (void)state;
    assert_int_equal(ct_registry_parse(REG, strlen(REG), "test", &reg, err, sizeof(err)), 0);
    assert_int_equal(col_console_limits_parse("air.pm25:24h:max:50,air.no2:1h:max:200,"
                                              "water.do:1h:min:6",
                                              &l, err, sizeof(err)),
                     0);
    l.approach = 0.8;
    assert_int_equal(col_console_states_build(&s, reg, &l, NULL), 0);
    a = col_console_station_find(&s, "hn-air-0001");
    w = col_console_station_find(&s, "hn-water-0001");
    assert_non_null(a);
    assert_non_null(w);
    assert_int_equal(a->nparams, 2);
    assert_int_equal(w->nparams, 1);

    col_console_states_tick(&s, t0);
    assert_int_equal(a->state, COL_CONSOLE_ST_MEASURING);
    /* Silent, as liveness says. */
    col_console_states_clear_silent(&s);
    col_console_states_mark_silent(&s, "hn-air-0001");
    col_console_states_tick(&s, t0 + 1000);
    assert_int_equal(a->state, COL_CONSOLE_ST_SILENT);
    assert_int_equal(a->since_ms, t0 + 1000);
    col_console_states_tick(&s, t0 + 2000); /* still silent: since unchanged */
    assert_int_equal(a->since_ms, t0 + 1000);
    /* Staff calibrating wins over silent. */
    assert_int_equal(col_console_states_staff(&s, "hn-air-0001", COL_CONSOLE_ST_CALIBRATING, "an",
                                              "monthly calibration", t0 + 3000),
                     0);
    col_console_states_tick(&s, t0 + 3000);
    assert_int_equal(a->state, COL_CONSOLE_ST_CALIBRATING);
    assert_string_equal(a->staff_by, "an");
    assert_int_equal(col_console_states_staff(&s, "nope", COL_CONSOLE_ST_FAULT, "an", "x", 0),
                     CT_E_NOTFOUND);
    assert_int_equal(
        col_console_states_staff(&s, "hn-air-0001", COL_CONSOLE_ST_SILENT, "an", "x", 0),
        CT_E_INVAL);
    /* Measuring again: back to silent until a reading; the node says offline. */
    col_console_states_staff(&s, "hn-air-0001", COL_CONSOLE_ST_MEASURING, "an", "done", 0);
    col_console_states_clear_silent(&s);
    col_console_states_status(&s, "hn-air-0001", false, t0 + 4000);
    col_console_states_tick(&s, t0 + 4000);
    assert_int_equal(a->state, COL_CONSOLE_ST_OFFLINE);
    col_console_states_status(&s, "hn-air-0001", true, t0 + 5000);
    col_console_states_tick(&s, t0 + 5000);
    assert_int_equal(a->state, COL_CONSOLE_ST_MEASURING);
    assert_int_equal(a->since_ms, t0 + 5000);

    /* Levels: PM2.5 24 h mean 30 (normal), then 45 (approaching: >= 0.8 x 50), then 60. */
    reading(&r, "hn-air-0001", t0 + 60000, "pm25", 30);
    col_console_states_reading(&s, &r, t0 + 61000);
    assert_int_equal(a->last_seen_ms, t0 + 61000);
    col_console_states_tick(&s, t0 + 62000);
    assert_int_equal(a->params[0].level, COL_CONSOLE_NORMAL);
    reading(&r, "hn-air-0001", t0 + 120000, "pm25", 60);
    col_console_states_reading(&s, &r, t0 + 121000);
    col_console_states_tick(&s, t0 + 122000);
    assert_true(col_console_param_mean(&a->params[0], t0 + 122000, &mean));
    assert_true(mean == 45.0);
    assert_int_equal(a->params[0].level, COL_CONSOLE_APPROACHING);
    assert_int_equal(a->params[0].level_since_ms, t0 + 122000);
    reading(&r, "hn-air-0001", t0 + 180000, "pm25", 90);
    col_console_states_reading(&s, &r, t0 + 181000);
    col_console_states_tick(&s, t0 + 182000);
    assert_int_equal(a->params[0].level, COL_CONSOLE_EXCEEDING);
    /* 25 h later the values are outside every window: no mean, normal. */
    col_console_states_tick(&s, t0 + 26 * H);
    assert_false(col_console_param_mean(&a->params[0], t0 + 26 * H, &mean));
    assert_int_equal(a->params[0].level, COL_CONSOLE_NORMAL);
    /* A minimum: DO 4 mg/L is below 6 (exceeding), 7 is within 1/0.8 of it (approaching). */
    reading(&r, "hn-water-0001", t0 + 27 * H, "do", 4);
    col_console_states_reading(&s, &r, t0 + 27 * H);
    col_console_states_tick(&s, t0 + 27 * H + 1);
    assert_int_equal(w->params[0].level, COL_CONSOLE_EXCEEDING);
    reading(&r, "hn-water-0001", t0 + 29 * H, "do", 7);
    col_console_states_reading(&s, &r, t0 + 29 * H);
    col_console_states_tick(&s, t0 + 29 * H + 1);
    assert_int_equal(w->params[0].level, COL_CONSOLE_APPROACHING);

    /* pH 7.1 between 6 (approaching below 6.5) and 8.5 (approaching above 8): normal; 6.2:
     * approaching its minimum. */
    {
        struct col_console_limits lp;
        struct col_console_states sp = {0};
        struct col_console_station *x;
        assert_int_equal(col_console_limits_parse("water.ph:1h:min:6:6.5,water.ph:1h:max:8.5:8",
                                                  &lp, err, sizeof(err)),
                         0);
        lp.approach = 0.8;
        assert_int_equal(col_console_states_build(&sp, reg, &lp, NULL), 0);
        x = col_console_station_find(&sp, "hn-water-0001");
        reading(&r, "hn-water-0001", t0, "ph", 7.1);
        col_console_states_reading(&sp, &r, t0);
        col_console_states_tick(&sp, t0 + 1);
        assert_int_equal(x->params[0].level, COL_CONSOLE_NORMAL);
        assert_int_equal(x->params[1].level, COL_CONSOLE_NORMAL);
        reading(&r, "hn-water-0001", t0 + 2 * H, "ph", 6.2);
        col_console_states_reading(&sp, &r, t0 + 2 * H);
        col_console_states_tick(&sp, t0 + 2 * H + 1);
        assert_int_equal(x->params[0].level, COL_CONSOLE_APPROACHING);
        assert_int_equal(x->params[1].level, COL_CONSOLE_NORMAL);
        col_console_states_free(&sp);
    }

    /* A rebuild keeps the states and the hourly sums. */
    col_console_states_staff(&s, "hn-water-0001", COL_CONSOLE_ST_FAULT, "binh", "pump", 0);
    col_console_states_tick(&s, t0 + 29 * H + 2);
    assert_int_equal(col_console_states_build(&s2, reg, &l, &s), 0);
    w = col_console_station_find(&s2, "hn-water-0001");
    assert_int_equal(w->state, COL_CONSOLE_ST_FAULT);
    assert_int_equal(w->since_ms, t0 + 29 * H + 2);
    assert_true(col_console_param_mean(&w->params[0], t0 + 29 * H + 3, &mean) && mean == 7);
    col_console_states_free(&s);
    col_console_states_free(&s2);
    ct_registry_free(reg);
}

static int exceed_calls;

static void count_exceed(void *arg, const struct col_console_station *st,
                         const struct col_console_param *p, double mean, int64_t now_ms)
{
    (void)arg;
    (void)st;
    (void)p;
    (void)mean;
    (void)now_ms;
    exceed_calls++;
}

/* One "exceeding" alert per exceedance: not again while it goes on, not after a restart that
 * restores the state file's text with no data yet, again once it ended and began anew. */
static void test_console_exceed_once(void **state)
{
    struct ct_registry *reg;
    struct col_console_limits l;
    struct col_console_states s = {0}, after = {0};
    struct col_console_station *w;
    struct ct_reading r;
    struct ct_buf text;
    char err[200];
    const int64_t H = 3600000;
    const int64_t t0 = 1000 * H;

    (void)state;
    assert_int_equal(ct_registry_parse(REG, strlen(REG), "test", &reg, err, sizeof(err)), 0);
    assert_int_equal(col_console_limits_parse("water.do:1h:min:6", &l, err, sizeof(err)), 0);
    l.approach = 0.8;
    assert_int_equal(col_console_states_build(&s, reg, &l, NULL), 0);
    s.on_exceed = count_exceed;
    w = col_console_station_find(&s, "hn-water-0001");
    exceed_calls = 0;
    reading(&r, "hn-water-0001", t0, "do", 4);
    col_console_states_reading(&s, &r, t0);
    col_console_states_tick(&s, t0 + 1);
    assert_int_equal(exceed_calls, 1);
    assert_true(s.alerts_changed && w->params[0].alerted);
    col_console_states_tick(&s, t0 + 2);
    assert_int_equal(exceed_calls, 1);

    /* The restart: the state file's text restores the alert; data comes back exceeding. */
    ct_buf_init(&text, 4096);
    assert_int_equal(col_console_alerts_text(&s, &text), 0);
    assert_string_equal(text.p, "hn-water-0001 do 1 3600000001\n");
    assert_int_equal(col_console_states_build(&after, reg, &l, NULL), 0);
    after.on_exceed = count_exceed;
    assert_int_equal(col_console_alerts_restore(&after, "junk\nhn-air-0001 do 1 5\n", 24), 0);
    assert_int_equal(col_console_alerts_restore(&after, text.p, text.len), 1);
    w = col_console_station_find(&after, "hn-water-0001");
    col_console_states_tick(&after, t0 + 3); /* no data yet: nothing ends */
    assert_true(w->params[0].alerted);
    col_console_states_reading(&after, &r, t0 + 4);
    col_console_states_tick(&after, t0 + 5);
    assert_int_equal(exceed_calls, 1);
    /* It ends (DO 10 brings the hour's mean to 7), then begins again: a new alert. */
    reading(&r, "hn-water-0001", t0 + 6, "do", 10);
    col_console_states_reading(&after, &r, t0 + 6);
    after.alerts_changed = false;
    col_console_states_tick(&after, t0 + 7);
    assert_true(after.alerts_changed && !w->params[0].alerted);
    reading(&r, "hn-water-0001", t0 + 3 * H, "do", 2);
    col_console_states_reading(&after, &r, t0 + 3 * H);
    col_console_states_tick(&after, t0 + 3 * H + 1);
    assert_int_equal(exceed_calls, 2);
    ct_buf_free(&text);
    col_console_states_free(&s);
    col_console_states_free(&after);
    ct_registry_free(reg);
}

/* Staff states across a restart: col_console_staff_text's lines restore the state with its
 * start, who and why; the node's own status and liveness come back under it. */
static void test_console_staff_restore(void **state)
{
    struct ct_registry *reg;
    struct col_console_limits l;
    struct col_console_states s = {0}, after = {0};
    struct col_console_station *a;
    struct ct_buf text;
    char err[200];
    const int64_t t0 = 1000 * 3600000LL;

    (void)state;
    assert_int_equal(ct_registry_parse(REG, strlen(REG), "test", &reg, err, sizeof(err)), 0);
    assert_int_equal(col_console_limits_parse("water.do:1h:min:6", &l, err, sizeof(err)), 0);
    l.approach = 0.8;
    assert_int_equal(col_console_states_build(&s, reg, &l, NULL), 0);
    assert_int_equal(col_console_states_staff(&s, "hn-air-0001", COL_CONSOLE_ST_CALIBRATING, "an",
                                              "monthly\ncalibration", t0),
                     0);
    /* The same state again keeps its start; who and why are replaced. */
    assert_int_equal(col_console_states_staff(&s, "hn-air-0001", COL_CONSOLE_ST_CALIBRATING, "oanh",
                                              "monthly\ncalibration", t0 + 5000),
                     0);
    col_console_states_tick(&s, t0 + 9000);
    a = col_console_station_find(&s, "hn-air-0001");
    assert_int_equal(a->state, COL_CONSOLE_ST_CALIBRATING);
    assert_int_equal(a->since_ms, t0);
    ct_buf_init(&text, 4096);
    assert_int_equal(col_console_staff_text(&s, &text), 0);
    assert_string_equal(text.p, "hn-air-0001 calibrating 3600000000 oanh monthly calibration\n");

    assert_int_equal(col_console_states_build(&after, reg, &l, NULL), 0);
    const char *junk = "junk\nnope calibrating 5 an x\nhn-air-0001 silent 5 an x\n";
    assert_int_equal(col_console_staff_restore(&after, junk, strlen(junk)), 0);
    assert_int_equal(col_console_staff_restore(&after, text.p, text.len), 1);
    col_console_states_status(&after, "hn-air-0001", false, t0 + 20000);
    col_console_states_tick(&after, t0 + 20000);
    a = col_console_station_find(&after, "hn-air-0001");
    assert_int_equal(a->state, COL_CONSOLE_ST_CALIBRATING);
    assert_int_equal(a->since_ms, t0);
    assert_string_equal(a->staff_by, "oanh");
    assert_string_equal(a->staff_why, "monthly calibration");
    /* Cleared: the node's own "offline" shows, from the clearing. */
    col_console_states_staff(&after, "hn-air-0001", COL_CONSOLE_ST_MEASURING, "an", "done",
                             t0 + 30000);
    col_console_states_tick(&after, t0 + 31000);
    assert_int_equal(a->state, COL_CONSOLE_ST_OFFLINE);
    assert_int_equal(a->since_ms, t0 + 31000);
    ct_buf_reset(&text);
    assert_int_equal(col_console_staff_text(&after, &text), 0);
    assert_int_equal(text.len, 0);
    ct_buf_free(&text);
    col_console_states_free(&s);
    col_console_states_free(&after);
    ct_registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_console_roles),         cmocka_unit_test(test_console_password_hash),
        cmocka_unit_test(test_console_users_file),    cmocka_unit_test(test_console_user_put),
        cmocka_unit_test(test_console_lockout),       cmocka_unit_test(test_console_sessions),
        cmocka_unit_test(test_console_cookie),        cmocka_unit_test(test_console_limits_parse),
        cmocka_unit_test(test_console_states),        cmocka_unit_test(test_console_exceed_once),
        cmocka_unit_test(test_console_staff_restore),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
