/* gzip.c - one-shot gzip compression over zlib. */
#include "ct/gzip.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ct/err.h"

int ct_gzip(const char *in, size_t len, char **out, size_t *out_len)
{
    return ct_gzip_level(in, len, 6, out, out_len);
}

int ct_gzip_level(const char *in, size_t len, int level, char **out, size_t *out_len)
{
    z_stream zs;
    char *buf;
    uLong cap;
    int zrc;

    memset(&zs, 0, sizeof(zs));
    /* windowBits 15 + 16 asks zlib for a gzip header and trailer instead of zlib's own. */
    if (level < 1 || level > 9) {
        return CT_E_INVAL;
    }
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return CT_E_NOMEM;
    }
    cap = deflateBound(&zs, (uLong)len) + 32;
    buf = malloc(cap);
    if (buf == NULL) {
        deflateEnd(&zs);
        return CT_E_NOMEM;
    }
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)buf;
    zs.avail_out = (uInt)cap;
    zrc = deflate(&zs, Z_FINISH);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    if (zrc != Z_STREAM_END) {
        free(buf);
        return CT_E_IO;
    }
    *out = buf;
    return 0;
}
