/* test_common_schema.c - the kinds/members/ranges table against protocol.md section 2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ct/err.h"
#include "ct/schema.h"

struct expect {
    enum ct_kind kind;
    const char *name;
    const char *unit;
    enum ct_vtype type;
    double min, max;
    bool optional;
};

/* protocol.md section 2, typed in again by hand: the table must agree with it. */
static const struct expect contract[] = {
    {CT_KIND_AIR, "pm25", "ug/m3", CT_VT_NUMBER, 0, 2000, false},
    {CT_KIND_AIR, "pm10", "ug/m3", CT_VT_NUMBER, 0, 2000, false},
    {CT_KIND_AIR, "no2", "ug/m3", CT_VT_NUMBER, 0, 5000, false},
    {CT_KIND_AIR, "so2", "ug/m3", CT_VT_NUMBER, 0, 5000, false},
    {CT_KIND_AIR, "o3", "ug/m3", CT_VT_NUMBER, 0, 5000, false},
    {CT_KIND_AIR, "co", "ug/m3", CT_VT_NUMBER, 0, 200000, false},
    {CT_KIND_AIR, "t", "degC", CT_VT_NUMBER, -20, 60, false},
    {CT_KIND_AIR, "rh", "%", CT_VT_NUMBER, 0, 100, false},
    {CT_KIND_WATER, "ph", "pH", CT_VT_NUMBER, 0, 14, false},
    {CT_KIND_WATER, "do", "mg/L", CT_VT_NUMBER, 0, 25, false},
    {CT_KIND_WATER, "turb", "NTU", CT_VT_NUMBER, 0, 4000, false},
    {CT_KIND_WATER, "ec", "uS/cm", CT_VT_NUMBER, 0, 200000, false},
    {CT_KIND_WATER, "t", "degC", CT_VT_NUMBER, 0, 50, false},
    {CT_KIND_WATER, "nh4", "mg/L", CT_VT_NUMBER, 0, 10000, true},
    {CT_KIND_WATER, "cod", "mg/L", CT_VT_NUMBER, 0, 10000, true},
    {CT_KIND_WATER, "tss", "mg/L", CT_VT_NUMBER, 0, 10000, true},
    {CT_KIND_RAIN, "tips", "count", CT_VT_INT, 0, 4294967295.0, false},
    {CT_KIND_RAIN, "mm", "mm", CT_VT_NUMBER, 0, 500, false},
    {CT_KIND_FLOOD, "depth", "cm", CT_VT_NUMBER, 0, 500, false},
    {CT_KIND_PARKING, "capacity", "spaces", CT_VT_INT, 0, 10000, false},
    {CT_KIND_PARKING, "occupied", "spaces", CT_VT_INT, 0, 10000, false},
};

static void test_table_matches_contract(void **state)
{
    (void)state;
    size_t total = 0;
    for (size_t i = 0; i < sizeof(contract) / sizeof(contract[0]); i++) {
        const struct expect *e = &contract[i];
        const struct ct_member *m = ct_schema_find(e->kind, e->name, strlen(e->name));
        assert_non_null(m);
        assert_int_equal(m->kind, e->kind);
        assert_string_equal(m->name, e->name);
        assert_string_equal(m->unit, e->unit);
        assert_int_equal(m->type, e->type);
        assert_true(m->min == e->min);
        assert_true(m->max == e->max);
        assert_int_equal(m->optional_probe, e->optional);
        assert_non_null(m->label_vi);
        assert_non_null(m->label_en);
        assert_true(strlen(m->label_vi) > 0 && strlen(m->label_en) > 0);
        assert_true(strlen(m->name) <= CT_MEMBER_NAME_MAX);
    }
    for (int k = 0; k < CT_KIND__COUNT; k++) {
        size_t n = 0;
        assert_non_null(ct_schema_members((enum ct_kind)k, &n));
        total += n;
    }
    /* No member beyond the contract's. */
    assert_int_equal(total, sizeof(contract) / sizeof(contract[0]));
}

