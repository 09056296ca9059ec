/* col_layers.h - pure builders of the public map layers (protocol.md section 5).
 *
 * Turns the device registry plus InfluxDB 1.x /query responses (JSON, queried with epoch=ms)
 * into the public documents: RFC 7946 GeoJSON FeatureCollections (/layers/<layer>.geojson),
 * OGC API - Features documents (landing page, conformance, collections, items) and NGSI-LD
 * entities of the FIWARE Smart Data Models. No I/O, no libuv, no globals: every function is
 * re-entrant and may run on any thread. Layers are the five kinds of ct/schema.h ("air",
 * "water", "rain", "flood", "parking") and use enum ct_kind.
 *
 * Public data only: a feature carries the registry's public members (id, name, district, ward,
 * position) and the measurement and index fields listed below: no keys, raw payloads, other tags
 * or addresses (test_layers_air_features looks for a key, the addresses and a private station).
 * Columns of a response that are not in this list are ignored.
 *
 * Documents are returned as NUL-terminated UTF-8 text in a malloc'd buffer that the caller
 * frees with free(). Errors: 0 on success or a negative CT_E_* code (ct/err.h); on error *out
 * is set to NULL. */
#ifndef COL_LAYERS_H
#define COL_LAYERS_H
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "col_storeq.h"
#include "ct/registry.h"
#include "ct/schema.h"

#define COL_LAYERS_RESPONSE_MAX (16u * 1024u * 1024u) /* largest /query body accepted */
#define COL_LAYERS_LIMIT_DEFAULT 100u                 /* OGC items: default limit */
#define COL_LAYERS_LIMIT_MAX 10000u                   /* OGC items: larger limits are clamped */
#define COL_LAYERS_QUERY_MAX 4096u                    /* longest query string accepted */
#define COL_LAYERS_ISO_MAX 32u                        /* buffer size for an ISO 8601 time */
#define COL_LAYERS_CRS84 "http://www.opengis.net/def/crs/OGC/1.3/CRS84" /* the one CRS offered */
#define COL_LAYERS_OPENAPI_TYPE "application/vnd.oai.openapi+json;version=3.0"

/* The inputs of one layer. Everything is borrowed for the duration of the call.
 * 'devs' lists registry devices (any kinds; the builder keeps the public ones of the layer's
 * kind, and for parking only mode "lot"). 'resp' are InfluxDB /query response bodies, each
 * 'resp_len[i]' bytes (at most COL_LAYERS_RESPONSE_MAX); every series of every result is
 * matched to a station by its measurement name and its "device" tag (or "lot" tag when "device"
 * is empty). Responses whose "results" carry an "error" are ignored statement by statement. */
struct col_layers_src {
    const struct ct_device *const *devs; /* borrowed */
    size_t ndevs;
    const char *const *resp; /* borrowed */
    const size_t *resp_len;  /* borrowed */
    size_t nresp;
    int64_t now_ms;   /* current time, ms since the epoch */
    int64_t stale_ms; /* a value older than this (or none) makes a feature "stale" */
    /* When > 0, a station is stale once its newest value is older than stale_intervals times
     * its expected reporting interval (the registry's interval_s, else the kind's default), as
     * the collector's liveness check counts (liveness.stale_intervals); stale_ms then only
     * applies to a station without a known interval. */
    uint32_t stale_intervals;
};

/* OGC items query parameters (parsed by col_layers_query_parse). */
struct col_layers_query {
    uint32_t limit;  /* 1..COL_LAYERS_LIMIT_MAX; default COL_LAYERS_LIMIT_DEFAULT */
    uint32_t offset; /* first matched feature returned (for "next" links) */
    bool has_bbox;   /* bbox given: minLon, minLat, maxLon, maxLat (CRS84) */
    double bbox[4];
    bool has_datetime; /* datetime given */
    bool has_start;    /* false: open start ("..") */
    bool has_end;      /* false: open end ("..") */
    int64_t start_ms;  /* instant: start_ms == end_ms */
    int64_t end_ms;
    char datetime[80]; /* the datetime parameter as decoded, for links */
};

/* One VN_AQI category of Decision 1459/QD-TCMT, Bang 1. */
struct col_layers_aqi_cat {
    int level;         /* 1..6 */
    int lo, hi;        /* inclusive AQI range */
    const char *vi;    /* "Tốt" */
    const char *en;    /* "Good" */
    const char *color; /* "#00E400" */
};

