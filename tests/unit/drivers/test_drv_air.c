/* test_drv_air.c - PMS5003 and SHT3x drivers, with recorded frames (gas: test_drv_gas.c). */
#include "drv_test_util.h"

#include <math.h>
#include <string.h>

#include "fw_drv_err.h"
#include "fw_drv_pms5003.h"
#include "fw_drv_sht3x.h"

static void test_drv_err_names(void **state)
{
    (void)state;
    assert_string_equal(fw_drv_err_name(0), "FW_DRV_E_OK");
    assert_string_equal(fw_drv_err_name(FW_DRV_E_CHECKSUM), "FW_DRV_E_CHECKSUM");
    assert_string_equal(fw_drv_err_name(FW_DRV_E_FRAME), "FW_DRV_E_FRAME");
    assert_string_equal(fw_drv_err_name(FW_DRV_E_RANGE), "FW_DRV_E_RANGE");
    assert_string_equal(fw_drv_err_name(FW_DRV_E_LEN), "FW_DRV_E_LEN");
    assert_string_equal(fw_drv_err_name(-1), "FW_DRV_E_UNKNOWN");
    assert_string_equal(fw_drv_strerror(FW_DRV_E_CHECKSUM), "checksum or CRC mismatch");
    assert_string_equal(fw_drv_strerror(7), "unknown driver error");
}

/* The values written in the comment of pms5003_clean.hex. */
static struct fw_drv_pms5003_reading clean_reading(void)
{
    struct fw_drv_pms5003_reading r = {
        .pm1_0_cf1 = 12,
        .pm2_5_cf1 = 18,
        .pm10_cf1 = 21,
        .pm1_0 = 11,
        .pm2_5 = 17,
        .pm10 = 21,
        .count = {2031, 586, 103, 9, 2, 0},
        .reserved = 0x9700,
    };
    return r;
}

static void test_drv_pms5003_parse_recorded(void **state)
{
    uint8_t buf[DRV_TEST_MAX_FRAME];
    size_t len = 0;
    struct fw_drv_pms5003_reading r;
    struct fw_drv_pms5003_reading want = clean_reading();

    (void)state;
    drv_test_load_hex("pms5003_clean.hex", buf, sizeof(buf), &len);
    assert_int_equal(len, 32);
    /* Checksum summed by hand in the file's comment: 858 = 0x035A. */
    assert_int_equal(fw_drv_pms5003_checksum(buf, 30), 0x035A);
    assert_int_equal(fw_drv_pms5003_parse(buf, len, &r), 0);
    assert_memory_equal(&r, &want, sizeof(r));

    drv_test_load_hex("pms5003_haze.hex", buf, sizeof(buf), &len);
    assert_int_equal(fw_drv_pms5003_parse(buf, len, &r), 0);
    assert_int_equal(r.pm1_0, 65);
    assert_int_equal(r.pm2_5, 104);
    assert_int_equal(r.pm10, 125);
    assert_int_equal(r.pm2_5_cf1, 156);
    assert_int_equal(r.count[0], 12420);
    assert_int_equal(r.count[5], 3);
}

