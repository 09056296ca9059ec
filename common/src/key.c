/* key.c - key files and key text (ct/key.h). */
#include "ct/key.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ct/err.h"
#include "ct/sig.h"

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int ct_key_parse(const char *text, size_t len, size_t min_len, uint8_t *out, size_t cap,
                 size_t *out_len)
{
    size_t a = 0;
    size_t b = len;

    if (text == NULL || out == NULL || out_len == NULL) {
        return CT_E_INVAL;
    }
    while (a < b && blank(text[a])) {
        a++;
    }
    while (b > a && blank(text[b - 1])) {
        b--;
    }
    if (b == a || (b - a) % 2 != 0 || (b - a) / 2 < min_len) {
        return CT_E_PARSE;
    }
    if ((b - a) / 2 > cap) {
        return CT_E_TOOBIG;
    }
    if (ct_hex_decode(text + a, b - a, out, (b - a) / 2) != 0) {
        return CT_E_PARSE;
    }
    *out_len = (b - a) / 2;
    return 0;
}

int ct_key_read_file(const char *path, size_t min_len, uint8_t *out, size_t cap, size_t *out_len,
                     unsigned *mode)
{
    char text[CT_KEY_FILE_MAX + 1];
    struct stat st;
    size_t n = 0;
    int rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return CT_E_IO;
    }
    if (fstat(fd, &st) != 0) {
        rc = CT_E_IO;
        goto out_close;
    }
    if (mode != NULL) {
        *mode = (unsigned)(st.st_mode & 07777);
    }
    while (n < sizeof(text)) {
        ssize_t r = read(fd, text + n, sizeof(text) - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            rc = CT_E_IO;
            goto out_close;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
    }
    rc = n > CT_KEY_FILE_MAX ? CT_E_TOOBIG : ct_key_parse(text, n, min_len, out, cap, out_len);
out_close:
    memset(text, 0, sizeof(text));
    close(fd);
    return rc;
}
