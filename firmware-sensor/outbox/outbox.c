/* outbox.c - store-and-forward FIFO over fw_hal NVS logs (format in fw_outbox.h). */
#include "fw_outbox.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/err.h"
#include "ct/bytes.h"

#define REC_MAGIC 0x424F5443u /* "CTOB" little-endian */
#define REC_HDR 32
#define ACK_MAGIC 0x4B414F43u /* "COAK" */
#define ACK_BLOB "outbox.ack"
#define ACK_BLOB_LEN 24
#define SEG_PREFIX "obseg-"
#define SEG_NAME_MAX 32

struct seg {
    uint64_t start; /* recno of its first record */
};

struct fw_outbox {
    struct fw_nvs *nvs; /* borrowed */
    struct fw_outbox_cfg cfg;
    struct seg *segs; /* sorted by start; segs[nsegs-1] is the tail */
    size_t nsegs;
    size_t segcap;
    uint64_t next_recno; /* recno of the next append */
    uint64_t base;       /* first record neither acked nor dropped */
    uint64_t tail_size;  /* bytes of the tail segment */
    uint64_t send;       /* next recno to hand out */
    uint64_t send_seg;   /* cursor: start of the segment holding 'send' */
    uint64_t send_off;   /* cursor: byte offset of 'send' in it */
    bool send_valid;     /* cursor matches 'send' */
    uint64_t prev_send;  /* cursor before the last fw_outbox_next, for fw_outbox_unnext */
    uint64_t prev_seg;
    uint64_t prev_off;
    bool prev_valid;
    uint8_t acked[FW_OUTBOX_ACK_WINDOW / 8]; /* bit (recno % window) for recno in [base, base+W) */
    struct fw_outbox_stats st;
};

static void seg_name(uint64_t start, char out[SEG_NAME_MAX])
{
    snprintf(out, SEG_NAME_MAX, SEG_PREFIX "%016" PRIx64, start);
}

static bool bit_get(const struct fw_outbox *ob, uint64_t recno)
{
    size_t i = (size_t)(recno % FW_OUTBOX_ACK_WINDOW);
    return (ob->acked[i / 8] >> (i % 8)) & 1u;
}

static void bit_set(struct fw_outbox *ob, uint64_t recno, bool on)
{
    size_t i = (size_t)(recno % FW_OUTBOX_ACK_WINDOW);
    if (on) {
        ob->acked[i / 8] |= (uint8_t)(1u << (i % 8));
    } else {
        ob->acked[i / 8] &= (uint8_t) ~(1u << (i % 8));
    }
}

static int persist_ack(struct fw_outbox *ob)
{
    uint8_t b[ACK_BLOB_LEN];
    ct_put_le32(b, ACK_MAGIC);
    ct_put_le64(b + 4, ob->base);
    ct_put_le64(b + 12, ob->st.dropped);
    ct_put_le32(b + 20, ct_crc32(0, b, 20));
    return fw_nvs_write(ob->nvs, ACK_BLOB, b, sizeof(b), ob->cfg.sync);
}

/* Reads and checks the record at (seg, off). Returns 0 with *size (bytes of the record), or
 * CT_E_CORRUPT (damaged or short), CT_E_NOTFOUND (clean end of the segment) or CT_E_IO. With
 * 'rec' NULL the payload is still read to check the CRC. */
static int read_record(struct fw_outbox *ob, uint64_t seg, uint64_t off, uint64_t expect_recno,
                       struct fw_outbox_rec *rec, uint64_t *size)
{
    char name[SEG_NAME_MAX];
    seg_name(seg, name);
    uint8_t buf[REC_HDR + CT_PAYLOAD_MAX + 4];
    size_t got = 0;
    int rc = fw_nvs_log_read(ob->nvs, name, off, buf, REC_HDR, &got);
    if (rc == CT_E_NOTFOUND) {
        return off == 0 ? CT_E_NOTFOUND : CT_E_CORRUPT;
    }
    if (rc != 0) {
        return rc;
    }
    if (got == 0) {
        return CT_E_NOTFOUND;
    }
    if (got < REC_HDR || ct_get_le32(buf) != REC_MAGIC) {
        return CT_E_CORRUPT;
    }
    uint32_t len = ct_get_le32(buf + 4);
    if (len == 0 || len > CT_PAYLOAD_MAX || ct_get_le64(buf + 8) != expect_recno) {
        return CT_E_CORRUPT;
    }
    rc = fw_nvs_log_read(ob->nvs, name, off + REC_HDR, buf + REC_HDR, (size_t)len + 4, &got);
    if (rc != 0) {
        return rc;
    }
    if (got < (size_t)len + 4) {
        return CT_E_CORRUPT;
    }
    if (ct_crc32(0, buf, REC_HDR + (size_t)len) != ct_get_le32(buf + REC_HDR + len)) {
        return CT_E_CORRUPT;
    }
    if (rec != NULL) {
        rec->recno = expect_recno;
        rec->boot = ct_get_le64(buf + 16);
        rec->seq = ct_get_le64(buf + 24);
        rec->len = len;
        memcpy(rec->payload, buf + REC_HDR, len);
        rec->payload[len] = '\0';
    }
    *size = REC_HDR + (uint64_t)len + 4;
    return 0;
}

