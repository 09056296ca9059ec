/* ogc_util.c - base URLs and error documents of the OGC API and NGSI-LD endpoints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_ogc.h"
#include "ct/err.h"

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

void col_ogc_base(const char *host, const char *path, char *buf, size_t cap)
{
    if (cap == 0) {
        return;
    }
    if (host_ok(host)) {
        snprintf(buf, cap, "http://%s%s", host, path);
    } else {
        snprintf(buf, cap, "%s", path);
    }
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
