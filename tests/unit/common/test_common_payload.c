/* test_common_payload.c - strict payload decoder and encoder, reading helpers, ct_fmt_double.
 *
 * The payload cases live in tests/data/payloads/{valid,invalid}/ (also the fuzzers' seeds); this
 * file states, for each invalid file, the reason code, the member and a piece of the sentence, and
 * checks that no file is left without an expectation. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ct/buf.h"
#include "ct/err.h"
#include "ct/payload.h"

#define FILE_MAX (CT_PAYLOAD_MAX * 2)

/* Reads tests/data/payloads/<sub>/<name> into a heap block of exactly its size (so ASan sees any
 * read past the end: payloads are not NUL-terminated). */
static char *load(const char *sub, const char *name, size_t *len)
{
    char path[1024];
    char tmp[FILE_MAX];
    const char *root = getenv("CT_SOURCE_DIR");
    assert_non_null(root);
    snprintf(path, sizeof(path), "%s/tests/data/payloads/%s/%s", root, sub, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s", path);
    }
    size_t n = fread(tmp, 1, sizeof(tmp), f);
    fclose(f);
    char *p = malloc(n > 0 ? n : 1);
    assert_non_null(p);
    memcpy(p, tmp, n);
    *len = n;
    return p;
}

static enum ct_kind kind_of_file(const char *name)
{
    static const char *const prefixes[] = {"air", "water", "rain", "flood", "parking"};
    for (int k = 0; k < CT_KIND__COUNT; k++) {
        if (strncmp(name, prefixes[k], strlen(prefixes[k])) == 0) {
            return (enum ct_kind)k;
        }
    }
    fail_msg("valid payload file %s does not start with a kind", name);
    return CT_KIND__COUNT;
}

struct invalid_case {
    const char *file;
    enum ct_reject code;
    const char *member; /* expected why.member */
    const char *text;   /* a piece of why.text */
};

