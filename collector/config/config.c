/* config.c - the configuration engine: defaults, JSON file parsing against the key table, value
 * syntax (durations, sizes, enums), derived defaults and the cross-field check. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "col_config.h"
#include "config_internal.h"
#include "ct/err.h"
#include "ct/json.h"

#define NAME_MAX_LEN 128 /* a dotted key name; the table's longest is far shorter */

static int msg(char *err, size_t errcap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int msg(char *err, size_t errcap, int rc, const char *fmt, ...)
{
    if (err != NULL && errcap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errcap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Parses "<digits><unit>" with one of the units; a bare integer needs unit "" in the list. */
static int parse_scaled(const char *s, const char *const *units, const int64_t *mult, size_t n,
                        int64_t *out)
{
    if (!isdigit((unsigned char)s[0])) {
        return CT_E_PARSE;
    }
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s) {
        return CT_E_PARSE;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(end, units[i]) == 0) {
            if (v > INT64_MAX / mult[i]) {
                return CT_E_RANGE;
            }
            *out = (int64_t)v * mult[i];
            return 0;
        }
    }
    return CT_E_PARSE;
}

int col_config_parse_duration(const char *s, int64_t *ms)
{
    static const char *const units[] = {"ms", "s", "m", "h", "d"};
    static const int64_t mult[] = {1, 1000, 60000, 3600000, 86400000};
    return parse_scaled(s, units, mult, 5, ms);
}

int col_config_parse_size(const char *s, int64_t *bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    static const int64_t mult[] = {1, 1ll << 10, 1ll << 20, 1ll << 30, 1ll << 40};
    return parse_scaled(s, units, mult, 5, bytes);
}

/* Index of 'v' in "a|b|c", or -1. */
int col_config_enum_index(const char *choices, const char *v)
{
    size_t vlen = strlen(v);
    int idx = 0;
    const char *p = choices;
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);
        if (len == vlen && memcmp(p, v, len) == 0) {
            return idx;
        }
        if (bar == NULL) {
            return -1;
        }
        p = bar + 1;
        idx++;
    }
}

static bool in_range(const struct col_cfg_key *k, double v)
{
    return v >= k->min && v <= k->max;
}

/* Describes what a key accepts, for error messages. */
static void expectation(const struct col_cfg_key *k, char *buf, size_t cap)
{
    switch (k->type) {
    case COL_CFG_STRING:
        snprintf(buf, cap, "expected a string of at most %d bytes", COL_CONFIG_STRING_MAX);
        break;
    case COL_CFG_INT:
        snprintf(buf, cap, "expected an integer in %.0f..%.0f", k->min, k->max);
        break;
    case COL_CFG_DOUBLE:
        snprintf(buf, cap, "expected a number in %g..%g", k->min, k->max);
        break;
    case COL_CFG_BOOL:
        snprintf(buf, cap, "expected true or false");
        break;
    case COL_CFG_ENUM:
        snprintf(buf, cap, "expected one of %s", k->choices);
        break;
    case COL_CFG_DURATION:
        snprintf(buf, cap,
                 "expected a duration in %.0f..%.0f ms (integer milliseconds or \"<n>ms|s|m|h|d\")",
                 k->min, k->max);
        break;
    case COL_CFG_SIZE:
        snprintf(buf, cap,
                 "expected a size in %.0f..%.0f bytes (integer bytes or \"<n>B|KiB|MiB|GiB|TiB\")",
                 k->min, k->max);
        break;
    }
}

