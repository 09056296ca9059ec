/* utf8.c - strict UTF-8 of human text (ct/utf8.h). */
#include "ct/utf8.h"

#include "ct/bytes.h"

size_t ct_utf8_text_char(const unsigned char *p, size_t left)
{
    if (p[0] < 0x80) {
        return p[0] >= 0x20 && p[0] != 0x7f ? 1 : 0;
    }
    return ct_utf8_seq(p, left); /* the one UTF-8 sequence check (ct/bytes.h) */
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