static const struct invalid_case invalid_cases[] = {
    {"json-duplicate-key.json", CT_REJ_JSON, "seq", "duplicate key"},
    {"json-duplicate-key-in-m.json", CT_REJ_JSON, "m.pm25", "duplicate key"},
    {"json-duplicate-key-nested.json", CT_REJ_JSON, "m.x.a", "duplicate key"},
    {"json-duplicate-key-escaped.json", CT_REJ_JSON, "m.pm25", "duplicate key"},
    {"json-int-2p53p1.json", CT_REJ_JSON, "seq", "integer 9007199254740993 is not exact"},
    {"json-number-1e400.json", CT_REJ_JSON, "m.pm25", "number 1e400 is out of range"},
    {"json-nan-token.json", CT_REJ_JSON, "m.pm25", "NaN and Infinity are not JSON"},
    {"json-infinity-token.json", CT_REJ_JSON, "m.pm25", "invalid number"},
    {"json-leading-zero.json", CT_REJ_JSON, "seq", "invalid number"},
    {"json-bare-minus.json", CT_REJ_JSON, "m.pm25", "invalid number"},
    {"json-fraction-no-digits.json", CT_REJ_JSON, "m.pm25", "invalid number"},
    {"json-depth-5.json", CT_REJ_JSON, "m.x", "nesting deeper than 4 levels"},
    {"json-truncated.json", CT_REJ_JSON, "m.pm25", "invalid number"},
    {"json-truncated-string.json", CT_REJ_JSON, "", "unexpected end of payload inside a string"},
    {"json-trailing-garbage.json", CT_REJ_JSON, "", "trailing data at byte"},
    {"json-two-objects.json", CT_REJ_JSON, "", "trailing data at byte"},
    {"json-unescaped-control.json", CT_REJ_JSON, "id", "unescaped control character 0x09"},
    {"json-single-quotes.json", CT_REJ_JSON, "", "expected a member name at byte 1"},
    {"json-trailing-comma.json", CT_REJ_JSON, "m", "expected a member name"},
    {"json-invalid-escape.json", CT_REJ_JSON, "m.note", "invalid escape sequence"},
    {"json-raw-nul.json", CT_REJ_JSON, "m", "expected ',' or '}'"},
    {"utf8-invalid-byte.json", CT_REJ_UTF8, "m.note", "invalid UTF-8 at byte"},
    {"utf8-overlong-2byte.json", CT_REJ_UTF8, "m.note", "invalid UTF-8 at byte"},
    {"utf8-overlong-3byte.json", CT_REJ_UTF8, "m.note", "invalid UTF-8 at byte"},
    {"utf8-surrogate-raw.json", CT_REJ_UTF8, "m.note", "invalid UTF-8 at byte"},
    {"utf8-above-10ffff.json", CT_REJ_UTF8, "m.note", "invalid UTF-8 at byte"},
    {"utf8-truncated-sequence.json", CT_REJ_UTF8, "m.note", "invalid UTF-8 at byte"},
    {"utf8-escaped-nul.json", CT_REJ_UTF8, "id", "escaped NUL (\\u0000)"},
    {"utf8-lone-high-surrogate.json", CT_REJ_UTF8, "m.note", "unpaired high surrogate"},
    {"utf8-lone-low-surrogate.json", CT_REJ_UTF8, "m.note", "unpaired low surrogate"},
    {"utf8-bad-byte-in-key.json", CT_REJ_UTF8, "m", "invalid UTF-8 at byte"},
    {"size-4097.json", CT_REJ_SIZE, "", "4097 bytes is above the limit of 4096 bytes"},
    {"size-empty.json", CT_REJ_SIZE, "", "empty payload"},
    {"schema-v2.json", CT_REJ_SCHEMA, "v", "expected schema version 1, got 2"},
    {"schema-missing-ts.json", CT_REJ_SCHEMA, "ts", "required member is missing"},
    {"schema-missing-m.json", CT_REJ_SCHEMA, "m", "required member is missing"},
    {"schema-seq-negative.json", CT_REJ_SCHEMA, "seq", "expected an integer >= 0, got -1"},
    {"schema-seq-fraction.json", CT_REJ_SCHEMA, "seq", "expected an integer >= 0, got 1.5"},
    {"schema-seq-integral-float.json", CT_REJ_SCHEMA, "seq",
     "got 1 written with a fraction or exponent"},
    {"schema-case-different-key.json", CT_REJ_SCHEMA, "Seq", "unknown member"},
    {"schema-id-uppercase.json", CT_REJ_SCHEMA, "id", "got a string \"HN-AIR-0001\""},
    {"schema-id-too-long.json", CT_REJ_SCHEMA, "id", "expected a device id of 1..64 chars"},
    {"schema-id-number.json", CT_REJ_SCHEMA, "id", "got 7"},
    {"schema-unknown-top-member.json", CT_REJ_SCHEMA, "extra", "unknown member"},
    {"schema-m-not-object.json", CT_REJ_SCHEMA, "m", "expected an object, got an array"},
    {"schema-not-object.json", CT_REJ_SCHEMA, "", "expected a JSON object, got an array"},
    {"schema-boot-string.json", CT_REJ_SCHEMA, "boot", "got a string \"3\""},
    {"schema-ts-exponent.json", CT_REJ_SCHEMA, "ts", "expected an integer, got"},
    {"schema-bat-string.json", CT_REJ_SCHEMA, "bat", "expected a number, got a string"},
    {"json-number-64-chars.json", CT_REJ_JSON, "m.pm25", "is longer than 63 characters"},
    {"schema-id-long-utf8.json", CT_REJ_SCHEMA, "id", "got a string \"aahà-nội-hà-nội-h...\""},
    {"schema-rssi-fraction.json", CT_REJ_SCHEMA, "rssi", "expected an integer, got -70.5"},
};

#define NINVALID (sizeof(invalid_cases) / sizeof(invalid_cases[0]))

static void test_invalid_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < NINVALID; i++) {
        const struct invalid_case *c = &invalid_cases[i];
        struct ct_reading r;
        struct ct_reason why;
        size_t len;
        char *p = load("invalid", c->file, &len);
        int rc = ct_payload_decode(p, len, CT_KIND_AIR, &r, &why);
        free(p);
        if (rc != CT_E_PARSE || why.code != c->code || strcmp(why.member, c->member) != 0 ||
            strstr(why.text, c->text) == NULL) {
            fail_msg("%s: rc %d code %s member \"%s\" text \"%s\"; want code %s member \"%s\" "
                     "text containing \"%s\"",
                     c->file, rc, ct_reject_name(why.code), why.member, why.text,
                     ct_reject_name(c->code), c->member, c->text);
        }
        /* The sentence names the member it is about. */
        if (c->member[0] != '\0') {
            char named[64];
            snprintf(named, sizeof(named), "member \"%s\": ", c->member);
            assert_non_null(strstr(why.text, named));
        }
        assert_int_equal(r.n, 0);
        assert_int_equal(r.ndrops, 0);
    }
    assert_true(NINVALID >= 25);
}

