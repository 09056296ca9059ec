/* console_report.c - completeness (per station, per hour of a day in Asia/Ho_Chi_Minh: expected
 * readings from its interval, received = accepted + rejected, accepted = raw points in the
 * store, disconnect periods), as JSON or CSV; and the alerts view (the store's `alert` points,
 * filtered, with the staff's acknowledgements) and acknowledging an alert. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "col_store.h"
#include "col_console_recompute_events.h"
#include "console_int.h"
#include "ct/err.h"
#include "ct/lp.h"

#define HOUR_MS 3600000LL
#define DAY_MS (24 * HOUR_MS)
#define VN_OFFSET_MS (7 * HOUR_MS) /* Asia/Ho_Chi_Minh: UTC+7, no daylight saving */
#define HOUR_VALID 0.75            /* share of expected readings for a valid hour */
#define DAY_VALID_HOURS 18         /* valid hours for a valid day */

/* Appends 's' as an InfluxQL string literal body (quote and backslash escaped). */
void col_console_ql_str(struct ct_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\'' || *s == '\\') {
            ct_buf_add(b, "\\", 1);
        }
        ct_buf_add(b, s, 1);
    }
}

/* "YYYY-MM-DD" -> the day's start (00:00 in Hanoi) in ms since the epoch; false when bad. */
bool col_console_day_start(const char *day, int64_t *out)
{
    int y, m, d;
    char tail;
    struct tm tm = {0};

    if (day == NULL || strlen(day) != 10 || sscanf(day, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
        y < 2000 || y > 2100 || m < 1 || m > 12 || d < 1 || d > 31) {
        return false;
    }
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    *out = (int64_t)timegm(&tm) * 1000 - VN_OFFSET_MS;
    return true;
}

struct report_ctx {
    struct col_console *c;
    struct col_http_req *req;
    const struct ct_device *dev; /* borrowed from the registry: used before any reload */
    char id[CT_ID_MAX + 1];
    char day[32]; /* "YYYY-MM-DD", or "YYYY-MM" for a month */
    int64_t start;
    int ndays; /* 1: the hours of a day; more: the days of a month */
    bool csv;
    uint32_t stale_intervals;
};

const cJSON *col_console_stmt_series(const cJSON *results, int stmt)
{
    return cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(results, stmt), "series"), 0);
}

/* The values of series 0 of statement 'i' of a /query answer, or NULL. */
static const cJSON *values_of(const cJSON *root, int i)
{
    return cJSON_GetObjectItemCaseSensitive(
        col_console_stmt_series(cJSON_GetObjectItemCaseSensitive(root, "results"), i), "values");
}

/* Counts accepted readings (statement 0) and rejections (statement 1) per hour from q->start into
 * acc[] and rej[] (q->ndays * 24 each), and appends the disconnects to 'gaps' as JSON objects.
 * Returns the number of disconnects. */
static unsigned count_hours(const struct report_ctx *q, const cJSON *root, uint32_t *acc,
                            uint32_t *rej, struct ct_buf *gaps)
{
    uint32_t interval = q->dev->interval_s != 0 ? q->dev->interval_s : 60;
    int64_t gap_ms = (int64_t)interval * 1000 * (q->stale_intervals ? q->stale_intervals : 3);
    int64_t end = q->start + q->ndays * DAY_MS, now = col_console_now_ms();
    int64_t prev = q->start, last = now < end ? now : end;
    int nh = q->ndays * 24;
    unsigned ngaps = 0;
    const cJSON *row;

    cJSON_ArrayForEach(row, values_of(root, 0))
    {
        const cJSON *t = cJSON_GetArrayItem(row, 0);
        int64_t ts = cJSON_IsNumber(t) ? (int64_t)t->valuedouble : -1;
        int64_t h = (ts - q->start) / HOUR_MS;
        if (ts < q->start || h >= nh) {
            continue;
        }
        acc[h]++;
        if (ts - prev > gap_ms) {
            ct_buf_printf(gaps, "%s{\"from\":%lld,\"to\":%lld}", ngaps++ ? "," : "",
                          (long long)prev, (long long)ts);
        }
        prev = ts;
    }
    if (last - prev > gap_ms) {
        ct_buf_printf(gaps, "%s{\"from\":%lld,\"to\":%lld}", ngaps++ ? "," : "", (long long)prev,
                      (long long)last);
    }
    cJSON_ArrayForEach(row, values_of(root, 1))
    {
        const cJSON *t = cJSON_GetArrayItem(row, 0);
        const cJSON *v = cJSON_GetArrayItem(row, 1);
        int64_t ts = cJSON_IsNumber(t) ? (int64_t)t->valuedouble : -1;
        if (ts >= q->start && (ts - q->start) / HOUR_MS < nh && cJSON_IsNumber(v)) {
            rej[(ts - q->start) / HOUR_MS] += (uint32_t)v->valuedouble;
        }
    }
    return ngaps;
}

