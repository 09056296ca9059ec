/* ct/reject.h - why a message or a value was rejected.
 *
 * Rejections are outcomes, not errors. Each reason maps one-to-one to the `reason` tag of the
 * `rejected` measurement and to a counter; the order follows the collector's verification order. */
#ifndef CT_REJECT_H
#define CT_REJECT_H
#include <stddef.h>

#define CT_REJECT_MAP(XX)                                                                          \
    XX(NONE, "none")                                                                               \
    XX(SIZE, "size")                     /* payload larger than 4096 bytes or empty */             \
    XX(TOPIC, "topic")                   /* topic grammar */                                       \
    XX(UNKNOWN_DEVICE, "unknown_device") /* not in the registry */                                 \
    XX(SPOOF, "spoof")                   /* topic kind/id differ from registry or payload id */    \
    XX(NO_SIG, "no_sig")                 /* no `sig` user property while signatures required */    \
    XX(BAD_SIG, "bad_sig")               /* signature does not verify */                           \
    XX(UTF8, "utf8")                     /* invalid UTF-8 or escaped NUL */                        \
    XX(JSON, "json")                     /* not strict JSON (syntax, duplicate key, depth) */      \
    XX(SCHEMA, "schema")                 /* missing/extra/mistyped common member */                \
    XX(TYPE, "type")                     /* a measurement has the wrong type (value dropped) */    \
    XX(RANGE, "range")                   /* a measurement is out of range (value dropped) */       \
    XX(FUTURE, "future")                 /* ts more than 5 minutes ahead */                        \
    XX(TOO_OLD, "too_old")               /* ts older than the backlog limit */                     \
    XX(DUPLICATE, "duplicate")           /* (boot, seq) already accepted: dropped, not an error */ \
    XX(REPLAY, "replay")                 /* (boot, seq) older than the replay window */            \
    XX(NO_VALUES, "no_values")           /* no valid measurement left */                           \
    XX(OVERLOAD, "overload")             /* dropped by a full queue's policy */

enum ct_reject {
#define CT_REJECT_ENUM(name, tag) CT_REJ_##name,
    CT_REJECT_MAP(CT_REJECT_ENUM)
#undef CT_REJECT_ENUM
        CT_REJ__COUNT
};

/* Returns the reason tag ("bad_sig"); never NULL. */
const char *ct_reject_name(enum ct_reject r);

/* A rejection with the member it names and a sentence, for logs and the quarantine. */
struct ct_reason {
    enum ct_reject code;
    char member[32]; /* member path, for example "m.pm25" or "ts"; "" when none */
    char text[160];  /* for example "m.pm25: value 2500 is above the maximum 2000" */
};

#endif
