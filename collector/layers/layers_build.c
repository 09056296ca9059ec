/* layers_build.c - stations of a layer from the registry and InfluxDB /query responses, and the
 * /layers/<layer>.geojson FeatureCollection. Pure: no I/O. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/err.h"
#include "col_indices_flood.h"
#include "col_indices_rain.h"
#include "layers_priv.h"

/* ---- stations ---- */

static int cmp_station(const void *a, const void *b)
{
    const struct col_layers_station *const *x = a;
    const struct col_layers_station *const *y = b;
    return strcmp((*x)->dev->id, (*y)->dev->id);
}

/* Index for lookups by id: pointers to the stations sorted by id. */
struct st_index {
    struct col_layers_station **sorted;
    size_t n;
};

static struct col_layers_station *find_station(const struct st_index *ix, const char *id)
{
    struct ct_device key_dev;
    struct col_layers_station key;
    const struct col_layers_station *keyp = &key;
    size_t idlen = strlen(id);
    if (idlen == 0 || idlen > CT_ID_MAX) {
        return NULL;
    }
    memcpy(key_dev.id, id, idlen + 1);
    key.dev = &key_dev;
    struct col_layers_station **hit =
        bsearch(&keyp, ix->sorted, ix->n, sizeof(*ix->sorted), cmp_station);
    return hit ? *hit : NULL;
}

static bool add_num(cJSON *obj, const char *name, double v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(obj, name);
    return cJSON_AddNumberToObject(obj, name, v) != NULL;
}

static bool add_str(cJSON *obj, const char *name, const char *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(obj, name);
    return cJSON_AddStringToObject(obj, name, v) != NULL;
}

static bool add_unit(cJSON *props, const char *name, const char *unit)
{
    cJSON *units = cJSON_GetObjectItemCaseSensitive(props, "units");
    return units && add_str(units, name, unit);
}

static int new_feature(struct col_layers_station *st, enum ct_kind kind)
{
    const struct ct_device *d = st->dev;
    cJSON *f = cJSON_CreateObject();
    if (!f) {
        return CT_E_NOMEM;
    }
    st->feature = f;
    st->t_raw = st->t_index = st->t_ms = -1;
    st->t_der[0] = st->t_der[1] = -1;
    st->valid_der[0] = st->valid_der[1] = -1;
    if (!cJSON_AddStringToObject(f, "type", "Feature") ||
        !cJSON_AddStringToObject(f, "id", d->id)) {
        return CT_E_NOMEM;
    }
    cJSON *geom = cJSON_AddObjectToObject(f, "geometry");
    cJSON *coords = geom ? cJSON_CreateDoubleArray((const double[]){d->lon, d->lat}, 2) : NULL;
    cJSON *props = cJSON_CreateObject();
    if (!coords || !props || !cJSON_AddStringToObject(geom, "type", "Point")) {
        cJSON_Delete(coords);
        cJSON_Delete(props);
        return CT_E_NOMEM;
    }
    cJSON_AddItemToObject(geom, "coordinates", coords);
    cJSON_AddItemToObject(f, "properties", props);
    st->props = props;
    if (!cJSON_AddStringToObject(props, "id", d->id) ||
        !cJSON_AddStringToObject(props, "name", d->name ? d->name : d->id) ||
        !cJSON_AddStringToObject(props, "district", d->district ? d->district : "") ||
        !cJSON_AddStringToObject(props, "ward", d->ward ? d->ward : "") ||
        !cJSON_AddStringToObject(props, "kind", ct_kind_name(kind)) ||
        !cJSON_AddNullToObject(props, "time") || !cJSON_AddTrueToObject(props, "stale") ||
        !cJSON_AddObjectToObject(props, "units")) {
        return CT_E_NOMEM;
    }
    return 0;
}

/* Index columns kept per measurement: column -> property (and unit). */
struct col_map {
    const char *meas;
    const char *column;
    const char *prop;
    const char *unit;
};