/* The monthly report: one row per day (expected, received, accepted, valid hours, valid day). */
static void month_report(struct report_ctx *q, const uint32_t *acc, const uint32_t *rej,
                         double expected, struct ct_buf *b)
{
    if (q->csv) {
        ct_buf_adds(b, "station,day,expected,received,accepted,completeness_pct,valid_hours,"
                       "day_valid\r\n");
    } else {
        ct_buf_adds(b, "{\"station\":");
        col_console_json_str(b, q->id);
        ct_buf_printf(b, ",\"month\":\"%s\",\"days\":[", q->day);
    }
    for (int d = 0; d < q->ndays; d++) {
        uint64_t a = 0, r = 0;
        unsigned valid = 0;
        for (int h = d * 24; h < d * 24 + 24; h++) {
            a += acc[h];
            r += rej[h];
            valid += acc[h] >= HOUR_VALID * expected;
        }
        const char *ok = valid >= DAY_VALID_HOURS ? "yes" : "no";
        if (q->csv) {
            ct_buf_printf(b, "%s,%s-%02d,%.0f,%llu,%llu,%.1f,%u,%s\r\n", q->id, q->day, d + 1,
                          24 * expected, (unsigned long long)(a + r), (unsigned long long)a,
                          100.0 * (double)a / (24 * expected), valid, ok);
        } else {
            ct_buf_printf(b,
                          "%s{\"day\":\"%s-%02d\",\"expected\":%.0f,\"received\":%llu,"
                          "\"accepted\":%llu,\"completeness_pct\":%.1f,\"valid_hours\":%u,"
                          "\"valid\":%s}",
                          d ? "," : "", q->day, d + 1, 24 * expected, (unsigned long long)(a + r),
                          (unsigned long long)a, 100.0 * (double)a / (24 * expected), valid,
                          valid >= DAY_VALID_HOURS ? "true" : "false");
        }
    }
    if (!q->csv) {
        ct_buf_adds(b, "]}\n");
    }
}

