/* layers_ngsi.c - NGSI-LD entities (FIWARE Smart Data Models) of the public layers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/err.h"
#include "layers_priv.h"

#define CTX_CORE "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
#define CTX_SDM "https://smartdatamodels.org/context.jsonld"

/* Feature property -> Smart Data Models attribute, with its UN/CEFACT unit code. */
struct attr_map {
    const char *prop;
    const char *attr;
    const char *unit_code; /* NULL: dimensionless */
};

static const struct attr_map air_attrs[] = {
    {"pm25", "pm25", "GQ"},
    {"pm10", "pm10", "GQ"},
    {"no2", "no2", "GQ"},
    {"so2", "so2", "GQ"},
    {"o3", "o3", "GQ"},
    {"co", "co", "GQ"},
    {"t", "temperature", "CEL"},
    {"rh", "relativeHumidity", "P1"},
    {"aqi_vn", "airQualityIndex", NULL},
    {NULL, NULL, NULL},
};
static const struct attr_map water_attrs[] = {
    {"ph", "pH", NULL},           {"do", "O2", "M1"},
    {"turb", "turbidity", "NTU"}, {"ec", "conductivity", "G42"},
    {"t", "temperature", "CEL"},  {"nh4", "NH4", "M1"},
    {"cod", "COD", "M1"},         {"tss", "tss", "M1"},
    {NULL, NULL, NULL},
};
static const struct attr_map rain_attrs[] = {
    {"mm_1h", "precipitation", "MMT"},
    {NULL, NULL, NULL},
};
static const struct attr_map flood_attrs[] = {
    {"depth_cm", "currentLevel", "CMT"},
    {NULL, NULL, NULL},
};
static const struct attr_map parking_attrs[] = {
    {"capacity", "totalSpotNumber", NULL},
    {"free", "availableSpotNumber", NULL},
    {"occupied", "occupiedSpotNumber", NULL},
    {"ratio", "occupancy", NULL},
    {NULL, NULL, NULL},
};

static const struct {
    const char *type;
    const struct attr_map *attrs;
} ngsi_types[CT_KIND__COUNT] = {
    [CT_KIND_AIR] = {"AirQualityObserved", air_attrs},
    [CT_KIND_WATER] = {"WaterQualityObserved", water_attrs},
    [CT_KIND_RAIN] = {"WeatherObserved", rain_attrs},
    [CT_KIND_FLOOD] = {"FloodMonitoring", flood_attrs},
    [CT_KIND_PARKING] = {"OffStreetParking", parking_attrs},
};

/* Adds {"type":"Property","value":v[,"unitCode"][,"observedAt"]}; takes ownership of v. */
static bool add_prop(cJSON *e, const char *name, cJSON *v, const char *unit_code,
                     const char *observed_at)
{
    cJSON *p = cJSON_CreateObject();
    if (!p || !v) {
        cJSON_Delete(p);
        cJSON_Delete(v);
        return false;
    }
    cJSON_AddItemToObject(p, "value", v);
    if (!cJSON_AddStringToObject(p, "type", "Property") ||
        (unit_code && !cJSON_AddStringToObject(p, "unitCode", unit_code)) ||
        (observed_at && !cJSON_AddStringToObject(p, "observedAt", observed_at))) {
        cJSON_Delete(p);
        return false;
    }
    return cJSON_AddItemToObject(e, name, p);
}

