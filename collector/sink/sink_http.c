/* sink_http.c - the sink's HTTP details: write URL, headers, gzip, Retry-After and the parsing
 * of InfluxDB error answers (partial writes). Pure functions; no loop, no state. */
#include "sink_int.h"

#include <cjson/cJSON.h>
#include <ct/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Appends "&key=<escaped value>" (or "?key=" when first) to url; returns false on no memory. */
static bool add_param(CURL *esc, char *url, size_t cap, bool *first, const char *key,
                      const char *value)
{
    if (value == NULL || value[0] == '\0') {
        return true;
    }
    char *e = curl_easy_escape(esc, value, 0);
    if (e == NULL) {
        return false;
    }
    size_t used = strlen(url);
    int n = snprintf(url + used, cap - used, "%s%s=%s", *first ? "?" : "&", key, e);
    curl_free(e);
    *first = false;
    return n >= 0 && (size_t)n < cap - used;
}

static const char *precision_for(const struct col_sink_cfg *cfg)
{
    const char *p = cfg->precision ? cfg->precision : "ms";
    if (cfg->api_version == 2 && strcmp(p, "u") == 0) {
        return "us";
    }
    return p;
}

char *col_sink_build_url(const struct col_sink_cfg *cfg)
{
    if (cfg->url == NULL) {
        return NULL;
    }
    size_t cap = strlen(cfg->url) + 64;
    const char *vals[] = {cfg->db, cfg->rp, cfg->user, cfg->password, cfg->org, cfg->bucket};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        cap += vals[i] ? 3 * strlen(vals[i]) + 8 : 0;
    }
    char *url = malloc(cap);
    CURL *esc = curl_easy_init();
    if (url == NULL || esc == NULL) {
        goto out_fail;
    }
    size_t base = strlen(cfg->url);
    while (base > 0 && cfg->url[base - 1] == '/') {
        base--;
    }
    bool first = true;
    bool ok;
    if (cfg->api_version == 2) {
        snprintf(url, cap, "%.*s/api/v2/write", (int)base, cfg->url);
        ok = add_param(esc, url, cap, &first, "org", cfg->org) &&
             add_param(esc, url, cap, &first, "bucket", cfg->bucket);
    } else {
        snprintf(url, cap, "%.*s/write", (int)base, cfg->url);
        ok = add_param(esc, url, cap, &first, "db", cfg->db) &&
             add_param(esc, url, cap, &first, "rp", cfg->rp) &&
             add_param(esc, url, cap, &first, "u", cfg->user) &&
             add_param(esc, url, cap, &first, "p", cfg->password);
    }
    ok = ok && add_param(esc, url, cap, &first, "precision", precision_for(cfg));
    if (!ok) {
        goto out_fail;
    }
    curl_easy_cleanup(esc);
    return url;
out_fail:
    curl_easy_cleanup(esc);
    free(url);
    return NULL;
}

struct curl_slist *col_sink_build_headers(const struct col_sink_cfg *cfg)
{
    struct curl_slist *h = NULL;
    struct curl_slist *t;
    const char *fixed[] = {"Content-Type: text/plain; charset=utf-8",
                           "Expect:", cfg->gzip ? "Content-Encoding: gzip" : NULL};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        if (fixed[i] == NULL) {
            continue;
        }
        t = curl_slist_append(h, fixed[i]);
        if (t == NULL) {
            goto out_fail;
        }
        h = t;
    }
    if (cfg->api_version == 2 && cfg->token && cfg->token[0]) {
        size_t n = strlen(cfg->token) + 32;
        char *line = malloc(n);
        if (line == NULL) {
            goto out_fail;
        }
        snprintf(line, n, "Authorization: Token %s", cfg->token);
        t = curl_slist_append(h, line);
        free(line);
        if (t == NULL) {
            goto out_fail;
        }
        h = t;
    }
    return h;
out_fail:
    curl_slist_free_all(h);
    return NULL;
}