/* The category of a VN_AQI value (values above 500 are "Nguy hại"); NULL when aqi < 0. */
const struct col_layers_aqi_cat *col_layers_aqi_category(int aqi);
/* The six categories in order; *count is set to 6. Static storage. */
const struct col_layers_aqi_cat *col_layers_aqi_categories(size_t *count);

/* One band of a layer's legend: the value class a feature falls in. Strings are static (range:
 * the caller's buffer). Every layer ends with a "no data yet" band (nodata, grey). */
struct col_layers_band {
    int index;              /* 0..count-1; "band" in features and in the legend */
    const char *vi, *en;    /* label ("Kém" / "Poor") */
    const char *range;      /* value range text ("101–150", "10–20 cm"); may be "" */
    const char *color;      /* marker fill "#RRGGBB" */
    const char *text_color; /* "#000000" or "#FFFFFF": the one with the larger WCAG contrast */
    int radius;             /* circle marker radius in CSS px (0 for square markers) */
    const char *shape;      /* "circle" or "square" (parking) */
    bool emphasis;          /* drawn with a heavy outline (intense rain, deep flooding) */
    bool nodata;            /* the grey "chưa đủ số liệu / not enough data yet" band */
};

/* Number of bands of a layer (0 for a bad kind), and band 'i' of it (range written into
 * 'range', at least 32 bytes). Air: the six VN_AQI categories; water: the six VN_WQI ones;
 * rain: five hourly-amount bands, the last one emphasised; flood: the bands of
 * col_flood_default_cfg (docs/indices.md); parking: three occupancy bands. Returns 0 or
 * CT_E_INVAL. */
size_t col_layers_band_count(enum ct_kind kind);
int col_layers_band(enum ct_kind kind, size_t i, struct col_layers_band *out, char *range,
                    size_t range_cap);
/* "#000000" or "#FFFFFF", whichever contrasts more with 'hex' ("#RRGGBB") by WCAG 2 relative
 * luminance (both reach 4.5:1 on every band colour: test_layers_legend). */
const char *col_layers_text_color(const char *hex);

/* Default staleness threshold of a layer in ms (air 2 h, since indices are hourly; water 2 h;
 * rain 30 min; flood 15 min; parking 15 min); 0 for an invalid kind. */
int64_t col_layers_default_stale_ms(enum ct_kind kind);

/* Writes the InfluxQL statements the layer needs, separated by "; " (one /query request; the
 * answer has one result per statement), looking back 'lookback_s' seconds (> 0). Each
 * statement is "SELECT * FROM "<m>" WHERE time > now() - <n>s GROUP BY "device" ORDER BY time
 * DESC LIMIT 1", so each series' time is the real time of the latest point (last(*) would
 * report the range start instead). Measurements: air: air, air_aqi; water: water, water_wqi;
 * rain: rain (time only), rain_1h (mm, mm_24h); flood: flood, flood_level; parking: parking_lot
 * (grouped also by "lot"), parking; then, for every kind, the ranges staff marked invalid in the
 * lookback ("SELECT "from", "to", "revoked" FROM "console_decision" WHERE "action" = 'invalid'
 * AND time > now() - <n>s GROUP BY "station", "param""; the rows withdrawn in the console,
 * revoked = true, are left out when the answer is read). Returns 0, CT_E_INVAL (bad kind, lookback
 * 0, NULL buf) or CT_E_TOOBIG when 'cap' is too small (buf then holds a truncated string). */
int col_layers_influxql(enum ct_kind kind, uint32_t lookback_s, char *buf, size_t cap);

/* The same statements as store-neutral selections (col_storeq.h) for col_storeq_query: fills
 * sel[0..*n) (room for COL_STOREQ_SEL_MAX: up to three measurements and the invalid ranges; the
 * strings are static). Returns 0 or CT_E_INVAL. */
int col_layers_sel(enum ct_kind kind, uint32_t lookback_s, struct col_storeq_sel *sel, size_t *n);

/* Borrowed view of a registry: a malloc'd array of its devices in file order (the pointers
 * are borrowed from 'reg' and valid until ct_registry_free). The caller frees *out with free().
 * Returns 0, CT_E_INVAL or CT_E_NOMEM. An empty registry gives *out NULL and *n 0. */
int col_layers_devices(const struct ct_registry *reg, const struct ct_device ***out, size_t *n);