static const struct col_map index_cols[] = {
    {"air_aqi", "aqi_vn", "aqi_vn", NULL},
    {"air_aqi", "aqi_us", "aqi_us", NULL},
    {"water_wqi", "wqi_vn", "wqi_vn", NULL},
    {"water_wqi", "wqi", "wqi_vn", NULL},
    {"rain_1h", "mm", "mm_1h", "mm"},
    {"rain_1h", "mm_24h", "mm_24h", "mm"},
    {"flood_level", "depth_cm", "depth_cm", "cm"},
    {"parking_lot", "capacity", "capacity", "spaces"},
    {"parking_lot", "occupied", "occupied", "spaces"},
    {"parking_lot", "free", "free", "spaces"},
    {"parking_lot", "ratio", "ratio", "1"},
};

/* Applies one column value of the newest row of a series to a station. */
static int apply_column(struct col_layers_station *st, enum ct_kind kind, const char *meas,
                        bool raw, const char *col, const cJSON *v)
{
    if (strncmp(col, "last_", 5) == 0) {
        col += 5;
    }
    if (raw) {
        /* Rain's raw interval values (mm, tips) are not public; its time still counts. */
        if (kind == CT_KIND_RAIN) {
            return 0;
        }
        const struct ct_member *m = ct_schema_find(kind, col, strlen(col));
        if (!m || !cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
            return 0;
        }
        /* A lot's raw counter only fills in what parking_lot did not give. */
        if (kind == CT_KIND_PARKING && cJSON_GetObjectItemCaseSensitive(st->props, m->name)) {
            return 0;
        }
        const char *prop = kind == CT_KIND_FLOOD ? "depth_cm" : m->name;
        if (!add_num(st->props, prop, v->valuedouble) || !add_unit(st->props, prop, m->unit)) {
            return CT_E_NOMEM;
        }
        return 0;
    }
    if (strcmp(meas, "flood_level") == 0) {
        /* The collector's confirmed band (hysteresis and minimum duration applied), so the map
         * and the alerts agree. Its name and colour come from the station's table when the
         * feature is finished (finish_station); text fields of points written before 2026-12-07
         * (band_vi, band_en, color) are not read. */
        if (strcmp(col, "band") == 0 && cJSON_IsNumber(v) && v->valuedouble >= 0 &&
            v->valuedouble < COL_FLOOD_MAX_BANDS) {
            return add_num(st->props, "flood_band", v->valuedouble) ? 0 : CT_E_NOMEM;
        }
    }
    if (strcmp(meas, "water_wqi") == 0 && strcmp(col, "preliminary") == 0) {
        /* Probe-only WQI (no BOD5, coliform, metals, pesticides): said on the map. */
        if (cJSON_IsBool(v) || cJSON_IsNumber(v)) {
            bool pre = cJSON_IsBool(v) ? cJSON_IsTrue(v) : v->valuedouble != 0;
            cJSON_DeleteItemFromObjectCaseSensitive(st->props, "preliminary");
            return cJSON_AddBoolToObject(st->props, "preliminary", pre) ? 0 : CT_E_NOMEM;
        }
        return 0;
    }
    if ((strcmp(meas, "air_aqi") == 0 || strcmp(meas, "water_wqi") == 0) &&
        strcmp(col, "validated") == 0) {
        /* Recomputed by the console from the validated data (console_recompute.c). */
        st->validated = cJSON_IsTrue(v) || (cJSON_IsNumber(v) && v->valuedouble != 0);
        return 0;
    }
    if (strcmp(meas, "air_aqi") == 0 && (strcmp(col, "dominant") == 0)) {
        /* Only a known member name is published, never free text from the store. */
        if (cJSON_IsString(v) &&
            ct_schema_find(CT_KIND_AIR, v->valuestring, strlen(v->valuestring))) {
            return add_str(st->props, "dominant", v->valuestring) ? 0 : CT_E_NOMEM;
        }
        return 0;
    }
    for (size_t i = 0; i < sizeof(index_cols) / sizeof(index_cols[0]); i++) {
        const struct col_map *cm = &index_cols[i];
        if (strcmp(cm->meas, meas) != 0 || strcmp(cm->column, col) != 0) {
            continue;
        }
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
            return 0;
        }
        /* The raw depth is the latest value; the index's depth only fills in. */
        if (kind == CT_KIND_FLOOD && st->t_raw >= 0 &&
            cJSON_GetObjectItemCaseSensitive(st->props, cm->prop)) {
            return 0;
        }
        if (!add_num(st->props, cm->prop, v->valuedouble)) {
            return CT_E_NOMEM;
        }
        if (cm->unit && !add_unit(st->props, cm->prop, cm->unit)) {
            return CT_E_NOMEM;
        }
        return 0;
    }
    return 0;
}

