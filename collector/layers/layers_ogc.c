/* layers_ogc.c - OGC API - Features Part 1 documents (landing page, conformance, collections,
 * items) as pure builders over the layer stations. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/err.h"
#include "layers_priv.h"

#define CRS84 COL_LAYERS_CRS84
#define HREF_MAX 1024 /* longest link we write */

static const struct {
    const char *vi;
    const char *en;
} layer_titles[CT_KIND__COUNT] = {
    [CT_KIND_AIR] = {"Không khí", "Air quality"}, [CT_KIND_WATER] = {"Nước", "Water quality"},
    [CT_KIND_RAIN] = {"Mưa", "Rainfall"},         [CT_KIND_FLOOD] = {"Ngập", "Street flooding"},
    [CT_KIND_PARKING] = {"Bãi đỗ xe", "Parking"},
};

/* Hanoi's administrative bounding box: the extent of a layer without public stations. */
static const double hanoi_bbox[4] = {105.28, 20.56, 106.02, 21.39};

static bool add_link(cJSON *links, const char *href, const char *rel, const char *type,
                     const char *title)
{
    cJSON *l = cJSON_CreateObject();
    if (!l || !cJSON_AddItemToArray(links, l)) {
        cJSON_Delete(l);
        return false;
    }
    return cJSON_AddStringToObject(l, "href", href) && cJSON_AddStringToObject(l, "rel", rel) &&
           cJSON_AddStringToObject(l, "type", type) &&
           (!title || cJSON_AddStringToObject(l, "title", title));
}

static bool linkf(cJSON *links, const char *rel, const char *type, const char *title,
                  const char *base, const char *path)
{
    char href[HREF_MAX];
    int n = snprintf(href, sizeof(href), "%s%s", base, path);
    return n > 0 && (size_t)n < sizeof(href) && add_link(links, href, rel, type, title);
}

static int finish(cJSON *doc, bool ok, char **out)
{
    int rc = ok && doc ? col_layers_print(doc, out) : CT_E_NOMEM;
    cJSON_Delete(doc);
    return rc;
}

int col_layers_ogc_landing(const char *base, char **out)
{
    if (!base || !out) {
        return CT_E_INVAL;
    }
    *out = NULL;
    cJSON *doc = cJSON_CreateObject();
    cJSON *links = doc ? cJSON_AddArrayToObject(doc, "links") : NULL;
    bool ok =
        links &&
        cJSON_AddStringToObject(doc, "title",
                                "citytel – Dữ liệu quan trắc Hà Nội / Hanoi city sensors") &&
        cJSON_AddStringToObject(
            doc, "description",
            "Chất lượng không khí, nước, mưa, ngập và bãi đỗ xe ở Hà Nội (giá trị mới nhất). "
            "Air quality, water, rain, street flooding and parking in Hanoi (latest values).") &&
        linkf(links, "self", "application/json", "Trang chính / Landing page", base, "") &&
        linkf(links, "service-desc", COL_LAYERS_OPENAPI_TYPE, "OpenAPI 3.0", base, "/api") &&
        linkf(links, "service-doc", "text/html", "Hướng dẫn / API documentation", base,
              "/api.html") &&
        linkf(links, "conformance", "application/json", "Conformance", base, "/conformance") &&
        linkf(links, "data", "application/json", "Lớp dữ liệu / Collections", base, "/collections");
    return finish(doc, ok, out);
}

int col_layers_ogc_conformance(char **out)
{
    if (!out) {
        return CT_E_INVAL;
    }
    *out = NULL;
    /* Only what is true: no HTML encoding of the resources (conf/html) and no other CRS
     * (Part 2); the OpenAPI 3.0 definition at /api covers every path (test_ogc_gdal). */
    static const char *const classes[] = {
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    };
    cJSON *doc = cJSON_CreateObject();
    cJSON *arr = doc ? cJSON_CreateStringArray(classes, 3) : NULL;
    bool ok = arr && cJSON_AddItemToObject(doc, "conformsTo", arr);
    if (!ok) {
        cJSON_Delete(arr);
    }
    return finish(doc, ok, out);
}

