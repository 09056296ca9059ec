/* ct/gzip.h - gzip compression of one buffer (zlib), for HTTP bodies: the store's writes and
 * the collector's answers. */
#ifndef CT_GZIP_H
#define CT_GZIP_H
#include <stddef.h>

/* Compresses 'len' bytes of 'in' as one gzip member (RFC 1952, level 6) into a new buffer the
 * caller frees with free(). The same input always gives the same bytes
 * (test_sink_fail resends a gzip batch byte for byte). Returns 0, CT_E_NOMEM or
 * CT_E_IO (zlib failed); on error *out is untouched. */
int ct_gzip(const char *in, size_t len, char **out, size_t *out_len);
/* The same at zlib level 'level' (1 fastest .. 9 smallest); CT_E_INVAL for another level. */
int ct_gzip_level(const char *in, size_t len, int level, char **out, size_t *out_len);

#endif