static void test_labels_vietnamese(void **state)
{
    (void)state;
    const struct ct_member *m = ct_schema_find(CT_KIND_AIR, "t", 1);
    assert_string_equal(m->label_vi, "Nhiệt độ");
    assert_string_equal(m->label_en, "Temperature");
    m = ct_schema_find(CT_KIND_FLOOD, "depth", 5);
    assert_string_equal(m->label_vi, "Độ sâu ngập");
    m = ct_schema_find(CT_KIND_RAIN, "mm", 2);
    assert_string_equal(m->label_vi, "Lượng mưa");
}

static void test_find_is_exact(void **state)
{
    (void)state;
    assert_null(ct_schema_find(CT_KIND_AIR, "PM25", 4));
    assert_null(ct_schema_find(CT_KIND_AIR, "pm2", 3));
    assert_null(ct_schema_find(CT_KIND_AIR, "pm25x", 5));
    assert_non_null(ct_schema_find(CT_KIND_AIR, "pm25x", 4)); /* length-bounded */
    assert_null(ct_schema_find(CT_KIND_AIR, "ph", 2));        /* water's, not air's */
    assert_null(ct_schema_find(CT_KIND__COUNT, "t", 1));
    size_t n = 7;
    assert_null(ct_schema_members(CT_KIND__COUNT, &n));
    assert_int_equal(n, 0);
}

static void test_ranges_inclusive(void **state)
{
    (void)state;
    const struct ct_member *t = ct_schema_find(CT_KIND_AIR, "t", 1);
    assert_true(ct_schema_in_range(t, -20));
    assert_true(ct_schema_in_range(t, 60));
    assert_false(ct_schema_in_range(t, -20.0001));
    assert_false(ct_schema_in_range(t, 60.0001));
    assert_false(ct_schema_in_range(t, 0.0 / 0.0));
    assert_false(ct_schema_in_range(NULL, 1));
    const struct ct_member *tips = ct_schema_find(CT_KIND_RAIN, "tips", 4);
    assert_true(ct_schema_in_range(tips, 4294967295.0));
    assert_false(ct_schema_in_range(tips, 4294967296.0));
}

static void test_kind_names(void **state)
{
    (void)state;
    static const char *const names[] = {"air", "water", "rain", "flood", "parking"};
    for (int k = 0; k < CT_KIND__COUNT; k++) {
        enum ct_kind got = CT_KIND__COUNT;
        assert_string_equal(ct_kind_name((enum ct_kind)k), names[k]);
        assert_int_equal(ct_kind_parse(names[k], strlen(names[k]), &got), 0);
        assert_int_equal(got, k);
    }
    enum ct_kind got;
    assert_null(ct_kind_name(CT_KIND__COUNT));
    assert_int_equal(ct_kind_parse("Air", 3, &got), CT_E_NOTFOUND);
    assert_int_equal(ct_kind_parse("airx", 4, &got), CT_E_NOTFOUND);
    assert_int_equal(ct_kind_parse("airx", 3, &got), 0);
    assert_int_equal(got, CT_KIND_AIR);
    assert_int_equal(ct_kind_parse("", 0, &got), CT_E_NOTFOUND);
}

static void test_device_ids(void **state)
{
    (void)state;
    char id[CT_ID_MAX + 2];
    assert_true(ct_device_id_valid("hn-air-0001", 11));
    assert_true(ct_device_id_valid("a", 1));
    assert_true(ct_device_id_valid("-", 1));
    assert_false(ct_device_id_valid("", 0));
    assert_false(ct_device_id_valid("HN-air", 6));
    assert_false(ct_device_id_valid("hn_air", 6));
    assert_false(ct_device_id_valid("hn air", 6));
    assert_false(ct_device_id_valid("hn/air", 6));
    assert_false(ct_device_id_valid("h\0n", 3));
    assert_false(ct_device_id_valid("h\xc3\xa0", 3));
    memset(id, 'a', sizeof(id));
    assert_true(ct_device_id_valid(id, CT_ID_MAX));
    assert_false(ct_device_id_valid(id, CT_ID_MAX + 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_matches_contract),
        cmocka_unit_test(test_labels_vietnamese),
        cmocka_unit_test(test_find_is_exact),
        cmocka_unit_test(test_ranges_inclusive),
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_device_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