static void test_drv_pms5003_parse_corrupt(void **state)
{
    uint8_t buf[DRV_TEST_MAX_FRAME];
    size_t len = 0;
    struct fw_drv_pms5003_reading r;
    struct fw_drv_pms5003_reading untouched;

    (void)state;
    memset(&r, 0xA5, sizeof(r));
    untouched = r;
    drv_test_load_hex("pms5003_bad_checksum.hex", buf, sizeof(buf), &len);
    assert_int_equal(fw_drv_pms5003_parse(buf, len, &r), FW_DRV_E_CHECKSUM);
    assert_memory_equal(&r, &untouched, sizeof(r));

    drv_test_load_hex("pms5003_truncated.hex", buf, sizeof(buf), &len);
    assert_int_equal(len, 20);
    assert_int_equal(fw_drv_pms5003_parse(buf, len, &r), FW_DRV_E_LEN);

    drv_test_load_hex("pms5003_wrong_length.hex", buf, sizeof(buf), &len);
    assert_int_equal(len, 24);
    assert_int_equal(fw_drv_pms5003_parse(buf, len, &r), FW_DRV_E_LEN);
    /* The same header padded to 32 bytes: the length field itself is wrong. */
    memset(buf + len, 0, 32 - len);
    assert_int_equal(fw_drv_pms5003_parse(buf, 32, &r), FW_DRV_E_FRAME);

    drv_test_load_hex("pms5003_clean.hex", buf, sizeof(buf), &len);
    buf[1] = 0x4E;
    assert_int_equal(fw_drv_pms5003_parse(buf, len, &r), FW_DRV_E_FRAME);
    assert_memory_equal(&r, &untouched, sizeof(r));
    assert_int_equal(fw_drv_pms5003_parse(NULL, len, &r), FW_DRV_E_INVAL);
}

static void test_drv_pms5003_build_matches_recorded(void **state)
{
    uint8_t want[DRV_TEST_MAX_FRAME];
    uint8_t got[40];
    size_t len = 0;
    struct fw_drv_pms5003_reading in = clean_reading();
    struct fw_drv_pms5003_reading back;

    (void)state;
    drv_test_load_hex("pms5003_clean.hex", want, sizeof(want), &len);
    assert_int_equal(fw_drv_pms5003_build(&in, got, sizeof(got)), 0);
    assert_memory_equal(got, want, 32);
    assert_int_equal(fw_drv_pms5003_build(&in, got, 31), FW_DRV_E_LEN);

    /* Round trip over extreme values, including 0xFFFF words that overflow the 16-bit sum. */
    for (uint32_t v = 0; v <= 0xFFFF; v += 0x1111) {
        in.pm1_0 = (uint16_t)v;
        in.pm2_5 = (uint16_t)(0xFFFF - v);
        in.pm10 = 0xFFFF;
        in.count[3] = (uint16_t)(v * 7u);
        assert_int_equal(fw_drv_pms5003_build(&in, got, sizeof(got)), 0);
        assert_int_equal(fw_drv_pms5003_parse(got, 32, &back), 0);
        assert_memory_equal(&back, &in, sizeof(in));
    }
}

/* Feeds 'data' to a fresh stream in chunks of 'chunk' bytes; collects up to 4 frames. */
static size_t feed_chunks(struct fw_drv_pms5003_stream *s, const uint8_t *data, size_t len,
                          size_t chunk, struct fw_drv_pms5003_reading *frames)
{
    size_t got_n = 0;

    fw_drv_pms5003_stream_init(s);
    for (size_t off = 0; off < len; off += chunk) {
        size_t part = len - off < chunk ? len - off : chunk;
        const uint8_t *p = data + off;

        while (part > 0) {
            bool got = false;
            size_t used = fw_drv_pms5003_stream_feed(s, p, part, &frames[got_n], &got);

            assert_true(used > 0 && used <= part);
            p += used;
            part -= used;
            if (got) {
                assert_true(got_n < 4);
                got_n++;
            }
        }
    }
    return got_n;
}

static void test_drv_pms5003_stream_any_chunking(void **state)
{
    uint8_t data[DRV_TEST_MAX_FRAME];
    size_t len = 0;
    struct fw_drv_pms5003_stream s;
    struct fw_drv_pms5003_reading frames[4];
    struct fw_drv_pms5003_reading want = clean_reading();

    (void)state;
    drv_test_load_hex("pms5003_stream.hex", data, sizeof(data), &len);
    assert_int_equal(len, 139);
    /* Every chunk size from single bytes to the whole capture gives the same result. */
    for (size_t chunk = 1; chunk <= len; chunk++) {
        assert_int_equal(feed_chunks(&s, data, len, chunk, frames), 2);
        assert_memory_equal(&frames[0], &want, sizeof(want));
        assert_int_equal(frames[1].pm2_5, 104);
        assert_int_equal(frames[1].pm10, 125);
        assert_int_equal(s.frames, 2);
        /* The lost partial frame runs into the bad one: both fail their checksum. */
        assert_int_equal(s.bad_checksum, 2);
        assert_int_equal(s.bad_frame, 1);
        /* 8 garbage + 9 of the partial + 31 of the bad frame + 23 of the PMS3003 frame. */
        assert_int_equal(s.skipped, 71);
        assert_int_equal(s.fill, 1);
    }
}