static void on_completeness(void *arg, int status, const char *body, size_t len)
{
    struct report_ctx *q = arg;
    cJSON *root = status == 200 ? cJSON_ParseWithLength(body, len) : NULL;
    uint32_t *accepted = calloc((size_t)q->ndays * 24, sizeof(*accepted));
    uint32_t *rejected = calloc((size_t)q->ndays * 24, sizeof(*rejected));
    uint32_t interval = q->dev->interval_s != 0 ? q->dev->interval_s : 60;
    double expected = 3600.0 / interval;
    struct ct_buf b;
    struct ct_buf gaps;
    unsigned valid_hours = 0;
    uint64_t tot_acc = 0, tot_rej = 0;
    char disp[160];

    if (root == NULL || accepted == NULL || rejected == NULL) {
        col_console_reply_error(q->req, 503, "The store did not answer.");
        goto out_free;
    }
    ct_buf_init(&gaps, 1u << 20);
    count_hours(q, root, accepted, rejected, &gaps);
    if (q->ndays > 1) {
        ct_buf_init(&b, 1u << 20);
        month_report(q, accepted, rejected, expected, &b);
        snprintf(disp, sizeof(disp),
                 "Content-Disposition: attachment; filename=\"completeness-%s-%s.csv\"\r\n", q->id,
                 q->day);
        col_console_reply(q->req, 200, q->csv ? "text/csv; charset=utf-8" : "application/json", b.p,
                          b.len, q->csv ? disp : NULL);
        ct_buf_free(&b);
        ct_buf_free(&gaps);
        goto out_free;
    }
    ct_buf_init(&b, 1u << 20);
    if (q->csv) {
        ct_buf_adds(&b, "station,hour_start_local,expected,received,accepted,completeness_pct,"
                        "hour_valid\r\n");
    } else {
        ct_buf_adds(&b, "{\"station\":");
        col_console_json_str(&b, q->id);
        ct_buf_printf(&b, ",\"day\":\"%s\",\"interval_s\":%u,\"hours\":[", q->day, interval);
    }
    for (int h = 0; h < 24; h++) {
        double pct = 100.0 * accepted[h] / expected;
        bool valid = accepted[h] >= HOUR_VALID * expected;
        valid_hours += valid;
        tot_acc += accepted[h];
        tot_rej += rejected[h];
        if (q->csv) {
            ct_buf_printf(&b, "%s,%sT%02d:00+07:00,%.0f,%u,%u,%.1f,%s\r\n", q->id, q->day, h,
                          expected, accepted[h] + rejected[h], accepted[h], pct,
                          valid ? "yes" : "no");
        } else {
            ct_buf_printf(&b,
                          "%s{\"hour\":%d,\"start\":%lld,\"expected\":%.0f,\"received\":%u,"
                          "\"accepted\":%u,\"completeness_pct\":%.1f,\"valid\":%s}",
                          h ? "," : "", h, (long long)(q->start + h * HOUR_MS), expected,
                          accepted[h] + rejected[h], accepted[h], pct, valid ? "true" : "false");
        }
    }
    if (q->csv) {
        ct_buf_printf(&b, "%s,%s,%.0f,%llu,%llu,%.1f,%s\r\n", q->id, q->day, 24 * expected,
                      (unsigned long long)(tot_acc + tot_rej), (unsigned long long)tot_acc,
                      100.0 * (double)tot_acc / (24 * expected),
                      valid_hours >= DAY_VALID_HOURS ? "yes" : "no");
        snprintf(disp, sizeof(disp),
                 "Content-Disposition: attachment; filename=\"completeness-%s-%s.csv\"\r\n", q->id,
                 q->day);
        col_console_reply(q->req, 200, "text/csv; charset=utf-8", b.p, b.len, disp);
    } else {
        ct_buf_printf(&b,
                      "],\"day_total\":{\"expected\":%.0f,\"received\":%llu,\"accepted\":%llu,"
                      "\"valid_hours\":%u,\"valid\":%s},\"disconnects\":[%s]}\n",
                      24 * expected, (unsigned long long)(tot_acc + tot_rej),
                      (unsigned long long)tot_acc, valid_hours,
                      valid_hours >= DAY_VALID_HOURS ? "true" : "false",
                      gaps.p != NULL ? gaps.p : "");
        col_console_reply_json(q->req, 200, &b);
    }
    ct_buf_free(&b);
    ct_buf_free(&gaps);
out_free:
    free(accepted);
    free(rejected);
    cJSON_Delete(root);
    free(q);
}

/* GET completeness?id=&day=YYYY-MM-DD[&format=csv] */
static void get_completeness(struct col_console *c, struct col_http_req *req)
{
    const char *id = col_http_req_query(req, "id");
    const char *day = col_http_req_query(req, "day");
    const char *month = col_http_req_query(req, "month");
    const char *format = col_http_req_query(req, "format");
    struct col_console_station *st;
    struct report_ctx *q;
    struct ct_buf ql;
    int64_t start, next = 0;
    char first[32], nextday[32];
    int ndays;

    if (col_console_authed(c, req, COL_CONSOLE_VIEWER, false) == NULL) {
        return;
    }
    st = id != NULL ? col_console_station_find(col_console_states_of(c), id) : NULL;
    if (month != NULL) {
        /* A month: its first day, and the first day of the next (mm 12 rolls over). */
        int y, m;
        char tail;
        if (strlen(month) != 7 || sscanf(month, "%4d-%2d%c", &y, &m, &tail) != 2 || m < 1 ||
            m > 12) {
            month = NULL;
        } else {
            snprintf(first, sizeof(first), "%04d-%02d-01", y, m);
            snprintf(nextday, sizeof(nextday), "%04d-%02d-01", m == 12 ? y + 1 : y,
                     m == 12 ? 1 : m + 1);
            day = col_console_day_start(nextday, &next) ? first : NULL;
        }
    }
    if (st == NULL || !col_console_day_start(day, &start)) {
        col_console_reply_error(req, 400,
                                "Give a known station (id) and a day (YYYY-MM-DD) or a month "
                                "(YYYY-MM).");
        return;
    }
    ndays = month != NULL ? (int)((next - start) / DAY_MS) : 1;
    q = calloc(1, sizeof(*q));
    if (q == NULL) {
        col_console_reply_error(req, 500, "Out of memory.");
        return;
    }
    q->c = c;
    q->req = req;
    q->dev = st->dev;
    q->start = start;
    q->ndays = ndays;
    q->csv = format != NULL && strcmp(format, "csv") == 0;
    q->stale_intervals = col_console_stale_intervals(c);
    snprintf(q->id, sizeof(q->id), "%s", id);
    snprintf(q->day, sizeof(q->day), "%s", month != NULL ? month : day);
    ct_buf_init(&ql, 8192);
    ct_buf_printf(&ql, "SELECT * FROM \"%s\" WHERE device='", ct_kind_name(st->dev->kind));
    col_console_ql_str(&ql, id);
    ct_buf_printf(&ql, "' AND time >= %lldms AND time < %lldms; ", (long long)start,
                  (long long)(start + ndays * DAY_MS));
    ct_buf_adds(&ql, "SELECT sum(\"count\") FROM rejected WHERE device='");
    col_console_ql_str(&ql, id);
    ct_buf_printf(&ql, "' AND time >= %lldms AND time < %lldms GROUP BY time(1h) fill(none)",
                  (long long)start, (long long)(start + ndays * DAY_MS));
    col_console_query(c, req, ql.p, on_completeness, q);
    ct_buf_free(&ql);
}

