/* console_api.c - the console's JSON API below /console/api/: station states, the silent
 * stations, staff decisions (station state, a range marked invalid, a day approved) and the audit
 * log read back from the store. Every change checks the role and the CSRF token
 * (col_console_authed) and writes its audit point before it answers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "col_store.h"
#include "console_int.h"
#include "ct/err.h"
#include "ct/lp.h"

#define WHY_MAX 500        /* bytes of a reason or note */
#define STATIONS_PAGE 1000 /* stations in one answer of GET stations at most */

static void station_json(struct ct_buf *b, const struct col_console_station *st, int64_t now)
{
    ct_buf_adds(b, "{\"id\":");
    col_console_json_str(b, st->dev->id);
    ct_buf_adds(b, ",\"name\":");
    col_console_json_str(b, st->dev->name);
    ct_buf_adds(b, ",\"kind\":");
    col_console_json_str(b, ct_kind_name(st->dev->kind));
    ct_buf_adds(b, ",\"district\":");
    col_console_json_str(b, st->dev->district);
    ct_buf_adds(b, ",\"state\":");
    col_console_json_str(b, col_console_st_name(st->state));
    ct_buf_printf(b, ",\"since\":%lld,\"last_seen\":%lld,\"interval_s\":%u,\"staff_by\":",
                  (long long)st->since_ms, (long long)st->last_seen_ms,
                  (unsigned)st->dev->interval_s);
    col_console_json_str(b, st->staff_by);
    ct_buf_adds(b, ",\"staff_why\":");
    col_console_json_str(b, st->staff_why);
    ct_buf_adds(b, ",\"params\":[");
    for (size_t j = 0; j < st->nparams; j++) {
        const struct col_console_param *p = &st->params[j];
        double mean;
        ct_buf_printf(b, "%s{\"param\":", j ? "," : "");
        col_console_json_str(b, p->limit->param);
        ct_buf_printf(b, ",\"avg_h\":%u,\"bound\":\"%s\",\"limit\":%.6g,", p->limit->avg_h,
                      p->limit->bound == COL_CONSOLE_MAX ? "max" : "min", p->limit->value);
        if (col_console_param_mean(p, now, &mean) && isfinite(mean)) {
            ct_buf_printf(b, "\"mean\":%.6g,", mean);
        } else {
            ct_buf_adds(b, "\"mean\":null,");
        }
        ct_buf_printf(b, "\"level\":\"%s\",\"since\":%lld}", col_console_level_name(p->level),
                      (long long)p->level_since_ms);
    }
    ct_buf_adds(b, "]}");
}

/* True when station 'st' passes the filters kind=, district=, state= (NULL: any). */
static bool wanted(const struct col_console_station *st, const char *kind, const char *district,
                   const char *state)
{
    return (kind == NULL || kind[0] == '\0' || strcmp(kind, ct_kind_name(st->dev->kind)) == 0) &&
           (district == NULL || district[0] == '\0' || strcmp(district, st->dev->district) == 0) &&
           (state == NULL || state[0] == '\0' ||
            strcmp(state, col_console_st_name(st->state)) == 0);
}

/* GET stations[?kind=&district=&state=&offset=&limit=]: at most 'limit' stations (default and
 * maximum STATIONS_PAGE) after 'offset' of those passing the filters, and their total, so that
 * one answer never holds the loop for the whole fleet (10 000 stations: 11 MB, 230 ms). */
static void get_stations(struct col_console *c, struct col_http_req *req, bool silent_only)
{
    struct col_console_states *s = col_console_states_of(c);
    int64_t now = col_console_now_ms();
    const char *kind = col_http_req_query(req, "kind");
    const char *district = col_http_req_query(req, "district");
    const char *state = silent_only ? "silent" : col_http_req_query(req, "state");
    const char *off_s = col_http_req_query(req, "offset");
    const char *lim_s = col_http_req_query(req, "limit");
    unsigned long long offset = off_s != NULL ? strtoull(off_s, NULL, 10) : 0;
    unsigned long long limit = lim_s != NULL ? strtoull(lim_s, NULL, 10) : STATIONS_PAGE;
    struct ct_buf b;
    size_t n = 0, total = 0;

    if (col_console_authed(c, req, COL_CONSOLE_VIEWER, false) == NULL) {
        return;
    }
    if (limit == 0 || limit > STATIONS_PAGE) {
        limit = STATIONS_PAGE;
    }
    ct_buf_init(&b, 64u << 20);
    ct_buf_printf(&b, "{\"now\":%lld,\"stations\":[", (long long)now);
    for (size_t i = 0; i < s->n; i++) {
        if (!wanted(&s->v[i], kind, district, state) || total++ < offset || n >= limit) {
            continue;
        }
        if (n++ > 0) {
            ct_buf_adds(&b, ",");
        }
        station_json(&b, &s->v[i], now);
    }
    if (ct_buf_printf(&b, "],\"total\":%zu,\"offset\":%llu}\n", total, offset) != 0) {
        col_console_reply_error(req, 500, "The answer is too large.");
    } else {
        col_console_reply_json(req, 200, &b);
    }
    ct_buf_free(&b);
}