static cJSON *collection_obj(const char *base, enum ct_kind kind,
                             const struct ct_device *const *devs, size_t ndevs)
{
    const char *name = ct_kind_name(kind);
    double bb[4] = {INFINITY, INFINITY, -INFINITY, -INFINITY};
    for (size_t i = 0; i < ndevs; i++) {
        if (col_layers_dev_public(devs[i], kind)) {
            bb[0] = fmin(bb[0], devs[i]->lon);
            bb[1] = fmin(bb[1], devs[i]->lat);
            bb[2] = fmax(bb[2], devs[i]->lon);
            bb[3] = fmax(bb[3], devs[i]->lat);
        }
    }
    if (!isfinite(bb[0])) {
        memcpy(bb, hanoi_bbox, sizeof(bb));
    }
    char title[128];
    char path[HREF_MAX];
    snprintf(title, sizeof(title), "%s / %s", layer_titles[kind].vi, layer_titles[kind].en);
    cJSON *c = cJSON_CreateObject();
    if (!c) {
        return NULL;
    }
    cJSON *extent = cJSON_AddObjectToObject(c, "extent");
    cJSON *spatial = extent ? cJSON_AddObjectToObject(extent, "spatial") : NULL;
    cJSON *bboxes = spatial ? cJSON_AddArrayToObject(spatial, "bbox") : NULL;
    cJSON *box = cJSON_CreateDoubleArray(bb, 4);
    cJSON *crs = cJSON_CreateStringArray((const char *const[]){CRS84}, 1);
    bool ok = bboxes && box && crs && cJSON_AddItemToArray(bboxes, box);
    if (!ok) {
        cJSON_Delete(box);
    }
    ok = ok && cJSON_AddItemToObject(c, "crs", crs);
    if (!ok) {
        cJSON_Delete(crs);
    }
    cJSON *links = ok ? cJSON_AddArrayToObject(c, "links") : NULL;
    ok = links && cJSON_AddStringToObject(c, "id", name) &&
         cJSON_AddStringToObject(c, "title", title) &&
         cJSON_AddStringToObject(c, "title_vi", layer_titles[kind].vi) &&
         cJSON_AddStringToObject(c, "title_en", layer_titles[kind].en) &&
         cJSON_AddStringToObject(c, "itemType", "feature") &&
         cJSON_AddStringToObject(spatial, "crs", CRS84);
    snprintf(path, sizeof(path), "/collections/%s", name);
    ok = ok && linkf(links, "self", "application/json", title, base, path);
    snprintf(path, sizeof(path), "/collections/%s/items", name);
    ok = ok && linkf(links, "items", "application/geo+json", title, base, path);
    /* The plain GeoJSON layer lives beside the API: <base without its last segment>/layers/. */
    const char *last = strrchr(base, '/');
    int root_len = last && last > base && last[-1] != '/' ? (int)(last - base) : (int)strlen(base);
    snprintf(path, sizeof(path), "%.*s/layers/%s.geojson", root_len, base, name);
    ok = ok && add_link(links, path, "alternate", "application/geo+json", "GeoJSON");
    if (!ok) {
        cJSON_Delete(c);
        return NULL;
    }
    return c;
}

int col_layers_ogc_collections(const char *base, const struct ct_device *const *devs, size_t ndevs,
                               char **out)
{
    if (!base || !out || (ndevs && !devs)) {
        return CT_E_INVAL;
    }
    *out = NULL;
    cJSON *doc = cJSON_CreateObject();
    cJSON *links = doc ? cJSON_AddArrayToObject(doc, "links") : NULL;
    cJSON *arr = doc ? cJSON_AddArrayToObject(doc, "collections") : NULL;
    bool ok =
        links && arr &&
        linkf(links, "self", "application/json", "Lớp dữ liệu / Collections", base, "/collections");
    for (int k = 0; ok && k < CT_KIND__COUNT; k++) {
        cJSON *c = collection_obj(base, (enum ct_kind)k, devs, ndevs);
        ok = c && cJSON_AddItemToArray(arr, c);
    }
    return finish(doc, ok, out);
}

int col_layers_ogc_collection(const char *base, enum ct_kind kind,
                              const struct ct_device *const *devs, size_t ndevs, char **out)
{
    if (!base || !out || (int)kind < 0 || kind >= CT_KIND__COUNT || (ndevs && !devs)) {
        return CT_E_INVAL;
    }
    *out = NULL;
    cJSON *doc = collection_obj(base, kind, devs, ndevs);
    return finish(doc, doc != NULL, out);
}

static bool in_bbox(const struct col_layers_station *st, const struct col_layers_query *q)
{
    return !q->has_bbox || (st->dev->lon >= q->bbox[0] && st->dev->lat >= q->bbox[1] &&
                            st->dev->lon <= q->bbox[2] && st->dev->lat <= q->bbox[3]);
}

static bool in_time(const struct col_layers_station *st, const struct col_layers_query *q)
{
    if (!q->has_datetime) {
        return true;
    }
    if (st->t_ms < 0) {
        return false;
    }
    return (!q->has_start || st->t_ms >= q->start_ms) && (!q->has_end || st->t_ms <= q->end_ms);
}

/* Appends c to buf (percent-encoding what a query value must not hold raw). */
static void enc_append(char *buf, size_t cap, size_t *used, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s && *used + 4 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     strchr("-._~:/,", c);
        if (plain) {
            buf[(*used)++] = (char)c;
        } else {
            buf[(*used)++] = '%';
            buf[(*used)++] = hex[c >> 4];
            buf[(*used)++] = hex[c & 15];
        }
    }
    buf[*used] = '\0';
}

struct numtext {
    char s[40];
};

/* The shortest of %.15g / %.17g that reads back as v. */
static struct numtext shortest(double v)
{
    struct numtext t;
    snprintf(t.s, sizeof(t.s), "%.15g", v);
    if (strtod(t.s, NULL) != v) {
        snprintf(t.s, sizeof(t.s), "%.17g", v);
    }
    return t;
}

