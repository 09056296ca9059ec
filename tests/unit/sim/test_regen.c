/* test_regen.c - fleet-sim's registry generator: the file loads with ct_registry_load; exact
 * counts per kind; every district has devices and the urban ones are denser; names are non-empty
 * UTF-8 Vietnamese of the right form; bays reference lots of their district nearby; coordinates in
 * Hanoi; the same seed gives the same file; small fleets still have every kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ct/err.h"
#include "ct/registry.h"
#include "sim_physics.h"
#include "sim_regen.h"

/* Strict UTF-8 check (no overlongs, no surrogates). */
static bool utf8_ok(const char *s, bool *non_ascii)
{
    const unsigned char *p = (const unsigned char *)s;
    *non_ascii = false;
    while (*p != 0) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        *non_ascii = true;
        int n = (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 : (*p & 0xF8) == 0xF0 ? 3 : -1;
        if (n < 0 || (*p == 0xC0 || *p == 0xC1)) {
            return false;
        }
        uint32_t cp = *p & (0x3F >> n);
        for (int i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (n == 3 && cp < 0x10000)) {
            return false;
        }
        p += n + 1;
    }
    return true;
}

static struct ct_registry *generate(size_t n, uint64_t seed, char *path, size_t cap)
{
    snprintf(path, cap, "/tmp/ct-test-regen-%ld-%zu-%llu.jsonl", (long)getpid(), n,
             (unsigned long long)seed);
    assert_int_equal(sim_regen_write_file(path, n, seed), 0);
    struct ct_registry *reg = NULL;
    char err[256] = "";
    int rc = ct_registry_load(path, &reg, err, sizeof(err));
    if (rc != 0) {
        print_error("%s\n", err);
    }
    assert_int_equal(rc, 0);
    return reg;
}