/* Every file of a folder; returns the count and fails on a file the callback refuses. */
static size_t for_each_file(const char *sub, void (*fn)(const char *name))
{
    char path[1024];
    const char *root = getenv("CT_SOURCE_DIR");
    size_t n = 0;
    assert_non_null(root);
    snprintf(path, sizeof(path), "%s/tests/data/payloads/%s", root, sub);
    DIR *d = opendir(path);
    if (d == NULL) {
        fail_msg("cannot open folder %s", path);
    }
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        size_t l = strlen(e->d_name);
        if (l > 5 && strcmp(e->d_name + l - 5, ".json") == 0) {
            fn(e->d_name);
            n++;
        }
    }
    closedir(d);
    return n;
}

static void expect_listed(const char *name)
{
    for (size_t i = 0; i < NINVALID; i++) {
        if (strcmp(invalid_cases[i].file, name) == 0) {
            return;
        }
    }
    fail_msg("invalid/%s has no expectation in invalid_cases", name);
}

static void test_every_invalid_file_listed(void **state)
{
    (void)state;
    assert_int_equal(for_each_file("invalid", expect_listed), NINVALID);
}

static void assert_same_reading(const struct ct_reading *a, const struct ct_reading *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_string_equal(a->id, b->id);
    assert_true(a->boot == b->boot);
    assert_true(a->seq == b->seq);
    assert_true(a->ts_ms == b->ts_ms);
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_string_equal(a->values[i].name, b->values[i].name);
        assert_int_equal(a->values[i].type, b->values[i].type);
        if (a->values[i].type == CT_VT_BOOL) {
            assert_int_equal(a->values[i].b, b->values[i].b);
        } else {
            /* Bit-exact: the encoder writes the shortest form that reads back exactly. */
            assert_memory_equal(&a->values[i].num, &b->values[i].num, sizeof(double));
        }
    }
    assert_int_equal(a->has_bat, b->has_bat);
    if (a->has_bat) {
        assert_memory_equal(&a->bat, &b->bat, sizeof(double));
    }
    assert_int_equal(a->has_rssi, b->has_rssi);
    if (a->has_rssi) {
        assert_true(a->rssi == b->rssi);
    }
}

/* decode -> encode -> decode gives the same reading, and encode is stable. */
static void roundtrip_file(const char *name)
{
    struct ct_reading r1, r2;
    struct ct_reason why;
    struct ct_buf b1, b2;
    size_t len;
    enum ct_kind kind = kind_of_file(name);
    char *p = load("valid", name, &len);
    int rc = ct_payload_decode(p, len, kind, &r1, &why);
    free(p);
    if (rc != 0) {
        fail_msg("valid/%s rejected: %s (%s)", name, why.text, ct_reject_name(why.code));
    }
    assert_int_equal(why.code, CT_REJ_NONE);
    ct_buf_init(&b1, CT_PAYLOAD_MAX);
    ct_buf_init(&b2, CT_PAYLOAD_MAX);
    assert_int_equal(ct_payload_encode(&r1, &b1), 0);
    rc = ct_payload_decode(b1.p, b1.len, kind, &r2, &why);
    if (rc != 0) {
        fail_msg("re-encoded valid/%s rejected: %s\n%s", name, why.text, b1.p);
    }
    assert_same_reading(&r1, &r2);
    assert_int_equal(r2.unknown, 0);
    assert_int_equal(r2.ndrops, 0);
    assert_int_equal(ct_payload_encode(&r2, &b2), 0);
    assert_string_equal(b1.p, b2.p);
    ct_buf_free(&b1);
    ct_buf_free(&b2);
}

static void test_valid_files_roundtrip(void **state)
{
    (void)state;
    assert_true(for_each_file("valid", roundtrip_file) >= 10);
}

