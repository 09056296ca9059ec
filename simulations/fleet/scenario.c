/* scenario.c - scenario files for fleet-sim (see sim_scenario.h). */
#include "sim_scenario.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ct/err.h"
#include "ct/schema.h"

static const char *const fault_names[SIM_FAULT__COUNT] = {"stuck",  "drift", "spike",   "offline",
                                                          "reboot", "skew",  "replace", "garbage"};

const char *sim_fault_name(enum sim_fault_type t)
{
    return (unsigned)t < SIM_FAULT__COUNT ? fault_names[t] : "?";
}

static int fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return CT_E_PARSE;
}

int sim_parse_duration(const char *s, int64_t *ms)
{
    double total = 0;
    const char *p = s;
    if (*p == '+') {
        p++;
    }
    if (*p == '\0') {
        return CT_E_PARSE;
    }
    while (*p != '\0') {
        char *end = NULL;
        errno = 0;
        double v = strtod(p, &end);
        if (errno != 0 || end == p || !(v >= 0) || v > 1e9) {
            return CT_E_PARSE;
        }
        double unit;
        switch (*end) {
        case 'd':
            unit = 86400000.0;
            break;
        case 'h':
            unit = 3600000.0;
            break;
        case 'm':
            unit = 60000.0;
            break;
        case 's':
            unit = 1000.0;
            break;
        default:
            return CT_E_PARSE;
        }
        total += v * unit;
        p = end + 1;
    }
    *ms = (int64_t)llround(total);
    return 0;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) {
            return CT_E_PARSE;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int sim_parse_iso(const char *s, int64_t *ms)
{
    int y, mo, d, h = 0, mi = 0, se = 0, oh = 7, om = 0;
    size_t len = strlen(s);
    if (len < 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d)) {
        return CT_E_PARSE;
    }
    const char *p = s + 10;
    int sign = 1;
    if (*p == 'T') {
        if (strlen(p) < 6 || digits(p + 1, 2, &h) || p[3] != ':' || digits(p + 4, 2, &mi)) {
            return CT_E_PARSE;
        }
        p += 6;
        if (*p == ':') {
            if (digits(p + 1, 2, &se)) {
                return CT_E_PARSE;
            }
            p += 3;
        }
        if (*p == 'Z' && p[1] == '\0') {
            oh = 0;
        } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':' &&
                   digits(p + 1, 2, &oh) == 0 && digits(p + 4, 2, &om) == 0) {
            sign = *p == '-' ? -1 : 1;
        } else {
            return CT_E_PARSE;
        }
    } else if (*p != '\0') {
        return CT_E_PARSE;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || oh > 14) {
        return CT_E_PARSE;
    }
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = se};
    time_t t = timegm(&tm);
    *ms = ((int64_t)t - (int64_t)sign * (oh * 3600 + om * 60)) * 1000;
    return 0;
}

/* Every member of obj must be in 'allowed' (NULL-terminated). */
static int check_members(const cJSON *obj, const char *what, const char *const *allowed, char *err,
                         size_t cap)
{
    if (!cJSON_IsObject(obj)) {
        return fail(err, cap, "%s: must be an object", what);
    }
    for (const cJSON *c = obj->child; c != NULL; c = c->next) {
        bool ok = false;
        for (size_t i = 0; allowed[i] != NULL; i++) {
            ok = ok || strcmp(c->string, allowed[i]) == 0;
        }
        if (!ok) {
            return fail(err, cap, "%s: unknown member \"%s\"", what, c->string);
        }
    }
    return 0;
}

/* A number member in [lo, hi]; absent: *out unchanged unless required. */
static int num(const cJSON *obj, const char *name, const char *what, bool required, double lo,
               double hi, double *out, char *err, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (v == NULL) {
        return required ? fail(err, cap, "%s: member \"%s\" is required", what, name) : 0;
    }
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi)) {
        return fail(err, cap, "%s: member \"%s\" must be a number in %g..%g", what, name, lo, hi);
    }
    *out = v->valuedouble;
    return 0;
}

