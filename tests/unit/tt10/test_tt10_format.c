/* test_tt10_format.c - TT 10/2021 station files: the encoder against the golden files in
 * tests/data/tt10/out (byte-exact), the strict parser against the real-shaped inputs in
 * tests/data/tt10/in (good ones parse to the expected values, each bad one is refused with the
 * line and reason listed in in/bad/EXPECTED.tsv), local time both ways, the parameter map. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "col_tt10.h"
#include "ct/err.h"
#include "ct/registry.h"
#include "tt10_test_util.h"

static struct ct_registry *registry(void)
{
    static const char text[] =
        "{\"id\":\"hn-air-0001\",\"kind\":\"air\",\"name\":\"Trạm Hàng Bông\",\"lat\":21.03,"
        "\"lon\":105.85,\"district\":\"Hoàn Kiếm\",\"ward\":\"Hàng Bông\",\"tt10\":{\"province\":"
        "\"HN\",\"facility\":\"CITYTEL\",\"station\":\"KK-0001\"}}\n"
        "{\"id\":\"hn-water-0002\",\"kind\":\"water\",\"name\":\"Sông Tô Lịch – Cầu Giấy\","
        "\"lat\":21.03,\"lon\":105.79,\"district\":\"Cầu Giấy\",\"ward\":\"Dịch Vọng\",\"tt10\":"
        "{\"province\":\"HN\",\"facility\":\"CITYTEL\",\"station\":\"NM-0002\"}}\n";
    struct ct_registry *reg = NULL;
    char err[256];
    assert_int_equal(ct_registry_parse(text, strlen(text), "r", &reg, err, sizeof(err)), 0);
    return reg;
}

/* 2026-12-05T07:30:00Z, 14:30:00 in Hanoi. */
#define T0 ((int64_t)1796455800000)

static void test_tt10_time(void **state)
{
    (void)state;
    char t[15];
    assert_int_equal(col_tt10_time_format(T0, 420, t), 0);
    assert_string_equal(t, "20261205143000");
    assert_int_equal(col_tt10_time_format(T0 + 999, 420, t), 0);
    assert_string_equal(t, "20261205143000");
    /* 23:59:59Z on 31 December is the next year in Hanoi. */
    assert_int_equal(col_tt10_time_format(1798761599000, 420, t), 0);
    assert_string_equal(t, "20270101065959");
    int64_t ms = 0;
    assert_int_equal(col_tt10_time_parse("20261205143000", 14, 420, &ms), 0);
    assert_int_equal(ms, T0);
    assert_int_equal(col_tt10_time_parse("20240229000000", 14, 420, &ms), 0);
    assert_int_equal(col_tt10_time_parse("20250229000000", 14, 420, &ms), CT_E_PARSE);
    assert_int_equal(col_tt10_time_parse("20261205246000", 14, 420, &ms), CT_E_PARSE);
    assert_int_equal(col_tt10_time_parse("2026120514300", 13, 420, &ms), CT_E_PARSE);
    assert_int_equal(col_tt10_time_parse("2026120514300x", 14, 420, &ms), CT_E_PARSE);
}