static void decode_file(const char *name, enum ct_kind kind, struct ct_reading *r)
{
    struct ct_reason why;
    size_t len;
    char *p = load("valid", name, &len);
    int rc = ct_payload_decode(p, len, kind, r, &why);
    free(p);
    if (rc != 0) {
        fail_msg("%s rejected: %s", name, why.text);
    }
}

static void test_example_fields(void **state)
{
    (void)state;
    struct ct_reading r;
    decode_file("air-example.json", CT_KIND_AIR, &r);
    assert_int_equal(r.kind, CT_KIND_AIR);
    assert_string_equal(r.id, "hn-air-0001");
    assert_true(r.boot == 3);
    assert_true(r.seq == 1742);
    assert_true(r.ts_ms == 1763888400000LL);
    assert_int_equal(r.n, 5);
    static const char *const names[] = {"pm25", "pm10", "no2", "t", "rh"};
    static const double vals[] = {41.2, 63.0, 22.1, 29.4, 78};
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(r.values[i].name, names[i]);
        assert_int_equal(r.values[i].type, CT_VT_NUMBER);
        assert_true(r.values[i].num == vals[i]);
    }
    assert_false(r.has_bat);
    assert_false(r.has_rssi);
    assert_int_equal(r.unknown, 0);

    struct ct_buf b;
    ct_buf_init(&b, CT_PAYLOAD_MAX);
    assert_int_equal(ct_payload_encode(&r, &b), 0);
    assert_string_equal(b.p, "{\"v\":1,\"id\":\"hn-air-0001\",\"boot\":3,\"seq\":1742,"
                             "\"ts\":1763888400000,\"m\":{\"pm25\":41.2,\"pm10\":63,\"no2\":22.1,"
                             "\"t\":29.4,\"rh\":78}}");
    ct_buf_free(&b);

    decode_file("air-full.json", CT_KIND_AIR, &r);
    assert_int_equal(r.n, 8);
    assert_true(r.has_bat && r.bat == 3.71);
    assert_true(r.has_rssi && r.rssi == -87);
    assert_true(ct_reading_get(&r, "t")->num == -3.5);

    decode_file("air-whitespace.json", CT_KIND_AIR, &r);
    assert_true(ct_reading_get(&r, "pm25")->num == 41.2);
    assert_true(ct_reading_get(&r, "rh")->num == 10);
}

static void test_type_drops_keep_message(void **state)
{
    (void)state;
    struct ct_reading r;
    decode_file("air-pm25-string.json", CT_KIND_AIR, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.values[0].name, "pm10");
    assert_int_equal(r.ndrops, 2);
    assert_string_equal(r.drops[0].name, "pm25");
    assert_int_equal(r.drops[0].reason, CT_REJ_TYPE);
    assert_string_equal(r.drops[1].name, "t");
    assert_int_equal(r.drops[1].reason, CT_REJ_TYPE);

    decode_file("rain-tips-fraction.json", CT_KIND_RAIN, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.values[0].name, "mm");
    assert_int_equal(r.ndrops, 1);
    assert_string_equal(r.drops[0].name, "tips");
    assert_int_equal(r.drops[0].reason, CT_REJ_TYPE);

    /* A bool is not an air measurement either, and a bool occupied is only parking's. */
    static const char bay_as_air[] = "{\"v\":1,\"id\":\"a\",\"boot\":0,\"seq\":0,\"ts\":0,"
                                     "\"m\":{\"pm25\":true,\"occupied\":true}}";
    struct ct_reason why;
    assert_int_equal(ct_payload_decode(bay_as_air, sizeof(bay_as_air) - 1, CT_KIND_AIR, &r, &why),
                     0);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.ndrops, 1);
    assert_int_equal(r.unknown, 1);
    static const char cap_bool[] = "{\"v\":1,\"id\":\"a\",\"boot\":0,\"seq\":0,\"ts\":0,"
                                   "\"m\":{\"capacity\":true,\"occupied\":1.5}}";
    assert_int_equal(ct_payload_decode(cap_bool, sizeof(cap_bool) - 1, CT_KIND_PARKING, &r, &why),
                     0);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.ndrops, 2);
}

