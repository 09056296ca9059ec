/* ct/utf8.h - strict UTF-8 of human text (names, symbols, units). Pure; no allocation. */
#ifndef CT_UTF8_H
#define CT_UTF8_H
#include <stdbool.h>
#include <stddef.h>

/* Length (1..4) of the valid UTF-8 character at p, of which 'left' bytes are readable; 0 when the
 * bytes are not valid UTF-8 (overlongs, surrogates, above U+10FFFF, cut short) or the character
 * is a control character (below U+0020, or U+007F). */
size_t ct_utf8_text_char(const unsigned char *p, size_t left);

/* True when all 'len' bytes of s are such characters. */
bool ct_utf8_text_valid(const char *s, size_t len);

#endif
