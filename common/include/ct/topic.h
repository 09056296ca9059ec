/* ct/topic.h - MQTT topics of the contract (protocol.md section 1). */
#ifndef CT_TOPIC_H
#define CT_TOPIC_H
#include <stdbool.h>
#include <stddef.h>

#include "ct/schema.h"

enum ct_topic_type { CT_TOPIC_UP = 0, CT_TOPIC_STATUS, CT_TOPIC_ALERT };

struct ct_topic {
    enum ct_topic_type type;
    enum ct_kind kind;
    char id[CT_ID_MAX + 1]; /* device id (up/status) or district (alert) */
};

#define CT_TOPIC_MAX 256

/* Parses 'len' bytes (not NUL-terminated): city/v1/<kind>/<id>/up|status, or
 * city/v1/alert/<kind>/<district>. Returns 0 or CT_E_PARSE. */
int ct_topic_parse(const char *topic, size_t len, struct ct_topic *out);
/* Formats city/v1/<kind>/<id>/up or /status (or, for CT_TOPIC_ALERT, city/v1/alert/<kind>/<id>)
 * into out (cap bytes, NUL-terminated). Returns 0, CT_E_TOOBIG, or CT_E_INVAL (invalid kind,
 * type or id). */
int ct_topic_format(enum ct_topic_type type, enum ct_kind kind, const char *id, char *out,
                    size_t cap);

/* Writes the ASCII slug of a UTF-8 name for a topic level: Vietnamese letters lose their marks
 * ("Đống Đa" -> "dong-da", "Hoàn Kiếm" -> "hoan-kiem"), runs of other characters become one '-',
 * at most CT_ID_MAX characters of [a-z0-9-]. 'out' gets cap bytes at most, NUL-terminated.
 * Returns 0, or CT_E_INVAL when nothing of the name is left (or a NULL argument). */
int ct_topic_slug(const char *name, char *out, size_t cap);

#endif