static void test_unknown_members_counted(void **state)
{
    (void)state;
    struct ct_reading r;
    decode_file("air-unknown-member.json", CT_KIND_AIR, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.values[0].name, "pm25");
    assert_int_equal(r.unknown, 4); /* x, PM25, café, nested */
    decode_file("air-unicode.json", CT_KIND_AIR, &r);
    assert_int_equal(r.unknown, 1);
    /* The same payload read as water: every measurement unknown. */
    decode_file("air-example.json", CT_KIND_WATER, &r);
    assert_int_equal(r.n, 1); /* t is water's too */
    assert_int_equal(r.unknown, 4);
}

static void test_escaped_keys(void **state)
{
    (void)state;
    struct ct_reading r;
    /* Keys compare after unescaping: "p\u006d25" is pm25 and "\u0074" is t. */
    decode_file("air-escaped-key.json", CT_KIND_AIR, &r);
    assert_int_equal(r.n, 2);
    assert_true(ct_reading_get(&r, "pm25")->num == 41.2);
    assert_true(ct_reading_get(&r, "t")->num == -1);
    assert_int_equal(r.unknown, 0);
}

/* xorshift64: deterministic pseudo-random numbers for the mutation test. */
static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_random_mutations(void **state)
{
    (void)state;
    static const char *const seeds[] = {"air-full.json", "water-full.json", "rain.json",
                                        "parking-bay.json", "air-unicode.json"};
    static const enum ct_kind kinds[] = {CT_KIND_AIR, CT_KIND_WATER, CT_KIND_RAIN, CT_KIND_PARKING,
                                         CT_KIND_AIR};
    static const char alphabet[] = "{}[]\":,.-+eE0123456789 \\u\x80\xc3\xed\xf4tfn";
    uint64_t rnd = 42;
    size_t accepted = 0, rejected = 0;
    for (size_t si = 0; si < sizeof(seeds) / sizeof(seeds[0]); si++) {
        size_t len;
        char *seed = load("valid", seeds[si], &len);
        for (int iter = 0; iter < 4000; iter++) {
            char work[CT_PAYLOAD_MAX];
            size_t n = len;
            memcpy(work, seed, len);
            int edits = 1 + (int)(next_rand(&rnd) % 3);
            for (int e = 0; e < edits && n > 1; e++) {
                size_t at = next_rand(&rnd) % n;
                char c = alphabet[next_rand(&rnd) % (sizeof(alphabet) - 1)];
                switch (next_rand(&rnd) % 3) {
                case 0: /* replace */
                    work[at] = c;
                    break;
                case 1: /* delete */
                    memmove(work + at, work + at + 1, n - at - 1);
                    n--;
                    break;
                default: /* insert */
                    if (n < sizeof(work)) {
                        memmove(work + at + 1, work + at, n - at);
                        work[at] = c;
                        n++;
                    }
                    break;
                }
            }
            /* Exactly-sized copy: ASan catches a read past the payload. */
            char *p = malloc(n);
            assert_non_null(p);
            memcpy(p, work, n);
            struct ct_reading r, r2;
            struct ct_reason why;
            int rc = ct_payload_decode(p, n, kinds[si], &r, &why);
            if (rc == 0) {
                /* Whatever is accepted re-encodes to a payload that decodes the same. */
                struct ct_buf b;
                ct_buf_init(&b, CT_PAYLOAD_MAX);
                assert_int_equal(ct_payload_encode(&r, &b), 0);
                if (ct_payload_decode(b.p, b.len, kinds[si], &r2, &why) != 0) {
                    fail_msg("accepted %.*s but refused its encoding %s: %s", (int)n, p, b.p,
                             why.text);
                }
                assert_same_reading(&r, &r2);
                ct_buf_free(&b);
                accepted++;
            } else {
                assert_int_equal(rc, CT_E_PARSE);
                assert_true(why.code == CT_REJ_JSON || why.code == CT_REJ_UTF8 ||
                            why.code == CT_REJ_SCHEMA || why.code == CT_REJ_SIZE);
                assert_true(strlen(why.text) > 10);
                assert_int_equal(r.n, 0);
                rejected++;
            }
            free(p);
        }
        free(seed);
    }
    /* Both outcomes are exercised. */
    assert_true(accepted > 100);
    assert_true(rejected > 1000);
}

