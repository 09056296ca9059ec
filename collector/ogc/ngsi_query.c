/* ngsi_query.c - the NGSI-LD entity query (ETSI GS CIM 009, 6.4.3.2 and 4.9 / 4.10): parsing
 * of type, id, q, georel, geometry, coordinates, geoproperty, limit, offset, count, and the
 * matching of one entity. Pure: no I/O. Values in q are parsed by cJSON (a JSON number, string
 * or boolean; an unquoted DateTime is taken as a string) and compared as such. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_ogc.h"
#include "ct/err.h"

#define ALL_KINDS ((1u << CT_KIND__COUNT) - 1u)
#define EARTH_RADIUS_M 6371008.8 /* mean radius (IUGG) */

static int refuse(struct col_ngsi_problem *pb, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(struct col_ngsi_problem *pb, const char *type, const char *fmt, ...)
{
    va_list ap;
    pb->type = type;
    va_start(ap, fmt);
    vsnprintf(pb->detail, sizeof(pb->detail), fmt, ap);
    va_end(ap);
    return CT_E_PARSE;
}

int col_ngsi_id_kind(const char *id, enum ct_kind *kind)
{
    static const char prefix[] = "urn:ngsi-ld:";
    if (strncmp(id, prefix, sizeof(prefix) - 1) != 0) {
        return CT_E_NOTFOUND;
    }
    const char *t = id + sizeof(prefix) - 1;
    for (int k = 0; k < CT_KIND__COUNT; k++) {
        const char *name = col_layers_ngsi_type((enum ct_kind)k);
        size_t n = strlen(name);
        if (strncmp(t, name, n) == 0 && t[n] == ':' && t[n + 1] != '\0') {
            *kind = (enum ct_kind)k;
            return 0;
        }
    }
    return CT_E_NOTFOUND;
}

static bool parse_u32(const char *v, uint32_t max, uint32_t *out)
{
    char *end;
    if (*v < '0' || *v > '9') {
        return false;
    }
    unsigned long long n = strtoull(v, &end, 10);
    if (*end != '\0' || n > max) {
        return false;
    }
    *out = (uint32_t)n;
    return true;
}

static int parse_types(const char *v, struct col_ngsi_query *q)
{
    unsigned mask = 0;
    const char *p = v;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        for (int k = 0; k < CT_KIND__COUNT; k++) {
            const char *name = col_layers_ngsi_type((enum ct_kind)k);
            if (strlen(name) == n && strncmp(p, name, n) == 0) {
                mask |= 1u << k;
            }
        }
        p += n + (comma ? 1 : 0);
    }
    q->kinds &= mask; /* an unknown type matches no entity */
    return 0;
}

static int parse_ids(const char *v, struct col_ngsi_query *q, struct col_ngsi_problem *pb)
{
    unsigned mask = 0;
    const char *p = v;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (q->nids == COL_NGSI_IDS_MAX) {
            return refuse(pb, "BadRequestData", "id: at most %u ids", COL_NGSI_IDS_MAX);
        }
        if (n == 0 || n >= sizeof(q->ids[0])) {
            return refuse(pb, "BadRequestData", "id: an id is empty or too long");
        }
        memcpy(q->ids[q->nids], p, n);
        q->ids[q->nids][n] = '\0';
        enum ct_kind kind;
        if (col_ngsi_id_kind(q->ids[q->nids], &kind) == 0) {
            mask |= 1u << kind;
        }
        q->nids++;
        p += n + (comma ? 1 : 0);
    }
    q->kinds &= mask;
    return 0;
}

/* A value of q: JSON (number, "string", true/false), or an unquoted DateTime/word taken as a
 * string. Lists (a,b), ranges (a..b) and patterns are not offered. */
