/* json.c - cJSON parsing that tells an allocation failure from a syntax error (see ct/json.h).
 *
 * cJSON's hooks are process-wide: ours wrap malloc and free and set a thread-local flag when
 * malloc returns NULL. A parse clears the flag, and a NULL result with the flag set is
 * CT_E_NOMEM. cJSON stops at its first failed allocation, so the flag never hides a syntax
 * error found later. */
#include "ct/json.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "ct/err.h"

static _Thread_local bool t_alloc_failed;
static pthread_once_t g_hooks_once = PTHREAD_ONCE_INIT;

static void *hook_malloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL) {
        t_alloc_failed = true;
    }
    return p;
}

static void hook_free(void *p)
{
    free(p);
}

static void install_hooks(void)
{
    cJSON_Hooks hooks = {hook_malloc, hook_free};
    cJSON_InitHooks(&hooks);
}

/* Installs the hooks before main(), so no other thread can be using cJSON while they change. */
__attribute__((constructor)) static void install_hooks_at_start(void)
{
    pthread_once(&g_hooks_once, install_hooks);
}

int ct_json_parse_prefix(const char *text, size_t len, struct cJSON **out, size_t *end)
{
    if (end != NULL) {
        *end = 0;
    }
    if (out == NULL || (text == NULL && len > 0)) {
        return CT_E_INVAL;
    }
    *out = NULL;
    if (len == 0) {
        return CT_E_PARSE;
    }
    pthread_once(&g_hooks_once, install_hooks);
    t_alloc_failed = false;
    const char *stop = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &stop, false);
    if (root == NULL) {
        if (t_alloc_failed) {
            return CT_E_NOMEM;
        }
        if (end != NULL && stop != NULL && stop >= text && stop <= text + len) {
            *end = (size_t)(stop - text);
        }
        return CT_E_PARSE;
    }
    if (end != NULL) {
        *end = stop != NULL && stop >= text && stop <= text + len ? (size_t)(stop - text) : len;
    }
    *out = root;
    return 0;
}

int ct_json_parse(const char *text, size_t len, struct cJSON **out)
{
    size_t end = 0;
    int rc = ct_json_parse_prefix(text, len, out, &end);
    if (rc != 0) {
        return rc;
    }
    for (; end < len; end++) {
        char c = text[end];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            cJSON_Delete(*out);
            *out = NULL;
            return CT_E_PARSE;
        }
    }
    return 0;
}