/* GET /layers/<layer>.geojson: an RFC 7946 FeatureCollection, one Point feature per public
 * station (or lot), in registry order; feature "id" is the device id. Properties:
 *   id, name, district, ward, kind, time (ISO 8601 UTC of the latest raw value, else of the
 *   latest index; null when none), stale (bool), units (object: member -> unit), the band of
 *   the feature (band, band_vi, band_en, color, text_color, radius, shape, emphasis, nodata:
 *   see struct col_layers_band), and
 *   air:     pm25 pm10 no2 so2 o3 co t rh, aqi_vn, aqi_vn_level, aqi_vn_category_vi,
 *            aqi_vn_category_en, aqi_vn_color, dominant, aqi_us   (from air, air_aqi)
 *   water:   ph do turb ec t nh4 cod tss, wqi_vn, preliminary      (from water, water_wqi)
 *   rain:    mm_1h, mm_24h, rain_term_vi, rain_term_en (24-h rainfall term, domain.md s.4)
 *   flood:   depth_cm, flood_band (0 = none), flood_band_vi, flood_band_en, flood_color,
 *            the collector's confirmed band from flood_level (hysteresis and minimum duration
 *            applied) named from the station's table (col_flood_station_setup: its registry
 *            bands_cm, else the default); with only a raw depth, that table's band of it
 *   parking: capacity, occupied, free, ratio (parking_lot; else the lot's raw counter and the
 *            registry capacity)
 * Validated data: with a console_decision answer among the responses (col_layers_influxql's
 * last statement), a newest raw value inside a range staff marked invalid is left out, and so
 * are the index properties (air aqi_vn, aqi_us, dominant; water wqi_vn, preliminary) when a
 * range marked invalid meets the data behind the index (air: the 12 hours before its time;
 * water: the hour before), unless the index point was recomputed by the console from the
 * validated data (air_aqi or water_wqi validated=true: the feature then has "validated": true); the
 * feature's "withheld" array names what was left out (test_layers_withheld,
 * test_layers_validated).
 * Foreign members of the collection: "updated" (ISO time of the newest value of any feature,
 * null when none) and "legend" (layer, title_vi/en, note_vi/en, method_vi/en, source_vi/en,
 * stale_vi/en, and "bands": every band of the layer in order, each with band, vi, en, range,
 * color, text_color, radius, shape, emphasis, nodata), so the page draws its legend from the
 * very table that classified the features.
 * Returns 0, CT_E_INVAL (NULL or bad kind), CT_E_TOOBIG (a response too big), CT_E_PARSE
 * (a response that is not JSON) or CT_E_NOMEM. */
int col_layers_geojson(const struct col_layers_src *src, enum ct_kind kind, char **out);

#define COL_LAYERS_HISTORY_H 24 /* hours of history per station */

/* GET /layers/<layer>.history.json: the last COL_LAYERS_HISTORY_H hours of each public station's
 * main value, one value per hour, for the chart in the map's popups. The statement (one /query
 * request, epoch=ms): air max(aqi_vn) of air_aqi; water max(wqi) of water_wqi; rain max(mm) of
 * rain_1h; flood max(depth) of flood; parking min(free) of parking_lot; "GROUP BY time(1h),
 * device fill(none)". Returns 0, CT_E_INVAL or CT_E_TOOBIG. */
int col_layers_history_influxql(enum ct_kind kind, char *buf, size_t cap);

/* The same statement as a store-neutral selection (col_storeq.h). Returns 0 or CT_E_INVAL. */
int col_layers_history_sel(enum ct_kind kind, struct col_storeq_sel *sel);
/* The history's selections: that one (air, water also last(validated): the hour's index recomputed
 * from validated data) and the ranges staff marked invalid in the last 24 hours (as in
 * col_layers_sel); fills sel[0..*n) (room for 2). Returns 0 or CT_E_INVAL. */
int col_layers_history_sels(enum ct_kind kind, struct col_storeq_sel *sel, size_t *n);
/* The document: {"layer", "hours", "title_vi", "title_en", "unit", "series": {"<id>": [[ms,
 * value], ...]}} with only the public stations of the layer in the registry ('src->devs');
 * 'src->now_ms' and the stale fields are not used. With the decisions of
 * col_layers_history_sels among the answers, a value whose data meets a range staff marked
 * invalid of its station is left out, unless the hour's index was recomputed from validated data
 * (air: the 12 hours before the index's time; water: the hour before; rain: the hour before
 * and the bucket's; flood, parking: the bucket's hour) (test_layers_history_invalid). Errors as
 * col_layers_geojson. */
