/* registry.c - the device registry: JSON Lines parsed with cJSON into an id -> device table.
 *
 * Every line is checked member by member against the kind's allowed set; the first error stops
 * the parse and is reported as "<origin>:<line>: member \"<name>\": <what>". Lookups go through an
 * open-addressing hash table (FNV-1a, linear probing, at most half full) of indices into the
 * devices array, which keeps file order for ct_registry_at(). */
#include "ct/registry.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/err.h"
#include "ct/json.h"
#include "ct/bytes.h"

#define REG_FILE_MAX (64u * 1024u * 1024u) /* ct_registry_load() refuses larger files */
#define REG_LINE_MAX (64u * 1024u)         /* one device line; longer lines are errors */
#define REG_TEXT_MAX 256u                  /* name, district, ward: bytes of UTF-8 */

struct ct_registry {
    struct ct_device *devs; /* file order */
    size_t n;
    size_t cap;
    uint32_t *slots; /* 0 = empty, else index + 1 into devs */
    size_t nslots;   /* power of two, >= 2 * n */
};

/* One parse in progress: where we are, for messages. */
struct reg_ctx {
    const char *origin;
    size_t line;
    char *err;
    size_t errcap;
};

static int fail(struct reg_ctx *c, const char *member, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct reg_ctx *c, const char *member, const char *fmt, ...)
{
    if (c->err == NULL || c->errcap == 0) {
        return CT_E_PARSE;
    }
    int used;
    if (member != NULL) {
        used = snprintf(c->err, c->errcap, "%s:%zu: member \"%s\": ", c->origin, c->line, member);
    } else {
        used = snprintf(c->err, c->errcap, "%s:%zu: ", c->origin, c->line);
    }
    if (used >= 0 && (size_t)used < c->errcap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + used, c->errcap - (size_t)used, fmt, ap);
        va_end(ap);
    }
    return CT_E_PARSE;
}

uint32_t ct_kind_default_interval_s(enum ct_kind kind)
{
    /* The firmware's longest regular interval per kind (firmware-sensor/README.md): air each
     * minute; water each 5 minutes; rain, flood (when dry) and parking send a heartbeat each
     * 5 minutes and more often when something happens. */
    static const uint32_t interval_s[CT_KIND__COUNT] = {60, 300, 300, 300, 300};
    return (unsigned)kind < CT_KIND__COUNT ? interval_s[kind] : 60;
}

/* Returns the slot holding 'id' or the empty slot where it would go. */
static size_t slot_of(const struct ct_registry *reg, const char *id, size_t len)
{
    size_t mask = reg->nslots - 1;
    size_t i = (size_t)ct_fnv1a64(id, len) & mask;
    for (;;) {
        uint32_t s = reg->slots[i];
        if (s == 0) {
            return i;
        }
        const struct ct_device *d = &reg->devs[s - 1];
        if (strlen(d->id) == len && memcmp(d->id, id, len) == 0) {
            return i;
        }
        i = (i + 1) & mask;
    }
}

static int rehash(struct ct_registry *reg, size_t nslots)
{
    uint32_t *slots = calloc(nslots, sizeof(*slots));
    if (slots == NULL) {
        return CT_E_NOMEM;
    }
    free(reg->slots);
    reg->slots = slots;
    reg->nslots = nslots;
    for (size_t k = 0; k < reg->n; k++) {
        const struct ct_device *d = &reg->devs[k];
        reg->slots[slot_of(reg, d->id, strlen(d->id))] = (uint32_t)(k + 1);
    }
    return 0;
}

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF, no control characters. */
static bool utf8_text_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f) {
                return false;
            }
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= n) {
            return false;
        }
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += n + 1;
    }
    return true;
}

/* 'is_tag': the text becomes a line-protocol tag value (district, ward), which cannot end in a
 * backslash: it would escape the separator after it (see ct/lp.h), and every point of the device
 * would be refused. The name is never a tag (only JSON strings and quoted fields carry it). */