static void test_parking_keeps_json_type(void **state)
{
    (void)state;
    struct ct_reading r;
    decode_file("parking-lot.json", CT_KIND_PARKING, &r);
    assert_int_equal(r.n, 2);
    assert_int_equal(ct_reading_get(&r, "capacity")->type, CT_VT_INT);
    assert_int_equal(ct_reading_get(&r, "occupied")->type, CT_VT_INT);
    assert_true(ct_reading_get(&r, "occupied")->num == 87);
    decode_file("parking-bay.json", CT_KIND_PARKING, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(ct_reading_get(&r, "occupied")->type, CT_VT_BOOL);
    assert_true(ct_reading_get(&r, "occupied")->b);
    decode_file("rain.json", CT_KIND_RAIN, &r);
    assert_int_equal(ct_reading_get(&r, "tips")->type, CT_VT_INT);
    assert_true(ct_reading_get(&r, "tips")->num == 4294967295.0);
    assert_int_equal(ct_reading_get(&r, "mm")->type, CT_VT_NUMBER);
}

static void test_integer_limits(void **state)
{
    (void)state;
    struct ct_reading r;
    decode_file("air-seq-2p53m1.json", CT_KIND_AIR, &r);
    assert_true(r.seq == 9007199254740991ULL);
    assert_true(r.boot == 9007199254740991ULL);
    assert_true(r.ts_ms == -9007199254740991LL);
    assert_int_equal(r.n, 0);

    struct ct_reason why;
    char p[160];
    int n = snprintf(p, sizeof(p), "{\"v\":1,\"id\":\"a\",\"boot\":0,\"seq\":0,\"ts\":%s,\"m\":{}}",
                     "9007199254740992");
    assert_int_equal(ct_payload_decode(p, (size_t)n, CT_KIND_AIR, &r, &why), CT_E_PARSE);
    assert_int_equal(why.code, CT_REJ_JSON);
    assert_string_equal(why.member, "ts");
    /* A huge number is fine as a measurement (a float), and out of range later. */
    n = snprintf(p, sizeof(p),
                 "{\"v\":1,\"id\":\"a\",\"boot\":0,\"seq\":0,\"ts\":0,\"m\":{\"co\":1e300}}");
    assert_int_equal(ct_payload_decode(p, (size_t)n, CT_KIND_AIR, &r, &why), 0);
    assert_int_equal(ct_reading_check_ranges(&r), 1);
    assert_int_equal(r.drops[0].reason, CT_REJ_RANGE);
}

static void test_length_bounded(void **state)
{
    (void)state;
    /* The payload is followed by more bytes that are not part of it. */
    static const char text[] =
        "{\"v\":1,\"id\":\"a\",\"boot\":0,\"seq\":0,\"ts\":0,\"m\":{}}GARBAGE";
    struct ct_reading r;
    struct ct_reason why;
    size_t len = strlen(text) - 7;
    assert_int_equal(ct_payload_decode(text, len, CT_KIND_FLOOD, &r, &why), 0);
    assert_int_equal(ct_payload_decode(text, strlen(text), CT_KIND_FLOOD, &r, &why), CT_E_PARSE);
    assert_int_equal(why.code, CT_REJ_JSON);
    /* Every strict prefix of a valid payload is refused, and nothing reads past len. */
    size_t full;
    char *p = load("valid", "water-full.json", &full);
    for (size_t l = 0; l < full; l++) {
        char *cut = malloc(l > 0 ? l : 1);
        assert_non_null(cut);
        memcpy(cut, p, l);
        assert_int_equal(ct_payload_decode(cut, l, CT_KIND_WATER, &r, &why), CT_E_PARSE);
        assert_true(why.code == CT_REJ_JSON || why.code == CT_REJ_SIZE);
        free(cut);
    }
    assert_int_equal(ct_payload_decode(p, full, CT_KIND_WATER, &r, &why), 0);
    free(p);
    /* Exactly CT_PAYLOAD_MAX bytes is accepted. */
    char *big = malloc(CT_PAYLOAD_MAX);
    assert_non_null(big);
    memset(big, ' ', CT_PAYLOAD_MAX);
    memcpy(big, text, len);
    assert_int_equal(ct_payload_decode(big, CT_PAYLOAD_MAX, CT_KIND_AIR, &r, &why), 0);
    free(big);
    assert_int_equal(ct_payload_decode(text, len, CT_KIND__COUNT, &r, &why), CT_E_INVAL);
}

static void build(struct ct_reading *r, enum ct_kind kind, const char *id)
{
    memset(r, 0, sizeof(*r));
    r->kind = kind;
    snprintf(r->id, sizeof(r->id), "%s", id);
    r->boot = 7;
    r->seq = 123456;
    r->ts_ms = 1763888400123LL;
}

static void test_roundtrip_all_kinds(void **state)
{
    (void)state;
    struct ct_reading in[CT_KIND__COUNT + 1];
    build(&in[0], CT_KIND_AIR, "hn-air-0001");
    assert_int_equal(ct_reading_set_num(&in[0], "pm25", 0.1 + 0.2), 0);
    assert_int_equal(ct_reading_set_num(&in[0], "t", -19.999999999999996), 0);
    assert_int_equal(ct_reading_set_num(&in[0], "co", 1e-7), 0);
    in[0].has_bat = true;
    in[0].bat = 3.3;
    in[0].has_rssi = true;
    in[0].rssi = -120;
    build(&in[1], CT_KIND_WATER, "hn-water-0001");
    assert_int_equal(ct_reading_set_num(&in[1], "ph", 7.123456789012345), 0);
    assert_int_equal(ct_reading_set_num(&in[1], "tss", 2.5e-300), 0);
    build(&in[2], CT_KIND_RAIN, "hn-rain-0001");
    assert_int_equal(ct_reading_set_num(&in[2], "tips", 4294967295.0), 0);
    assert_int_equal(ct_reading_set_num(&in[2], "mm", 0.2), 0);
    build(&in[3], CT_KIND_FLOOD, "hn-flood-0001");
    assert_int_equal(ct_reading_set_num(&in[3], "depth", 499.99999999999994), 0);
    build(&in[4], CT_KIND_PARKING, "hn-park-0001");
    assert_int_equal(ct_reading_set_num(&in[4], "capacity", 10000), 0);
    assert_int_equal(ct_reading_set_num(&in[4], "occupied", 0), 0);
    build(&in[5], CT_KIND_PARKING, "hn-bay-0001");
    assert_int_equal(ct_reading_set_bool(&in[5], "occupied", false), 0);

    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        struct ct_buf b;
        struct ct_reading out;
        struct ct_reason why;
        ct_buf_init(&b, CT_PAYLOAD_MAX);
        assert_int_equal(ct_payload_encode(&in[i], &b), 0);
        if (ct_payload_decode(b.p, b.len, in[i].kind, &out, &why) != 0) {
            fail_msg("%s: %s", b.p, why.text);
        }
        assert_same_reading(&in[i], &out);
        ct_buf_free(&b);
    }
}

