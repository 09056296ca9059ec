/* ct/json.h - the one way library ct_json and the collector parse JSON text with cJSON, telling
 * an allocation failure apart from a syntax error (cJSON returns NULL for both).
 *
 * A program linking this installs process-wide cJSON hooks (cJSON_InitHooks) before main(),
 * whose malloc records a failure in a thread-local flag; they call the C library's malloc and
 * free, so every cJSON tree, parsed here or built elsewhere, is allocated and freed the same way.
 * The hooks are installed once; the flag is per thread (thread-local storage). */
#ifndef CT_JSON_H
#define CT_JSON_H
#include <stddef.h>

struct cJSON;

/* Parses 'len' bytes of 'text' (no terminator needed past 'len') as one JSON value followed
 * only by JSON whitespace. On success *out owns the tree (free it with cJSON_Delete()).
 * Returns 0, CT_E_PARSE (syntax error or trailing data; *out NULL), CT_E_NOMEM (cJSON could not
 * allocate; *out NULL) or CT_E_INVAL (NULL out, or NULL text with len > 0). */
int ct_json_parse(const char *text, size_t len, struct cJSON **out);

/* Like ct_json_parse(), but bytes after the value are left to the caller: *end (may be NULL)
 * gets the offset just after the value on success, or where the syntax error was found on
 * CT_E_PARSE (0 on CT_E_NOMEM). */
int ct_json_parse_prefix(const char *text, size_t len, struct cJSON **out, size_t *end);

#endif