static int get_text(struct reg_ctx *c, const cJSON *v, bool is_tag, char **out)
{
    if (!cJSON_IsString(v)) {
        return fail(c, v->string, "expected a string");
    }
    size_t len = strlen(v->valuestring);
    if (len == 0 || len > REG_TEXT_MAX) {
        return fail(c, v->string, "expected 1..%u bytes of text", REG_TEXT_MAX);
    }
    if (!utf8_text_valid(v->valuestring, len)) {
        return fail(c, v->string, "invalid UTF-8 or a control character");
    }
    if (is_tag && v->valuestring[len - 1] == '\\') {
        return fail(c, v->string, "must not end with a backslash (a line-protocol tag value)");
    }
    *out = strdup(v->valuestring);
    return *out == NULL ? CT_E_NOMEM : 0;
}

static int get_id(struct reg_ctx *c, const cJSON *v, char out[CT_ID_MAX + 1])
{
    if (!cJSON_IsString(v)) {
        return fail(c, v->string, "expected a string");
    }
    size_t len = strlen(v->valuestring);
    if (!ct_device_id_valid(v->valuestring, len)) {
        return fail(c, v->string, "expected 1..%d characters of [a-z0-9-]", CT_ID_MAX);
    }
    memcpy(out, v->valuestring, len + 1);
    return 0;
}

static int get_number(struct reg_ctx *c, const cJSON *v, double min, double max, bool open_min,
                      double *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble > max ||
        v->valuedouble < min || (open_min && v->valuedouble <= min)) {
        if (open_min) {
            return fail(c, v->string, "expected a number > %g", min);
        }
        return fail(c, v->string, "expected a number in %g..%g", min, max);
    }
    *out = v->valuedouble;
    return 0;
}

static int get_int(struct reg_ctx *c, const cJSON *v, int64_t min, int64_t max, int64_t *out)
{
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!isfinite(d) || floor(d) != d || d < (double)min || d > (double)max) {
        return fail(c, v->string, "expected an integer in %lld..%lld", (long long)min,
                    (long long)max);
    }
    *out = (int64_t)d;
    return 0;
}

static int get_bands(struct reg_ctx *c, const cJSON *v, struct ct_device *d)
{
    if (!cJSON_IsArray(v)) {
        return fail(c, v->string, "expected an array of increasing numbers");
    }
    int n = cJSON_GetArraySize(v);
    if (n < 1 || n > CT_MAX_BANDS) {
        return fail(c, v->string, "expected 1..%d thresholds", CT_MAX_BANDS);
    }
    const cJSON *e;
    size_t k = 0;
    cJSON_ArrayForEach(e, v)
    {
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble) || e->valuedouble < 0 ||
            (k > 0 && e->valuedouble <= d->bands_cm[k - 1])) {
            return fail(c, v->string, "expected an array of increasing numbers >= 0");
        }
        d->bands_cm[k++] = e->valuedouble;
    }
    d->nbands = k;
    return 0;
}

/* Members every kind has, then the kind-specific ones. */
enum { M_ID, M_KIND, M_NAME, M_LAT, M_LON, M_DISTRICT, M_WARD, M__REQUIRED };

static const char *const required_members[M__REQUIRED] = {"id",  "kind",     "name", "lat",
                                                          "lon", "district", "ward"};

static bool member_allowed(enum ct_kind kind, const char *name)
{
    if (strcmp(name, "public") == 0 || strcmp(name, "interval_s") == 0) {
        return true;
    }
    switch (kind) {
    case CT_KIND_RAIN:
        return strcmp(name, "mm_per_tip") == 0;
    case CT_KIND_FLOOD:
        return strcmp(name, "mount_cm") == 0 || strcmp(name, "bands_cm") == 0;
    case CT_KIND_PARKING:
        return strcmp(name, "mode") == 0 || strcmp(name, "capacity") == 0 ||
               strcmp(name, "lot") == 0;
    default:
        return false;
    }
}

static bool member_known(enum ct_kind kind, const char *name)
{
    for (int r = 0; r < M__REQUIRED; r++) {
        if (strcmp(name, required_members[r]) == 0) {
            return true;
        }
    }
    return member_allowed(kind, name);
}