static bool slug_ok(const char *s)
{
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || *s == '_')) {
            return false;
        }
    }
    return true;
}

struct alerts_ctx {
    struct col_http_req *req;
};

static void on_alerts(void *arg, int status, const char *body, size_t len)
{
    struct alerts_ctx *q = arg;
    char *out = NULL;

    if (status != 200) {
        col_console_reply_error(q->req, 503, "The store did not answer.");
    } else if (col_console_alerts_mark(body, len, &out) != 0) {
        col_console_reply_error(q->req, 502, "The store's answer cannot be read.");
    } else {
        col_console_reply(q->req, 200, "application/json; charset=utf-8", out, strlen(out), NULL);
    }
    free(out);
    free(q);
}

/* GET alerts?type=&district=&from=&to= (ms; default the last 7 days): the store's alerts, each
 * marked when raised over data later marked invalid ("over_invalid"), and the acknowledgements of
 * the same period, as the two results of one /query answer. */
static void get_alerts(struct col_console *c, struct col_http_req *req)
{
    struct alerts_ctx *q;
    const char *type = col_http_req_query(req, "type");
    const char *district = col_http_req_query(req, "district");
    const char *from_s = col_http_req_query(req, "from");
    const char *to_s = col_http_req_query(req, "to");
    int64_t now = col_console_now_ms();
    int64_t from = now - 7 * DAY_MS, to = now + HOUR_MS;
    struct ct_buf ql;
    char *end;

    if (col_console_authed(c, req, COL_CONSOLE_VIEWER, false) == NULL) {
        return;
    }
    if (from_s != NULL && from_s[0] != '\0') {
        from = strtoll(from_s, &end, 10);
        if (*end != '\0') {
            from = -1;
        }
    }
    if (to_s != NULL && to_s[0] != '\0') {
        to = strtoll(to_s, &end, 10);
        if (*end != '\0') {
            to = -1;
        }
    }
    if (from < 0 || to < from || (type != NULL && !slug_ok(type)) ||
        (district != NULL && strlen(district) > 100)) {
        col_console_reply_error(req, 400, "Bad filter: type is a word, from and to are ms.");
        return;
    }
    ct_buf_init(&ql, 8192);
    ct_buf_printf(&ql, "SELECT * FROM alert WHERE time >= %lldms AND time <= %lldms",
                  (long long)from, (long long)to);
    if (type != NULL && type[0] != '\0') {
        ct_buf_printf(&ql, " AND \"type\"='%s'", type);
    }
    if (district != NULL && district[0] != '\0') {
        ct_buf_adds(&ql, " AND district='");
        col_console_ql_str(&ql, district);
        ct_buf_adds(&ql, "'");
    }
    /* And, to mark the alerts raised over data later marked invalid, the decisions that may
     * concern them (made after the data, at most 24 h before an alert: the exceeding means) and
     * the hourly indices the console recomputed (col_console_alerts_mark). */
    ct_buf_printf(
        &ql,
        " ORDER BY time DESC LIMIT 1000; SELECT * FROM console_ack WHERE alert_time >= "
        "%lld AND alert_time <= %lld; SELECT station, param, \"from\", \"to\", revoked "
        "FROM console_decision WHERE \"action\"='invalid' AND time >= %lldms; SELECT device, "
        "aqi_vn, validated FROM air_aqi WHERE (validated = true OR validated = false) "
        "AND time >= %lldms AND time <= %lldms",
        (long long)from, (long long)to, (long long)(from - DAY_MS - HOUR_MS), (long long)from,
        (long long)to);
    q = calloc(1, sizeof(*q));
    if (q == NULL) {
        col_console_reply_error(req, 500, "Out of memory.");
    } else {
        q->req = req;
        col_console_query(c, req, ql.p, on_alerts, q);
    }
    ct_buf_free(&ql);
}