static int parse_value(const char *v, size_t len, cJSON **out, struct col_ngsi_problem *pb)
{
    const char *end = NULL;
    /* The whole value must be one JSON value: cJSON alone would take "5abc" as 5. */
    *out = cJSON_ParseWithLengthOpts(v, len, &end, false);
    if (*out && end == v + len &&
        (cJSON_IsNumber(*out) || cJSON_IsString(*out) || cJSON_IsBool(*out))) {
        return 0;
    }
    cJSON_Delete(*out);
    *out = NULL;
    if (len == 0) {
        return refuse(pb, "InvalidRequest", "q: a comparison has no value");
    }
    if (v[0] != '"' && (memchr(v, ',', len) || strstr(v, ".."))) {
        return refuse(pb, "BadRequestData", "q: value lists and ranges are not supported");
    }
    for (size_t i = 0; i < len; i++) {
        char c = v[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '-' || c == ':' || c == '.' || c == '+' || c == '_';
        if (!ok) {
            return refuse(pb, "InvalidRequest", "q: \"%.*s\" is not a valid value", (int)len, v);
        }
    }
    char buf[128];
    if (len >= sizeof(buf)) {
        return refuse(pb, "InvalidRequest", "q: value too long");
    }
    memcpy(buf, v, len);
    buf[len] = '\0';
    *out = cJSON_CreateString(buf);
    return *out ? 0 : refuse(pb, "InternalError", "out of memory");
}

static int parse_term(const char *s, size_t len, struct col_ngsi_term *t,
                      struct col_ngsi_problem *pb)
{
    static const struct {
        const char *text;
        enum col_ngsi_op op;
    } ops[] = {{"==", COL_NGSI_EQ}, {"!=", COL_NGSI_NE}, {"<=", COL_NGSI_LE},
               {">=", COL_NGSI_GE}, {"<", COL_NGSI_LT},  {">", COL_NGSI_GT}};
    size_t a = 0;
    while (a < len && (strchr("[]._", s[a]) || (s[a] >= '0' && s[a] <= '9') ||
                       (s[a] >= 'a' && s[a] <= 'z') || (s[a] >= 'A' && s[a] <= 'Z'))) {
        a++;
    }
    if (a == 0 || a > COL_NGSI_ATTR_MAX) {
        return refuse(pb, "InvalidRequest", "q: \"%.*s\" does not start with an attribute",
                      (int)len, s);
    }
    memcpy(t->attr, s, a);
    t->attr[a] = '\0';
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        size_t n = strlen(ops[i].text);
        if (len - a >= n && strncmp(s + a, ops[i].text, n) == 0) {
            t->op = ops[i].op;
            return parse_value(s + a + n, len - a - n, &t->value, pb);
        }
    }
    if (a == len) {
        return refuse(pb, "BadRequestData", "q: attribute existence tests are not supported");
    }
    return refuse(pb, "InvalidRequest", "q: \"%.*s\" has no comparison (==, !=, <, >, <=, >=)",
                  (int)len, s);
}

static int parse_q(const char *v, struct col_ngsi_query *q, struct col_ngsi_problem *pb)
{
    if (strpbrk(v, "|()")) {
        return refuse(pb, "BadRequestData", "q: only terms joined by ';' (AND) are supported");
    }
    const char *p = v;
    while (*p) {
        const char *semi = p;
        bool quoted = false;
        while (*semi && (quoted || *semi != ';')) {
            quoted = *semi == '"' ? !quoted : quoted;
            semi++;
        }
        size_t n = (size_t)(semi - p);
        if (n > 0) {
            if (q->nterms == COL_NGSI_TERMS_MAX) {
                return refuse(pb, "BadRequestData", "q: at most %u terms", COL_NGSI_TERMS_MAX);
            }
            int rc = parse_term(p, n, &q->terms[q->nterms], pb);
            if (q->terms[q->nterms].value) {
                q->nterms++;
            }
            if (rc) {
                return rc;
            }
        }
        p = *semi ? semi + 1 : semi;
    }
    return 0;
}

static int parse_georel(const char *v, struct col_ngsi_query *q, struct col_ngsi_problem *pb)
{
    char *end;
    if (strncmp(v, "near;", 5) != 0) {
        return refuse(pb, "BadRequestData",
                      "georel: only near;maxDistance==<m> and "
                      "near;minDistance==<m> are supported");
    }
    const char *m = v + 5;
    double *slot = strncmp(m, "maxDistance==", 13) == 0   ? &q->max_m
                   : strncmp(m, "minDistance==", 13) == 0 ? &q->min_m
                                                          : NULL;
    if (!slot) {
        return refuse(pb, "BadRequestData", "georel: near needs maxDistance== or minDistance==");
    }
    double d = strtod(m + 13, &end);
    if (end == m + 13 || *end != '\0' || !isfinite(d) || d < 0) {
        return refuse(pb, "InvalidRequest", "georel: the distance is not a number of metres");
    }
    *slot = d;
    q->near = true;
    return 0;
}