/* 'm' is a known member of d->kind, seen for the first time. */
static int parse_member(struct reg_ctx *c, const cJSON *m, struct ct_device *d, bool *seen)
{
    const char *k = m->string;
    for (int r = 0; r < M__REQUIRED; r++) {
        if (strcmp(k, required_members[r]) == 0) {
            seen[r] = true;
        }
    }
    if (strcmp(k, "id") == 0) {
        return get_id(c, m, d->id);
    } else if (strcmp(k, "kind") == 0) {
        return 0; /* read before the loop */
    } else if (strcmp(k, "name") == 0) {
        return get_text(c, m, false, &d->name);
    } else if (strcmp(k, "district") == 0) {
        return get_text(c, m, true, &d->district);
    } else if (strcmp(k, "ward") == 0) {
        return get_text(c, m, true, &d->ward);
    } else if (strcmp(k, "lat") == 0) {
        return get_number(c, m, -90, 90, false, &d->lat);
    } else if (strcmp(k, "lon") == 0) {
        return get_number(c, m, -180, 180, false, &d->lon);
    } else if (strcmp(k, "public") == 0) {
        if (!cJSON_IsBool(m)) {
            return fail(c, k, "expected true or false");
        }
        d->is_public = cJSON_IsTrue(m);
        return 0;
    } else if (strcmp(k, "interval_s") == 0) {
        int64_t v = 0;
        int rc = get_int(c, m, 1, 7 * 86400, &v);
        if (rc == 0) {
            d->interval_s = (uint32_t)v;
        }
        return rc;
    } else if (strcmp(k, "mm_per_tip") == 0) {
        return get_number(c, m, 0, 1000, true, &d->mm_per_tip);
    } else if (strcmp(k, "mount_cm") == 0) {
        return get_number(c, m, 0, 100000, true, &d->mount_cm);
    } else if (strcmp(k, "bands_cm") == 0) {
        return get_bands(c, m, d);
    } else if (strcmp(k, "mode") == 0) {
        if (cJSON_IsString(m) && strcmp(m->valuestring, "lot") == 0) {
            d->park_mode = CT_PARK_LOT;
        } else if (cJSON_IsString(m) && strcmp(m->valuestring, "bay") == 0) {
            d->park_mode = CT_PARK_BAY;
        } else {
            return fail(c, k, "expected \"lot\" or \"bay\"");
        }
        return 0;
    } else if (strcmp(k, "capacity") == 0) {
        return get_int(c, m, 0, 1000000, &d->capacity);
    }
    return get_id(c, m, d->lot); /* "lot", the only member left */
}

static void device_clear(struct ct_device *d)
{
    free(d->name);
    free(d->district);
    free(d->ward);
    memset(d, 0, sizeof(*d));
}

/* Parking's cross-member rules, checked after all members are read. */
static int check_parking(struct reg_ctx *c, const cJSON *obj, struct ct_device *d)
{
    bool has_cap = cJSON_GetObjectItemCaseSensitive(obj, "capacity") != NULL;
    bool has_lot = cJSON_GetObjectItemCaseSensitive(obj, "lot") != NULL;
    if (d->park_mode == CT_PARK_NONE) {
        return fail(c, "mode", "required for kind \"parking\"");
    }
    if (d->park_mode == CT_PARK_LOT) {
        if (!has_cap) {
            return fail(c, "capacity", "required for mode \"lot\"");
        }
        if (has_lot) {
            return fail(c, "lot", "not allowed for mode \"lot\"");
        }
    } else {
        if (!has_lot) {
            return fail(c, "lot", "required for mode \"bay\"");
        }
        if (has_cap) {
            return fail(c, "capacity", "not allowed for mode \"bay\"");
        }
    }
    return 0;
}

