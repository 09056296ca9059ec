/* slug.c - ASCII slugs of Vietnamese names, for MQTT topic levels ("Đống Đa" -> "dong-da"). */
#include <stdint.h>

#include "ct/err.h"
#include "ct/topic.h"

/* The base letter of a Vietnamese (or Latin-1) letter, lowercase; 0 when it has none. */
static char base_letter(uint32_t cp)
{
    static const char latin1[] = /* U+00C0 .. U+00FF */
        "aaaaaaaceeeeiiiidnooooo-ouuuuyts"
        "aaaaaaaceeeeiiiidnooooo-ouuuuyty";

    if (cp < 0x80) {
        if (cp >= 'A' && cp <= 'Z') {
            return (char)(cp - 'A' + 'a');
        }
        return (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9') ? (char)cp : 0;
    }
    if (cp >= 0xC0 && cp <= 0xFF) {
        return latin1[cp - 0xC0] == '-' ? 0 : latin1[cp - 0xC0];
    }
    switch (cp) {
    case 0x102:
    case 0x103:
        return 'a'; /* Ă ă */
    case 0x110:
    case 0x111:
        return 'd'; /* Đ đ */
    case 0x128:
    case 0x129:
        return 'i'; /* Ĩ ĩ */
    case 0x168:
    case 0x169:
        return 'u'; /* Ũ ũ */
    case 0x1A0:
    case 0x1A1:
        return 'o'; /* Ơ ơ */
    case 0x1AF:
    case 0x1B0:
        return 'u'; /* Ư ư */
    default:
        break;
    }
    /* Latin Extended Additional, the Vietnamese block: vowels with tone marks. */
    if (cp >= 0x1EA0 && cp <= 0x1EB7) {
        return 'a';
    }
    if (cp >= 0x1EB8 && cp <= 0x1EC7) {
        return 'e';
    }
    if (cp >= 0x1EC8 && cp <= 0x1ECB) {
        return 'i';
    }
    if (cp >= 0x1ECC && cp <= 0x1EE3) {
        return 'o';
    }
    if (cp >= 0x1EE4 && cp <= 0x1EF1) {
        return 'u';
    }
    if (cp >= 0x1EF2 && cp <= 0x1EF9) {
        return 'y';
    }
    return 0;
}

/* Decodes one UTF-8 sequence at s (n bytes left); returns its length, 1 for an invalid byte. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len = s[0] < 0x80         ? 1
                 : (s[0] >> 5) == 6  ? 2
                 : (s[0] >> 4) == 14 ? 3
                 : (s[0] >> 3) == 30 ? 4
                                     : 0;

    if (len == 0 || len > n) {
        *cp = 0xFFFD;
        return 1;
    }
    *cp = len == 1 ? s[0] : (uint32_t)(s[0] & (0x7F >> len));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        *cp = (*cp << 6) | (s[i] & 0x3F);
    }
    return len;
}

int ct_topic_slug(const char *name, char *out, size_t cap)
{
    const unsigned char *s = (const unsigned char *)name;
    size_t n = 0;
    size_t used = 0;
    bool dash = false;

    if (name == NULL || out == NULL || cap == 0) {
        return CT_E_INVAL;
    }
    while (s[n] != '\0') {
        n++;
    }
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        char c;
        i += utf8_next(s + i, n - i, &cp);
        c = base_letter(cp);
        if (c == 0) {
            dash = used > 0;
            continue;
        }
        if (dash) {
            if (used + 1 >= cap || used + 1 >= CT_ID_MAX) {
                break;
            }
            out[used++] = '-';
            dash = false;
        }
        if (used + 1 >= cap || used >= CT_ID_MAX) {
            break;
        }
        out[used++] = c;
    }
    out[used] = '\0';
    return used > 0 ? 0 : CT_E_INVAL;
}