/* A duration member: seconds or a string ("90m"). */
static int dur(const cJSON *obj, const char *name, const char *what, bool required, int64_t *out,
               char *err, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (v == NULL) {
        return required ? fail(err, cap, "%s: member \"%s\" is required", what, name) : 0;
    }
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e9) {
        *out = (int64_t)llround(v->valuedouble * 1000.0);
        return 0;
    }
    if (cJSON_IsString(v) && sim_parse_duration(v->valuestring, out) == 0) {
        return 0;
    }
    return fail(err, cap, "%s: member \"%s\" must be seconds or a duration like \"1h30m\"", what,
                name);
}

static int parse_storm(const cJSON *o, struct sim_storm *s, const char *what, char *err, size_t cap)
{
    static const char *const allowed[] = {
        "at", "lat", "lon", "heading_deg", "speed_kmh", "radius_km", "peak_mmh", "duration", NULL};
    int64_t life = 0;
    int rc = check_members(o, what, allowed, err, cap);
    rc = rc ? rc : dur(o, "at", what, true, &s->start_ms, err, cap);
    rc = rc ? rc : num(o, "lat", what, true, 19.0, 23.0, &s->lat, err, cap);
    rc = rc ? rc : num(o, "lon", what, true, 104.0, 107.0, &s->lon, err, cap);
    rc = rc ? rc : num(o, "heading_deg", what, true, 0, 360, &s->heading_deg, err, cap);
    rc = rc ? rc : num(o, "speed_kmh", what, true, 0, 150, &s->speed_kmh, err, cap);
    rc = rc ? rc : num(o, "radius_km", what, true, 0.5, 100, &s->radius_km, err, cap);
    rc = rc ? rc : num(o, "peak_mmh", what, true, 0, 200, &s->peak_mmh, err, cap);
    rc = rc ? rc : dur(o, "duration", what, true, &life, err, cap);
    s->duration_h = (double)life / 3600000.0;
    return rc;
}

static int parse_haze(const cJSON *o, struct sim_haze *h, const char *what, char *err, size_t cap)
{
    static const char *const allowed[] = {"at", "days", "factor", NULL};
    int rc = check_members(o, what, allowed, err, cap);
    rc = rc ? rc : dur(o, "at", what, true, &h->start_ms, err, cap);
    rc = rc ? rc : num(o, "days", what, true, 0.1, 60, &h->days, err, cap);
    rc = rc ? rc : num(o, "factor", what, true, 1.0, 10, &h->factor, err, cap);
    return rc;
}

static int parse_kinds(const cJSON *arr, unsigned *mask, const char *what, char *err, size_t cap)
{
    if (!cJSON_IsArray(arr)) {
        return fail(err, cap, "%s: \"kinds\" must be an array of kind names", what);
    }
    for (const cJSON *k = arr->child; k != NULL; k = k->next) {
        enum ct_kind kind;
        if (!cJSON_IsString(k) || ct_kind_parse(k->valuestring, strlen(k->valuestring), &kind)) {
            return fail(err, cap, "%s: \"kinds\": unknown kind", what);
        }
        *mask |= 1u << kind;
    }
    return 0;
}