static int parse_object(struct reg_ctx *c, const cJSON *obj, struct ct_device *d)
{
    if (!cJSON_IsObject(obj)) {
        return fail(c, NULL, "expected a JSON object");
    }
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
    if (kind == NULL) {
        return fail(c, "kind", "required");
    }
    if (!cJSON_IsString(kind) ||
        ct_kind_parse(kind->valuestring, strlen(kind->valuestring), &d->kind) != 0) {
        return fail(c, "kind", "expected \"air\", \"water\", \"rain\", \"flood\" or \"parking\"");
    }
    d->is_public = true;
    d->interval_s = ct_kind_default_interval_s(d->kind);
    if (d->kind == CT_KIND_RAIN) {
        d->mm_per_tip = 0.2;
    }
    bool seen[M__REQUIRED] = {false};
    const cJSON *m;
    cJSON_ArrayForEach(m, obj)
    {
        /* Unknown members fail first, so the duplicate scan below sees at most 15 names. */
        if (!member_known(d->kind, m->string)) {
            return fail(c, m->string, "unknown member for kind \"%s\"", ct_kind_name(d->kind));
        }
        for (const cJSON *p = obj->child; p != m; p = p->next) {
            if (strcmp(p->string, m->string) == 0) {
                return fail(c, m->string, "appears twice");
            }
        }
        int rc = parse_member(c, m, d, seen);
        if (rc != 0) {
            return rc;
        }
    }
    for (int r = 0; r < M__REQUIRED; r++) {
        if (!seen[r]) {
            return fail(c, required_members[r], "required");
        }
    }
    if (d->kind == CT_KIND_PARKING) {
        return check_parking(c, obj, d);
    }
    return 0;
}

static int add_device(struct ct_registry *reg, struct ct_device *d)
{
    if (reg->n == reg->cap) {
        size_t cap = reg->cap == 0 ? 64 : reg->cap * 2;
        struct ct_device *devs = realloc(reg->devs, cap * sizeof(*devs));
        if (devs == NULL) {
            return CT_E_NOMEM;
        }
        reg->devs = devs;
        reg->cap = cap;
    }
    if ((reg->n + 1) * 2 > reg->nslots) {
        size_t nslots = reg->nslots == 0 ? 128 : reg->nslots * 2;
        int rc = rehash(reg, nslots);
        if (rc != 0) {
            return rc;
        }
    }
    reg->devs[reg->n] = *d;
    reg->slots[slot_of(reg, d->id, strlen(d->id))] = (uint32_t)(reg->n + 1);
    reg->n++;
    memset(d, 0, sizeof(*d));
    return 0;
}

/* Parses one non-blank line into a device and adds it; errors name c->line. */
static int parse_line(struct reg_ctx *c, struct ct_registry *reg, const char *s, size_t len,
                      size_t *bay_lines)
{
    if (len > REG_LINE_MAX) {
        return fail(c, NULL, "line longer than %u bytes", REG_LINE_MAX);
    }
    size_t end = 0;
    cJSON *obj = NULL;
    int rc = ct_json_parse_prefix(s, len, &obj, &end);
    if (rc == CT_E_NOMEM) {
        return rc; /* ct_registry_parse() writes the message */
    }
    if (rc != 0) {
        return fail(c, NULL, "malformed JSON");
    }
    for (; end < len; end++) {
        if (s[end] != ' ' && s[end] != '\t' && s[end] != '\r') {
            cJSON_Delete(obj);
            return fail(c, NULL, "trailing characters after the object");
        }
    }
    struct ct_device d;
    memset(&d, 0, sizeof(d));
    rc = parse_object(c, obj, &d);
    cJSON_Delete(obj);
    if (rc != 0) {
        goto out_clear;
    }
    if (reg->nslots > 0 && reg->slots[slot_of(reg, d.id, strlen(d.id))] != 0) {
        rc = fail(c, "id", "duplicate id \"%s\"", d.id);
        goto out_clear;
    }
    bay_lines[reg->n] = d.park_mode == CT_PARK_BAY ? c->line : 0;
    rc = add_device(reg, &d);
out_clear:
    device_clear(&d);
    return rc;
}

/* A bay's lot must be a parking lot of the same registry. */
static int check_bays(struct reg_ctx *c, const struct ct_registry *reg, const size_t *bay_lines)
{
    for (size_t i = 0; i < reg->n; i++) {
        const struct ct_device *d = &reg->devs[i];
        if (d->park_mode != CT_PARK_BAY) {
            continue;
        }
        const struct ct_device *lot = ct_registry_find(reg, d->lot, strlen(d->lot));
        if (lot == NULL || lot->park_mode != CT_PARK_LOT) {
            c->line = bay_lines[i];
            return fail(c, "lot", "\"%s\" is not a parking lot of this registry", d->lot);
        }
    }
    return 0;
}