struct query_ctx {
    struct col_http_req *req;
};

static void on_query(void *arg, int status, const char *body, size_t len)
{
    struct query_ctx *q = arg;

    if (status != 200) {
        col_console_reply_error(q->req, 503, "The store did not answer.");
    } else {
        col_console_reply(q->req, 200, "application/json; charset=utf-8", body, len, NULL);
    }
    free(q);
}

void col_console_query(struct col_console *c, struct col_http_req *req, const char *influxql,
                       col_store_cb cb, void *ctx)
{
    if (col_console_store(c) == NULL) {
        free(ctx);
        col_console_reply_error(req, 503, "No store is configured.");
    } else if (influxql == NULL || col_store_query(col_console_store(c), influxql, cb, ctx) != 0) {
        free(ctx);
        col_console_reply_error(req, 503, "The store is busy. Try again.");
    }
}

void col_console_query_pass(struct col_console *c, struct col_http_req *req, const char *influxql)
{
    struct query_ctx *q = calloc(1, sizeof(*q));

    if (q == NULL) {
        col_console_reply_error(req, 500, "Out of memory.");
        return;
    }
    q->req = req;
    col_console_query(c, req, influxql, on_query, q);
}

/* Answers with the store's JSON for 'influxql' (the page renders it). */
static void get_query(struct col_console *c, struct col_http_req *req, const char *influxql)
{
    if (col_console_authed(c, req, COL_CONSOLE_VIEWER, false) != NULL) {
        col_console_query_pass(c, req, influxql);
    }
}

int col_console_api_get(struct col_console *c, struct col_http_req *req, const char *path)
{
    if (strcmp(path, "stations") == 0) {
        get_stations(c, req, false);
    } else if (strcmp(path, "silent") == 0) {
        get_stations(c, req, true);
    } else if (strcmp(path, "audit") == 0) {
        get_query(c, req, "SELECT * FROM console_audit ORDER BY time DESC LIMIT 200");
    } else if (strcmp(path, "decisions") == 0) {
        get_query(c, req, "SELECT * FROM console_decision ORDER BY time DESC LIMIT 200");
    } else {
        return col_console_report_get(c, req, path);
    }
    return 0;
}

/* A reason or note: present, at most WHY_MAX bytes. Answers 400 otherwise. */
static const char *need_why(struct col_http_req *req, const cJSON *j, const char *name)
{
    const char *why = col_console_jstr(j, name);

    if (why == NULL || why[0] == '\0' || strlen(why) > WHY_MAX) {
        char msg[120];
        snprintf(msg, sizeof(msg), "Say why (\"%s\", 1 to %d bytes).", name, WHY_MAX);
        col_console_reply_error(req, 400, msg);
        return NULL;
    }
    return why;
}

static void ok(struct col_http_req *req)
{
    col_console_reply(req, 200, "application/json", "{\"ok\":true}\n", 12, NULL);
}

/* POST station-state {id, state, why}: staff say a station is calibrating, in fault, or
 * measuring again. */
static void post_station_state(struct col_console *c, struct col_http_req *req)
{
    struct col_console_session *s = col_console_authed(c, req, COL_CONSOLE_OPERATOR, true);
    cJSON *j = s != NULL ? col_console_body(req) : NULL;
    const char *id, *state, *why;
    enum col_console_st st;

    if (j == NULL) {
        return;
    }
    id = col_console_jstr(j, "id");
    state = col_console_jstr(j, "state");
    if (id == NULL || !col_console_st_parse(state, &st) ||
        col_console_station_find(col_console_states_of(c), id) == NULL ||
        (st != COL_CONSOLE_ST_MEASURING && st != COL_CONSOLE_ST_CALIBRATING &&
         st != COL_CONSOLE_ST_FAULT)) {
        col_console_reply_error(req, 400,
                                "Give a known station id and a state: measuring, calibrating or "
                                "fault.");
        goto out_free;
    }
    why = need_why(req, j, "why");
    if (why == NULL) {
        goto out_free;
    }
    if (col_console_audit(c, s, "station_state", id, why, state) != 0) {
        col_console_reply_error(req, 503, "The change cannot be recorded now; nothing changed.");
        goto out_free;
    }
    col_console_states_staff(col_console_states_of(c), id, st, s->user, why, col_console_now_ms());
    col_console_staff_kept(c, req); /* answered once console-states holds it */
out_free:
    cJSON_Delete(j);
}

