/* test_indices_cli.c - `collector aqi`: exact output strings and the error exits. */
#include "idx_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_indices.h"

struct run {
    int rc;
    char *out;
    char *err;
};

/* Runs the command with 'argv' (NULL-terminated, argv[0] = "aqi") and captures both streams. */
static struct run run_cli(const char *const *argv)
{
    struct run r;
    char *args[32];
    size_t out_len = 0;
    size_t err_len = 0;
    FILE *out;
    FILE *err;
    int argc = 0;

    while (argv[argc] != NULL) {
        args[argc] = (char *)argv[argc];
        argc++;
    }
    args[argc] = NULL;
    r.out = NULL;
    r.err = NULL;
    out = open_memstream(&r.out, &out_len);
    err = open_memstream(&r.err, &err_len);
    assert_non_null(out);
    assert_non_null(err);
    r.rc = col_indices_aqi_cli(argc, args, out, err);
    assert_int_equal(fclose(out), 0);
    assert_int_equal(fclose(err), 0);
    return r;
}

static void free_run(struct run *r)
{
    free(r->out);
    free(r->err);
}

static void expect_out(const char *const *argv, const char *want)
{
    struct run r = run_cli(argv);

    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, want);
    assert_string_equal(r.err, "");
    free_run(&r);
}

/* Expects exit 2, nothing on out and a message on err that contains 'needle'. */
static void expect_error(const char *const *argv, const char *needle)
{
    struct run r = run_cli(argv);

    assert_int_equal(r.rc, 2);
    assert_string_equal(r.out, "");
    if (strstr(r.err, needle) == NULL) {
        fail_msg("stderr '%s' does not name '%s'", r.err, needle);
    }
    free_run(&r);
}

static void test_vn_outputs(void **state)
{
    static const char *const pm25_daily[] = {"aqi", "vn", "pm25", "24h", "55.7", NULL};
    static const char *const o3_1h[] = {"aqi", "vn", "o3", "1h", "136.1", NULL};
    static const char *const no2_1h[] = {"aqi", "vn", "no2", "1h", "118.7", NULL};
    static const char *const o3_8h[] = {"aqi", "vn", "o3", "8h", "89.3", NULL};
    static const char *const pm25_nowcast[] = {"aqi",  "vn",   "pm25", "nowcast", "20.6", "19.6",
                                               "22.4", "20.3", "16.5", "19.0",    "16.5", "19.5",
                                               "23.5", "20.5", "24.7", "26.9",    NULL};
    static const char *const co_capped[] = {"aqi", "vn", "co", "1h", "200000", NULL};

    (void)state;
    expect_out(pm25_daily, "{\"aqi\":110,\"category\":\"Kém\",\"color\":\"#FF7E00\"}\n");
    expect_out(o3_1h, "{\"aqi\":43,\"category\":\"Tốt\",\"color\":\"#00E400\"}\n");
    expect_out(no2_1h, "{\"aqi\":59,\"category\":\"Trung bình\",\"color\":\"#FFFF00\"}\n");
    expect_out(o3_8h, "{\"aqi\":45,\"category\":\"Tốt\",\"color\":\"#00E400\"}\n");
    expect_out(pm25_nowcast, "{\"aqi\":41,\"category\":\"Tốt\",\"color\":\"#00E400\"}\n");
    expect_out(co_capped, "{\"aqi\":500,\"category\":\"Nguy hại\",\"color\":\"#7E0023\"}\n");
}

static void test_vn_undefined(void **state)
{
    static const char *const pm25_1h[] = {"aqi", "vn", "pm25", "1h", "30", NULL};
    static const char *const co_8h[] = {"aqi", "vn", "co", "8h", "3000", NULL};
    static const char *const o3_8h_high[] = {"aqi", "vn", "o3", "8h", "400.1", NULL};
    static const char *const short_nowcast[] = {"aqi", "vn", "pm10", "nowcast", "20", "-",
                                                "-",   "20", "20",   "20",      "20", "20",
                                                "20",  "20", "20",   "20",      NULL};
    const char *const null_json = "{\"aqi\":null,\"category\":null,\"color\":null}\n";

    (void)state;
    expect_out(pm25_1h, null_json);
    expect_out(co_8h, null_json);
    expect_out(o3_8h_high, null_json);
    expect_out(short_nowcast, null_json); /* only c1 of c1..c3 */
}

