/* utf8.c - strict UTF-8 of human text (ct/utf8.h). */
#include "ct/utf8.h"

#include <stdint.h>

size_t ct_utf8_text_char(const unsigned char *p, size_t left)
{
    unsigned c = p[0];
    if (c < 0x80) {
        return c >= 0x20 && c != 0x7f ? 1 : 0;
    }
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 1;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 2;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 3;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (left <= n) {
        return 0;
    }
    for (size_t k = 1; k <= n; k++) {
        if ((p[k] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (p[k] & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return n + 1;
}

bool ct_utf8_text_valid(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t n = ct_utf8_text_char((const unsigned char *)s + i, len - i);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}