/* A decision point (console_decision) and its audit point. */
static int decide(struct col_console *c, const struct col_console_session *s, const char *action,
                  const char *id, const char *param, const char *reason, int64_t from, int64_t to,
                  const char *day, const char *why)
{
    struct ct_buf b;
    char detail[200];
    int rc;
    struct ct_lp_tag tags[] = {
        {"action", action}, {"param", param}, {"reason", reason}, {"station", id}};
    struct ct_lp_field fields[] = {{.key = "by", .type = CT_LP_STRING, .s = s->user},
                                   {.key = "why", .type = CT_LP_STRING, .s = why},
                                   {.key = "day", .type = CT_LP_STRING, .s = day},
                                   {.key = "from", .type = CT_LP_INT, .i = from},
                                   {.key = "to", .type = CT_LP_INT, .i = to}};

    ct_buf_init(&b, 8192);
    rc = ct_lp_point(&b, "console_decision", tags, 4, fields, 5, col_console_now_ms());
    rc = rc ? rc : col_console_write(c, b.p, b.len);
    ct_buf_free(&b);
    snprintf(detail, sizeof(detail), "param=%s reason=%s from=%lld to=%lld day=%s", param, reason,
             (long long)from, (long long)to, day);
    return rc ? rc : col_console_audit(c, s, action, id, why, detail);
}

/* POST invalid {id, param, from, to (ms), reason (calibration|fault|outlier), why}. */
static void post_invalid(struct col_console *c, struct col_http_req *req)
{
    struct col_console_session *s = col_console_authed(c, req, COL_CONSOLE_OPERATOR, true);
    cJSON *j = s != NULL ? col_console_body(req) : NULL;
    const char *id, *param, *reason, *why;
    const cJSON *from, *to;

    if (j == NULL) {
        return;
    }
    id = col_console_jstr(j, "id");
    param = col_console_jstr(j, "param");
    reason = col_console_jstr(j, "reason");
    from = cJSON_GetObjectItemCaseSensitive(j, "from");
    to = cJSON_GetObjectItemCaseSensitive(j, "to");
    if (id == NULL || col_console_station_find(col_console_states_of(c), id) == NULL ||
        param == NULL || param[0] == '\0' || strlen(param) > CT_MEMBER_NAME_MAX || reason == NULL ||
        (strcmp(reason, "calibration") && strcmp(reason, "fault") && strcmp(reason, "outlier")) ||
        !cJSON_IsNumber(from) || !cJSON_IsNumber(to) || !(from->valuedouble >= 0) ||
        !(to->valuedouble >= from->valuedouble) || to->valuedouble > 4102444800000.0) {
        col_console_reply_error(req, 400,
                                "Give a known station, a parameter, a time range (from <= to) and "
                                "a reason: calibration, fault or outlier.");
        goto out_free;
    }
    why = need_why(req, j, "why");
    if (why != NULL) {
        if (decide(c, s, "invalid", id, param, reason, (int64_t)from->valuedouble,
                   (int64_t)to->valuedouble, "", why) != 0) {
            col_console_reply_error(req, 503, "The decision cannot be recorded now.");
        } else {
            col_console_recompute_add(c, id, param, (int64_t)from->valuedouble,
                                      (int64_t)to->valuedouble, col_console_now_ms());
            ok(req);
        }
    }
out_free:
    cJSON_Delete(j);
}