static void test_us_outputs(void **state)
{
    static const char *const pm25[] = {"aqi", "us", "pm25", "24h", "35.45", NULL};
    static const char *const co[] = {"aqi", "us", "co", "8h", "10.0", NULL};
    static const char *const beyond[] = {"aqi", "us", "pm25", "24h", "325.5", NULL};
    static const char *const forum[] = {"aqi",  "us",   "pm25", "nowcast", "21",   "-",
                                        "35",   "49.2", "48.6", "53.7",    "66.2", "69.2",
                                        "64.9", "50",   "43",   "34.9",    NULL};
    static const char *const o3_low[] = {"aqi", "us", "o3", "1h", "0.1", NULL};
    static const char *const so2_high[] = {"aqi", "us", "so2", "1h", "305", NULL};

    (void)state;
    expect_out(pm25, "{\"aqi\":100,\"category\":\"Moderate\",\"color\":\"#FFFF00\"}\n");
    expect_out(co, "{\"aqi\":109,\"category\":\"Unhealthy for Sensitive "
                   "Groups\",\"color\":\"#FF7E00\"}\n");
    expect_out(beyond, "{\"aqi\":500,\"category\":\"Hazardous\",\"color\":\"#7E0023\"}\n");
    expect_out(forum, "{\"aqi\":87,\"category\":\"Moderate\",\"color\":\"#FFFF00\"}\n");
    expect_out(o3_low, "{\"aqi\":null,\"category\":null,\"color\":null}\n");
    expect_out(so2_high, "{\"aqi\":null,\"category\":null,\"color\":null}\n");
}

static void test_bad_arguments(void **state)
{
    static const char *const scheme[] = {"aqi", "uk", "pm25", "24h", "10", NULL};
    static const char *const pollutant[] = {"aqi", "vn", "pm1", "24h", "10", NULL};
    static const char *const averaging[] = {"aqi", "vn", "pm25", "2h", "10", NULL};
    static const char *const value[] = {"aqi", "vn", "pm25", "24h", "ten", NULL};
    static const char *const negative[] = {"aqi", "us", "co", "8h", "-1", NULL};
    static const char *const nan_value[] = {"aqi", "us", "co", "8h", "nan", NULL};
    static const char *const hex_value[] = {"aqi", "us", "co", "8h", "0x10", NULL};
    static const char *const trailing[] = {"aqi", "us", "co", "8h", "1.5x", NULL};
    static const char *const dash[] = {"aqi", "vn", "pm25", "24h", "-", NULL};
    static const char *const two[] = {"aqi", "vn", "pm25", "24h", "10", "11", NULL};
    static const char *const few_hours[] = {"aqi", "vn", "pm25", "nowcast", "10", "11", NULL};
    static const char *const missing[] = {"aqi", "vn", "pm25", NULL};

    (void)state;
    expect_error(scheme, "'uk'");
    expect_error(pollutant, "'pm1'");
    expect_error(averaging, "'2h'");
    expect_error(value, "'ten'");
    expect_error(negative, "'-1'");
    expect_error(nan_value, "'nan'");
    expect_error(hex_value, "'0x10'");
    expect_error(trailing, "'1.5x'");
    expect_error(dash, "'-'");
    expect_error(two, "takes 1 value, got 2");
    expect_error(few_hours, "takes 12 values, got 2");
    expect_error(missing, "missing arguments");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vn_outputs),
        cmocka_unit_test(test_vn_undefined),
        cmocka_unit_test(test_us_outputs),
        cmocka_unit_test(test_bad_arguments),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