int col_layers_history(const struct col_layers_src *src, enum ct_kind kind, char **out);

/* Parses an OGC items query string ('len' bytes, without '?'; percent-decoding applied):
 * limit (integer >= 1; above COL_LAYERS_LIMIT_MAX clamped), offset (integer >= 0), bbox
 * (4 numbers minLon,minLat,maxLon,maxLat; not crossing the antimeridian), datetime (RFC 3339
 * instant, or interval "start/end" with ".." or empty for an open end), f (json|geojson),
 * crs and bbox-crs (only COL_LAYERS_CRS84 or "[OGC:CRS84]"; any other CRS is an error, not
 * ignored). Other parameters, and a parameter given twice, are errors. On error returns CT_E_PARSE
 * and writes a one-line English message for a 400 response into err (always NUL-terminated when
 * errcap > 0). */
int col_layers_query_parse(const char *qs, size_t len, struct col_layers_query *q, char *err,
                           size_t errcap);

/* OGC API - Features documents. 'base' is the absolute URL of the API's landing page (for
 * example "https://map.example.vn/ogc", no trailing slash; "" gives root-relative links, which
 * GDAL 3.6 misreads); borrowed. The plain GeoJSON layers are linked as alternates at
 * <base without its last path segment>/layers/<layer>.geojson.
 * Landing page links: self, service-desc (<base>/api, COL_LAYERS_OPENAPI_TYPE), service-doc
 * (<base>/api.html), conformance, data (<base>/collections). */
int col_layers_ogc_landing(const char *base, char **out);
int col_layers_ogc_conformance(char **out);
/* /collections: the five layers with extents from the public devices of 'devs'. */
int col_layers_ogc_collections(const char *base, const struct ct_device *const *devs, size_t ndevs,
                               char **out);
/* /collections/<layer>. */
int col_layers_ogc_collection(const char *base, enum ct_kind kind,
                              const struct ct_device *const *devs, size_t ndevs, char **out);
/* /collections/<layer>/items: the layer's features filtered by bbox and datetime (a feature
 * without a time never matches a datetime filter), then 'offset' and 'limit' applied;
 * numberMatched, numberReturned, timeStamp, links self and (when more remain) next.
 * 'q' NULL means defaults. Errors as col_layers_geojson. */
int col_layers_ogc_items(const char *base, const struct col_layers_src *src, enum ct_kind kind,
                         const struct col_layers_query *q, char **out);
/* /collections/<layer>/items/<fid>: the public feature whose id is 'fid' (the device id), with
 * links self and collection. CT_E_NOTFOUND when the layer has no such public station; other
 * errors as col_layers_geojson. */
int col_layers_ogc_feature(const char *base, const struct col_layers_src *src, enum ct_kind kind,
                           const char *fid, char **out);

/* NGSI-LD entities of the FIWARE Smart Data Models, one per public station of the layer with a
 * known time (parking lots and flood stations also without one), each with "@context" [Smart
 * Data Models context, NGSI-LD core context] and id "urn:ngsi-ld:<Type>:<device id>". Types:
 * air AirQualityObserved (pm25 pm10 no2 so2 o3 co temperature relativeHumidity airQualityIndex
 * airQualityLevel), water WaterQualityObserved (pH O2 turbidity conductivity temperature NH4 COD
 * tss), rain WeatherObserved (precipitation = mm_1h), flood FloodMonitoring (currentLevel,
 * alertLevel in cm, observationDateTime), parking OffStreetParking (totalSpotNumber
 * availableSpotNumber occupiedSpotNumber occupancy). Every entity has name, location
 * (GeoProperty), address (addressLocality = district, streetAddress = ward) and, when a time is
 * known, dateObserved {"@type": "DateTime", "@value": ISO 8601}.
 * col_layers_ngsi_entities appends them to the cJSON array 'arr' (borrowed; the entities become
 * its items). Errors as col_layers_geojson; on error 'arr' may hold some entities. */
int col_layers_ngsi_entities(const struct col_layers_src *src, enum ct_kind kind,
                             struct cJSON *arr);
/* The same as one JSON array document (malloc'd text in *out). */
int col_layers_ngsi_ld(const struct col_layers_src *src, enum ct_kind kind, char **out);
/* The Smart Data Models type of a layer ("AirQualityObserved"); NULL for a bad kind. */
const char *col_layers_ngsi_type(enum ct_kind kind);

#endif