static void test_tt10_format_golden(void **state)
{
    (void)state;
    struct col_tt10_fmt fmt;
    col_tt10_fmt_default(&fmt);
    struct col_tt10_map map;
    char err[COL_TT10_ERR_MAX];
    assert_int_equal(col_tt10_map_parse(col_tt10_map_default_spec(), &map, err, sizeof(err)), 0);
    struct ct_registry *reg = registry();
    const struct ct_device *air = ct_registry_find(reg, "hn-air-0001", 11);
    char name[COL_TT10_NAME_MAX + 1];
    assert_int_equal(col_tt10_file_name(&fmt, air, T0, name, sizeof(name)), 0);
    assert_string_equal(name, "HN_CITYTEL_KK-0001_20261205143000.txt");

    static const struct {
        const char *member;
        double v;
        enum col_tt10_status st;
    } in[] = {{"pm25", 35.2, COL_TT10_MEASURING},
              {"pm10", 61.004, COL_TT10_MEASURING},
              {"no2", 40.125, COL_TT10_CALIBRATING},
              {"t", -0.001, COL_TT10_MEASURING},
              {"rh", 78, COL_TT10_FAULT}};
    struct col_tt10_value v[5];
    for (size_t i = 0; i < 5; i++) {
        const struct col_tt10_param *p = col_tt10_map_member(&map, CT_KIND_AIR, in[i].member);
        assert_non_null(p);
        v[i] = (struct col_tt10_value){p->symbol, p->unit, in[i].v, in[i].st};
    }
    struct ct_buf out;
    ct_buf_init(&out, COL_TT10_FILE_MAX);
    assert_int_equal(col_tt10_format(&fmt, T0, v, 5, &out), 0);
    size_t glen;
    char *golden = tt10_test_data("out/HN_CITYTEL_KK-0001_20261205143000.txt", &glen);
    assert_int_equal(out.len, glen);
    assert_memory_equal(out.p, golden, glen);
    free(golden);

    /* The water station: pH has no unit (an empty field); one decimal configured. */
    const struct ct_device *water = ct_registry_find(reg, "hn-water-0002", 13);
    assert_int_equal(col_tt10_file_name(&fmt, water, T0 + 300000, name, sizeof(name)), 0);
    assert_string_equal(name, "HN_CITYTEL_NM-0002_20261205143500.txt");
    fmt.decimals = 1;
    const struct col_tt10_param *ph = col_tt10_map_member(&map, CT_KIND_WATER, "ph");
    const struct col_tt10_param *dox = col_tt10_map_member(&map, CT_KIND_WATER, "do");
    struct col_tt10_value w[2] = {{ph->symbol, ph->unit, 7.21, COL_TT10_MEASURING},
                                  {dox->symbol, dox->unit, 5.45, COL_TT10_FAULT}};
    ct_buf_reset(&out);
    assert_int_equal(col_tt10_format(&fmt, T0 + 300000, w, 2, &out), 0);
    golden = tt10_test_data("out/HN_CITYTEL_NM-0002_20261205143500.txt", &glen);
    assert_int_equal(out.len, glen);
    assert_memory_equal(out.p, golden, glen);
    free(golden);

    /* Refused: a non-finite value, a TAB in a symbol; nothing is appended. */
    ct_buf_reset(&out);
    struct col_tt10_value bad = {"PM-2.5", "ug/m3", NAN, COL_TT10_MEASURING};
    assert_int_equal(col_tt10_format(&fmt, T0, &bad, 1, &out), CT_E_INVAL);
    bad = (struct col_tt10_value){"PM\t2.5", "ug/m3", 1, COL_TT10_MEASURING};
    assert_int_equal(col_tt10_format(&fmt, T0, &bad, 1, &out), CT_E_INVAL);
    assert_int_equal(out.len, 0);
    ct_buf_free(&out);
    ct_registry_free(reg);
}

static void parse_file(const char *dir, const char *name, struct col_tt10_file *f, int *rc,
                       size_t *line, char *err, size_t errcap)
{
    struct col_tt10_fmt fmt;
    col_tt10_fmt_default(&fmt);
    char rel[512];
    snprintf(rel, sizeof(rel), "%s/%s", dir, name);
    size_t len;
    char *text = tt10_test_data(rel, &len);
    *line = 0;
    *rc = col_tt10_parse_name(&fmt, name, strlen(name), f, err, errcap);
    if (*rc == 0) {
        *rc = col_tt10_parse(&fmt, text, len, f, line, err, errcap);
    }
    free(text);
}

static void test_tt10_parse_good(void **state)
{
    (void)state;
    struct col_tt10_file *f = malloc(sizeof(*f));
    assert_non_null(f);
    char err[COL_TT10_ERR_MAX] = "";
    size_t line;
    int rc;
    parse_file("in/good", "HN_CITYTEL_KK-0001_20261205143000.txt", f, &rc, &line, err, sizeof(err));
    assert_int_equal(rc, 0);
    assert_string_equal(f->province, "HN");
    assert_string_equal(f->facility, "CITYTEL");
    assert_string_equal(f->station, "KK-0001");
    assert_int_equal(f->ts_ms, T0);
    assert_int_equal(f->n, 5);
    assert_string_equal(f->lines[2].symbol, "NO2");
    assert_true(fabs(f->lines[2].value - 40.1) < 1e-9);
    assert_int_equal(f->lines[2].status, COL_TT10_CALIBRATING);
    assert_string_equal(f->lines[4].unit, "%");
    assert_int_equal(f->lines[4].ts_ms, T0);

    /* A BOM, an empty unit, a fault status. */
    parse_file("in/good", "HN_CITYTEL_NM-0002_20261205143500.txt", f, &rc, &line, err, sizeof(err));
    assert_int_equal(rc, 0);
    assert_int_equal(f->n, 4);
    assert_string_equal(f->lines[0].symbol, "pH");
    assert_string_equal(f->lines[0].unit, "");
    assert_int_equal(f->lines[1].status, COL_TT10_FAULT);

    /* Vietnamese symbols and units are kept byte for byte. */
    parse_file("in/good", "HN_CITYTEL_KK-0003_20261205144000.txt", f, &rc, &line, err, sizeof(err));
    assert_int_equal(rc, 0);
    assert_string_equal(f->lines[0].symbol, "Nhiệt độ");
    assert_string_equal(f->lines[0].unit, "°C");
    assert_string_equal(f->lines[1].symbol, "Độ ẩm");
    free(f);
}