static int parse_fault(const cJSON *o, struct sim_fault_spec *f, const char *what, char *err,
                       size_t cap)
{
    static const char *const allowed[] = {"type", "kinds", "fraction", "ids", "at",
                                          "for",  "value", "prob",     NULL};
    int rc = check_members(o, what, allowed, err, cap);
    if (rc != 0) {
        return rc;
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
    int type = -1;
    for (int i = 0; cJSON_IsString(t) && i < SIM_FAULT__COUNT; i++) {
        type = strcmp(t->valuestring, fault_names[i]) == 0 ? i : type;
    }
    if (type < 0) {
        return fail(err, cap,
                    "%s: \"type\" must be one of stuck, drift, spike, offline, reboot, "
                    "skew, replace, garbage",
                    what);
    }
    f->type = (enum sim_fault_type)type;
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "kinds");
    if (k != NULL && (rc = parse_kinds(k, &f->kinds, what, err, cap)) != 0) {
        return rc;
    }
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(o, "ids");
    if (ids != NULL) {
        if (!cJSON_IsArray(ids) || cJSON_GetArraySize(ids) > SIM_FAULT_IDS) {
            return fail(err, cap, "%s: \"ids\" must be an array of at most %d ids", what,
                        SIM_FAULT_IDS);
        }
        for (const cJSON *i = ids->child; i != NULL; i = i->next) {
            if (!cJSON_IsString(i) || strlen(i->valuestring) == 0 ||
                strlen(i->valuestring) > CT_ID_MAX) {
                return fail(err, cap, "%s: \"ids\": bad device id", what);
            }
            snprintf(f->ids[f->nids++], CT_ID_MAX + 1, "%s", i->valuestring);
        }
    }
    rc = num(o, "fraction", what, false, 0, 1, &f->fraction, err, cap);
    rc = rc ? rc : dur(o, "at", what, false, &f->at_ms, err, cap);
    rc = rc ? rc : dur(o, "for", what, false, &f->for_ms, err, cap);
    rc = rc ? rc : num(o, "value", what, false, -1e9, 1e9, &f->value, err, cap);
    rc = rc ? rc : num(o, "prob", what, false, 0, 1, &f->prob, err, cap);
    if (rc == 0 && f->fraction <= 0 && f->nids == 0) {
        return fail(err, cap, "%s: needs \"fraction\" > 0 or \"ids\"", what);
    }
    if (rc == 0 && f->type == SIM_FAULT_SPIKE && f->value == 0) {
        f->value = 8.0;
    }
    if (rc == 0 && (f->type == SIM_FAULT_SPIKE || f->type == SIM_FAULT_GARBAGE) && f->prob == 0) {
        f->prob = 0.05;
    }
    return rc;
}