bool col_sink_parse_retry_after(const char *value, size_t len, uint64_t *ms)
{
    size_t i = 0;
    while (i < len && (value[i] == ' ' || value[i] == '\t')) {
        i++;
    }
    uint64_t secs = 0;
    size_t digits = 0;
    while (i < len && value[i] >= '0' && value[i] <= '9') {
        if (digits < 12) {
            secs = secs * 10 + (uint64_t)(value[i] - '0');
        }
        i++;
        digits++;
    }
    while (i < len &&
           (value[i] == ' ' || value[i] == '\t' || value[i] == '\r' || value[i] == '\n')) {
        i++;
    }
    /* A sign, a fraction or a date ends the digits early; more than a day is absurd. */
    if (digits == 0 || i != len || digits > 12 || secs > 86400) {
        return false;
    }
    *ms = secs * 1000 > COL_SINK_RETRY_AFTER_MAX_MS ? COL_SINK_RETRY_AFTER_MAX_MS : secs * 1000;
    return true;
}

char *col_sink_error_message(const char *body, size_t len)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    const char *text = NULL;
    if (root && cJSON_IsObject(root)) {
        cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
        if (!cJSON_IsString(e)) {
            e = cJSON_GetObjectItemCaseSensitive(root, "message");
        }
        if (cJSON_IsString(e)) {
            text = e->valuestring;
        }
    }
    char *msg;
    if (text) {
        msg = strdup(text);
    } else {
        msg = malloc(len + 1);
        if (msg) {
            memcpy(msg, body, len);
            msg[len] = '\0';
        }
    }
    cJSON_Delete(root);
    return msg;
}

bool col_sink_is_partial(const char *msg)
{
    return strstr(msg, "partial write") != NULL;
}

bool col_sink_is_store_400(const char *msg)
{
    static const char *const setup[] = {"database not found", "retention policy not found",
                                        "database is required", "bucket not found"};
    for (size_t i = 0; i < sizeof(setup) / sizeof(setup[0]); i++) {
        if (strstr(msg, setup[i]) != NULL) {
            return true;
        }
    }
    return false;
}

static bool named(const char *msg, const char *line, size_t n)
{
    static const char key[] = "unable to parse '";
    const char *p = msg;
    while ((p = strstr(p, key)) != NULL) {
        p += sizeof(key) - 1;
        if (strncmp(p, line, n) == 0 && p[n] == '\'') {
            return true;
        }
    }
    return false;
}

long col_sink_named_lines(const char *msg, const char *batch, size_t len, char **out,
                          size_t *out_len)
{
    char *buf = NULL;
    size_t used = 0;
    long count = 0;
    *out = NULL;
    *out_len = 0;
    const char *p = batch;
    const char *end = batch + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n > 0 && memchr(p, '\0', n) == NULL && named(msg, p, n)) {
            if (buf == NULL) {
                buf = malloc(len + 1);
                if (buf == NULL) {
                    return -1;
                }
            }
            memcpy(buf + used, p, n);
            used += n;
            buf[used++] = '\n';
            count++;
        }
        p += n + 1;
    }
    *out = buf;
    *out_len = used;
    return count;
}

/* Appends one line and its '\n' to *buf (allocated with 'cap' bytes on first use). */
static bool append_line(char **buf, size_t cap, size_t *used, const char *p, size_t n)
{
    if (*buf == NULL) {
        *buf = malloc(cap);
        if (*buf == NULL) {
            return false;
        }
    }
    memcpy(*buf + *used, p, n);
    *used += n;
    (*buf)[(*used)++] = '\n';
    return true;
}

long col_sink_partition_named(const char *msg, const char *batch, size_t len, char **bad,
                              size_t *bad_len, char **rest, size_t *rest_len)
{
    long count = 0;
    *bad = NULL;
    *rest = NULL;
    *bad_len = 0;
    *rest_len = 0;
    const char *p = batch;
    const char *end = batch + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n > 0) {
            bool is_bad = memchr(p, '\0', n) == NULL && named(msg, p, n);
            bool ok = is_bad ? append_line(bad, len + 1, bad_len, p, n)
                             : append_line(rest, len + 1, rest_len, p, n);
            if (!ok) {
                free(*bad);
                free(*rest);
                *bad = NULL;
                *rest = NULL;
                *bad_len = 0;
                *rest_len = 0;
                return -1;
            }
            count += is_bad;
        }
        p += n + 1;
    }
    return count;
}
