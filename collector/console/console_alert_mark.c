/* console_alert_mark.c - the alerts view marks an alert raised over data later marked invalid
 * (col_console_alerts_mark in col_console_recompute_events.h; docs/console.md "Alerts"). Pure. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "col_console_recompute_events.h"
#include "console_int.h"
#include "ct/err.h"

#define DAY_MS COL_CONSOLE_DAY_MS

/* The index of column 'name' in a series' columns, or -1. */
static int col_of(const cJSON *series, const char *name)
{
    return col_console_column(cJSON_GetObjectItemCaseSensitive(series, "columns"), name);
}

static const char *str_at(const cJSON *row, int i)
{
    const cJSON *v = i >= 0 ? cJSON_GetArrayItem(row, i) : NULL;

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num_at(const cJSON *row, int i)
{
    const cJSON *v = i >= 0 ? cJSON_GetArrayItem(row, i) : NULL;

    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* True when a decision of 'dec' (columns station, param, from, to, revoked) marks 'param' (NULL:
 * any) of 'dev' invalid over a range that meets [from_ms, to_ms]; a withdrawn one does not. */
static bool decided(const cJSON *dec, const char *dev, const char *param, double from_ms,
                    double to_ms)
{
    int is = col_of(dec, "station"), ip = col_of(dec, "param");
    int ifr = col_of(dec, "from"), ito = col_of(dec, "to");
    const cJSON *row;

    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(dec, "values"))
    {
        const char *s = str_at(row, is), *p = str_at(row, ip);
        if (s != NULL && strcmp(s, dev) == 0 && p != NULL &&
            !col_console_decision_revoked(cJSON_GetObjectItemCaseSensitive(dec, "columns"), row) &&
            (param == NULL || strcmp(p, param) == 0) && num_at(row, ifr) <= to_ms &&
            num_at(row, ito) >= from_ms) {
            return true;
        }
    }
    return false;
}

/* True when the hourly air_aqi of 'dev' at 't' was recomputed (validated) to no index or to an
 * aqi_vn below 'value'. */
static bool recomputed_lower(const cJSON *aqi, const char *dev, double t, double value)
{
    int id = col_of(aqi, "device"), iv = col_of(aqi, "validated"), ia = col_of(aqi, "aqi_vn");
    const cJSON *row;

    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(aqi, "values"))
    {
        const char *d = str_at(row, id);
        const cJSON *v = cJSON_GetArrayItem(row, iv);
        double a = num_at(row, ia);
        if (d != NULL && strcmp(d, dev) == 0 && num_at(row, 0) == t && iv >= 0 &&
            (cJSON_IsFalse(v) || (cJSON_IsTrue(v) && (isnan(a) || a < value)))) {
            return true;
        }
    }
    return false;
}

static bool over_invalid(const cJSON *row, int it, int iy, int id, int iv, const cJSON *dec,
                         const cJSON *aqi)
{
    const char *type = str_at(row, iy), *dev = str_at(row, id);
    double t = num_at(row, it);

    if (type == NULL || dev == NULL || isnan(t)) {
        return false;
    }
    if (strcmp(type, "flood") == 0) {
        return decided(dec, dev, "depth", t, t);
    }
    if (strcmp(type, "aqi") == 0) {
        return recomputed_lower(aqi, dev, t, num_at(row, iv));
    }
    if (strcmp(type, "exceeding") == 0) {
        return decided(dec, dev, NULL, t - DAY_MS, t);
    }
    return false;
}

int col_console_alerts_mark(const char *answer, size_t len, char **out)
{
    cJSON *root = cJSON_ParseWithLength(answer, len);
    cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "results");
    cJSON *series;
    int rc = 0;

    *out = NULL;
    if (!cJSON_IsArray(res)) {
        cJSON_Delete(root);
        return CT_E_PARSE;
    }
    const cJSON *dec = col_console_stmt_series(res, 2);
    const cJSON *aqi = col_console_stmt_series(res, 3);
    cJSON_ArrayForEach(series,
                       cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(res, 0), "series"))
    {
        int it = col_of(series, "time"), iy = col_of(series, "type");
        int id = col_of(series, "device"), iv = col_of(series, "value");
        cJSON *cols = cJSON_GetObjectItemCaseSensitive(series, "columns");
        cJSON *row;
        if (!cJSON_IsArray(cols) ||
            !cJSON_AddItemToArray(cols, cJSON_CreateString("over_invalid"))) {
            rc = CT_E_NOMEM;
            break;
        }
        cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(series, "values"))
        {
            bool b = over_invalid(row, it, iy, id, iv, dec, aqi);
            if (!cJSON_AddItemToArray(row, cJSON_CreateBool(b))) {
                rc = CT_E_NOMEM;
            }
        }
    }
    /* The page reads the alerts and the acknowledgements; the rest was for the marks. */
    while (rc == 0 && cJSON_GetArraySize(res) > 2) {
        cJSON_DeleteItemFromArray(res, 2);
    }
    if (rc == 0) {
        *out = cJSON_PrintUnformatted(root);
        rc = *out != NULL ? 0 : CT_E_NOMEM;
    }
    cJSON_Delete(root);
    return rc;
}