static int parse_root(const cJSON *root, struct sim_scenario *sc, char *err, size_t cap)
{
    static const char *const allowed[] = {"name",       "description",  "start",  "rate_scale",
                                          "duration_s", "sim_duration", "seed",   "weather",
                                          "storms",     "haze",         "faults", "marks",
                                          NULL};
    static const char *const weather_allowed[] = {"auto_storms", "auto_haze", NULL};
    int rc = check_members(root, "scenario", allowed, err, cap);
    if (rc != 0) {
        return rc;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "name");
    if (v != NULL) {
        if (!cJSON_IsString(v)) {
            return fail(err, cap, "scenario: \"name\" must be a string");
        }
        snprintf(sc->name, sizeof(sc->name), "%s", v->valuestring);
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "start");
    if (v != NULL) {
        if (!cJSON_IsString(v) || sim_parse_iso(v->valuestring, &sc->start_ms) != 0) {
            return fail(err, cap,
                        "scenario: \"start\" must be an ISO 8601 time like "
                        "\"2026-07-15T14:00:00+07:00\"");
        }
        sc->has_start = true;
    }
    double seed = -1;
    rc = num(root, "rate_scale", "scenario", false, 1, 1e6, &sc->rate_scale, err, cap);
    rc = rc ? rc : num(root, "duration_s", "scenario", false, 0, 1e7, &sc->duration_s, err, cap);
    rc = rc ? rc : dur(root, "sim_duration", "scenario", false, &sc->sim_ms, err, cap);
    rc = rc ? rc : num(root, "seed", "scenario", false, 0, 9007199254740991.0, &seed, err, cap);
    if (rc != 0) {
        return rc;
    }
    if (seed >= 0) {
        sc->has_seed = true;
        sc->seed = (uint64_t)seed;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "weather");
    if (v != NULL) {
        if ((rc = check_members(v, "weather", weather_allowed, err, cap)) != 0) {
            return rc;
        }
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(v, "auto_storms");
        if (b != NULL) {
            if (!cJSON_IsBool(b)) {
                return fail(err, cap, "weather: \"auto_storms\" must be true or false");
            }
            sc->auto_storms = cJSON_IsTrue(b);
        }
        b = cJSON_GetObjectItemCaseSensitive(v, "auto_haze");
        if (b != NULL) {
            if (!cJSON_IsBool(b)) {
                return fail(err, cap, "weather: \"auto_haze\" must be true or false");
            }
            sc->auto_haze = cJSON_IsTrue(b);
        }
    }
    struct {
        const char *name;
        size_t max;
    } lists[] = {{"storms", SIM_MAX_STORMS},
                 {"haze", SIM_MAX_HAZE},
                 {"faults", SIM_MAX_FAULTS},
                 {"marks", SIM_MAX_MARKS}};
    for (size_t l = 0; l < 4; l++) {
        v = cJSON_GetObjectItemCaseSensitive(root, lists[l].name);
        if (v == NULL) {
            continue;
        }
        if (!cJSON_IsArray(v) || (size_t)cJSON_GetArraySize(v) > lists[l].max) {
            return fail(err, cap, "scenario: \"%s\" must be an array of at most %zu", lists[l].name,
                        lists[l].max);
        }
        size_t i = 0;
        for (const cJSON *o = v->child; o != NULL; o = o->next, i++) {
            char what[48];
            snprintf(what, sizeof(what), "%s[%zu]", lists[l].name, i);
            if (l == 0) {
                rc = parse_storm(o, &sc->storms[sc->nstorms++], what, err, cap);
            } else if (l == 1) {
                rc = parse_haze(o, &sc->haze[sc->nhaze++], what, err, cap);
            } else if (l == 2) {
                rc = parse_fault(o, &sc->faults[sc->nfaults++], what, err, cap);
            } else {
                static const char *const mark_allowed[] = {"at", "label", NULL};
                struct sim_mark *m = &sc->marks[sc->nmarks++];
                rc = check_members(o, what, mark_allowed, err, cap);
                rc = rc ? rc : dur(o, "at", what, true, &m->at_ms, err, cap);
                const cJSON *lb = cJSON_GetObjectItemCaseSensitive(o, "label");
                if (rc == 0 && !cJSON_IsString(lb)) {
                    rc = fail(err, cap, "%s: \"label\" must be a string", what);
                }
                if (rc == 0) {
                    snprintf(m->label, sizeof(m->label), "%s", lb->valuestring);
                }
            }
            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

int sim_scenario_parse(const char *text, size_t len, struct sim_scenario *sc, char *err,
                       size_t errcap)
{
    memset(sc, 0, sizeof(*sc));
    sc->auto_storms = true;
    sc->auto_haze = true;
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (root == NULL) {
        return fail(err, errcap, "scenario: not valid JSON");
    }
    int rc = parse_root(root, sc, err, errcap);
    cJSON_Delete(root);
    return rc;
}

int sim_scenario_load(const char *path, struct sim_scenario *sc, char *err, size_t errcap)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        return CT_E_IO;
    }
    char *buf = malloc(SIM_SCENARIO_MAX_BYTES + 1);
    if (buf == NULL) {
        fclose(f);
        return CT_E_NOMEM;
    }
    size_t n = fread(buf, 1, SIM_SCENARIO_MAX_BYTES + 1, f);
    int rc = ferror(f) ? CT_E_IO : 0;
    fclose(f);
    if (rc == 0 && n > SIM_SCENARIO_MAX_BYTES) {
        rc = fail(err, errcap, "%s: larger than %d bytes", path, SIM_SCENARIO_MAX_BYTES);
    } else if (rc == 0) {
        char inner[400];
        rc = sim_scenario_parse(buf, n, sc, inner, sizeof(inner));
        if (rc != 0) {
            snprintf(err, errcap, "%s: %s", path, inner);
        }
    } else {
        snprintf(err, errcap, "%s: read error", path);
    }
    free(buf);
    return rc;
}

int sim_scenario_apply_weather(const struct sim_scenario *sc, struct sim_physics *p)
{
    p->auto_storms = sc->auto_storms;
    p->auto_haze = sc->auto_haze;
    for (size_t i = 0; i < sc->nstorms; i++) {
        struct sim_storm s = sc->storms[i];
        s.start_ms += p->start_sim;
        if (sim_physics_add_storm(p, &s) != 0) {
            return CT_E_FULL;
        }
    }
    for (size_t i = 0; i < sc->nhaze; i++) {
        struct sim_haze h = sc->haze[i];
        h.start_ms += p->start_sim;
        if (sim_physics_add_haze(p, &h) != 0) {
            return CT_E_FULL;
        }
    }
    return 0;
}
