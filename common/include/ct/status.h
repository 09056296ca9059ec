/* ct/status.h - status payloads (protocol.md section 1 and "Status messages"): strict decode.
 *
 * `{"v":1,"id":..,"boot":B,"seq":S,"state":"online"|"offline"[,"fw":..]}`. (boot, seq) orders a
 * device's status messages: the node numbers them per boot, separately from telemetry (the
 * "online" of its k-th connection is seq 2k, the will registered with that connection 2k+1). */
#ifndef CT_STATUS_H
#define CT_STATUS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct/reject.h"
#include "ct/schema.h"

#define CT_STATUS_FW_MAX 32

struct ct_status {
    char id[CT_ID_MAX + 1];
    uint64_t boot;
    uint64_t seq;
    bool online;
    char fw[CT_STATUS_FW_MAX + 1]; /* "" when absent */
};

/* Decodes 'len' bytes of 'buf' (not NUL-terminated) with the telemetry decoder's strict rules
 * (size, UTF-8, strict JSON, no duplicate keys, no trailing data, exact integers): `v` == 1,
 * `id` a device id, `boot` and `seq` integers >= 0, `state` "online" or "offline", optional `fw`
 * a string of at most 32 bytes; any other member is a schema error. Returns 0, CT_E_PARSE with
 * *why filled (code UTF8, JSON, SIZE or SCHEMA and a sentence naming the member), CT_E_INVAL or
 * CT_E_NOMEM. 'why' may be NULL. */
int ct_status_decode(const char *buf, size_t len, struct ct_status *out, struct ct_reason *why);

#endif
