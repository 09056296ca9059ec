/* http_util.c - pure HTTP helpers: reason phrases, content types, entity tags, gzip,
 * percent-decoding and Accept-Encoding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "col_http.h"
#include "ct/err.h"
#include "http_int.h"
#include "ct/bytes.h"

const char *col_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Unknown";
    }
}

const char *col_http_content_type(const char *name)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".png", "image/png"},
        {".svg", "image/svg+xml"},
        {".ico", "image/x-icon"},
        {".json", "application/json"},
        {".geojson", "application/geo+json"},
    };
    const char *dot = strrchr(name, '.');
    if (dot != NULL && strchr(dot, '/') == NULL) {
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
            if (strcasecmp(dot, types[i].ext) == 0) {
                return types[i].type;
            }
        }
    }
    return "application/octet-stream";
}

void col_http_etag(const char *body, size_t len, bool gzip, char out[24])
{
    uint64_t h = ct_fnv1a64(body, len);
    snprintf(out, 24, "\"%016llx%s\"", (unsigned long long)h, gzip ? "-gz" : "");
}

bool col_http_etag_matches(const char *inm, const char *etag)
{
    if (inm == NULL) {
        return false;
    }
    size_t elen = strlen(etag);
    const char *p = inm;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        if (*p == '*') {
            return true;
        }
        if (strncmp(p, "W/", 2) == 0) {
            p += 2;
        }
        if (*p != '"') {
            return false; /* malformed list: no match */
        }
        const char *end = strchr(p + 1, '"');
        if (end == NULL) {
            return false;
        }
        size_t tlen = (size_t)(end - p) + 1;
        if (tlen == elen && memcmp(p, etag, elen) == 0) {
            return true;
        }
        p = end + 1;
    }
    return false;
}

long col_http_pct_decode(const char *s, size_t len, bool plus, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= len) {
                return -1;
            }
            int hi = ct_hex_digit(s[i + 1]);
            int lo = ct_hex_digit(s[i + 2]);
            if (hi < 0 || lo < 0) {
                return -1;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (c == '\0' || n + 1 >= cap) {
            return -1;
        }
        out[n++] = c;
    }
    if (cap == 0) {
        return -1;
    }
    out[n] = '\0';
    return (long)n;
}

/* Accept-Encoding: a list of "coding[;q=x]"; gzip or * with a q above 0. */
bool col_http_req_accepts_gzip_value(const char *ae)
{
    if (ae == NULL) {
        return false;
    }
    const char *p = ae;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        const char *tok = p;
        while (*p != '\0' && *p != ',' && *p != ';' && *p != ' ' && *p != '\t') {
            p++;
        }
        size_t tlen = (size_t)(p - tok);
        bool q_zero = false;
        while (*p != '\0' && *p != ',') {
            if (*p == ';') {
                const char *q = p + 1;
                while (*q == ' ') {
                    q++;
                }
                if ((q[0] == 'q' || q[0] == 'Q') && q[1] == '=') {
                    char *end = NULL;
                    double v = strtod(q + 2, &end);
                    q_zero = end != q + 2 && v <= 0.0;
                }
            }
            p++;
        }
        if (!q_zero &&
            ((tlen == 4 && strncasecmp(tok, "gzip", 4) == 0) || (tlen == 1 && tok[0] == '*'))) {
            return true;
        }
    }
    return false;
}
