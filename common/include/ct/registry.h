/* ct/registry.h - the device registry (config/registry.jsonl).
 *
 * One JSON object per line; blank lines and lines whose first non-blank character is '#' are
 * skipped. Shared by the collector (lookup on every message) and the simulator (which devices to
 * run). Members:
 *   id (string, [a-z0-9-]{1,64}), kind ("air"|"water"|"rain"|"flood"|"parking"),
 *   name (public name, Vietnamese, UTF-8), lat, lon (WGS84 degrees; Hanoi box checked loosely:
 *   lat -90..90, lon -180..180), district, ward (strings), and optional:
 *   public (bool, default true: shown on the public map),
 *   interval_s (integer > 0: expected reporting interval; default per kind),
 *   rain:    mm_per_tip (number > 0, default 0.2)
 *   flood:   mount_cm (number > 0: sensor height above the road, firmware), bands_cm (array of
 *            increasing numbers: depth band thresholds for this station)
 *   parking: mode ("lot"|"bay", required), capacity (integer >= 0, required for lot),
 *            lot (string id of the lot, required for bay)
 *   any kind: tt10 (object: the station's codes in the national TT 10/2021/TT-BTNMT file format,
 *            docs/tt10.md): {"province": ..., "facility": ..., "station": ...}, each 1..32
 *            characters of [A-Za-z0-9-] (no '_': it separates the codes in the file name); all
 *            three required, no other member.
 * Unknown members and a duplicate id are errors naming the line. */
#ifndef CT_REGISTRY_H
#define CT_REGISTRY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct/schema.h"

enum ct_park_mode { CT_PARK_NONE = 0, CT_PARK_LOT, CT_PARK_BAY };

#define CT_MAX_BANDS 8
#define CT_TT10_CODE_MAX 32 /* bytes of one TT 10/2021 code (province, facility, station) */

struct ct_device {
    char id[CT_ID_MAX + 1];
    enum ct_kind kind;
    char *name;     /* owned by the registry */
    char *district; /* owned by the registry */
    char *ward;     /* owned by the registry */
    double lat;
    double lon;
    bool is_public;
    uint32_t interval_s;
    double mm_per_tip;             /* rain */
    double mount_cm;               /* flood */
    size_t nbands;                 /* flood */
    double bands_cm[CT_MAX_BANDS]; /* flood */
    enum ct_park_mode park_mode;   /* parking */
    int64_t capacity;              /* parking lot */
    char lot[CT_ID_MAX + 1];       /* parking bay: its lot's id */
    bool has_tt10;                 /* the tt10 codes below are set */
    char tt10_province[CT_TT10_CODE_MAX + 1];
    char tt10_facility[CT_TT10_CODE_MAX + 1];
    char tt10_station[CT_TT10_CODE_MAX + 1];
};

struct ct_registry; /* opaque; an id -> device hash table */

/* Parses 'len' bytes of JSON Lines text. On error returns CT_E_PARSE (or CT_E_NOMEM) and writes a
 * message naming the line and member into err ("registry.jsonl:12: member \"lat\": ..."); 'origin'
 * names the source in messages. On success *out is a new registry the caller frees. */
int ct_registry_parse(const char *text, size_t len, const char *origin, struct ct_registry **out,
                      char *err, size_t errcap);
/* Reads and parses a file (at most 64 MiB). Same contract as ct_registry_parse. */
int ct_registry_load(const char *path, struct ct_registry **out, char *err, size_t errcap);
/* Borrowed pointer valid until ct_registry_free; NULL when unknown. 'id' is 'len' bytes. */
const struct ct_device *ct_registry_find(const struct ct_registry *reg, const char *id, size_t len);
size_t ct_registry_count(const struct ct_registry *reg);
/* Devices in file order. */
const struct ct_device *ct_registry_at(const struct ct_registry *reg, size_t i);
/* Default expected reporting interval of a kind, in seconds. */
uint32_t ct_kind_default_interval_s(enum ct_kind kind);
void ct_registry_free(struct ct_registry *reg);

#endif