static int seg_push(struct fw_outbox *ob, uint64_t start)
{
    if (ob->nsegs == ob->segcap) {
        size_t ncap = ob->segcap == 0 ? 8 : ob->segcap * 2;
        struct seg *n = realloc(ob->segs, ncap * sizeof(*n));
        if (n == NULL) {
            return CT_E_NOMEM;
        }
        ob->segs = n;
        ob->segcap = ncap;
    }
    ob->segs[ob->nsegs++].start = start;
    return 0;
}

/* Sizes the segment table for the bound once, at open: the unacked records (at most max_records)
 * span at most max_records / segment_records + 2 segments, so appends never allocate. */
static int seg_reserve(struct fw_outbox *ob)
{
    size_t want = ob->cfg.max_records / ob->cfg.segment_records + 2;
    if (want <= ob->segcap) {
        return 0;
    }
    struct seg *n = realloc(ob->segs, want * sizeof(*n));
    if (n == NULL) {
        return CT_E_NOMEM;
    }
    ob->segs = n;
    ob->segcap = want;
    return 0;
}

static int list_cb(void *arg, const char *name)
{
    struct fw_outbox *ob = arg;
    const char *hex = name + strlen(SEG_PREFIX);
    if (strlen(hex) != 16) {
        return 0;
    }
    char *end = NULL;
    unsigned long long v = strtoull(hex, &end, 16);
    if (end == NULL || *end != '\0') {
        return 0;
    }
    return seg_push(ob, (uint64_t)v);
}

static int seg_cmp(const void *a, const void *b)
{
    const struct seg *x = a;
    const struct seg *y = b;
    return x->start < y->start ? -1 : (x->start > y->start ? 1 : 0);
}

/* Index of the segment holding 'recno' (the last with start <= recno), or nsegs when none. */
static size_t seg_find(const struct fw_outbox *ob, uint64_t recno)
{
    size_t found = ob->nsegs;
    for (size_t i = 0; i < ob->nsegs && ob->segs[i].start <= recno; i++) {
        found = i;
    }
    return found;
}

/* Removes segments whose records are all below base (never the tail). */
static int remove_done_segments(struct fw_outbox *ob)
{
    size_t k = 0;
    while (k + 1 < ob->nsegs && ob->segs[k + 1].start <= ob->base) {
        char name[SEG_NAME_MAX];
        seg_name(ob->segs[k].start, name);
        int rc = fw_nvs_remove(ob->nvs, name);
        if (rc != 0) {
            break;
        }
        k++;
    }
    if (k > 0) {
        memmove(ob->segs, ob->segs + k, (ob->nsegs - k) * sizeof(*ob->segs));
        ob->nsegs -= k;
    }
    return 0;
}

/* Scans the tail segment, cuts a torn tail and sets next_recno and tail_size. */
static int recover_tail(struct fw_outbox *ob)
{
    struct seg *t = &ob->segs[ob->nsegs - 1];
    uint64_t off = 0;
    uint64_t recno = t->start;
    for (;;) {
        uint64_t size = 0;
        int rc = read_record(ob, t->start, off, recno, NULL, &size);
        if (rc == CT_E_NOTFOUND) {
            break;
        }
        if (rc == CT_E_CORRUPT) {
            char name[SEG_NAME_MAX];
            seg_name(t->start, name);
            uint64_t fsize = 0;
            if (fw_nvs_log_size(ob->nvs, name, &fsize) == 0 && fsize > off) {
                ob->st.torn += fsize - off;
            }
            rc = fw_nvs_log_truncate(ob->nvs, name, off);
            if (rc != 0 && rc != CT_E_NOTFOUND) {
                return rc;
            }
            break;
        }
        if (rc != 0) {
            return rc;
        }
        off += size;
        recno++;
    }
    ob->next_recno = recno;
    ob->tail_size = off;
    return 0;
}