static bool row_time(const cJSON *t, int64_t *ms)
{
    if (cJSON_IsNumber(t) && isfinite(t->valuedouble) && fabs(t->valuedouble) < 9.0e15) {
        *ms = (int64_t)t->valuedouble;
        return true;
    }
    if (cJSON_IsString(t)) {
        return col_layers_time_parse(t->valuestring, strlen(t->valuestring), ms) == 0;
    }
    return false;
}

/* A series of console_decision (tags station, param; columns time, from, to, revoked): keeps
 * each range not withdrawn on its station for finish_station. */
static void apply_decisions(const struct st_index *ix, const cJSON *series)
{
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(series, "tags");
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(tags, "station");
    const cJSON *param = cJSON_GetObjectItemCaseSensitive(tags, "param");
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(series, "columns");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(series, "values");
    struct col_layers_station *st = cJSON_IsString(dev) ? find_station(ix, dev->valuestring) : NULL;
    struct col_layers_deccols dc;
    const cJSON *row;
    int64_t from_ms, to_ms;

    if (st == NULL || !cJSON_IsString(param) || strlen(param->valuestring) >= 16) {
        return;
    }
    col_layers_decision_cols(cols, &dc);
    cJSON_ArrayForEach(row, rows)
    {
        if (!col_layers_decision_range(&dc, row, &from_ms, &to_ms)) {
            continue;
        }
        if (st->ninval == COL_LAYERS_INVALID_MAX) {
            st->inval_overflow = true;
            continue;
        }
        snprintf(st->inval[st->ninval].param, sizeof(st->inval[0].param), "%s", param->valuestring);
        st->inval[st->ninval].from_ms = from_ms;
        st->inval[st->ninval].to_ms = to_ms;
        st->ninval++;
    }
}

static int apply_series(const struct st_index *ix, enum ct_kind kind, const cJSON *series)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(series, "name");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(series, "tags");
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(series, "columns");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(series, "values");
    if (!cJSON_IsString(name) || !cJSON_IsArray(cols) || !cJSON_IsArray(rows)) {
        return 0;
    }
    if (strcmp(name->valuestring, "console_decision") == 0) {
        apply_decisions(ix, series);
        return 0;
    }
    int which = -1;
    for (int i = 0; i < 3; i++) {
        if (col_layers_meas[kind][i] && strcmp(col_layers_meas[kind][i], name->valuestring) == 0) {
            which = i;
        }
    }
    if (which < 0) {
        return 0;
    }
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(tags, "device");
    if (!cJSON_IsString(dev) || dev->valuestring[0] == '\0') {
        dev = cJSON_GetObjectItemCaseSensitive(tags, "lot");
    }
    if (!cJSON_IsString(dev)) {
        return 0;
    }
    struct col_layers_station *st = find_station(ix, dev->valuestring);
    if (!st) {
        return 0;
    }
    int tcol = -1;
    int ncols = cJSON_GetArraySize(cols);
    for (int i = 0; i < ncols; i++) {
        const cJSON *c = cJSON_GetArrayItem(cols, i);
        if (cJSON_IsString(c) && strcmp(c->valuestring, "time") == 0) {
            tcol = i;
        }
    }
    /* The newest row of the series. */
    const cJSON *best = NULL;
    int64_t best_t = -1;
    const cJSON *row;
    cJSON_ArrayForEach(row, rows)
    {
        int64_t t;
        if (cJSON_IsArray(row) && tcol >= 0 && row_time(cJSON_GetArrayItem(row, tcol), &t) &&
            t > best_t) {
            best = row;
            best_t = t;
        }
    }
    if (!best) {
        return 0;
    }
    bool raw = which == 0;
    int64_t *slot = raw ? &st->t_raw : &st->t_index;
    if (best_t < *slot) {
        return 0;
    }
    *slot = best_t;
    if (!raw) {
        st->t_der[which - 1] = best_t;
        st->valid_der[which - 1] = -1;
    }
    for (int i = 0; i < ncols; i++) {
        const cJSON *c = cJSON_GetArrayItem(cols, i);
        if (i == tcol || !cJSON_IsString(c)) {
            continue;
        }
        if (!raw && (strcmp(c->valuestring, "validated") == 0 ||
                     strcmp(c->valuestring, "last_validated") == 0)) {
            const cJSON *v = cJSON_GetArrayItem(best, i);
            if (cJSON_IsBool(v) || cJSON_IsNumber(v)) {
                st->valid_der[which - 1] =
                    cJSON_IsTrue(v) || (cJSON_IsNumber(v) && v->valuedouble != 0);
            }
        }
        int rc = apply_column(st, kind, name->valuestring, raw, c->valuestring,
                              cJSON_GetArrayItem(best, i));
        if (rc) {
            return rc;
        }
    }
    return 0;
}