int ct_registry_parse(const char *text, size_t len, const char *origin, struct ct_registry **out,
                      char *err, size_t errcap)
{
    struct reg_ctx c = {origin != NULL ? origin : "registry", 0, err, errcap};
    if (err != NULL && errcap > 0) {
        err[0] = '\0';
    }
    if ((text == NULL && len > 0) || out == NULL) {
        return CT_E_INVAL;
    }
    struct ct_registry *reg = calloc(1, sizeof(*reg));
    /* Each line holds at most one device, so the line count bounds the bay-line table. */
    size_t nlines = 1;
    for (size_t i = 0; i < len; i++) {
        nlines += text[i] == '\n';
    }
    size_t *bay_lines = calloc(nlines, sizeof(*bay_lines));
    int rc = CT_E_NOMEM;
    if (reg == NULL || bay_lines == NULL) {
        goto out_fail;
    }
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        c.line++;
        size_t b = pos;
        while (b < end && (text[b] == ' ' || text[b] == '\t' || text[b] == '\r')) {
            b++;
        }
        if (b < end && text[b] != '#') {
            rc = parse_line(&c, reg, text + b, end - b, bay_lines);
            if (rc != 0) {
                goto out_fail;
            }
        }
        pos = end + 1;
    }
    rc = check_bays(&c, reg, bay_lines);
    if (rc != 0) {
        goto out_fail;
    }
    free(bay_lines);
    *out = reg;
    return 0;
out_fail:
    if (rc == CT_E_NOMEM && err != NULL && errcap > 0) {
        snprintf(err, errcap, "%s:%zu: out of memory", c.origin, c.line);
    }
    free(bay_lines);
    ct_registry_free(reg);
    return rc;
}

int ct_registry_load(const char *path, struct ct_registry **out, char *err, size_t errcap)
{
    if (path == NULL || out == NULL) {
        return CT_E_INVAL;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (err != NULL && errcap > 0) {
            snprintf(err, errcap, "%s: cannot open: %s", path, strerror(errno));
        }
        return CT_E_IO;
    }
    int rc = CT_E_NOMEM;
    size_t cap = 64 * 1024, len = 0;
    char *text = malloc(cap);
    if (text == NULL) {
        goto out_close;
    }
    for (;;) {
        if (len == cap) {
            if (cap >= REG_FILE_MAX + 1) {
                if (err != NULL && errcap > 0) {
                    snprintf(err, errcap, "%s: larger than %u bytes", path, REG_FILE_MAX);
                }
                rc = CT_E_TOOBIG;
                goto out_free;
            }
            size_t ncap = cap * 2 > REG_FILE_MAX + 1 ? REG_FILE_MAX + 1 : cap * 2;
            char *p = realloc(text, ncap);
            if (p == NULL) {
                goto out_free;
            }
            text = p;
            cap = ncap;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            break;
        }
    }
    if (ferror(f)) {
        if (err != NULL && errcap > 0) {
            snprintf(err, errcap, "%s: read error", path);
        }
        rc = CT_E_IO;
        goto out_free;
    }
    rc = ct_registry_parse(text, len, path, out, err, errcap);
out_free:
    free(text);
out_close:
    fclose(f);
    return rc;
}

const struct ct_device *ct_registry_find(const struct ct_registry *reg, const char *id, size_t len)
{
    if (reg == NULL || id == NULL || reg->nslots == 0 || len > CT_ID_MAX) {
        return NULL;
    }
    uint32_t s = reg->slots[slot_of(reg, id, len)];
    return s == 0 ? NULL : &reg->devs[s - 1];
}

size_t ct_registry_count(const struct ct_registry *reg)
{
    return reg == NULL ? 0 : reg->n;
}

const struct ct_device *ct_registry_at(const struct ct_registry *reg, size_t i)
{
    return reg == NULL || i >= reg->n ? NULL : &reg->devs[i];
}

void ct_registry_free(struct ct_registry *reg)
{
    if (reg == NULL) {
        return;
    }
    for (size_t i = 0; i < reg->n; i++) {
        device_clear(&reg->devs[i]);
    }
    free(reg->devs);
    free(reg->slots);
    free(reg);
}