/* Stores a value given in the text syntax (defaults). Returns 0, CT_E_INVAL or CT_E_NOMEM. */
int col_config_set_text(const struct col_cfg_key *k, struct col_config *cfg, const char *s)
{
    char *field = (char *)cfg + k->offset;
    int64_t i = 0;
    switch (k->type) {
    case COL_CFG_STRING: {
        char *copy = strdup(s);
        if (copy == NULL) {
            return CT_E_NOMEM;
        }
        char **slot = (char **)(void *)field;
        free(*slot);
        *slot = copy;
        return 0;
    }
    case COL_CFG_INT: {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || !in_range(k, (double)v)) {
            return CT_E_INVAL;
        }
        *(int64_t *)(void *)field = v;
        return 0;
    }
    case COL_CFG_DOUBLE: {
        char *end = NULL;
        double v = strtod(s, &end);
        if (end == s || *end != '\0' || !isfinite(v) || !in_range(k, v)) {
            return CT_E_INVAL;
        }
        *(double *)(void *)field = v;
        return 0;
    }
    case COL_CFG_BOOL:
        if (strcmp(s, "true") != 0 && strcmp(s, "false") != 0) {
            return CT_E_INVAL;
        }
        *(bool *)(void *)field = strcmp(s, "true") == 0;
        return 0;
    case COL_CFG_ENUM: {
        int idx = col_config_enum_index(k->choices, s);
        if (idx < 0) {
            return CT_E_INVAL;
        }
        *(int *)(void *)field = idx;
        return 0;
    }
    case COL_CFG_DURATION:
    case COL_CFG_SIZE: {
        int rc = k->type == COL_CFG_DURATION ? col_config_parse_duration(s, &i)
                                             : col_config_parse_size(s, &i);
        if (rc != 0 || !in_range(k, (double)i)) {
            return CT_E_INVAL;
        }
        *(int64_t *)(void *)field = i;
        return 0;
    }
    }
    return CT_E_INVAL;
}

/* Stores a JSON value. Returns 0, CT_E_INVAL (wrong type or range) or CT_E_NOMEM. */
static int set_json(const struct col_cfg_key *k, struct col_config *cfg, const cJSON *v)
{
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    switch (k->type) {
    case COL_CFG_STRING:
        if (!cJSON_IsString(v) || strlen(v->valuestring) > COL_CONFIG_STRING_MAX) {
            return CT_E_INVAL;
        }
        return col_config_set_text(k, cfg, v->valuestring);
    case COL_CFG_BOOL:
        if (!cJSON_IsBool(v)) {
            return CT_E_INVAL;
        }
        *(bool *)(void *)((char *)cfg + k->offset) = cJSON_IsTrue(v);
        return 0;
    case COL_CFG_ENUM:
        if (!cJSON_IsString(v)) {
            return CT_E_INVAL;
        }
        return col_config_set_text(k, cfg, v->valuestring);
    case COL_CFG_DOUBLE:
        if (!isfinite(d) || !in_range(k, d)) {
            return CT_E_INVAL;
        }
        *(double *)(void *)((char *)cfg + k->offset) = d;
        return 0;
    case COL_CFG_INT:
    case COL_CFG_DURATION:
    case COL_CFG_SIZE:
        if (cJSON_IsString(v) && k->type != COL_CFG_INT) {
            return col_config_set_text(k, cfg, v->valuestring);
        }
        /* 2^53: beyond it a double no longer holds every integer. */
        if (!isfinite(d) || floor(d) != d || fabs(d) > 9007199254740992.0 || !in_range(k, d)) {
            return CT_E_INVAL;
        }
        *(int64_t *)(void *)((char *)cfg + k->offset) = (int64_t)d;
        return 0;
    }
    return CT_E_INVAL;
}

/* The host name reduced to [a-z0-9-]{1,32}, or "c1". */
static void host_instance(char *out, size_t cap)
{
    char host[256] = "";
    size_t n = 0;
    if (gethostname(host, sizeof(host) - 1) == 0) {
        for (size_t i = 0; host[i] != '\0' && host[i] != '.' && n + 1 < cap && n < 32; i++) {
            char c = (char)tolower((unsigned char)host[i]);
            out[n++] = (isalnum((unsigned char)c) && (unsigned char)c < 0x80) ? c : '-';
        }
    }
    out[n] = '\0';
    if (n == 0) {
        snprintf(out, cap, "c1");
    }
}

