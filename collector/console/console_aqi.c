/* console_aqi.c - a station's hourly VN_AQI for one day computed twice from the store's raw
 * points: from every accepted reading, and from the validated data (without the values staff
 * marked invalid), so that staff see what a decision changes. Hourly means per clock hour; PM by
 * NowCast over 12 hours, gases by their 1-h mean (collector/indices, Decision 1459). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_indices_aqi_hour.h"
#include "console_int.h"
#include "ct/err.h"

#define HOUR_MS 3600000LL
#define BEFORE 11        /* hours before the day a NowCast needs */
#define NH (BEFORE + 24) /* hourly buckets */

struct aqi_ctx {
    struct col_http_req *req;
    char id[CT_ID_MAX + 1];
    char day[11];
    int64_t start; /* the day's 00:00 in Hanoi */
};

struct sums {
    double sum[NH][COL_AQI_N_POLLUTANTS];
    unsigned n[NH][COL_AQI_N_POLLUTANTS];
};

static double mean_at(const struct sums *s, int h, int p)
{
    return h >= 0 && s->n[h][p] > 0 ? s->sum[h][p] / s->n[h][p] : NAN;
}

/* The hourly VN_AQI of bucket 'h' (COL_AQI_NONE when undefined), by the live index's code. */
static int hourly(const struct sums *s, int h)
{
    struct col_aqi_hour_in in;
    struct col_aqi_hour_out out;

    for (int k = 0; k < COL_AQI_HOUR_BACK; k++) {
        for (int p = 0; p < COL_AQI_N_POLLUTANTS; p++) {
            in.mean[k][p] = mean_at(s, h - k, p);
        }
    }
    return col_aqi_hour_compute(&in, &out) == 0 ? out.vn.aqi : COL_AQI_NONE;
}

static void on_aqi(void *arg, int status, const char *body, size_t len)
{
    struct aqi_ctx *q = arg;
    cJSON *root = status == 200 ? cJSON_ParseWithLength(body, len) : NULL;
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "results");
    const cJSON *raw = col_console_stmt_series(res, 0);
    const cJSON *dec = col_console_stmt_series(res, 1);
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(raw, "columns");
    const cJSON *row;
    struct sums *all = calloc(2, sizeof(*all));
    struct ct_buf b;

    if (root == NULL || all == NULL) {
        col_console_reply_error(q->req, 503, "The store did not answer.");
        goto out_free;
    }
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(raw, "values"))
    {
        const cJSON *t = cJSON_GetArrayItem(row, 0), *col;
        int64_t ts = cJSON_IsNumber(t) ? (int64_t)t->valuedouble : 0;
        int64_t h = (ts - (q->start - BEFORE * HOUR_MS)) / HOUR_MS;
        int i = 0;
        cJSON_ArrayForEach(col, cols)
        {
            const cJSON *v = cJSON_GetArrayItem(row, i++);
            enum col_aqi_pollutant p;
            if (h < 0 || h >= NH || !cJSON_IsString(col) || !cJSON_IsNumber(v) ||
                col_aqi_pollutant_parse(col->valuestring, &p) != 0) {
                continue;
            }
            all[0].sum[h][p] += v->valuedouble;
            all[0].n[h][p]++;
            if (!col_console_invalid_at(cJSON_GetObjectItemCaseSensitive(dec, "columns"),
                                        cJSON_GetObjectItemCaseSensitive(dec, "values"),
                                        col->valuestring, ts, INT64_MIN)) {
                all[1].sum[h][p] += v->valuedouble;
                all[1].n[h][p]++;
            }
        }
    }
    ct_buf_init(&b, 1u << 20);
    ct_buf_adds(&b, "{\"station\":");
    col_console_json_str(&b, q->id);
    ct_buf_printf(&b, ",\"day\":\"%s\",\"hours\":[", q->day);
    for (int h = 0; h < 24; h++) {
        int a = hourly(&all[0], h + BEFORE), v = hourly(&all[1], h + BEFORE);
        ct_buf_printf(&b, "%s{\"hour\":%d,\"start\":%lld,", h ? "," : "", h,
                      (long long)(q->start + h * HOUR_MS));
        ct_buf_printf(&b, a == COL_AQI_NONE ? "\"aqi_raw\":null," : "\"aqi_raw\":%d,", a);
        ct_buf_printf(&b, v == COL_AQI_NONE ? "\"aqi_validated\":null}" : "\"aqi_validated\":%d}",
                      v);
    }
    ct_buf_adds(&b, "]}\n");
    col_console_reply_json(q->req, 200, &b);
    ct_buf_free(&b);
out_free:
    free(all);
    cJSON_Delete(root);
    free(q);
}

/* GET aqi?id=&day=YYYY-MM-DD: an air station's hourly VN_AQI, raw and validated. */
int col_console_aqi(struct col_console *c, struct col_http_req *req)
{
    const char *id = col_http_req_query(req, "id");
    const char *day = col_http_req_query(req, "day");
    struct aqi_ctx *q;
    struct ct_buf ql;
    int64_t start;

    if (col_console_station_day(c, req, true, &start) == NULL) {
        return 0;
    }
    q = calloc(1, sizeof(*q));
    if (q == NULL) {
        col_console_reply_error(req, 500, "Out of memory.");
        return 0;
    }
    q->req = req;
    q->start = start;
    snprintf(q->id, sizeof(q->id), "%s", id);
    snprintf(q->day, sizeof(q->day), "%s", day);
    ct_buf_init(&ql, 8192);
    ct_buf_adds(&ql, "SELECT * FROM air WHERE device='");
    col_console_ql_str(&ql, id);
    ct_buf_printf(&ql, "' AND time >= %lldms AND time < %lldms; ",
                  (long long)(start - BEFORE * HOUR_MS), (long long)(start + 24 * HOUR_MS));
    ct_buf_adds(&ql, "SELECT * FROM console_decision WHERE \"action\"='invalid' AND station='");
    col_console_ql_str(&ql, id);
    ct_buf_adds(&ql, "'");
    col_console_query(c, req, ql.p, on_aqi, q);
    ct_buf_free(&ql);
    return 0;
}