/* POST approve {id, day (YYYY-MM-DD), why}: approvers only. */
static void post_approve(struct col_console *c, struct col_http_req *req)
{
    struct col_console_session *s = col_console_authed(c, req, COL_CONSOLE_APPROVER, true);
    cJSON *j = s != NULL ? col_console_body(req) : NULL;
    const char *id, *day, *why;
    int y, m, d;
    char tail;

    if (j == NULL) {
        return;
    }
    id = col_console_jstr(j, "id");
    day = col_console_jstr(j, "day");
    if (id == NULL || col_console_station_find(col_console_states_of(c), id) == NULL ||
        day == NULL || strlen(day) != 10 || sscanf(day, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
        m < 1 || m > 12 || d < 1 || d > 31) {
        col_console_reply_error(req, 400, "Give a known station and a day (YYYY-MM-DD).");
        goto out_free;
    }
    why = need_why(req, j, "why");
    if (why != NULL) {
        if (decide(c, s, "approve", id, "", "", 0, 0, day, why) != 0) {
            col_console_reply_error(req, 503, "The decision cannot be recorded now.");
        } else {
            ok(req);
        }
    }
out_free:
    cJSON_Delete(j);
}

/* POST revoke: the decision being withdrawn, looked up in the store before the change. The
 * requester's name and role are copied (not the session's tokens): the session may end while the
 * query runs, and the change stays the signed-in user's. */
struct revoke_ctx {
    struct col_console *c;
    struct col_http_req *req;
    struct col_console_session s; /* the requester's user and role only */
    char id[CT_ID_MAX + 1];
    char action[8];                     /* "invalid" or "approve" */
    char param[CT_MEMBER_NAME_MAX + 1]; /* "" for an approval */
    char why[WHY_MAX + 1];
    int64_t time_ms; /* the decision's time, which names it with the tags above */
};

/* The string column 'name' of 'row' ("" when missing or not a string). */
static const char *row_str(const cJSON *cols, const cJSON *row, const char *name)
{
    const cJSON *v = cJSON_GetArrayItem(row, col_console_column(cols, name));

    return cJSON_IsString(v) ? v->valuestring : "";
}

/* The integer column 'name' of 'row' (0 when missing). */
static int64_t row_int(const cJSON *cols, const cJSON *row, const char *name)
{
    const cJSON *v = cJSON_GetArrayItem(row, col_console_column(cols, name));

    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

/* The withdrawal: the decision's own series key and time with the fields revoked, revoked_by,
 * revoked_why and revoked_at (the store merges them into the decision's row, which keeps its
 * by, why, from and to), and the audit point (action revoke). */
static int withdraw(struct revoke_ctx *q, const char *reason, const cJSON *cols, const cJSON *row)
{
    struct ct_lp_tag tags[] = {
        {"action", q->action}, {"param", q->param}, {"reason", reason}, {"station", q->id}};
    struct ct_lp_field fields[] = {
        {.key = "revoked", .type = CT_LP_BOOL, .b = true},
        {.key = "revoked_by", .type = CT_LP_STRING, .s = q->s.user},
        {.key = "revoked_why", .type = CT_LP_STRING, .s = q->why},
        {.key = "revoked_at", .type = CT_LP_INT, .i = col_console_now_ms()}};
    char detail[300];
    struct ct_buf b;
    int rc;

    ct_buf_init(&b, 8192);
    rc = ct_lp_point(&b, "console_decision", tags, 4, fields, 4, q->time_ms);
    rc = rc ? rc : col_console_write(q->c, b.p, b.len);
    ct_buf_free(&b);
    snprintf(detail, sizeof(detail),
             "decision=%lld action=%s param=%s reason=%s from=%lld to=%lld day=%s",
             (long long)q->time_ms, q->action, q->param, reason,
             (long long)row_int(cols, row, "from"), (long long)row_int(cols, row, "to"),
             row_str(cols, row, "day"));
    return rc ? rc : col_console_audit(q->c, &q->s, "revoke", q->id, q->why, detail);
}

static void on_revoke(void *arg, int status, const char *body, size_t len)
{
    struct revoke_ctx *q = arg;
    cJSON *root = status == 200 ? cJSON_ParseWithLength(body, len) : NULL;
    const cJSON *series = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "results"), 0), "series"),
        0);
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(series, "columns");
    const cJSON *row = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(series, "values"), 0);
    char msg[300];

    if (root == NULL) {
        col_console_reply_error(q->req, 503, "The store did not answer.");
    } else if (row == NULL) {
        snprintf(msg, sizeof(msg),
                 "No such decision: no %s decision of %s%s%s at time %lld (ms) in the store.",
                 q->action, q->id, q->param[0] ? " about " : "", q->param, (long long)q->time_ms);
        col_console_reply_error(q->req, 404, msg);
    } else if (col_console_decision_revoked(cols, row)) {
        snprintf(msg, sizeof(msg), "This decision was already withdrawn by %s: %s",
                 row_str(cols, row, "revoked_by"), row_str(cols, row, "revoked_why"));
        col_console_reply_error(q->req, 409, msg);
    } else if (withdraw(q, row_str(cols, row, "reason"), cols, row) != 0) {
        col_console_reply_error(q->req, 503, "The withdrawal cannot be recorded now.");
    } else {
        if (strcmp(q->action, "invalid") == 0) {
            /* Its values are valid again: the derived points of its hours are written back. */
            col_console_recompute_revoked(q->c, q->id, q->param, row_int(cols, row, "from"),
                                          row_int(cols, row, "to"), q->time_ms,
                                          col_console_now_ms());
        }
        ok(q->req);
    }
    cJSON_Delete(root);
    free(q);
}