static int derive(struct col_config *cfg)
{
    if (cfg->collector_instance[0] == '\0') {
        char inst[40];
        host_instance(inst, sizeof(inst));
        char *copy = strdup(inst);
        if (copy == NULL) {
            return CT_E_NOMEM;
        }
        free(cfg->collector_instance);
        cfg->collector_instance = copy;
    }
    if (cfg->mqtt_client_id[0] == '\0') {
        size_t cap = strlen(cfg->collector_instance) + sizeof("citytel-collector-");
        char *id = malloc(cap);
        if (id == NULL) {
            return CT_E_NOMEM;
        }
        snprintf(id, cap, "citytel-collector-%s", cfg->collector_instance);
        free(cfg->mqtt_client_id);
        cfg->mqtt_client_id = id;
    }
    return 0;
}

int col_config_defaults(struct col_config *cfg)
{
    size_t n;
    const struct col_cfg_key *keys = col_config_keys(&n);
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < n; i++) {
        if (col_config_set_text(&keys[i], cfg, keys[i].def) != 0) {
            col_config_free(cfg);
            return CT_E_NOMEM; /* a bad default fails the unit test of the table */
        }
    }
    int rc = derive(cfg);
    if (rc != 0) {
        col_config_free(cfg);
    }
    return rc;
}

void col_config_free(struct col_config *cfg)
{
    if (cfg == NULL) {
        return;
    }
    size_t n;
    const struct col_cfg_key *keys = col_config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        if (keys[i].type == COL_CFG_STRING) {
            free(*(char **)(void *)((char *)cfg + keys[i].offset));
        }
    }
    memset(cfg, 0, sizeof(*cfg));
}

static bool has_earlier_twin(const cJSON *parent, const cJSON *m)
{
    for (const cJSON *p = parent->child; p != m; p = p->next) {
        if (strcmp(p->string, m->string) == 0) {
            return true;
        }
    }
    return false;
}

static int apply_group(const char *origin, const cJSON *group, struct col_config *cfg, char *err,
                       size_t errcap)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, group)
    {
        char name[NAME_MAX_LEN];
        int n = snprintf(name, sizeof(name), "%s.%s", group->string, m->string);
        const struct col_cfg_key *k =
            n > 0 && (size_t)n < sizeof(name) ? col_config_key(name) : NULL;
        if (k == NULL) {
            return msg(err, errcap, CT_E_INVAL, "%s: unknown key \"%.100s\" (at $.%.100s)", origin,
                       name, name);
        }
        if (has_earlier_twin(group, m)) {
            return msg(err, errcap, CT_E_INVAL, "%s: key \"%s\" (at $.%s): appears twice", origin,
                       name, name);
        }
        int rc = set_json(k, cfg, m);
        if (rc == CT_E_NOMEM) {
            return msg(err, errcap, rc, "%s: out of memory", origin);
        } else if (rc != 0) {
            char want[160];
            expectation(k, want, sizeof(want));
            return msg(err, errcap, rc, "%s: key \"%s\" (at $.%s): %s", origin, name, name, want);
        }
    }
    return 0;
}

