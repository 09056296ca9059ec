/* ogc_util.c - base URLs and error documents of the OGC API and NGSI-LD endpoints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ct/err.h"
#include "ogc_int.h"

static bool host_ok(const char *host)
{
    size_t n = host ? strlen(host) : 0;
    if (n == 0 || n > 255) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = host[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* The first list element of a header value ("a, b" -> "a"), spaces trimmed, into out. */
static void first_elem(const char *v, char *out, size_t cap)
{
    out[0] = '\0';
    if (v == NULL) {
        return;
    }
    while (*v == ' ' || *v == '\t') {
        v++;
    }
    size_t n = strcspn(v, ",");
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t')) {
        n--;
    }
    if (n < cap) {
        memcpy(out, v, n);
        out[n] = '\0';
    }
}

/* The value of parameter 'name' (proto, host) in the first element of a Forwarded header, quotes
 * removed, into out ("" when absent or too long). */
static void forwarded_param(const char *fwd, const char *name, char *out, size_t cap)
{
    char elem[512];
    first_elem(fwd, elem, sizeof(elem));
    out[0] = '\0';
    size_t nlen = strlen(name);
    for (char *p = elem; *p != '\0';) {
        while (*p == ' ' || *p == ';') {
            p++;
        }
        size_t n = strcspn(p, ";");
        if (n > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == '=') {
            const char *v = p + nlen + 1;
            size_t vl = n - nlen - 1;
            while (vl > 0 && v[vl - 1] == ' ') {
                vl--;
            }
            if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
                v++;
                vl -= 2;
            }
            if (vl < cap) {
                memcpy(out, v, vl);
                out[vl] = '\0';
            }
            return;
        }
        p += n;
    }
}

void col_ogc_base(const struct col_ogc_origin *o, const char *path, char *buf, size_t cap)
{
    if (cap == 0) {
        return;
    }
    if (o->base_url != NULL && o->base_url[0] != '\0') {
        snprintf(buf, cap, "%s%s", o->base_url, path);
        return;
    }
    char proto[16], host[256];
    forwarded_param(o->forwarded, "proto", proto, sizeof(proto));
    if (proto[0] == '\0') {
        first_elem(o->fwd_proto, proto, sizeof(proto));
    }
    const char *scheme = strcasecmp(proto, "https") == 0 ? "https" : "http";
    forwarded_param(o->forwarded, "host", host, sizeof(host));
    if (!host_ok(host)) {
        first_elem(o->fwd_host, host, sizeof(host));
    }
    if (host_ok(host)) {
        snprintf(buf, cap, "%s://%s%s", scheme, host, path);
    } else if (host_ok(o->host)) {
        snprintf(buf, cap, "%s://%s%s", scheme, o->host, path);
    } else {
        snprintf(buf, cap, "%s", path);
    }
}

bool col_ogc_base_url_ok(const char *url)
{
    size_t skip = strncmp(url, "https://", 8) == 0 ? 8 : strncmp(url, "http://", 7) == 0 ? 7 : 0;
    size_t n = strlen(url);
    if (skip == 0 || n > 512 || url[n - 1] == '/') {
        return false;
    }
    char host[256];
    size_t hl = strcspn(url + skip, "/");
    if (hl >= sizeof(host)) {
        return false;
    }
    memcpy(host, url + skip, hl);
    host[hl] = '\0';
    if (!host_ok(host)) {
        return false;
    }
    for (const char *p = url + skip + hl; *p != '\0'; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  strchr("._~/%-", c) != NULL;
        if (!ok) {
            return false;
        }
    }
    return true;
}

int col_ogc_set_base_url(struct col_ogc *o, const char *url)
{
    if (url == NULL || url[0] == '\0') {
        o->base_url[0] = '\0';
        return 0;
    }
    if (!col_ogc_base_url_ok(url) || strlen(url) >= sizeof(o->base_url)) {
        return CT_E_INVAL;
    }
    snprintf(o->base_url, sizeof(o->base_url), "%s", url);
    return 0;
}

/* Prints 'doc' unformatted into *out and deletes it. */
static int print_doc(cJSON *doc, bool ok, char **out)
{
    *out = ok && doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    return *out ? 0 : CT_E_NOMEM;
}

int col_ogc_exception(const char *code, const char *text, char **out)
{
    cJSON *doc = cJSON_CreateObject();
    bool ok = doc && cJSON_AddStringToObject(doc, "code", code) &&
              cJSON_AddStringToObject(doc, "description", text);
    return print_doc(doc, ok, out);
}

int col_ngsi_problem_doc(const char *type, const char *title, const char *detail, char **out)
{
    char uri[128];
    snprintf(uri, sizeof(uri), "https://uri.etsi.org/ngsi-ld/errors/%s", type);
    cJSON *doc = cJSON_CreateObject();
    bool ok = doc && cJSON_AddStringToObject(doc, "type", uri) &&
              cJSON_AddStringToObject(doc, "title", title) &&
              cJSON_AddStringToObject(doc, "detail", detail);
    return print_doc(doc, ok, out);
}