static void test_drv_pms5003_stream_frame_inside_rejected(void **state)
{
    uint8_t data[DRV_TEST_MAX_FRAME];
    uint8_t clean[DRV_TEST_MAX_FRAME];
    size_t len = 0;
    struct fw_drv_pms5003_stream s;
    struct fw_drv_pms5003_reading frames[4];

    (void)state;
    /* A frame cut after 10 bytes, directly followed by a whole frame: the 32-byte window fails
     * its checksum, and the rescan must find the real frame that starts inside it. */
    drv_test_load_hex("pms5003_clean.hex", clean, sizeof(clean), &len);
    memcpy(data, clean, 10);
    memcpy(data + 10, clean, 32);
    assert_int_equal(feed_chunks(&s, data, 42, 42, frames), 1);
    assert_int_equal(frames[0].pm2_5, 17);
    assert_int_equal(s.bad_checksum, 1);
    assert_int_equal(s.skipped, 9);
    assert_int_equal(s.fill, 0);
}

/* Deterministic pseudo-random numbers (LCG from Numerical Recipes). */
static uint32_t lcg(uint32_t *seed)
{
    *seed = *seed * 1664525u + 1013904223u;
    return *seed >> 8;
}

static void test_drv_pms5003_stream_recovers_every_frame(void **state)
{
    static uint8_t data[200 * 80];
    struct fw_drv_pms5003_stream s;
    struct fw_drv_pms5003_reading in = clean_reading();
    struct fw_drv_pms5003_reading out;
    uint32_t seed = 12345;
    size_t len = 0;
    uint16_t next = 0;

    (void)state;
    /* 200 frames, each after 0..47 bytes of noise that is rich in start bytes and false
     * headers (42 4D 00 1C), fed in random chunks of 1..64 bytes. */
    for (uint16_t i = 0; i < 200; i++) {
        size_t noise = lcg(&seed) % 48;

        for (size_t k = 0; k < noise; k++) {
            static const uint8_t pick[] = {0x42, 0x4D, 0x00, 0x1C, 0x42, 0x4D};
            uint32_t r = lcg(&seed);

            data[len++] = (r & 1u) ? pick[(r >> 1) % sizeof(pick)] : (uint8_t)(r >> 4);
        }
        in.pm2_5 = i;
        assert_int_equal(fw_drv_pms5003_build(&in, data + len, sizeof(data) - len), 0);
        len += 32;
    }
    fw_drv_pms5003_stream_init(&s);
    for (size_t off = 0; off < len;) {
        size_t chunk = 1 + lcg(&seed) % 64;
        bool got = false;
        size_t used;

        if (chunk > len - off) {
            chunk = len - off;
        }
        used = fw_drv_pms5003_stream_feed(&s, data + off, chunk, &out, &got);
        off += used;
        if (got) {
            assert_int_equal(out.pm2_5, next);
            next++;
        }
    }
    assert_int_equal(next, 200);
    assert_int_equal(s.frames, 200);
    assert_true(s.skipped > 0);
    {
        bool got = true;

        assert_int_equal(fw_drv_pms5003_stream_feed(NULL, data, 4, &out, &got), 0);
        assert_false(got);
    }
}

static void test_drv_sht3x_datasheet_crc(void **state)
{
    uint8_t buf[DRV_TEST_MAX_FRAME];
    size_t len = 0;

    (void)state;
    drv_test_load_hex("sht3x_datasheet_crc.hex", buf, sizeof(buf), &len);
    assert_int_equal(len, 3);
    assert_int_equal(fw_drv_sht3x_crc8(buf, 2), 0x92);
    assert_int_equal(fw_drv_sht3x_crc8(buf, 2), buf[2]);
    assert_int_equal(fw_drv_sht3x_crc8(buf, 0), 0xFF);
}

