/* test_common_utf8.c - the decoder's UTF-8 and \u-escape rules against an independent oracle,
 * exhaustively over 2-byte sequences and \u escapes, and over the boundary bytes of 3- and 4-byte
 * sequences. Each sequence is placed in a string member of `m` (an unknown one, so only the
 * lexical rules decide). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ct/err.h"
#include "ct/payload.h"

#define HEAD "{\"v\":1,\"id\":\"a\",\"boot\":0,\"seq\":0,\"ts\":0,\"m\":{\"note\":\""
#define TAIL "\"}}"

/* The oracle: RFC 3629 by arithmetic. Valid when 'p' (n bytes) is exactly one well-formed
 * sequence: right length for its lead byte, continuation bytes 10xxxxxx, shortest form, not a
 * surrogate, at most U+10FFFF. */
static bool oracle_valid(const uint8_t *p, size_t n)
{
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t want;
    uint32_t cp;
    if (p[0] < 0x80) {
        return n == 1;
    } else if ((p[0] & 0xE0) == 0xC0) {
        want = 2;
        cp = p[0] & 0x1F;
    } else if ((p[0] & 0xF0) == 0xE0) {
        want = 3;
        cp = p[0] & 0x0F;
    } else if ((p[0] & 0xF8) == 0xF0) {
        want = 4;
        cp = p[0] & 0x07;
    } else {
        return false;
    }
    if (n != want) {
        return false;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            return false;
        }
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    return cp >= min_cp[n] && !(cp >= 0xD800 && cp <= 0xDFFF) && cp <= 0x10FFFF;
}

/* Decodes HEAD <bytes> TAIL; returns true when accepted, and checks the reason otherwise. */
static bool accepted(const uint8_t *bytes, size_t n)
{
    char buf[128];
    struct ct_reading r;
    struct ct_reason why;
    size_t h = strlen(HEAD);
    memcpy(buf, HEAD, h);
    memcpy(buf + h, bytes, n);
    memcpy(buf + h + n, TAIL, strlen(TAIL));
    int rc = ct_payload_decode(buf, h + n + strlen(TAIL), CT_KIND_AIR, &r, &why);
    if (rc == 0) {
        assert_int_equal(r.unknown, 1);
        return true;
    }
    assert_int_equal(rc, CT_E_PARSE);
    assert_string_equal(why.member, "m.note");
    return false;
}

static void check(const uint8_t *seq, size_t n)
{
    bool want = oracle_valid(seq, n);
    if (accepted(seq, n) != want) {
        fail_msg("bytes %02x %02x %02x %02x (n=%zu): decoder %s, oracle %s", seq[0],
                 n > 1 ? seq[1] : 0, n > 2 ? seq[2] : 0, n > 3 ? seq[3] : 0, n,
                 want ? "refused" : "accepted", want ? "valid" : "invalid");
    }
}

static void test_two_byte_exhaustive(void **state)
{
    (void)state;
    for (unsigned b0 = 0x80; b0 <= 0xFF; b0++) {
        uint8_t one[1] = {(uint8_t)b0};
        check(one, 1);
        for (unsigned b1 = 0x80; b1 <= 0xFF; b1++) {
            uint8_t seq[2] = {(uint8_t)b0, (uint8_t)b1};
            check(seq, 2);
        }
        uint8_t ascii_after[2] = {(uint8_t)b0, 'a'};
        assert_false(accepted(ascii_after, 2));
    }
}

static void test_three_and_four_byte_boundaries(void **state)
{
    (void)state;
    static const uint8_t edges[] = {0x7F, 0x80, 0x81, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF};
    for (unsigned b0 = 0xC0; b0 <= 0xFF; b0++) {
        for (unsigned b1 = 0x80; b1 <= 0xC0; b1++) {
            for (size_t i = 0; i < sizeof(edges); i++) {
                if (edges[i] < 0x80) {
                    continue; /* an ASCII byte would end the sequence early: not this test */
                }
                uint8_t seq3[3] = {(uint8_t)b0, (uint8_t)b1, edges[i]};
                check(seq3, 3);
                for (size_t j = 0; j < sizeof(edges); j += 3) {
                    if (edges[j] < 0x80) {
                        continue;
                    }
                    uint8_t seq4[4] = {(uint8_t)b0, (uint8_t)b1, edges[i], edges[j]};
                    check(seq4, 4);
                }
            }
        }
    }
}

static void test_u_escapes_exhaustive(void **state)
{
    (void)state;
    for (unsigned cp = 0; cp <= 0xFFFF; cp++) {
        char esc[8];
        snprintf(esc, sizeof(esc), "\\u%04x", cp);
        bool want = cp != 0 && !(cp >= 0xD800 && cp <= 0xDFFF);
        if (accepted((const uint8_t *)esc, 6) != want) {
            fail_msg("escape %s: decoder %s", esc, want ? "refused" : "accepted");
        }
    }
    /* Surrogate pairs: every high with the edge lows, and a high followed by a non-low. */
    for (unsigned hi = 0xD800; hi <= 0xDBFF; hi++) {
        static const unsigned lows[] = {0xDBFF, 0xDC00, 0xDE00, 0xDFFF, 0xE000, 0x0041};
        for (size_t i = 0; i < sizeof(lows) / sizeof(lows[0]); i++) {
            char esc[16];
            snprintf(esc, sizeof(esc), "\\u%04X\\u%04x", hi, lows[i]);
            bool want = lows[i] >= 0xDC00 && lows[i] <= 0xDFFF;
            if (accepted((const uint8_t *)esc, 12) != want) {
                fail_msg("escape pair %s: decoder %s", esc, want ? "refused" : "accepted");
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_byte_exhaustive),
        cmocka_unit_test(test_three_and_four_byte_boundaries),
        cmocka_unit_test(test_u_escapes_exhaustive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