static bool items_href(char *href, size_t cap, const char *base, enum ct_kind kind,
                       const struct col_layers_query *q, uint32_t offset)
{
    int n = snprintf(href, cap, "%s/collections/%s/items?limit=%u&offset=%u", base,
                     ct_kind_name(kind), (unsigned)q->limit, (unsigned)offset);
    if (n < 0 || (size_t)n >= cap) {
        return false;
    }
    size_t used = (size_t)n;
    for (int i = 0; q->has_bbox && i < 4; i++) {
        int m =
            snprintf(href + used, cap - used, "%s%s", i ? "," : "&bbox=", shortest(q->bbox[i]).s);
        if (m < 0 || (size_t)m >= cap - used) {
            return false;
        }
        used += (size_t)m;
    }
    if (q->has_datetime) {
        int m = snprintf(href + used, cap - used, "&datetime=");
        if (m < 0 || (size_t)m >= cap - used) {
            return false;
        }
        used += (size_t)m;
        enc_append(href, cap, &used, q->datetime);
    }
    return used + 4 < cap;
}

int col_layers_ogc_items(const char *base, const struct col_layers_src *src, enum ct_kind kind,
                         const struct col_layers_query *q, char **out)
{
    if (!base || !out) {
        return CT_E_INVAL;
    }
    *out = NULL;
    struct col_layers_query defaults;
    if (!q) {
        memset(&defaults, 0, sizeof(defaults));
        defaults.limit = COL_LAYERS_LIMIT_DEFAULT;
        q = &defaults;
    }
    if (q->limit == 0 || q->limit > COL_LAYERS_LIMIT_MAX) {
        return CT_E_INVAL;
    }
    struct col_layers_build b;
    int rc = col_layers_build_stations(src, kind, &b);
    if (rc) {
        return rc;
    }
    cJSON *fc = cJSON_CreateObject();
    bool ok = fc && cJSON_AddStringToObject(fc, "type", "FeatureCollection");
    cJSON *arr = ok ? cJSON_AddArrayToObject(fc, "features") : NULL;
    cJSON *links = ok ? cJSON_AddArrayToObject(fc, "links") : NULL;
    ok = arr && links;
    size_t matched = 0;
    size_t returned = 0;
    for (size_t i = 0; ok && i < b.n; i++) {
        if (!in_bbox(&b.st[i], q) || !in_time(&b.st[i], q)) {
            continue;
        }
        if (matched >= q->offset && returned < q->limit) {
            cJSON_AddItemToArray(arr, b.st[i].feature);
            b.st[i].feature = NULL;
            returned++;
        }
        matched++;
    }
    char iso[COL_LAYERS_ISO_MAX];
    col_layers_time_format(src->now_ms, iso);
    char href[HREF_MAX + 512];
    ok = ok && cJSON_AddStringToObject(fc, "timeStamp", iso) &&
         cJSON_AddNumberToObject(fc, "numberMatched", (double)matched) &&
         cJSON_AddNumberToObject(fc, "numberReturned", (double)returned) &&
         items_href(href, sizeof(href), base, kind, q, q->offset) &&
         add_link(links, href, "self", "application/geo+json", NULL);
    if (ok && (uint64_t)q->offset + returned < matched) {
        ok = items_href(href, sizeof(href), base, kind, q, q->offset + (uint32_t)returned) &&
             add_link(links, href, "next", "application/geo+json", "Trang sau / Next page");
    }
    if (ok) {
        char path[128];
        snprintf(path, sizeof(path), "/collections/%s", ct_kind_name(kind));
        ok = linkf(links, "collection", "application/json", NULL, base, path);
    }
    rc = finish(fc, ok, out);
    col_layers_build_free(&b);
    return rc;
}

int col_layers_ogc_feature(const char *base, const struct col_layers_src *src, enum ct_kind kind,
                           const char *fid, char **out)
{
    if (!base || !out || !fid) {
        return CT_E_INVAL;
    }
    *out = NULL;
    struct col_layers_build b;
    int rc = col_layers_build_stations(src, kind, &b);
    if (rc) {
        return rc;
    }
    cJSON *f = NULL;
    for (size_t i = 0; i < b.n && !f; i++) {
        if (strcmp(b.st[i].dev->id, fid) == 0) {
            f = b.st[i].feature;
            b.st[i].feature = NULL;
        }
    }
    col_layers_build_free(&b);
    if (!f) {
        return CT_E_NOTFOUND;
    }
    char path[HREF_MAX];
    cJSON *links = cJSON_AddArrayToObject(f, "links");
    bool ok =
        links && snprintf(path, sizeof(path), "/collections/%s/items/", ct_kind_name(kind)) > 0;
    char href[HREF_MAX];
    int n = snprintf(href, sizeof(href), "%s%s", base, path);
    size_t used = n > 0 && (size_t)n < sizeof(href) ? (size_t)n : sizeof(href);
    ok = ok && used < sizeof(href);
    if (ok) {
        enc_append(href, sizeof(href), &used, fid);
        ok = add_link(links, href, "self", "application/geo+json", NULL);
    }
    snprintf(path, sizeof(path), "/collections/%s", ct_kind_name(kind));
    ok = ok && linkf(links, "collection", "application/json", NULL, base, path);
    return finish(f, ok, out);
}
