/* fuzz_spool.c - hostile bytes as a journal segment file: col_spool_open() and a reader over
 * every record must not crash; the counts must agree (records read == stats.records, strictly
 * increasing sequence numbers), and the journal must still take and return a new record.
 *
 * The first input byte picks how the segment is made:
 *   0: the raw bytes are the whole file (header fuzzing);
 *   1: a valid header, then the raw bytes;
 *   2: a valid header, then records framed from the input (length byte, data) with a valid CRC,
 *      one in eight damaged on purpose; the sequence numbers come from the input too. */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "col_spool.h"
#include "ct/err.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char g_dir[256];

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void clean_dir(void)
{
    DIR *d = opendir(g_dir);
    if (d == NULL) {
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char p[600];
        snprintf(p, sizeof(p), "%s/%s", g_dir, e->d_name);
        unlink(p);
    }
    closedir(d);
}

static void rm_dir(void)
{
    clean_dir();
    rmdir(g_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof(g_dir), "%s/ct-fuzz-spool-XXXXXX", tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
    atexit(rm_dir);
    return 0;
}

static void header(uint8_t h[40], uint64_t first_seq)
{
    memset(h, 0, 40);
    memcpy(h, "CTSPOOL\x1a", 8);
    put_le(h + 8, 1, 2);
    put_le(h + 10, 40, 2);
    put_le(h + 16, first_seq, 8);
    put_le(h + 24, 1763888400000ull, 8);
    put_le(h + 32, crc32(0L, h, 32), 4);
}

#define MAX_REC 1024

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536) {
        return 0;
    }
    clean_dir();
    uint8_t mode = data[0] % 3;
    struct fz f = {data + 1, size - 1};
    size_t cap = 40 + size * 40 + 64;
    uint8_t *file = malloc(cap);
    FZ_CHECK(file != NULL, "malloc");
    size_t flen = 0;
    size_t clean_prefix = 0; /* clean frames before the first damaged one */
    bool damaged = false;
    uint64_t first = 1 + (fz_u8(&f) % 4);
    if (mode == 0) {
        memcpy(file, data + 1, size - 1);
        flen = size - 1;
        first = 1;
    } else {
        header(file, first);
        flen = 40;
        if (mode == 1) {
            memcpy(file + flen, f.p, f.n);
            flen += f.n;
        } else {
            uint64_t seq = first;
            while (f.n > 0) {
                uint8_t ctl = fz_u8(&f);
                size_t len = fz_u8(&f);
                if (len > f.n) {
                    len = f.n;
                }
                uint8_t *r = file + flen;
                memcpy(r, "\xc7\x5e\x52\x31", 4);
                put_le(r + 8, len, 4);
                put_le(r + 12, 0, 4);
                seq += (ctl & 0x30) == 0x30 ? 2 : 1; /* sometimes a gap */
                put_le(r + 16, seq, 8);
                put_le(r + 24, 1763888400000ull + seq, 8);
                memcpy(r + 32, f.p, len);
                uLong c = crc32(0L, r + 32, (uInt)len);
                c = crc32(c, r + 8, 24);
                put_le(r + 4, c, 4);
                if ((ctl & 7) == 7) {
                    r[(ctl >> 3) % (32 + len)] ^= 0x5a; /* damage */
                    damaged = true;
                } else if (!damaged) {
                    clean_prefix++;
                }
                f.p += len;
                f.n -= len;
                flen += 32 + len;
            }
        }
    }
    char path[600];
    snprintf(path, sizeof(path), "%s/spool-%020llu.seg", g_dir, (unsigned long long)first);
    FILE *fp = fopen(path, "wb");
    FZ_CHECK(fp != NULL, "fopen %s", path);
    FZ_CHECK(fwrite(file, 1, flen, fp) == flen, "fwrite");
    fclose(fp);
    free(file);

    struct col_spool_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.dir = g_dir;
    cfg.segment_bytes = 1 << 20;
    cfg.max_total_bytes = 4 << 20;
    cfg.max_record_bytes = MAX_REC;
    cfg.fsync = COL_SPOOL_FSYNC_NONE;
    struct col_spool *sp = NULL;
    int rc = col_spool_open(&cfg, &sp);
    FZ_CHECK(rc == 0, "open failed on damaged data: %d", rc);
    struct col_spool_stats st;
    col_spool_stats(sp, &st);

    struct col_spool_reader *rd = NULL;
    FZ_CHECK(col_spool_reader_open(sp, st.commit_seq + 1, &rd) == 0, "reader");
    uint8_t buf[MAX_REC];
    size_t len = 0;
    uint64_t seq = 0;
    uint64_t prev = 0;
    uint64_t nread = 0;
    while ((rc = col_spool_reader_next(rd, buf, sizeof(buf), &len, &seq)) == 0) {
        FZ_CHECK(seq > prev, "seq %llu after %llu", (unsigned long long)seq,
                 (unsigned long long)prev);
        FZ_CHECK(len <= MAX_REC, "len");
        prev = seq;
        nread++;
    }
    FZ_CHECK(rc == CT_E_NOTFOUND, "reader ended with %d", rc);
    FZ_CHECK(nread == st.records, "read %llu records, stats say %llu", (unsigned long long)nread,
             (unsigned long long)st.records);
    FZ_CHECK(prev <= st.last_seq, "seq %llu above last_seq %llu", (unsigned long long)prev,
             (unsigned long long)st.last_seq);
    if (mode == 2) {
        /* Every clean frame before the first damaged one is read. (A frame embedded in a damaged
         * record's data can also be read when the damage hit the length field, since the reader
         * must then search byte by byte; docs/spool.md says so. So no upper bound holds.) */
        FZ_CHECK(nread >= clean_prefix, "read %llu records, %zu clean before any damage",
                 (unsigned long long)nread, clean_prefix);
    }

    /* The journal still works: append, read back. */
    uint64_t nseq = 0;
    rc = col_spool_append(sp, "after", 5, &nseq);
    FZ_CHECK(rc == 0, "append after recovery: %d", rc);
    FZ_CHECK(nseq > st.last_seq && nseq > prev, "new seq %llu not above %llu",
             (unsigned long long)nseq, (unsigned long long)st.last_seq);
    rc = col_spool_reader_next(rd, buf, sizeof(buf), &len, &seq);
    FZ_CHECK(rc == 0 && seq == nseq && len == 5 && memcmp(buf, "after", 5) == 0,
             "new record not read back: %d", rc);
    col_spool_reader_close(rd);
    col_spool_close(sp);
    return 0;
}
