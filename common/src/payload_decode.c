/* payload_decode.c - strict decoder of telemetry payloads (protocol.md section 2), over cJSON.
 *
 * First the lexical pass (payload_scan.c) checks the raw bytes; then cJSON 1.7.15 builds the
 * tree from a bounded, NUL-terminated copy, and this file rejects duplicate keys at any depth
 * and checks the schema: case-sensitive keys, required members with exact types, unknown
 * top-level members refused, unknown members of `m` counted, mistyped measurements dropped. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ct/err.h"
#include "ct/payload.h"
#include "ct/status.h"
#include "payload_scan.h"

#define PATH_CAP 32

enum top_member { TM_V = 0, TM_ID, TM_BOOT, TM_SEQ, TM_TS, TM_M, TM_BAT, TM_RSSI, TM__COUNT };

static const char *const top_names[TM__COUNT] = {"v",  "id", "boot", "seq",
                                                 "ts", "m",  "bat",  "rssi"};

/* Writes a short description of a JSON value for messages: -1, 1.5, "abc", an object, ... */
static void describe(const cJSON *item, char *out, size_t cap)
{
    char num[32];
    if (cJSON_IsNumber(item)) {
        ct_fmt_double(item->valuedouble, num);
        snprintf(out, cap, "%s", num);
    } else if (cJSON_IsString(item)) {
        char shown[25] = "";
        ct_strlcat(shown, item->valuestring, sizeof(shown));
        snprintf(out, cap, "a string \"%s%s\"", shown,
                 strlen(shown) < strlen(item->valuestring) ? "..." : "");
        for (char *p = out; *p != '\0'; p++) {
            if ((unsigned char)*p < 0x20) {
                *p = '?';
            }
        }
    } else if (cJSON_IsBool(item)) {
        snprintf(out, cap, "%s", cJSON_IsTrue(item) ? "true" : "false");
    } else if (cJSON_IsNull(item)) {
        snprintf(out, cap, "null");
    } else if (cJSON_IsArray(item)) {
        snprintf(out, cap, "an array");
    } else {
        snprintf(out, cap, "an object");
    }
}

static void join_path(char out[PATH_CAP], const char *path, const char *key)
{
    out[0] = '\0';
    ct_strlcat(out, path, PATH_CAP);
    if (path[0] != '\0') {
        ct_strlcat(out, ".", PATH_CAP);
    }
    ct_strlcat(out, key, PATH_CAP);
}