/* POST revoke {id, action (invalid|approve), param (for invalid), time (the decision's, ms, as
 * GET decisions gives it), why}: withdraws a decision. An operator or an approver withdraws a
 * range marked invalid, only an approver an approval; the note is required. */
static void post_revoke(struct col_console *c, struct col_http_req *req)
{
    struct col_console_session *s = col_console_authed(c, req, COL_CONSOLE_OPERATOR, true);
    cJSON *j = s != NULL ? col_console_body(req) : NULL;
    const char *id, *action, *param, *why;
    const cJSON *t;
    struct revoke_ctx *q;
    struct ct_buf ql;
    char msg[160];

    if (j == NULL) {
        return;
    }
    id = col_console_jstr(j, "id");
    action = col_console_jstr(j, "action");
    param = col_console_jstr(j, "param");
    t = cJSON_GetObjectItemCaseSensitive(j, "time");
    param = param != NULL ? param : "";
    if (id == NULL || col_console_station_find(col_console_states_of(c), id) == NULL ||
        action == NULL || (strcmp(action, "invalid") != 0 && strcmp(action, "approve") != 0) ||
        (strcmp(action, "invalid") == 0 && param[0] == '\0') ||
        strlen(param) > CT_MEMBER_NAME_MAX || !cJSON_IsNumber(t) || !(t->valuedouble > 0) ||
        t->valuedouble > 4102444800000.0) {
        col_console_reply_error(req, 400,
                                "Name the decision: a known station (id), its action (invalid or "
                                "approve), its parameter (for invalid) and its time (ms).");
        goto out_free;
    }
    if (strcmp(action, "approve") == 0 && !col_console_role_allows(s->role, COL_CONSOLE_APPROVER)) {
        snprintf(msg, sizeof(msg),
                 "Refused: withdrawing an approval needs the approver role; %s has the %s role.",
                 s->user, col_console_role_name(s->role));
        col_console_reply_error(req, 403, msg);
        goto out_free;
    }
    why = need_why(req, j, "why");
    if (why == NULL) {
        goto out_free;
    }
    q = calloc(1, sizeof(*q));
    if (q == NULL) {
        col_console_reply_error(req, 500, "Out of memory.");
        goto out_free;
    }
    *q = (struct revoke_ctx){.c = c, .req = req, .time_ms = (int64_t)t->valuedouble};
    q->s.role = s->role;
    snprintf(q->s.user, sizeof(q->s.user), "%s", s->user);
    snprintf(q->id, sizeof(q->id), "%s", id);
    snprintf(q->action, sizeof(q->action), "%s", action);
    snprintf(q->param, sizeof(q->param), "%s", param);
    snprintf(q->why, sizeof(q->why), "%s", why);
    /* The decision's series (an approval has no param tag: '' matches the missing tag). */
    ct_buf_init(&ql, 4096);
    ct_buf_adds(&ql, "SELECT * FROM console_decision WHERE station='");
    col_console_ql_str(&ql, id);
    ct_buf_printf(&ql, "' AND \"action\"='%s' AND param='", q->action);
    col_console_ql_str(&ql, q->param);
    ct_buf_printf(&ql, "' AND time = %lldms", (long long)q->time_ms);
    col_console_query(c, req, ql.p, on_revoke, q);
    ct_buf_free(&ql);
out_free:
    cJSON_Delete(j);
}

int col_console_api_post(struct col_console *c, struct col_http_req *req, const char *path)
{
    if (strcmp(path, "station-state") == 0) {
        post_station_state(c, req);
    } else if (strcmp(path, "invalid") == 0) {
        post_invalid(c, req);
    } else if (strcmp(path, "approve") == 0) {
        post_approve(c, req);
    } else if (strcmp(path, "revoke") == 0) {
        post_revoke(c, req);
    } else if (strcmp(path, "ack") == 0) {
        col_console_ack(c, req);
    } else {
        return CT_E_NOTFOUND;
    }
    return 0;
}