/* Encodes 'in', decodes the text, and checks the same reading comes back. */
static void roundtrip_reading(const struct ct_reading *in)
{
    struct ct_buf b;
    struct ct_reading out;
    struct ct_reason why;
    ct_buf_init(&b, CT_PAYLOAD_MAX);
    assert_int_equal(ct_payload_encode(in, &b), 0);
    if (ct_payload_decode(b.p, b.len, in->kind, &out, &why) != 0) {
        fail_msg("%s: %s", b.p, why.text);
    }
    assert_same_reading(in, &out);
    ct_buf_free(&b);
}

static void test_roundtrip_above_2p53(void **state)
{
    (void)state;
    /* fuzz_payload/bat-above-2p53-encodes-as-integer: a number member above 2^53 decodes, and
     * must encode to text the decoder takes back (not the inexact integer 33333333333333332). */
    static const char text[] = "{\"v\":1,\"id\":\"hn-air-0001\",\"boot\":4,\"seq\":1742,"
                               "\"ts\":1763888400,\"m\":{\"pm25\":41.2},"
                               "\"bat\":33333333333333333.71,\"rssi\":-87}";
    struct ct_reading r;
    struct ct_reason why;
    assert_int_equal(ct_payload_decode(text, sizeof(text) - 1, CT_KIND_AIR, &r, &why), 0);
    assert_true(r.has_bat && r.bat == 33333333333333332.0);
    struct ct_buf b;
    ct_buf_init(&b, CT_PAYLOAD_MAX);
    assert_int_equal(ct_payload_encode(&r, &b), 0);
    assert_non_null(strstr(b.p, "\"bat\":3.3333333333333332e+16,"));
    ct_buf_free(&b);
    roundtrip_reading(&r);

    /* 2^53 itself, its negative, and random doubles of every magnitude as a number member. */
    struct ct_reading in;
    build(&in, CT_KIND_AIR, "hn-air-0001");
    const double edge[] = {9007199254740992.0, -9007199254740992.0, 9007199254740991.0, 1e17,
                           1.7976931348623157e308};
    for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
        assert_int_equal(ct_reading_set_num(&in, "co", edge[i]), 0);
        in.has_bat = true;
        in.bat = -edge[i];
        roundtrip_reading(&in);
    }
    uint64_t s = 0x2545F4914F6CDD1DULL;
    for (int i = 0; i < 20000; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        double x;
        memcpy(&x, &s, sizeof(x));
        if (!isfinite(x)) {
            continue;
        }
        assert_int_equal(ct_reading_set_num(&in, "co", x), 0);
        in.bat = x;
        roundtrip_reading(&in);
    }
}