static int parse_coords(const char *v, struct col_ngsi_query *q, struct col_ngsi_problem *pb)
{
    cJSON *c = cJSON_Parse(v);
    cJSON *lon = cJSON_GetArrayItem(c, 0);
    cJSON *lat = cJSON_GetArrayItem(c, 1);
    bool ok = cJSON_IsArray(c) && cJSON_GetArraySize(c) == 2 && cJSON_IsNumber(lon) &&
              cJSON_IsNumber(lat) && fabs(lon->valuedouble) <= 180 && fabs(lat->valuedouble) <= 90;
    if (ok) {
        q->lon = lon->valuedouble;
        q->lat = lat->valuedouble;
    }
    cJSON_Delete(c);
    return ok ? 0 : refuse(pb, "InvalidRequest", "coordinates: expected [lon,lat] in degrees");
}

int col_ngsi_query_parse(const char *const *names, const char *const *values, size_t n,
                         struct col_ngsi_query *q, struct col_ngsi_problem *pb)
{
    bool has_geometry = false;
    bool has_coords = false;
    memset(q, 0, sizeof(*q));
    q->kinds = ALL_KINDS;
    q->limit = COL_NGSI_LIMIT_DEFAULT;
    q->max_m = q->min_m = -1;
    pb->type = NULL;
    pb->detail[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *k = names[i];
        const char *v = values[i];
        int rc = 0;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(names[j], k) == 0) {
                return refuse(pb, "BadRequestData", "parameter \"%s\" given twice", k);
            }
        }
        if (strcmp(k, "type") == 0) {
            rc = parse_types(v, q);
        } else if (strcmp(k, "id") == 0) {
            rc = parse_ids(v, q, pb);
        } else if (strcmp(k, "q") == 0) {
            rc = parse_q(v, q, pb);
        } else if (strcmp(k, "georel") == 0) {
            rc = parse_georel(v, q, pb);
        } else if (strcmp(k, "geometry") == 0) {
            has_geometry = true;
            rc = strcmp(v, "Point") == 0
                     ? 0
                     : refuse(pb, "BadRequestData", "geometry: only Point is supported");
        } else if (strcmp(k, "coordinates") == 0) {
            has_coords = true;
            rc = parse_coords(v, q, pb);
        } else if (strcmp(k, "geoproperty") == 0) {
            rc = strcmp(v, "location") == 0
                     ? 0
                     : refuse(pb, "BadRequestData", "geoproperty: only location is offered");
        } else if (strcmp(k, "limit") == 0) {
            rc = parse_u32(v, COL_NGSI_LIMIT_MAX, &q->limit)
                     ? 0
                     : refuse(pb, "BadRequestData", "limit: an integer from 0 to %u",
                              COL_NGSI_LIMIT_MAX);
        } else if (strcmp(k, "offset") == 0) {
            rc = parse_u32(v, UINT32_MAX, &q->offset)
                     ? 0
                     : refuse(pb, "BadRequestData", "offset: a non-negative integer");
        } else if (strcmp(k, "count") == 0) {
            q->count = strcmp(v, "true") == 0;
            rc = q->count || strcmp(v, "false") == 0
                     ? 0
                     : refuse(pb, "BadRequestData", "count: true or false");
        } else {
            rc = refuse(pb, "BadRequestData", "parameter \"%s\" is not supported", k);
        }
        if (rc) {
            return rc;
        }
    }
    if (q->near != (has_geometry && has_coords) || has_geometry != has_coords) {
        return refuse(pb, "BadRequestData",
                      "a geo-query needs georel, geometry=Point and coordinates together");
    }
    return 0;
}