static void test_drv_sht3x_parse_recorded(void **state)
{
    uint8_t buf[DRV_TEST_MAX_FRAME];
    uint8_t built[8];
    size_t len = 0;
    struct fw_drv_sht3x_reading r;

    (void)state;
    drv_test_load_hex("sht3x_office.hex", buf, sizeof(buf), &len);
    assert_int_equal(fw_drv_sht3x_parse(buf, len, &r), 0);
    assert_int_equal(r.t_raw, 0x6434);
    assert_int_equal(r.rh_raw, 0x7B64);
    DRV_ASSERT_NEAR(r.t_c, 23.4993, 1e-3);
    DRV_ASSERT_NEAR(r.rh_pct, 48.2002, 1e-3);
    assert_int_equal(fw_drv_sht3x_build(23.5f, 48.2f, built, sizeof(built)), 0);
    assert_memory_equal(built, buf, 6);

    assert_int_equal(fw_drv_sht3x_parse(buf, 5, &r), FW_DRV_E_LEN);
    drv_test_load_hex("sht3x_bad_crc.hex", buf, sizeof(buf), &len);
    assert_int_equal(fw_drv_sht3x_parse(buf, len, &r), FW_DRV_E_CHECKSUM);
    buf[5] ^= 0x80; /* restore the RH CRC, then break the T CRC */
    buf[2] ^= 0x01;
    assert_int_equal(fw_drv_sht3x_parse(buf, len, &r), FW_DRV_E_CHECKSUM);
}

static void test_drv_sht3x_round_trip(void **state)
{
    uint8_t buf[6];
    struct fw_drv_sht3x_reading r;

    (void)state;
    for (float t = -45.0f; t <= 130.0f; t += 0.7f) {
        float rh = fmodf((t + 45.0f) * 3.3f, 100.0f);

        assert_int_equal(fw_drv_sht3x_build(t, rh, buf, sizeof(buf)), 0);
        assert_int_equal(fw_drv_sht3x_parse(buf, sizeof(buf), &r), 0);
        /* Half a tick: 175 / 65535 / 2 degC and 100 / 65535 / 2 %. */
        DRV_ASSERT_NEAR(r.t_c, t, 0.0014);
        DRV_ASSERT_NEAR(r.rh_pct, rh, 0.0008);
    }
    assert_int_equal(fw_drv_sht3x_build(130.0f, 100.0f, buf, sizeof(buf)), 0);
    assert_int_equal(buf[0], 0xFF);
    assert_int_equal(buf[4], 0xFF);
    assert_int_equal(fw_drv_sht3x_build(-45.1f, 50.0f, buf, 6), FW_DRV_E_RANGE);
    assert_int_equal(fw_drv_sht3x_build(20.0f, 100.1f, buf, 6), FW_DRV_E_RANGE);
    assert_int_equal(fw_drv_sht3x_build(NAN, 50.0f, buf, 6), FW_DRV_E_RANGE);
    assert_int_equal(fw_drv_sht3x_build(20.0f, 50.0f, buf, 5), FW_DRV_E_LEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drv_err_names),
        cmocka_unit_test(test_drv_pms5003_parse_recorded),
        cmocka_unit_test(test_drv_pms5003_parse_corrupt),
        cmocka_unit_test(test_drv_pms5003_build_matches_recorded),
        cmocka_unit_test(test_drv_pms5003_stream_any_chunking),
        cmocka_unit_test(test_drv_pms5003_stream_frame_inside_rejected),
        cmocka_unit_test(test_drv_pms5003_stream_recovers_every_frame),
        cmocka_unit_test(test_drv_sht3x_datasheet_crc),
        cmocka_unit_test(test_drv_sht3x_parse_recorded),
        cmocka_unit_test(test_drv_sht3x_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