static void test_tt10_parse_bad(void **state)
{
    (void)state;
    size_t len;
    char *list = tt10_test_data("in/bad/EXPECTED.tsv", &len);
    struct col_tt10_file *f = malloc(sizeof(*f));
    assert_non_null(f);
    size_t checked = 0;
    char *save = list;
    for (char *nl; (nl = strchr(save, '\n')) != NULL; save = nl + 1) {
        *nl = '\0';
        if (save[0] == '#' || save[0] == '\0') {
            continue;
        }
        char *tab = strchr(save, '\t');
        assert_non_null(tab);
        *tab = '\0';
        char err[COL_TT10_ERR_MAX] = "";
        size_t line;
        int rc;
        parse_file("in/bad", save, f, &rc, &line, err, sizeof(err));
        char got[COL_TT10_ERR_MAX + 32];
        snprintf(got, sizeof(got), "%zu:%s", line, err);
        if (rc != CT_E_PARSE || strcmp(got, tab + 1) != 0) {
            print_error("%s: want \"%s\", got rc %d \"%s\"\n", save, tab + 1, rc, got);
        }
        assert_int_equal(rc, CT_E_PARSE);
        assert_string_equal(got, tab + 1);
        checked++;
    }
    assert_true(checked >= 15);
    free(f);
    free(list);
}

/* What we write, we read back the same (values at the written precision). */
static void test_tt10_roundtrip(void **state)
{
    (void)state;
    struct col_tt10_fmt fmt;
    col_tt10_fmt_default(&fmt);
    struct col_tt10_value v[3] = {{"PM-2.5", "ug/m3", 12.345, COL_TT10_MEASURING},
                                  {"Nhiệt độ", "°C", -3.5, COL_TT10_CALIBRATING},
                                  {"pH", "", 7, COL_TT10_FAULT}};
    struct ct_buf out;
    ct_buf_init(&out, COL_TT10_FILE_MAX);
    assert_int_equal(col_tt10_format(&fmt, T0, v, 3, &out), 0);
    struct col_tt10_file *f = malloc(sizeof(*f));
    assert_non_null(f);
    size_t line;
    char err[COL_TT10_ERR_MAX];
    assert_int_equal(col_tt10_parse(&fmt, out.p, out.len, f, &line, err, sizeof(err)), 0);
    assert_int_equal(f->n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(f->lines[i].symbol, v[i].symbol);
        assert_string_equal(f->lines[i].unit, v[i].unit);
        assert_true(fabs(f->lines[i].value - round(v[i].value * 100) / 100) < 1e-9);
        assert_int_equal(f->lines[i].status, v[i].status);
        assert_int_equal(f->lines[i].ts_ms, T0);
    }
    /* Configured: bare LF lines accepted, other status codes. */
    fmt.accept_lf = true;
    fmt.status[1] = "CAL";
    const char lf[] = "PM-10\t5\tug/m3\t20261205143000\tCAL\n";
    assert_int_equal(col_tt10_parse(&fmt, lf, strlen(lf), f, &line, err, sizeof(err)), 0);
    assert_int_equal(f->lines[0].status, COL_TT10_CALIBRATING);
    free(f);
    ct_buf_free(&out);
}

static void test_tt10_map(void **state)
{
    (void)state;
    struct col_tt10_map map;
    char err[COL_TT10_ERR_MAX] = "";
    assert_int_equal(
        col_tt10_map_parse(" air.pm25=PM25:ug/m3 , water.ph=pH: ", &map, err, sizeof(err)), 0);
    assert_int_equal(map.n, 2);
    assert_string_equal(col_tt10_map_symbol(&map, CT_KIND_AIR, "PM25")->member, "pm25");
    assert_null(col_tt10_map_symbol(&map, CT_KIND_WATER, "PM25"));
    assert_int_equal(col_tt10_map_parse("air.pm1=PM1:ug/m3", &map, err, sizeof(err)), CT_E_PARSE);
    assert_string_equal(err, "tt10 map entry \"air.pm1=PM1:ug/m3\": no such member of air");
    assert_int_equal(col_tt10_map_parse("air.pm25=A:x,air.pm10=A:x", &map, err, sizeof(err)),
                     CT_E_PARSE);
    assert_string_equal(err, "tt10 map entry \"air.pm10=A:x\": symbol A used twice for air");
    assert_int_equal(col_tt10_map_parse("air.pm25=A", &map, err, sizeof(err)), CT_E_PARSE);
    assert_int_equal(col_tt10_map_parse("", &map, err, sizeof(err)), CT_E_PARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tt10_time),       cmocka_unit_test(test_tt10_format_golden),
        cmocka_unit_test(test_tt10_parse_good), cmocka_unit_test(test_tt10_parse_bad),
        cmocka_unit_test(test_tt10_roundtrip),  cmocka_unit_test(test_tt10_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