/* GET parking?day=YYYY-MM-DD: for the parking operators, three statements of one /query answer:
 * each lot's latest free spaces, the mean free spaces per hour of the day, and the mean
 * occupancy ratio per hour over the 7 days before (the page ranks the busiest hours). */
static void get_parking(struct col_console *c, struct col_http_req *req)
{
    const char *day = col_http_req_query(req, "day");
    struct ct_buf ql;
    int64_t start;

    if (col_console_authed(c, req, COL_CONSOLE_VIEWER, false) == NULL) {
        return;
    }
    if (!col_console_day_start(day, &start)) {
        col_console_reply_error(req, 400, "Give a day (YYYY-MM-DD).");
        return;
    }
    ct_buf_init(&ql, 4096);
    ct_buf_printf(&ql,
                  "SELECT last(free) AS free, last(capacity) AS capacity, last(occupied) AS "
                  "occupied FROM parking_lot GROUP BY lot; SELECT mean(free) FROM parking_lot "
                  "WHERE time >= %lldms AND time < %lldms GROUP BY time(1h), lot fill(none); "
                  "SELECT mean(ratio) FROM parking_lot WHERE time >= %lldms AND time < %lldms "
                  "GROUP BY time(1h), lot fill(none)",
                  (long long)start, (long long)(start + DAY_MS), (long long)(start - 6 * DAY_MS),
                  (long long)(start + DAY_MS));
    col_console_query_pass(c, req, ql.p);
    ct_buf_free(&ql);
}

int col_console_report_get(struct col_console *c, struct col_http_req *req, const char *path)
{
    if (strcmp(path, "completeness") == 0) {
        get_completeness(c, req);
    } else if (strcmp(path, "alerts") == 0) {
        get_alerts(c, req);
    } else if (strcmp(path, "export") == 0) {
        col_console_export(c, req);
    } else if (strcmp(path, "aqi") == 0) {
        col_console_aqi(c, req);
    } else if (strcmp(path, "parking") == 0) {
        get_parking(c, req);
    } else {
        return CT_E_NOTFOUND;
    }
    return 0;
}

/* POST ack {device, type, time (the alert's, ms), note}: operator or approver. */
int col_console_ack(struct col_console *c, struct col_http_req *req)
{
    struct col_console_session *s = col_console_authed(c, req, COL_CONSOLE_OPERATOR, true);
    cJSON *j = s != NULL ? col_console_body(req) : NULL;
    const char *device, *type, *note;
    const cJSON *t;
    struct ct_buf b;
    char target[160];
    int rc;

    if (j == NULL) {
        return 0;
    }
    device = col_console_jstr(j, "device");
    type = col_console_jstr(j, "type");
    note = col_console_jstr(j, "note");
    t = cJSON_GetObjectItemCaseSensitive(j, "time");
    if (device == NULL || strlen(device) > CT_ID_MAX || type == NULL || !slug_ok(type) ||
        type[0] == '\0' || !cJSON_IsNumber(t) || !(t->valuedouble > 0)) {
        col_console_reply_error(req, 400, "Give the alert's device, type and time.");
        goto out_free;
    }
    if (note == NULL || note[0] == '\0' || strlen(note) > 500) {
        col_console_reply_error(req, 400, "Add a note (1 to 500 bytes) to acknowledge.");
        goto out_free;
    }
    struct ct_lp_tag tags[] = {{"device", device}, {"type", type}};
    struct ct_lp_field fields[] = {
        {.key = "alert_time", .type = CT_LP_INT, .i = (int64_t)t->valuedouble},
        {.key = "by", .type = CT_LP_STRING, .s = s->user},
        {.key = "note", .type = CT_LP_STRING, .s = note}};
    ct_buf_init(&b, 8192);
    rc = ct_lp_point(&b, "console_ack", tags, 2, fields, 3, col_console_now_ms());
    rc = rc ? rc : col_console_write(c, b.p, b.len);
    ct_buf_free(&b);
    snprintf(target, sizeof(target), "%s %s@%lld", type, device, (long long)t->valuedouble);
    rc = rc ? rc : col_console_audit(c, s, "ack", target, note, "");
    if (rc != 0) {
        col_console_reply_error(req, 503, "The acknowledgement cannot be recorded now.");
    } else {
        col_console_reply(req, 200, "application/json", "{\"ok\":true}\n", 12, NULL);
    }
out_free:
    cJSON_Delete(j);
    return 0;
}