static int district_index(const char *name)
{
    for (int d = 0; d < SIM_NDISTRICTS; d++) {
        if (strcmp(sim_districts[d].name, name) == 0) {
            return d;
        }
    }
    return -1;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void test_regen_large_registry(void **state)
{
    char path[128];
    const size_t n = 3000;
    struct ct_registry *reg = generate(n, 5, path, sizeof(path));
    assert_int_equal(ct_registry_count(reg), n);
    struct sim_regen_mix mix;
    sim_regen_mix_of(n, &mix);
    assert_int_equal(mix.air, 1200);
    assert_int_equal(mix.water + mix.rain, 600);
    assert_int_equal(mix.flood, 450);
    assert_int_equal(mix.lots + mix.bays, 750);
    size_t kinds[CT_KIND__COUNT] = {0}, lots = 0, bays = 0;
    size_t per_district[SIM_NDISTRICTS] = {0};
    for (size_t i = 0; i < n; i++) {
        const struct ct_device *d = ct_registry_at(reg, i);
        kinds[d->kind]++;
        int di = district_index(d->district);
        assert_true(di >= 0);
        per_district[di]++;
        bool non_ascii = false;
        assert_true(strlen(d->name) > 0 && strlen(d->ward) > 0);
        assert_true(utf8_ok(d->name, &non_ascii));
        assert_true(utf8_ok(d->ward, &non_ascii));
        assert_true(d->lat > 20.5 && d->lat < 21.45 && d->lon > 105.2 && d->lon < 106.1);
        switch (d->kind) {
        case CT_KIND_AIR:
            assert_true(starts_with(d->name, "Trạm quan trắc "));
            break;
        case CT_KIND_WATER:
            assert_true(starts_with(d->name, "Trạm quan trắc nước "));
            break;
        case CT_KIND_RAIN:
            assert_true(starts_with(d->name, "Trạm đo mưa ") && d->mm_per_tip > 0);
            break;
        case CT_KIND_FLOOD:
            assert_true(starts_with(d->name, "Điểm đo ngập ") && d->mount_cm > 0);
            assert_int_equal(d->nbands, 3);
            break;
        default:
            if (d->park_mode == CT_PARK_LOT) {
                lots++;
                assert_true(starts_with(d->name, "Bãi đỗ xe ") && d->capacity > 0);
                enum sim_lot_character c = sim_lot_character_of(d->id);
                assert_true(c != SIM_LOT_MARKET || starts_with(d->name, "Bãi đỗ xe chợ "));
                assert_true(c != SIM_LOT_RESIDENTIAL ||
                            starts_with(d->name, "Bãi đỗ xe khu dân cư "));
            } else {
                assert_int_equal(d->park_mode, CT_PARK_BAY);
                bays++;
                assert_true(starts_with(d->name, "Ô đỗ "));
                const struct ct_device *lot = ct_registry_find(reg, d->lot, strlen(d->lot));
                assert_non_null(lot);
                assert_int_equal(lot->park_mode, CT_PARK_LOT);
                assert_string_equal(lot->district, d->district);
                assert_string_equal(lot->ward, d->ward);
                assert_true(sim_km(lot->lat, lot->lon, d->lat, d->lon) < 0.5);
                assert_non_null(strstr(d->name, lot->name));
            }
            break;
        }
    }
    assert_int_equal(kinds[CT_KIND_AIR], mix.air);
    assert_int_equal(kinds[CT_KIND_WATER], mix.water);
    assert_int_equal(kinds[CT_KIND_RAIN], mix.rain);
    assert_int_equal(kinds[CT_KIND_FLOOD], mix.flood);
    assert_int_equal(lots, mix.lots);
    assert_int_equal(bays, mix.bays);
    double urban = 0, rural = 0;
    int nurban = 0;
    for (int d = 0; d < SIM_NDISTRICTS; d++) {
        assert_true(per_district[d] > 0); /* all 30 districts */
        if (sim_districts[d].urban) {
            urban += (double)per_district[d];
            nurban++;
        } else {
            rural += (double)per_district[d];
        }
    }
    assert_int_equal(nurban, 12);
    print_message("per district: urban %.0f, rural %.0f\n", urban / 12, rural / 18);
    assert_true(urban / 12 > 3.0 * rural / 18);
    /* A prefix of the file (--limit) is a mix of kinds. */
    bool seen[CT_KIND__COUNT] = {false};
    for (size_t i = 0; i < 20; i++) {
        seen[ct_registry_at(reg, i)->kind] = true;
    }
    for (int k = 0; k < CT_KIND__COUNT; k++) {
        assert_true(seen[k]);
    }
    ct_registry_free(reg);
    unlink(path);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[3][1 << 20];
    static int which;
    char *b = buf[which++ % 3];
    size_t n = fread(b, 1, (1 << 20) - 1, f);
    b[n] = '\0';
    fclose(f);
    return b;
}

static void test_regen_reproducible_and_small(void **state)
{
    char p1[128], p2[128];
    struct ct_registry *a = generate(300, 9, p1, sizeof(p1));
    char *ta = slurp(p1);
    unlink(p1);
    struct ct_registry *b = generate(300, 9, p2, sizeof(p2));
    char *tb = slurp(p2);
    assert_string_equal(ta, tb);
    unlink(p2);
    struct ct_registry *c = generate(300, 10, p2, sizeof(p2));
    assert_true(strcmp(ta, slurp(p2)) != 0);
    unlink(p2);
    ct_registry_free(a);
    ct_registry_free(b);
    ct_registry_free(c);
    /* Six devices: one of each kind, a lot and a bay. */
    struct ct_registry *s = generate(6, 1, p1, sizeof(p1));
    size_t lots = 0, bays = 0;
    bool seen[CT_KIND__COUNT] = {false};
    for (size_t i = 0; i < 6; i++) {
        const struct ct_device *d = ct_registry_at(s, i);
        seen[d->kind] = true;
        lots += d->park_mode == CT_PARK_LOT;
        bays += d->park_mode == CT_PARK_BAY;
    }
    for (int k = 0; k < CT_KIND__COUNT; k++) {
        assert_true(seen[k]);
    }
    assert_int_equal(lots, 1);
    assert_int_equal(bays, 1);
    ct_registry_free(s);
    unlink(p1);
    for (size_t n = 1; n < 6; n++) {
        struct ct_registry *r = generate(n, 2, p1, sizeof(p1));
        assert_int_equal(ct_registry_count(r), n);
        ct_registry_free(r);
        unlink(p1);
    }
    assert_int_equal(sim_regen_write(stdout, 0, 1), CT_E_INVAL);
    assert_int_equal(sim_regen_write(stdout, SIM_REGEN_MAX_NODES + 1, 1), CT_E_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regen_large_registry),
        cmocka_unit_test(test_regen_reproducible_and_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