int fw_outbox_open(struct fw_nvs *nvs, const struct fw_outbox_cfg *cfg, struct fw_outbox **out)
{
    if (nvs == NULL || cfg == NULL || cfg->max_records == 0) {
        return CT_E_INVAL;
    }
    struct fw_outbox *ob = calloc(1, sizeof(*ob));
    if (ob == NULL) {
        return CT_E_NOMEM;
    }
    ob->nvs = nvs;
    ob->cfg = *cfg;
    if (ob->cfg.segment_records == 0) {
        ob->cfg.segment_records = FW_OUTBOX_SEGMENT_RECORDS_DEFAULT;
    }
    int rc = fw_nvs_list(nvs, SEG_PREFIX, list_cb, ob);
    if (rc != 0) {
        goto out_free;
    }
    if (ob->nsegs > 1) {
        qsort(ob->segs, ob->nsegs, sizeof(*ob->segs), seg_cmp);
    }

    uint8_t b[ACK_BLOB_LEN];
    size_t blen = 0;
    bool have_ack = false;
    rc = fw_nvs_read(nvs, ACK_BLOB, b, sizeof(b), &blen);
    if (rc == 0 && blen == ACK_BLOB_LEN && ct_get_le32(b) == ACK_MAGIC &&
        ct_crc32(0, b, 20) == ct_get_le32(b + 20)) {
        ob->base = ct_get_le64(b + 4);
        ob->st.dropped = ct_get_le64(b + 12);
        have_ack = true;
    } else if (rc != 0 && rc != CT_E_NOTFOUND && rc != CT_E_TOOBIG) {
        goto out_free;
    }
    if (ob->nsegs == 0) {
        /* Empty outbox: continue numbering after the persisted pointer. */
        rc = seg_push(ob, ob->base);
        if (rc != 0) {
            goto out_free;
        }
    }
    if (!have_ack || ob->base < ob->segs[0].start) {
        ob->base = ob->segs[0].start;
    }
    rc = recover_tail(ob);
    if (rc != 0) {
        goto out_free;
    }
    if (ob->base > ob->next_recno) {
        ob->base = ob->next_recno;
    }
    remove_done_segments(ob);
    rc = seg_reserve(ob);
    if (rc != 0) {
        goto out_free;
    }
    ob->send = ob->base;
    ob->send_valid = false;
    *out = ob;
    return 0;

out_free:
    free(ob->segs);
    free(ob);
    return rc;
}

void fw_outbox_close(struct fw_outbox *ob)
{
    if (ob == NULL) {
        return;
    }
    free(ob->segs);
    free(ob);
}

/* Moves base forward by one (acked or dropped) and clears its bit. */
static void advance_base(struct fw_outbox *ob)
{
    bit_set(ob, ob->base, false);
    ob->base++;
    if (ob->send < ob->base) {
        ob->send = ob->base;
        ob->send_valid = false;
    }
}

int fw_outbox_append(struct fw_outbox *ob, uint64_t boot, uint64_t seq, const void *payload,
                     size_t len, uint64_t *recno)
{
    if (payload == NULL || len == 0) {
        return CT_E_INVAL;
    }
    if (len > CT_PAYLOAD_MAX) {
        return CT_E_TOOBIG;
    }
    int rc = 0;
    bool dropped = false;
    while (ob->next_recno - ob->base >= ob->cfg.max_records) {
        advance_base(ob);
        ob->st.dropped++;
        dropped = true;
    }
    struct seg *t = &ob->segs[ob->nsegs - 1];
    if (ob->next_recno - t->start >= ob->cfg.segment_records) {
        rc = seg_push(ob, ob->next_recno);
        if (rc != 0) {
            return rc;
        }
        t = &ob->segs[ob->nsegs - 1];
        ob->tail_size = 0;
    }
    uint8_t buf[REC_HDR + CT_PAYLOAD_MAX + 4];
    ct_put_le32(buf, REC_MAGIC);
    ct_put_le32(buf + 4, (uint32_t)len);
    ct_put_le64(buf + 8, ob->next_recno);
    ct_put_le64(buf + 16, boot);
    ct_put_le64(buf + 24, seq);
    memcpy(buf + REC_HDR, payload, len);
    ct_put_le32(buf + REC_HDR + len, ct_crc32(0, buf, REC_HDR + len));
    char name[SEG_NAME_MAX];
    seg_name(t->start, name);
    rc = fw_nvs_log_append(ob->nvs, name, buf, REC_HDR + len + 4, ob->cfg.sync);
    if (rc != 0) {
        /* A partial write is a torn tail: cut it so the next append starts clean. */
        fw_nvs_log_truncate(ob->nvs, name, ob->tail_size);
        return rc;
    }
    ob->tail_size += REC_HDR + len + 4;
    if (recno != NULL) {
        *recno = ob->next_recno;
    }
    ob->next_recno++;
    ob->st.appended++;
    if (dropped) {
        remove_done_segments(ob);
        rc = persist_ack(ob);
    }
    return rc;
}