/* The approved-data export: the day's raw readings of one station without the values staff
 * marked invalid, only once an approver approved that day. */
struct export_ctx {
    struct col_http_req *req;
    enum ct_kind kind;
    char id[CT_ID_MAX + 1];
    char day[11];
};

/* True when a decision row (columns 'cols') marks 'param' at 'ts' invalid. */
int col_console_column(const cJSON *cols, const char *name)
{
    const cJSON *c;
    int i = 0;

    cJSON_ArrayForEach(c, cols)
    {
        if (cJSON_IsString(c) && strcmp(c->valuestring, name) == 0) {
            return i;
        }
        i++;
    }
    return -1;
}

bool col_console_decision_revoked(const cJSON *cols, const cJSON *row)
{
    return cJSON_IsTrue(cJSON_GetArrayItem(row, col_console_column(cols, "revoked")));
}

bool col_console_invalid_at(const cJSON *cols, const cJSON *decisions, const char *param,
                            int64_t ts, int64_t except_ms)
{
    int iaction = col_console_column(cols, "action"), iparam = col_console_column(cols, "param");
    int ifrom = col_console_column(cols, "from"), ito = col_console_column(cols, "to"),
        itime = col_console_column(cols, "time");
    const cJSON *row;

    cJSON_ArrayForEach(row, decisions)
    {
        const cJSON *a = cJSON_GetArrayItem(row, iaction), *p = cJSON_GetArrayItem(row, iparam);
        const cJSON *f = cJSON_GetArrayItem(row, ifrom), *t = cJSON_GetArrayItem(row, ito);
        const cJSON *when = cJSON_GetArrayItem(row, itime);
        if (col_console_decision_revoked(cols, row) ||
            (cJSON_IsNumber(when) && (int64_t)when->valuedouble == except_ms)) {
            continue; /* withdrawn (POST revoke) */
        }
        if (cJSON_IsString(a) && strcmp(a->valuestring, "invalid") == 0 && cJSON_IsString(p) &&
            strcmp(p->valuestring, param) == 0 && cJSON_IsNumber(f) && cJSON_IsNumber(t) &&
            ts >= (int64_t)f->valuedouble && ts <= (int64_t)t->valuedouble) {
            return true;
        }
    }
    return false;
}

/* True when one of the rows of 'appr' (console_decision rows with action approve) is not
 * withdrawn. */
static bool approved(const cJSON *appr)
{
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(appr, "columns"), *row;

    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(appr, "values"))
    {
        if (!col_console_decision_revoked(cols, row)) {
            return true;
        }
    }
    return false;
}