static int apply_response(const struct st_index *ix, enum ct_kind kind, const char *text,
                          size_t len)
{
    if (len > COL_LAYERS_RESPONSE_MAX) {
        return CT_E_TOOBIG;
    }
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root) {
        return CT_E_PARSE;
    }
    int rc = 0;
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(root, "results");
    const cJSON *res;
    cJSON_ArrayForEach(res, results)
    {
        const cJSON *series = cJSON_GetObjectItemCaseSensitive(res, "series");
        const cJSON *s;
        cJSON_ArrayForEach(s, series)
        {
            rc = apply_series(ix, kind, s);
            if (rc) {
                goto out_free_root;
            }
        }
    }
out_free_root:
    cJSON_Delete(root);
    return rc;
}

static double num_prop(const cJSON *props, const char *name, bool *has)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(props, name);
    *has = cJSON_IsNumber(v);
    return *has ? v->valuedouble : 0.0;
}

/* The 24-hour rainfall term of the hydro-meteorological bulletins (domain.md section 4) as the
 * map shows it: collector/indices' classification and names (col_rain_term_24h, the one
 * implementation; test_indices_rain), with a capital first letter, into 'vi' and 'en' (each
 * 48 bytes). Returns false for a sum that has no term (negative, not a number). */
static bool rain_term(double mm24, char vi[48], char en[48])
{
    enum col_rain_term t = col_rain_term_24h(mm24);
    const char *v = col_rain_term_name(t, true);
    const char *e = col_rain_term_name(t, false);

    if (v == NULL || e == NULL) {
        return false;
    }
    snprintf(vi, 48, "%s", v);
    snprintf(en, 48, "%s", e);
    /* Every term begins with an ASCII letter ("mưa ...", "không mưa", "light rain"). */
    vi[0] = (char)toupper((unsigned char)vi[0]);
    en[0] = (char)toupper((unsigned char)en[0]);
    return true;
}

/* How old a station's newest value may be before it is stale: stale_intervals times its
 * expected interval, as the collector's liveness check counts (test_layers_geojson). */
static int64_t station_stale_ms(const struct col_layers_src *src, const struct ct_device *dev,
                                enum ct_kind kind)
{
    uint32_t iv = dev->interval_s ? dev->interval_s : ct_kind_default_interval_s(kind);
    if (src->stale_intervals == 0 || iv == 0) {
        return src->stale_ms;
    }
    return (int64_t)iv * 1000 * (int64_t)src->stale_intervals;
}

/* True when staff marked 'param' invalid over a range that meets [from_ms, to_ms]. */
static bool marked_invalid(const struct col_layers_station *st, const char *param, int64_t from_ms,
                           int64_t to_ms)
{
    if (st->inval_overflow) {
        return true;
    }
    for (size_t i = 0; i < st->ninval; i++) {
        if ((param == NULL || strcmp(st->inval[i].param, param) == 0) &&
            st->inval[i].from_ms <= to_ms && st->inval[i].to_ms >= from_ms) {
            return true;
        }
    }
    return false;
}