void col_ngsi_query_free(struct col_ngsi_query *q)
{
    for (size_t i = 0; i < q->nterms; i++) {
        cJSON_Delete(q->terms[i].value);
        q->terms[i].value = NULL;
    }
    q->nterms = 0;
}

/* The value a term compares: the Property's value (a DateTime's @value), or one member of it
 * with attr[member]. NULL when absent. */
static const cJSON *term_value(const cJSON *e, const char *attr)
{
    char name[COL_NGSI_ATTR_MAX + 1];
    snprintf(name, sizeof(name), "%s", attr);
    char *br = strchr(name, '[');
    char *member = NULL;
    if (br) {
        char *close = strchr(br, ']');
        if (!close || close[1] != '\0') {
            return NULL;
        }
        *br = '\0';
        *close = '\0';
        member = br + 1;
    }
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, name);
    const cJSON *v = cJSON_IsObject(p) ? cJSON_GetObjectItemCaseSensitive(p, "value") : NULL;
    if (member) {
        return cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, member) : NULL;
    }
    if (cJSON_IsObject(v) && cJSON_GetObjectItemCaseSensitive(v, "@value")) {
        return cJSON_GetObjectItemCaseSensitive(v, "@value");
    }
    return v;
}

static bool cmp_holds(int c, enum col_ngsi_op op)
{
    switch (op) {
    case COL_NGSI_EQ:
        return c == 0;
    case COL_NGSI_NE:
        return c != 0;
    case COL_NGSI_LT:
        return c < 0;
    case COL_NGSI_GT:
        return c > 0;
    case COL_NGSI_LE:
        return c <= 0;
    case COL_NGSI_GE:
        return c >= 0;
    }
    return false;
}

static bool term_holds(const struct col_ngsi_term *t, const cJSON *e)
{
    const cJSON *v = term_value(e, t->attr);
    const cJSON *w = t->value;
    if (cJSON_IsNumber(v) && cJSON_IsNumber(w)) {
        double a = v->valuedouble;
        double b = w->valuedouble;
        return cmp_holds(a < b ? -1 : a > b ? 1 : 0, t->op);
    }
    if (cJSON_IsString(v) && cJSON_IsString(w)) {
        return cmp_holds(strcmp(v->valuestring, w->valuestring), t->op);
    }
    if (cJSON_IsBool(v) && cJSON_IsBool(w) && (t->op == COL_NGSI_EQ || t->op == COL_NGSI_NE)) {
        return cmp_holds(cJSON_IsTrue(v) == cJSON_IsTrue(w) ? 0 : 1, t->op);
    }
    return false; /* absent, or of another type */
}

/* Great-circle distance in metres (haversine). */
static double distance_m(double lon1, double lat1, double lon2, double lat2)
{
    const double rad = M_PI / 180.0;
    double dlat = (lat2 - lat1) * rad;
    double dlon = (lon2 - lon1) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * EARTH_RADIUS_M * asin(fmin(1.0, sqrt(a)));
}

bool col_ngsi_match(const struct col_ngsi_query *q, const cJSON *e)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
    if (q->nids > 0) {
        bool hit = false;
        for (size_t i = 0; i < q->nids && !hit && cJSON_IsString(id); i++) {
            hit = strcmp(id->valuestring, q->ids[i]) == 0;
        }
        if (!hit) {
            return false;
        }
    }
    for (size_t i = 0; i < q->nterms; i++) {
        if (!term_holds(&q->terms[i], e)) {
            return false;
        }
    }
    if (q->near) {
        const cJSON *loc = cJSON_GetObjectItemCaseSensitive(e, "location");
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(loc, "value");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(val, "coordinates");
        const cJSON *lon = cJSON_GetArrayItem(c, 0);
        const cJSON *lat = cJSON_GetArrayItem(c, 1);
        if (!cJSON_IsNumber(lon) || !cJSON_IsNumber(lat)) {
            return false;
        }
        double d = distance_m(q->lon, q->lat, lon->valuedouble, lat->valuedouble);
        if ((q->max_m >= 0 && d > q->max_m) || (q->min_m >= 0 && d < q->min_m)) {
            return false;
        }
    }
    return true;
}