static void on_export(void *arg, int status, const char *body, size_t len)
{
    struct export_ctx *q = arg;
    cJSON *root = status == 200 ? cJSON_ParseWithLength(body, len) : NULL;
    const cJSON *res = root != NULL ? cJSON_GetObjectItemCaseSensitive(root, "results") : NULL;
    const cJSON *raw = col_console_stmt_series(res, 0);
    const cJSON *dec = col_console_stmt_series(res, 1);
    const cJSON *appr = col_console_stmt_series(res, 2);
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(raw, "columns");
    const cJSON *dcols = cJSON_GetObjectItemCaseSensitive(dec, "columns");
    const cJSON *ddata = cJSON_GetObjectItemCaseSensitive(dec, "values");
    const cJSON *row;
    struct ct_buf b;
    char msg[200];

    if (root == NULL) {
        col_console_reply_error(q->req, 503, "The store did not answer.");
        goto out_free;
    }
    if (!approved(appr)) {
        snprintf(msg, sizeof(msg), "%s is not approved for %s yet: only approved data is exported.",
                 q->day, q->id);
        col_console_reply_error(q->req, 409, msg);
        goto out_free;
    }
    ct_buf_init(&b, 64u << 20);
    ct_buf_adds(&b, "station,time_utc_ms,param,value\r\n");
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(raw, "values"))
    {
        const cJSON *t = cJSON_GetArrayItem(row, 0);
        const cJSON *col, *v;
        int i = 0;
        int64_t ts = cJSON_IsNumber(t) ? (int64_t)t->valuedouble : 0;
        cJSON_ArrayForEach(col, cols)
        {
            v = cJSON_GetArrayItem(row, i++);
            if (!cJSON_IsString(col) || !cJSON_IsNumber(v) ||
                ct_schema_find(q->kind, col->valuestring, strlen(col->valuestring)) == NULL ||
                col_console_invalid_at(dcols, ddata, col->valuestring, ts, INT64_MIN)) {
                continue;
            }
            ct_buf_printf(&b, "%s,%lld,%s,%.10g\r\n", q->id, (long long)ts, col->valuestring,
                          v->valuedouble);
        }
    }
    char disp[160];
    snprintf(disp, sizeof(disp),
             "Content-Disposition: attachment; filename=\"approved-%s-%s.csv\"\r\n", q->id, q->day);
    if (b.p == NULL) {
        col_console_reply_error(q->req, 500, "The export is too large.");
    } else {
        col_console_reply(q->req, 200, "text/csv; charset=utf-8", b.p, b.len, disp);
    }
    ct_buf_free(&b);
out_free:
    cJSON_Delete(root);
    free(q);
}

struct col_console_station *col_console_station_day(struct col_console *c, struct col_http_req *req,
                                                    bool air_only, int64_t *start)
{
    const char *id = col_http_req_query(req, "id");
    struct col_console_station *st;
    int64_t t;

    if (col_console_authed(c, req, COL_CONSOLE_VIEWER, false) == NULL) {
        return NULL;
    }
    st = id != NULL ? col_console_station_find(col_console_states_of(c), id) : NULL;
    if (st == NULL || (air_only && st->dev->kind != CT_KIND_AIR) ||
        !col_console_day_start(col_http_req_query(req, "day"), &t)) {
        col_console_reply_error(req, 400,
                                air_only ? "Give a known air station (id) and a day (YYYY-MM-DD)."
                                         : "Give a known station (id) and a day (YYYY-MM-DD).");
        return NULL;
    }
    if (start != NULL) {
        *start = t;
    }
    return st;
}

/* GET export?id=&day=YYYY-MM-DD */
int col_console_export(struct col_console *c, struct col_http_req *req)
{
    const char *id = col_http_req_query(req, "id");
    const char *day = col_http_req_query(req, "day");
    struct col_console_station *st = col_console_station_day(c, req, false, NULL);
    struct export_ctx *q;
    struct ct_buf ql;
    int64_t start;

    if (st == NULL || !col_console_day_start(day, &start)) {
        return 0;
    }
    q = calloc(1, sizeof(*q));
    if (q == NULL) {
        col_console_reply_error(req, 500, "Out of memory.");
        return 0;
    }
    q->req = req;
    q->kind = st->dev->kind;
    snprintf(q->id, sizeof(q->id), "%s", id);
    snprintf(q->day, sizeof(q->day), "%s", day);
    ct_buf_init(&ql, 8192);
    ct_buf_printf(&ql, "SELECT * FROM \"%s\" WHERE device='", ct_kind_name(st->dev->kind));
    col_console_ql_str(&ql, id);
    ct_buf_printf(&ql, "' AND time >= %lldms AND time < %lldms; ", (long long)start,
                  (long long)(start + DAY_MS));
    ct_buf_adds(&ql, "SELECT * FROM console_decision WHERE \"action\"='invalid' AND station='");
    col_console_ql_str(&ql, id);
    ct_buf_adds(&ql, "'; SELECT * FROM console_decision WHERE \"action\"='approve' AND station='");
    col_console_ql_str(&ql, id);
    ct_buf_printf(&ql, "' AND \"day\"='%s'", q->day);
    col_console_query(c, req, ql.p, on_export, q);
    ct_buf_free(&ql);
    return 0;
}