/* The general algorithm of ct_fmt_double, written again here: integral below 2^53 as "%.0f",
 * from 2^53 the shortest "%.*e" that reads back, else the shortest of "%.15g".."%.17g". */
static void fmt_reference(double x, char out[32])
{
    if (x == trunc(x) && fabs(x) < 9007199254740992.0) {
        snprintf(out, 32, "%.0f", x);
        return;
    }
    if (fabs(x) >= 9007199254740992.0) {
        for (int prec = 0; prec <= 16; prec++) {
            snprintf(out, 32, "%.*e", prec, x);
            if (strtod(out, NULL) == x) {
                return;
            }
        }
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, 32, "%.*g", prec, x);
        if (strtod(out, NULL) == x) {
            return;
        }
    }
}

static void check_fmt(double x)
{
    char got[32];
    char want[32];

    assert_int_equal(ct_fmt_double(x, got), 0);
    fmt_reference(x, want);
    if (strcmp(got, want) != 0) {
        fail_msg("ct_fmt_double(%.17g) = \"%s\", the general algorithm gives \"%s\"", x, got, want);
    }
}

/* ct_fmt_double's fast path (a decimal of <= 15 digits, without snprintf) writes the same bytes as
 * the general algorithm: sensor-like decimals of every scale and sign, the edges of its range
 * (1e-4, 1e15), and random bit patterns. */
static void test_fmt_double_fast_path(void **state)
{
    (void)state;
    static const double edge[] = {1e-4,
                                  0.0001000000000000001,
                                  9.99999999999999e-5,
                                  1e15,
                                  999999999999999.9,
                                  99999999999999.98,
                                  0.1,
                                  0.2,
                                  0.3,
                                  1.0 / 3,
                                  2.675,
                                  1.005,
                                  123456789012345.6,
                                  0.000123456789012345,
                                  7.2,
                                  20.5,
                                  29.4,
                                  6553.5};
    for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
        check_fmt(edge[i]);
        check_fmt(-edge[i]);
    }
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < 300000; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        /* A decimal m / 10^k with up to 16 digits (some beyond the fast path's 15). */
        int k = (int)(s % 19) - 2;
        double m = (double)(s >> 11 >> (s % 40));
        double x = m / pow(10.0, k);
        if (i % 2) {
            x = -x;
        }
        if (isfinite(x)) {
            check_fmt(x);
        }
        double r;
        memcpy(&r, &s, sizeof(r));
        if (isfinite(r) && i % 8 == 0) {
            check_fmt(r);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_cases),
        cmocka_unit_test(test_every_invalid_file_listed),
        cmocka_unit_test(test_valid_files_roundtrip),
        cmocka_unit_test(test_example_fields),
        cmocka_unit_test(test_type_drops_keep_message),
        cmocka_unit_test(test_unknown_members_counted),
        cmocka_unit_test(test_parking_keeps_json_type),
        cmocka_unit_test(test_escaped_keys),
        cmocka_unit_test(test_random_mutations),
        cmocka_unit_test(test_integer_limits),
        cmocka_unit_test(test_length_bounded),
        cmocka_unit_test(test_roundtrip_all_kinds),
        cmocka_unit_test(test_roundtrip_above_2p53),
        cmocka_unit_test(test_fmt_double_fast_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