static cJSON *entity(const struct col_layers_station *st, enum ct_kind kind)
{
    const struct ct_device *d = st->dev;
    const cJSON *props = st->props;
    cJSON *e = cJSON_CreateObject();
    if (!e) {
        return NULL;
    }
    char id[CT_ID_MAX + 64];
    snprintf(id, sizeof(id), "urn:ngsi-ld:%s:%s", ngsi_types[kind].type, d->id);
    const char *ctx[] = {CTX_SDM, CTX_CORE};
    char iso[COL_LAYERS_ISO_MAX];
    const char *observed = NULL;
    if (st->t_ms >= 0) {
        col_layers_time_format(st->t_ms, iso);
        observed = iso;
    }
    bool ok = cJSON_AddStringToObject(e, "id", id) &&
              cJSON_AddStringToObject(e, "type", ngsi_types[kind].type) &&
              add_prop(e, "name", cJSON_CreateString(d->name ? d->name : d->id), NULL, NULL);
    cJSON *loc = cJSON_CreateObject();
    cJSON *pt = loc ? cJSON_AddObjectToObject(loc, "value") : NULL;
    cJSON *coords = cJSON_CreateDoubleArray((const double[]){d->lon, d->lat}, 2);
    ok = ok && pt && coords && cJSON_AddStringToObject(loc, "type", "GeoProperty") &&
         cJSON_AddStringToObject(pt, "type", "Point") &&
         cJSON_AddItemToObject(pt, "coordinates", coords);
    if (!ok || !pt) {
        cJSON_Delete(coords);
    }
    ok = ok && cJSON_AddItemToObject(e, "location", loc);
    if (!ok) {
        cJSON_Delete(loc);
        cJSON_Delete(e);
        return NULL;
    }
    cJSON *addr = cJSON_CreateObject();
    ok = addr && cJSON_AddStringToObject(addr, "addressLocality", d->district ? d->district : "") &&
         cJSON_AddStringToObject(addr, "streetAddress", d->ward ? d->ward : "") &&
         cJSON_AddStringToObject(addr, "addressRegion", "Hà Nội") &&
         cJSON_AddStringToObject(addr, "addressCountry", "VN");
    if (!ok) {
        cJSON_Delete(addr);
    }
    ok = ok && add_prop(e, "address", addr, NULL, NULL);
    if (ok && observed) {
        /* NGSI-LD's typed value for a time (ETSI GS CIM 009, "DateTime" literal). */
        cJSON *dt = cJSON_CreateObject();
        ok = dt && cJSON_AddStringToObject(dt, "@type", "DateTime") &&
             cJSON_AddStringToObject(dt, "@value", observed);
        if (!ok) {
            cJSON_Delete(dt);
        }
        ok = ok && add_prop(e, "dateObserved", dt, NULL, NULL);
        /* FloodMonitoring names the time observationDateTime. */
        ok = ok && (kind != CT_KIND_FLOOD ||
                    add_prop(e, "observationDateTime", cJSON_CreateString(observed), NULL, NULL));
    }
    for (const struct attr_map *a = ngsi_types[kind].attrs; ok && a->prop; a++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(props, a->prop);
        if (cJSON_IsNumber(v)) {
            ok = add_prop(e, a->attr, cJSON_CreateNumber(v->valuedouble), a->unit_code, observed);
        }
    }
    const cJSON *cat = cJSON_GetObjectItemCaseSensitive(props, "aqi_vn_category_vi");
    if (ok && kind == CT_KIND_AIR && cJSON_IsString(cat)) {
        ok = add_prop(e, "airQualityLevel", cJSON_CreateString(cat->valuestring), NULL, observed);
    }
    if (ok && kind == CT_KIND_FLOOD) {
        double alert = d->nbands ? d->bands_cm[0] : 10.0;
        ok = add_prop(e, "alertLevel", cJSON_CreateNumber(alert), "CMT", NULL);
    }
    cJSON *ctxa = ok ? cJSON_CreateStringArray(ctx, 2) : NULL;
    ok = ok && ctxa && cJSON_AddItemToObject(e, "@context", ctxa);
    if (!ok) {
        cJSON_Delete(e);
        return NULL;
    }
    return e;
}

const char *col_layers_ngsi_type(enum ct_kind kind)
{
    return (int)kind >= 0 && kind < CT_KIND__COUNT ? ngsi_types[kind].type : NULL;
}

int col_layers_ngsi_entities(const struct col_layers_src *src, enum ct_kind kind, cJSON *arr)
{
    if (!arr || !cJSON_IsArray(arr)) {
        return CT_E_INVAL;
    }
    struct col_layers_build b;
    int rc = col_layers_build_stations(src, kind, &b);
    if (rc) {
        return rc;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < b.n; i++) {
        /* The observed types require dateObserved: a station that never reported is left out. */
        if (b.st[i].t_ms < 0 && kind != CT_KIND_PARKING && kind != CT_KIND_FLOOD) {
            continue;
        }
        cJSON *e = entity(&b.st[i], kind);
        ok = e && cJSON_AddItemToArray(arr, e);
    }
    col_layers_build_free(&b);
    return ok ? 0 : CT_E_NOMEM;
}

int col_layers_ngsi_ld(const struct col_layers_src *src, enum ct_kind kind, char **out)
{
    if (!out) {
        return CT_E_INVAL;
    }
    *out = NULL;
    cJSON *arr = cJSON_CreateArray();
    int rc = arr ? col_layers_ngsi_entities(src, kind, arr) : CT_E_NOMEM;
    rc = rc ? rc : col_layers_print(arr, out);
    cJSON_Delete(arr);
    return rc;
}
