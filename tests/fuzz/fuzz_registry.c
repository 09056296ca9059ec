/* fuzz_registry.c - ct_registry_parse() on hostile JSON Lines: no crash, no leak; a parsed
 * registry finds each of its devices by id, and every device satisfies the documented rules. */
#include <stdint.h>
#include <string.h>

#include "ct/err.h"
#include "ct/registry.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ct_registry *reg = NULL;
    char err[256];
    err[0] = '\0';
    int rc = ct_registry_parse((const char *)data, size, "fuzz.jsonl", &reg, err, sizeof(err));
    FZ_CHECK(rc == 0 || rc == CT_E_PARSE || rc == CT_E_NOMEM, "rc %d", rc);
    FZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL, "err unterminated");
    if (rc != 0) {
        FZ_CHECK(reg == NULL, "registry returned on error");
        FZ_CHECK(rc != CT_E_PARSE || err[0] != '\0', "parse error without a message");
        return 0;
    }
    size_t n = ct_registry_count(reg);
    for (size_t i = 0; i < n; i++) {
        const struct ct_device *d = ct_registry_at(reg, i);
        FZ_CHECK(d != NULL, "device %zu missing", i);
        FZ_CHECK(ct_device_id_valid(d->id, strlen(d->id)), "bad id '%s'", d->id);
        FZ_CHECK(ct_registry_find(reg, d->id, strlen(d->id)) == d, "find '%s'", d->id);
        FZ_CHECK((unsigned)d->kind < CT_KIND__COUNT, "kind");
        FZ_CHECK(d->lat >= -90 && d->lat <= 90 && d->lon >= -180 && d->lon <= 180, "lat/lon");
        FZ_CHECK(d->name != NULL && d->district != NULL && d->ward != NULL, "strings");
        FZ_CHECK(d->nbands <= CT_MAX_BANDS, "bands");
        for (size_t b = 1; b < d->nbands; b++) {
            FZ_CHECK(d->bands_cm[b] > d->bands_cm[b - 1], "bands not increasing");
        }
        FZ_CHECK(d->interval_s > 0, "interval");
        if (d->kind == CT_KIND_PARKING) {
            FZ_CHECK(d->park_mode == CT_PARK_LOT || d->park_mode == CT_PARK_BAY, "mode");
            FZ_CHECK(d->park_mode != CT_PARK_LOT || d->capacity >= 0, "capacity");
        }
    }
    /* An id not in the registry (ids are at most 64 chars). */
    char longid[CT_ID_MAX + 2];
    memset(longid, 'a', sizeof(longid));
    FZ_CHECK(ct_registry_find(reg, longid, sizeof(longid)) == NULL, "65-char id found");
    ct_registry_free(reg);
    return 0;
}