/* Places the cursor on 'send' by walking its segment from the start. */
static int locate_send(struct fw_outbox *ob)
{
    size_t i = seg_find(ob, ob->send);
    if (i == ob->nsegs) {
        return CT_E_CORRUPT;
    }
    uint64_t off = 0;
    for (uint64_t r = ob->segs[i].start; r < ob->send; r++) {
        uint64_t size = 0;
        int rc = read_record(ob, ob->segs[i].start, off, r, NULL, &size);
        if (rc != 0) {
            return rc == CT_E_NOTFOUND ? CT_E_CORRUPT : rc;
        }
        off += size;
    }
    ob->send_seg = ob->segs[i].start;
    ob->send_off = off;
    ob->send_valid = true;
    return 0;
}

/* Skips the rest of the segment holding 'send' after damage: its records are lost. */
static void skip_damaged(struct fw_outbox *ob)
{
    size_t i = seg_find(ob, ob->send);
    uint64_t end = (i + 1 < ob->nsegs) ? ob->segs[i + 1].start : ob->next_recno;
    ob->st.corrupt += end - ob->send;
    ob->send = end;
    ob->send_valid = false;
    while (ob->base < ob->send && !bit_get(ob, ob->base)) {
        /* Lost records can never be acked: count them done so the pointer can move. */
        advance_base(ob);
    }
}

int fw_outbox_next(struct fw_outbox *ob, struct fw_outbox_rec *rec)
{
    bool relocated = false;

    while (ob->send < ob->next_recno) {
        if (ob->send - ob->base >= FW_OUTBOX_ACK_WINDOW) {
            return CT_E_NOTFOUND;
        }
        int rc = 0;
        if (!ob->send_valid) {
            rc = locate_send(ob);
        }
        uint64_t size = 0;
        if (rc == 0) {
            rc = read_record(ob, ob->send_seg, ob->send_off, ob->send, rec, &size);
            if (rc == CT_E_NOTFOUND && !relocated) {
                /* The cached position may be past the end of its segment: the record can have
                 * started a new segment since it was computed. Find it again before calling
                 * it lost. */
                relocated = true;
                ob->send_valid = false;
                continue;
            }
            if (rc == CT_E_NOTFOUND) {
                rc = CT_E_CORRUPT;
            }
        }
        if (rc == CT_E_CORRUPT) {
            skip_damaged(ob);
            persist_ack(ob);
            continue;
        }
        if (rc != 0) {
            return rc;
        }
        ob->prev_send = ob->send;
        ob->prev_seg = ob->send_seg;
        ob->prev_off = ob->send_off;
        ob->prev_valid = true;
        ob->send++;
        ob->send_off += size;
        size_t i = seg_find(ob, ob->send_seg);
        if ((i + 1 < ob->nsegs && ob->segs[i + 1].start == ob->send) ||
            ob->send - ob->send_seg >= ob->cfg.segment_records) {
            /* The next record is the first of the next segment, whether it exists yet or will
             * be started by the next append (a full segment is never appended to). */
            ob->send_seg = ob->send;
            ob->send_off = 0;
        }
        return 0;
    }
    return CT_E_NOTFOUND;
}

void fw_outbox_unnext(struct fw_outbox *ob)
{
    if (!ob->prev_valid || ob->prev_send + 1 != ob->send || ob->prev_send < ob->base) {
        return;
    }
    ob->send = ob->prev_send;
    ob->send_seg = ob->prev_seg;
    ob->send_off = ob->prev_off;
    ob->send_valid = true;
    ob->prev_valid = false;
}

void fw_outbox_rewind(struct fw_outbox *ob)
{
    ob->prev_valid = false;
    if (ob->send != ob->base) {
        ob->send = ob->base;
        ob->send_valid = false;
    }
}

int fw_outbox_ack(struct fw_outbox *ob, uint64_t recno)
{
    if (recno >= ob->next_recno) {
        return CT_E_INVAL;
    }
    if (recno < ob->base) {
        return 0;
    }
    if (recno - ob->base >= FW_OUTBOX_ACK_WINDOW) {
        return CT_E_RANGE;
    }
    bit_set(ob, recno, true);
    if (recno != ob->base) {
        return 0;
    }
    while (ob->base < ob->next_recno && bit_get(ob, ob->base)) {
        advance_base(ob);
    }
    remove_done_segments(ob);
    return persist_ack(ob);
}

uint64_t fw_outbox_pending(const struct fw_outbox *ob)
{
    return ob->next_recno - ob->base;
}

uint64_t fw_outbox_outstanding(const struct fw_outbox *ob)
{
    return ob->send - ob->base;
}

void fw_outbox_get_stats(const struct fw_outbox *ob, struct fw_outbox_stats *st)
{
    *st = ob->st;
    st->pending = ob->next_recno - ob->base;
    st->unsent = ob->next_recno - ob->send;
}