/* 1-based line and column of byte 'pos' of text. */
static void line_col(const char *text, size_t pos, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < pos; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static int apply_json(const char *text, size_t len, const char *origin, struct col_config *cfg,
                      char *err, size_t errcap)
{
    size_t end = 0;
    cJSON *root = NULL;
    int rc = ct_json_parse_prefix(text, len, &root, &end);
    if (rc == CT_E_NOMEM) {
        return msg(err, errcap, rc, "%s: out of memory while parsing", origin);
    }
    if (rc != 0) {
        size_t line, col;
        line_col(text, end, &line, &col);
        return msg(err, errcap, CT_E_PARSE, "%s:%zu:%zu: malformed JSON", origin, line, col);
    }
    for (; end < len; end++) {
        if (!isspace((unsigned char)text[end])) {
            size_t line, col;
            line_col(text, end, &line, &col);
            rc = msg(err, errcap, CT_E_PARSE, "%s:%zu:%zu: trailing characters after the object",
                     origin, line, col);
            goto out_delete;
        }
    }
    if (!cJSON_IsObject(root)) {
        rc = msg(err, errcap, CT_E_INVAL, "%s: expected an object of groups (at $)", origin);
        goto out_delete;
    }
    const cJSON *g;
    cJSON_ArrayForEach(g, root)
    {
        if (has_earlier_twin(root, g)) {
            rc = msg(err, errcap, CT_E_INVAL, "%s: group \"%.100s\" (at $.%.100s): appears twice",
                     origin, g->string, g->string);
            goto out_delete;
        }
        if (!cJSON_IsObject(g)) {
            rc = msg(err, errcap, CT_E_INVAL,
                     "%s: group \"%.100s\" (at $.%.100s): expected an object of keys", origin,
                     g->string, g->string);
            goto out_delete;
        }
        rc = apply_group(origin, g, cfg, err, errcap);
        if (rc != 0) {
            goto out_delete;
        }
    }
out_delete:
    cJSON_Delete(root);
    return rc;
}

int col_config_parse(const char *text, size_t len, const char *origin, struct col_config *cfg,
                     char *err, size_t errcap)
{
    if (err != NULL && errcap > 0) {
        err[0] = '\0';
    }
    if (origin == NULL) {
        origin = "config";
    }
    if (cfg == NULL || (text == NULL && len > 0)) {
        return CT_E_INVAL;
    }
    struct col_config tmp;
    memset(&tmp, 0, sizeof(tmp));
    size_t n;
    const struct col_cfg_key *keys = col_config_keys(&n);
    int rc = CT_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (col_config_set_text(&keys[i], &tmp, keys[i].def) != 0) {
            msg(err, errcap, rc, "%s: out of memory", origin);
            goto out_fail;
        }
    }
    rc = apply_json(text != NULL ? text : "", len, origin, &tmp, err, errcap);
    if (rc != 0) {
        goto out_fail;
    }
    rc = derive(&tmp);
    if (rc != 0) {
        msg(err, errcap, rc, "%s: out of memory", origin);
        goto out_fail;
    }
    char why[COL_CONFIG_ERR_MAX];
    rc = col_config_check(&tmp, why, sizeof(why));
    if (rc != 0) {
        msg(err, errcap, rc, "%s: %s", origin, why);
        goto out_fail;
    }
    *cfg = tmp;
    return 0;
out_fail:
    col_config_free(&tmp);
    memset(cfg, 0, sizeof(*cfg));
    return rc;
}

int col_config_load(const char *path, struct col_config *cfg, char *err, size_t errcap)
{
    if (path == NULL || cfg == NULL) {
        return CT_E_INVAL;
    }
    memset(cfg, 0, sizeof(*cfg));
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return msg(err, errcap, CT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    int rc = CT_E_NOMEM;
    char *text = malloc(COL_CONFIG_FILE_MAX + 1);
    if (text == NULL) {
        msg(err, errcap, rc, "%s: out of memory", path);
        goto out_close;
    }
    size_t len = fread(text, 1, COL_CONFIG_FILE_MAX + 1, f);
    if (ferror(f)) {
        rc = msg(err, errcap, CT_E_IO, "%s: read error", path);
    } else if (len > COL_CONFIG_FILE_MAX) {
        rc = msg(err, errcap, CT_E_TOOBIG, "%s: larger than %d bytes", path, COL_CONFIG_FILE_MAX);
    } else {
        rc = col_config_parse(text, len, path, cfg, err, errcap);
    }
    free(text);
out_close:
    fclose(f);
    return rc;
}