/* Rejects duplicate keys in every object of the tree (cJSON keeps them all). */
static int check_duplicates(const cJSON *node, const char *path, struct ct_reason *why)
{
    char cpath[PATH_CAP];
    for (const cJSON *c = node->child; c != NULL; c = c->next) {
        if (cJSON_IsObject(node)) {
            join_path(cpath, path, c->string);
            for (const cJSON *d = node->child; d != c; d = d->next) {
                if (strcmp(d->string, c->string) == 0) {
                    return ct_payload_fail(why, CT_REJ_JSON, cpath, "duplicate key");
                }
            }
        } else {
            cpath[0] = '\0';
            ct_strlcat(cpath, path, sizeof(cpath));
        }
        if (c->child != NULL) {
            int rc = check_duplicates(c, cpath, why);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

/* An exact integer: a number written as an integer token (checked <= 2^53-1 by the scan). */
static bool is_int_token(const cJSON *item, const struct ct_scan_result *scan,
                         enum ct_scan_role parent, const char *key)
{
    return cJSON_IsNumber(item) && ct_scan_is_int(scan, parent, key) &&
           item->valuedouble == trunc(item->valuedouble);
}

/* Describes a value that should have been an integer token. */
static void describe_int(const cJSON *item, const struct ct_scan_result *scan, const char *key,
                         char *out, size_t cap)
{
    char num[32];
    if (cJSON_IsNumber(item) && !ct_scan_is_int(scan, CT_SCAN_TOP, key) &&
        item->valuedouble == trunc(item->valuedouble)) {
        ct_fmt_double(item->valuedouble, num);
        out[0] = '\0';
        ct_strlcat(out, num, cap);
        ct_strlcat(out, " written with a fraction or exponent", cap);
    } else {
        describe(item, out, cap);
    }
}

static int want_uint(const cJSON *item, const struct ct_scan_result *scan, const char *key,
                     uint64_t *out, struct ct_reason *why)
{
    char got[64];
    if (!is_int_token(item, scan, CT_SCAN_TOP, key) || item->valuedouble < 0) {
        describe_int(item, scan, key, got, sizeof(got));
        return ct_payload_fail(why, CT_REJ_SCHEMA, key, "expected an integer >= 0, got %s", got);
    }
    *out = (uint64_t)item->valuedouble;
    return 0;
}

static int want_int(const cJSON *item, const struct ct_scan_result *scan, const char *key,
                    int64_t *out, struct ct_reason *why)
{
    char got[64];
    if (!is_int_token(item, scan, CT_SCAN_TOP, key)) {
        describe_int(item, scan, key, got, sizeof(got));
        return ct_payload_fail(why, CT_REJ_SCHEMA, key, "expected an integer, got %s", got);
    }
    *out = (int64_t)item->valuedouble;
    return 0;
}

static void add_drop(struct ct_reading *out, const char *name, enum ct_reject reason)
{
    if (out->ndrops < CT_MAX_VALUES) {
        struct ct_drop *d = &out->drops[out->ndrops++];
        snprintf(d->name, sizeof(d->name), "%s", name);
        d->reason = reason;
    }
}

/* Reads the members of `m`: known ones by their schema type, unknown ones counted. */
static int decode_m(const cJSON *m, const struct ct_scan_result *scan, struct ct_reading *out,
                    struct ct_reason *why)
{
    char got[48];
    if (!cJSON_IsObject(m)) {
        describe(m, got, sizeof(got));
        return ct_payload_fail(why, CT_REJ_SCHEMA, "m", "expected an object, got %s", got);
    }
    for (const cJSON *c = m->child; c != NULL; c = c->next) {
        const struct ct_member *mem = ct_schema_find(out->kind, c->string, strlen(c->string));
        if (mem == NULL) {
            out->unknown++;
            continue;
        }
        if (out->n >= CT_MAX_VALUES) {
            return ct_payload_fail(why, CT_REJ_SCHEMA, "m", "more than %d measurements",
                                   CT_MAX_VALUES);
        }
        struct ct_value v;
        memset(&v, 0, sizeof(v));
        snprintf(v.name, sizeof(v.name), "%s", mem->name);
        if (mem->type == CT_VT_NUMBER && cJSON_IsNumber(c)) {
            v.type = CT_VT_NUMBER;
            v.num = c->valuedouble;
        } else if (mem->type == CT_VT_INT && is_int_token(c, scan, CT_SCAN_M, mem->name)) {
            v.type = CT_VT_INT;
            v.num = c->valuedouble;
        } else if (out->kind == CT_KIND_PARKING && strcmp(mem->name, "occupied") == 0 &&
                   cJSON_IsBool(c)) {
            /* Bay sensors: the value keeps its JSON type; the registry decides. */
            v.type = CT_VT_BOOL;
            v.b = cJSON_IsTrue(c);
        } else {
            add_drop(out, mem->name, CT_REJ_TYPE);
            continue;
        }
        out->values[out->n++] = v;
    }
    return 0;
}

/* Sorts the members of the object 'root' into seen[] by their index in names[] (n of them).
 * Refuses a non-object and an unknown member (named, control characters shown as '?') with
 * "<unknown_what> (members are case-sensitive)". Returns 0 or a negative CT_E_* with 'why' set. */
static int sort_members(const cJSON *root, const char *const *names, int n, const cJSON **seen,
                        const char *unknown_what, struct ct_reason *why)
{
    char got[48];

    if (!cJSON_IsObject(root)) {
        describe(root, got, sizeof(got));
        return ct_payload_fail(why, CT_REJ_SCHEMA, "", "expected a JSON object, got %s", got);
    }
    for (const cJSON *c = root->child; c != NULL; c = c->next) {
        int which = -1;
        for (int i = 0; i < n; i++) {
            if (strcmp(c->string, names[i]) == 0) {
                which = i;
            }
        }
        if (which < 0) {
            char name[PATH_CAP];
            snprintf(name, sizeof(name), "%s", c->string);
            for (char *p = name; *p != '\0'; p++) {
                if ((unsigned char)*p < 0x20) {
                    *p = '?';
                }
            }
            return ct_payload_fail(why, CT_REJ_SCHEMA, name, "%s (members are case-sensitive)",
                                   unknown_what);
        }
        seen[which] = c;
    }
    return 0;
}

/* The members every message starts with: "v" (schema version 1), "id" (a device id, copied into
 * id_out), "boot" and "seq" (integers >= 0). Returns 0 or a negative CT_E_* with 'why' set. */
static int want_head(const cJSON *v_item, const cJSON *id, const cJSON *boot, const cJSON *seq,
                     const struct ct_scan_result *scan, char *id_out, size_t id_cap,
                     uint64_t *boot_out, uint64_t *seq_out, struct ct_reason *why)
{
    char got[48];
    int64_t v = 0;
    int rc = want_int(v_item, scan, "v", &v, why);

    if (rc == 0 && v != 1) {
        rc = ct_payload_fail(why, CT_REJ_SCHEMA, "v", "expected schema version 1, got %lld",
                             (long long)v);
    }
    if (rc != 0) {
        return rc;
    }
    if (!cJSON_IsString(id) || !ct_device_id_valid(id->valuestring, strlen(id->valuestring))) {
        describe(id, got, sizeof(got));
        return ct_payload_fail(why, CT_REJ_SCHEMA, "id",
                               "expected a device id of 1..64 chars [a-z0-9-], got %s", got);
    }
    snprintf(id_out, id_cap, "%s", id->valuestring);
    rc = want_uint(boot, scan, "boot", boot_out, why);
    return rc == 0 ? want_uint(seq, scan, "seq", seq_out, why) : rc;
}

static int decode_tree(const cJSON *root, const struct ct_scan_result *scan, struct ct_reading *out,
                       struct ct_reason *why)
{
    const cJSON *seen[TM__COUNT] = {NULL};
    char got[48];
    int rc;

    rc = sort_members(root, top_names, TM__COUNT, seen, "unknown member", why);
    if (rc != 0) {
        return rc;
    }
    for (int i = 0; i <= TM_M; i++) {
        if (seen[i] == NULL) {
            return ct_payload_fail(why, CT_REJ_SCHEMA, top_names[i], "required member is missing");
        }
    }

    rc = want_head(seen[TM_V], seen[TM_ID], seen[TM_BOOT], seen[TM_SEQ], scan, out->id,
                   sizeof(out->id), &out->boot, &out->seq, why);
    if (rc == 0) {
        rc = want_int(seen[TM_TS], scan, "ts", &out->ts_ms, why);
    }
    if (rc == 0 && seen[TM_BAT] != NULL) {
        if (!cJSON_IsNumber(seen[TM_BAT])) {
            describe(seen[TM_BAT], got, sizeof(got));
            rc = ct_payload_fail(why, CT_REJ_SCHEMA, "bat", "expected a number, got %s", got);
        } else {
            out->has_bat = true;
            out->bat = seen[TM_BAT]->valuedouble;
        }
    }
    if (rc == 0 && seen[TM_RSSI] != NULL) {
        rc = want_int(seen[TM_RSSI], scan, "rssi", &out->rssi, why);
        out->has_rssi = rc == 0;
    }
    if (rc == 0) {
        rc = decode_m(seen[TM_M], scan, out, why);
    }
    return rc;
}

/* The shared front of both decoders: size, the lexical pass, cJSON over a bounded copy, no
 * trailing data, no duplicate keys. On 0 *root is the tree (the caller deletes it). */
static int parse_strict(const char *buf, size_t len, struct ct_scan_result *scan, cJSON **root,
                        struct ct_reason *why)
{
    char copy[CT_PAYLOAD_MAX + 1];
    int rc;

    *root = NULL;
    if (len == 0) {
        return ct_payload_fail(why, CT_REJ_SIZE, "", "empty payload");
    }
    if (len > CT_PAYLOAD_MAX) {
        return ct_payload_fail(why, CT_REJ_SIZE, "", "%zu bytes is above the limit of %d bytes",
                               len, CT_PAYLOAD_MAX);
    }
    rc = ct_payload_scan(buf, len, scan, why);
    if (rc != 0) {
        return rc;
    }
    /* cJSON reads a bounded, NUL-terminated copy: the caller's bytes need no terminator. */
    memcpy(copy, buf, len);
    copy[len] = '\0';
    const char *end = NULL;
    cJSON *tree = cJSON_ParseWithLengthOpts(copy, len, &end, 0);
    if (tree == NULL) {
        /* The lexical pass accepted the text, so only an allocation can fail here. */
        return CT_E_NOMEM;
    }
    /* cJSON stops after the value; the lexical pass allowed only whitespace after it. */
    while (end != NULL && end < copy + len &&
           (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')) {
        end++;
    }
    if (end != copy + len) {
        rc = ct_payload_fail(why, CT_REJ_JSON, "", "trailing data at byte %zu",
                             (size_t)(end - copy));
    } else {
        rc = check_duplicates(tree, "", why);
    }
    if (rc != 0) {
        cJSON_Delete(tree);
        return rc;
    }
    *root = tree;
    return 0;
}

int ct_payload_decode(const char *buf, size_t len, enum ct_kind kind, struct ct_reading *out,
                      struct ct_reason *why)
{
    struct ct_scan_result scan;
    struct ct_reason scratch;
    cJSON *root = NULL;
    int rc;

    if (why == NULL) {
        why = &scratch;
    }
    memset(why, 0, sizeof(*why));
    if (out == NULL || (buf == NULL && len > 0) || ct_kind_name(kind) == NULL) {
        return CT_E_INVAL;
    }
    memset(out, 0, sizeof(*out));
    out->kind = kind;
    rc = parse_strict(buf, len, &scan, &root, why);
    if (rc == 0) {
        rc = decode_tree(root, &scan, out, why);
        cJSON_Delete(root);
    }
    if (rc != 0) {
        enum ct_kind k = out->kind;
        memset(out, 0, sizeof(*out));
        out->kind = k;
    }
    return rc;
}

enum status_member { SM_V = 0, SM_ID, SM_BOOT, SM_SEQ, SM_STATE, SM_FW, SM__COUNT };

static const char *const status_names[SM__COUNT] = {"v", "id", "boot", "seq", "state", "fw"};

static int decode_status_tree(const cJSON *root, const struct ct_scan_result *scan,
                              struct ct_status *out, struct ct_reason *why)
{
    const cJSON *seen[SM__COUNT] = {NULL};
    char got[48];

    int rc = sort_members(root, status_names, SM__COUNT, seen, "unknown status member", why);
    if (rc != 0) {
        return rc;
    }
    for (int i = 0; i < SM_FW; i++) {
        if (seen[i] == NULL) {
            return ct_payload_fail(why, CT_REJ_SCHEMA, status_names[i],
                                   "required member is missing");
        }
    }
    rc = want_head(seen[SM_V], seen[SM_ID], seen[SM_BOOT], seen[SM_SEQ], scan, out->id,
                   sizeof(out->id), &out->boot, &out->seq, why);
    if (rc != 0) {
        return rc;
    }
    const cJSON *state = seen[SM_STATE];
    if (!cJSON_IsString(state) ||
        (strcmp(state->valuestring, "online") != 0 && strcmp(state->valuestring, "offline") != 0)) {
        describe(state, got, sizeof(got));
        return ct_payload_fail(why, CT_REJ_SCHEMA, "state",
                               "expected \"online\" or \"offline\", got %s", got);
    }
    out->online = state->valuestring[1] == 'n';
    const cJSON *fw = seen[SM_FW];
    if (fw != NULL) {
        if (!cJSON_IsString(fw) || strlen(fw->valuestring) > CT_STATUS_FW_MAX) {
            describe(fw, got, sizeof(got));
            return ct_payload_fail(why, CT_REJ_SCHEMA, "fw",
                                   "expected a string of at most %d bytes, got %s",
                                   CT_STATUS_FW_MAX, got);
        }
        snprintf(out->fw, sizeof(out->fw), "%s", fw->valuestring);
    }
    return 0;
}

int ct_status_decode(const char *buf, size_t len, struct ct_status *out, struct ct_reason *why)
{
    struct ct_scan_result scan;
    struct ct_reason scratch;
    cJSON *root = NULL;
    int rc;

    if (why == NULL) {
        why = &scratch;
    }
    memset(why, 0, sizeof(*why));
    if (out == NULL || (buf == NULL && len > 0)) {
        return CT_E_INVAL;
    }
    memset(out, 0, sizeof(*out));
    rc = parse_strict(buf, len, &scan, &root, why);
    if (rc == 0) {
        rc = decode_status_tree(root, &scan, out, why);
        cJSON_Delete(root);
    }
    if (rc != 0) {
        memset(out, 0, sizeof(*out));
    }
    return rc;
}
