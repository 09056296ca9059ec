/* topic.c - strict parser and formatter of the contract's MQTT topics (protocol.md section 1).
 *
 * Grammar (exactly five levels, no empty level, no wildcards, no trailing slash):
 *   city/v1/<kind>/<device_id>/up
 *   city/v1/<kind>/<device_id>/status
 *   city/v1/alert/<kind>/<district>
 * <device_id> and <district> are 1..64 chars of [a-z0-9-]. */
#include "ct/topic.h"

#include <stdio.h>
#include <string.h>

#include "ct/err.h"

#define TOPIC_LEVELS 5

static bool level_is(const char *s, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

int ct_topic_parse(const char *topic, size_t len, struct ct_topic *out)
{
    const char *lv[TOPIC_LEVELS];
    size_t ll[TOPIC_LEVELS];
    size_t n = 0;
    size_t start = 0;

    if (topic == NULL || out == NULL || len == 0 || len > CT_TOPIC_MAX) {
        return CT_E_PARSE;
    }
    for (size_t i = 0; i <= len; i++) {
        if (i == len || topic[i] == '/') {
            if (n == TOPIC_LEVELS) {
                return CT_E_PARSE;
            }
            lv[n] = topic + start;
            ll[n] = i - start;
            if (ll[n] == 0) {
                return CT_E_PARSE;
            }
            n++;
            start = i + 1;
        }
    }
    if (n != TOPIC_LEVELS || !level_is(lv[0], ll[0], "city") || !level_is(lv[1], ll[1], "v1")) {
        return CT_E_PARSE;
    }

    struct ct_topic t;
    memset(&t, 0, sizeof(t));
    if (level_is(lv[2], ll[2], "alert")) {
        if (ct_kind_parse(lv[3], ll[3], &t.kind) != 0 || !ct_device_id_valid(lv[4], ll[4])) {
            return CT_E_PARSE;
        }
        t.type = CT_TOPIC_ALERT;
        memcpy(t.id, lv[4], ll[4]);
        t.id[ll[4]] = '\0';
    } else {
        if (ct_kind_parse(lv[2], ll[2], &t.kind) != 0 || !ct_device_id_valid(lv[3], ll[3])) {
            return CT_E_PARSE;
        }
        if (level_is(lv[4], ll[4], "up")) {
            t.type = CT_TOPIC_UP;
        } else if (level_is(lv[4], ll[4], "status")) {
            t.type = CT_TOPIC_STATUS;
        } else {
            return CT_E_PARSE;
        }
        memcpy(t.id, lv[3], ll[3]);
        t.id[ll[3]] = '\0';
    }
    *out = t;
    return 0;
}

int ct_topic_format(enum ct_topic_type type, enum ct_kind kind, const char *id, char *out,
                    size_t cap)
{
    const char *kn = ct_kind_name(kind);
    int n;

    if (kn == NULL || id == NULL || out == NULL || !ct_device_id_valid(id, strlen(id))) {
        return CT_E_INVAL;
    }
    switch (type) {
    case CT_TOPIC_UP:
        n = snprintf(out, cap, "city/v1/%s/%s/up", kn, id);
        break;
    case CT_TOPIC_STATUS:
        n = snprintf(out, cap, "city/v1/%s/%s/status", kn, id);
        break;
    case CT_TOPIC_ALERT:
        n = snprintf(out, cap, "city/v1/alert/%s/%s", kn, id);
        break;
    default:
        return CT_E_INVAL;
    }
    if (n < 0 || (size_t)n >= cap) {
        if (cap > 0) {
            out[0] = '\0';
        }
        return CT_E_TOOBIG;
    }
    return 0;
}