/* Removes property 'prop' (and its unit) and names it in "withheld". */
static bool withhold(cJSON *p, const char *prop)
{
    cJSON *units = cJSON_GetObjectItemCaseSensitive(p, "units");
    cJSON *list = cJSON_GetObjectItemCaseSensitive(p, "withheld");

    if (cJSON_GetObjectItemCaseSensitive(p, prop) == NULL) {
        return true;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(p, prop);
    cJSON_DeleteItemFromObjectCaseSensitive(units, prop);
    if (list == NULL) {
        list = cJSON_AddArrayToObject(p, "withheld");
    }
    cJSON *s = cJSON_CreateString(prop);
    return list != NULL && s != NULL && cJSON_AddItemToArray(list, s);
}

/* Validated data on the public map: a raw value staff marked invalid in the console is not
 * shown; an index computed from an hour that holds a range marked invalid (air: the 12 hours of
 * its NowCast; water: its hour) is shown only from the point the console recomputed from the
 * validated data (air_aqi or water_wqi with validated=true: "validated": true on the feature),
 * else withheld
 * until the recompute lands; the feature names what it withholds in "withheld"
 * (test_layers_withheld, test_layers_validated, e2e_console). */
static bool withhold_invalid(struct col_layers_station *st, enum ct_kind kind)
{
    static const char *const air_index[] = {"aqi_vn", "aqi_us", "dominant", NULL};
    static const char *const water_index[] = {"wqi_vn", "preliminary", NULL};
    const char *const *index = kind == CT_KIND_AIR     ? air_index
                               : kind == CT_KIND_WATER ? water_index
                                                       : NULL;
    size_t nm = 0;
    const struct ct_member *ms = ct_schema_members(kind, &nm);
    bool shown = index != NULL && st->validated &&
                 cJSON_GetObjectItemCaseSensitive(st->props, index[0]) != NULL;
    int64_t from = 0, to = 0;
    bool ok = !shown || cJSON_AddTrueToObject(st->props, "validated") != NULL;

    if (st->ninval == 0 && !st->inval_overflow) {
        return ok;
    }
    for (size_t i = 0; ms != NULL && st->t_raw >= 0 && i < nm && ok; i++) {
        const struct ct_member *m = &ms[i];
        if (marked_invalid(st, m->name, st->t_raw, st->t_raw)) {
            ok = withhold(st->props, kind == CT_KIND_FLOOD ? "depth_cm" : m->name);
        }
    }
    if (index != NULL && st->t_index >= 0) {
        col_layers_index_window(kind, false, st->t_index, &from, &to);
    }
    if (index != NULL && st->t_index >= 0 && !shown && marked_invalid(st, NULL, from, to)) {
        for (size_t i = 0; index[i] != NULL && ok; i++) {
            ok = withhold(st->props, index[i]);
        }
    }
    return ok;
}

/* Rain, flood and parking: a derived value whose point the console marked validated=false (a
 * flood depth or a lot's count staff marked invalid), or whose data meets a range marked invalid
 * (rain: the sum's hour or 24 hours, both on rain_1h; flood, parking: the point's time) and that
 * was not recomputed (validated=true), is withheld and named in "withheld"; a value shown from a
 * recomputed point sets "validated": true (console_recompute_events.c;
 * test_layers_validated_events, e2e_console). */
static bool withhold_derived(struct col_layers_station *st, enum ct_kind kind)
{
    static const char *const mm_1h[] = {"mm_1h", NULL};
    static const char *const mm_24h[] = {"mm_24h", NULL};
    static const char *const flood[] = {"flood_band", "flood_band_vi", "flood_band_en",
                                        "flood_color", NULL};
    static const char *const lot[] = {"capacity", "occupied", "free", "ratio", NULL};
    const char *const *props[2] = {kind == CT_KIND_RAIN      ? mm_1h
                                   : kind == CT_KIND_FLOOD   ? flood
                                   : kind == CT_KIND_PARKING ? lot
                                                             : NULL,
                                   kind == CT_KIND_RAIN ? mm_24h : NULL};
    const int64_t back[2] = {kind == CT_KIND_RAIN ? 3600000 : 0, 86400000};
    bool shown = false;
    bool ok = true;

    for (size_t k = 0; k < 2 && ok; k++) {
        /* Rain's two sums ride on one point (rain_1h: mm and mm_24h), each with its own reach
         * back; the other kinds have one derived measurement. */
        const size_t src = kind == CT_KIND_RAIN ? 0 : k;
        int64_t t = st->t_der[src];
        int valid = st->valid_der[src];
        if (props[k] == NULL || t < 0) {
            continue;
        }
        if (valid == 0 || (valid != 1 && marked_invalid(st, NULL, t - back[k], t))) {
            for (size_t i = 0; props[k][i] != NULL && ok; i++) {
                ok = withhold(st->props, props[k][i]);
            }
            /* A flood depth from the point itself (no newer raw reading) goes too. */
            ok = ok && (kind != CT_KIND_FLOOD || st->t_raw > t || withhold(st->props, "depth_cm"));
        } else if (valid == 1 && cJSON_GetObjectItemCaseSensitive(st->props, props[k][0]) != NULL) {
            shown = true;
        }
    }
    if (ok && shown && cJSON_GetObjectItemCaseSensitive(st->props, "validated") == NULL) {
        ok = cJSON_AddTrueToObject(st->props, "validated") != NULL;
    }
    return ok;
}

static int finish_station(struct col_layers_station *st, enum ct_kind kind,
                          const struct col_layers_src *src)
{
    cJSON *p = st->props;
    bool has = false;
    bool ok = true;

    if (!withhold_invalid(st, kind) || !withhold_derived(st, kind)) {
        return CT_E_NOMEM;
    }
    if (kind == CT_KIND_AIR) {
        double aqi = num_prop(p, "aqi_vn", &has);
        const struct col_layers_aqi_cat *c = has ? col_layers_aqi_category((int)lround(aqi)) : NULL;
        if (c) {
            ok = add_num(p, "aqi_vn_level", c->level) && add_str(p, "aqi_vn_category_vi", c->vi) &&
                 add_str(p, "aqi_vn_category_en", c->en) && add_str(p, "aqi_vn_color", c->color);
        }
    } else if (kind == CT_KIND_RAIN) {
        double mm24 = num_prop(p, "mm_24h", &has);
        if (has) {
            char vi[48];
            char en[48];
            if (rain_term(mm24, vi, en)) {
                ok = add_str(p, "rain_term_vi", vi) && add_str(p, "rain_term_en", en);
            }
        }
    } else if (kind == CT_KIND_FLOOD) {
        /* The station's own table (its registry bands_cm, else the default), the one the
         * collector's flood_level points use: it names the confirmed band, or, with only a raw
         * depth, gives the band of that depth. Proved by test_layers_water_rain_flood_parking. */
        struct col_flood_station fs;
        bool has_band = false;
        double depth = num_prop(p, "depth_cm", &has);
        double band = num_prop(p, "flood_band", &has_band);
        (void)col_flood_station_setup(&fs, st->dev->bands_cm, st->dev->nbands);
        if (has_band || has) {
            size_t b = has_band ? (size_t)band : col_flood_band_of(&fs.cfg, depth);
            if (b >= fs.cfg.n_bands) {
                b = fs.cfg.n_bands - 1;
            }
            cJSON_DeleteItemFromObjectCaseSensitive(p, "flood_band");
            ok = add_num(p, "flood_band", (double)b) &&
                 add_str(p, "flood_band_vi", fs.cfg.bands[b].vi) &&
                 add_str(p, "flood_band_en", fs.cfg.bands[b].en) &&
                 add_str(p, "flood_color", fs.cfg.bands[b].color);
        }
    } else if (kind == CT_KIND_PARKING) {
        bool has_cap = false;
        bool has_occ = false;
        bool has_free = false;
        bool has_ratio = false;
        double cap = num_prop(p, "capacity", &has_cap);
        double occ = num_prop(p, "occupied", &has_occ);
        num_prop(p, "free", &has_free);
        num_prop(p, "ratio", &has_ratio);
        if (!has_cap && st->dev->capacity > 0) {
            cap = (double)st->dev->capacity;
            has_cap = true;
            ok = add_num(p, "capacity", cap) && add_unit(p, "capacity", "spaces");
        }
        if (ok && has_cap && has_occ && !has_free) {
            ok = add_num(p, "free", cap > occ ? cap - occ : 0.0) && add_unit(p, "free", "spaces");
        }
        if (ok && has_cap && has_occ && !has_ratio && cap > 0) {
            ok = add_num(p, "ratio", occ / cap) && add_unit(p, "ratio", "1");
        }
    }
    if (!ok || col_layers_band_apply(kind, p) != 0) {
        return CT_E_NOMEM;
    }
    st->t_ms = st->t_raw >= 0 ? st->t_raw : st->t_index;
    if (st->t_ms >= 0) {
        char iso[COL_LAYERS_ISO_MAX];
        col_layers_time_format(st->t_ms, iso);
        cJSON_DeleteItemFromObjectCaseSensitive(p, "time");
        cJSON_DeleteItemFromObjectCaseSensitive(p, "stale");
        bool stale = src->now_ms - st->t_ms > station_stale_ms(src, st->dev, kind);
        if (!cJSON_AddStringToObject(p, "time", iso) || !cJSON_AddBoolToObject(p, "stale", stale)) {
            return CT_E_NOMEM;
        }
    }
    return 0;
}

void col_layers_build_free(struct col_layers_build *b)
{
    if (!b) {
        return;
    }
    for (size_t i = 0; i < b->n; i++) {
        cJSON_Delete(b->st[i].feature);
    }
    free(b->st);
    b->st = NULL;
    b->n = 0;
}

int col_layers_build_stations(const struct col_layers_src *src, enum ct_kind kind,
                              struct col_layers_build *b)
{
    if (!src || !b || (int)kind < 0 || kind >= CT_KIND__COUNT || (src->ndevs && !src->devs) ||
        (src->nresp && (!src->resp || !src->resp_len))) {
        return CT_E_INVAL;
    }
    b->st = NULL;
    b->n = 0;
    size_t n = 0;
    for (size_t i = 0; i < src->ndevs; i++) {
        n += col_layers_dev_public(src->devs[i], kind);
    }
    int rc = 0;
    struct st_index ix = {NULL, 0};
    if (n == 0) {
        return 0;
    }
    b->st = calloc(n, sizeof(*b->st));
    ix.sorted = calloc(n, sizeof(*ix.sorted));
    if (!b->st || !ix.sorted) {
        rc = CT_E_NOMEM;
        goto out_fail;
    }
    for (size_t i = 0; i < src->ndevs; i++) {
        if (col_layers_dev_public(src->devs[i], kind)) {
            b->st[b->n].dev = src->devs[i];
            b->n++;
            rc = new_feature(&b->st[b->n - 1], kind);
            if (rc) {
                goto out_fail;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        ix.sorted[i] = &b->st[i];
    }
    qsort(ix.sorted, n, sizeof(*ix.sorted), cmp_station);
    ix.n = n;
    for (size_t i = 0; i < src->nresp; i++) {
        rc = apply_response(&ix, kind, src->resp[i], src->resp_len[i]);
        if (rc) {
            goto out_fail;
        }
    }
    for (size_t i = 0; i < n; i++) {
        rc = finish_station(&b->st[i], kind, src);
        if (rc) {
            goto out_fail;
        }
    }
    free(ix.sorted);
    return 0;
out_fail:
    free(ix.sorted);
    col_layers_build_free(b);
    return rc;
}

int col_layers_geojson(const struct col_layers_src *src, enum ct_kind kind, char **out)
{
    if (!out) {
        return CT_E_INVAL;
    }
    *out = NULL;
    struct col_layers_build b;
    int rc = col_layers_build_stations(src, kind, &b);
    if (rc) {
        return rc;
    }
    cJSON *fc = cJSON_CreateObject();
    bool ok = fc && cJSON_AddStringToObject(fc, "type", "FeatureCollection");
    cJSON *arr = ok ? cJSON_AddArrayToObject(fc, "features") : NULL;
    if (!arr) {
        rc = CT_E_NOMEM;
        goto out_free;
    }
    int64_t newest = -1;
    for (size_t i = 0; i < b.n; i++) {
        cJSON_AddItemToArray(arr, b.st[i].feature);
        b.st[i].feature = NULL;
        newest = b.st[i].t_ms > newest ? b.st[i].t_ms : newest;
    }
    /* The data's own time, so the page says how fresh the data is, not when it was fetched. */
    char iso[COL_LAYERS_ISO_MAX];
    col_layers_time_format(newest, iso);
    if (!(newest >= 0 ? cJSON_AddStringToObject(fc, "updated", iso)
                      : cJSON_AddNullToObject(fc, "updated"))) {
        rc = CT_E_NOMEM;
        goto out_free;
    }
    rc = col_layers_legend_add(kind, fc);
    rc = rc ? rc : col_layers_print(fc, out);
out_free:
    cJSON_Delete(fc);
    col_layers_build_free(&b);
    return rc;
}
