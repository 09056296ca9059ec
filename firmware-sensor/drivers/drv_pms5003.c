/* drv_pms5003.c - Plantower PMS5003 frame parser, builder and resynchronising stream. */
#include "fw_drv_pms5003.h"

#include <string.h>

#include "fw_drv_err.h"

#define DATA_WORDS 13u
#define CHECKSUM_AT 30u

static uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)(((uint16_t)p[0] << 8) | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)(v & 0xFFu);
}

uint16_t fw_drv_pms5003_checksum(const uint8_t *buf, size_t len)
{
    uint16_t sum = 0;

    for (size_t i = 0; i < len; i++) {
        sum = (uint16_t)(sum + buf[i]);
    }
    return sum;
}

/* Checks start bytes and length field of the first 4 bytes. */
static bool header_ok(const uint8_t *buf)
{
    return buf[0] == FW_DRV_PMS5003_START1 && buf[1] == FW_DRV_PMS5003_START2 &&
           get_be16(buf + 2) == FW_DRV_PMS5003_LEN_FIELD;
}

int fw_drv_pms5003_parse(const uint8_t *buf, size_t len, struct fw_drv_pms5003_reading *out)
{
    uint16_t w[DATA_WORDS];

    if (buf == NULL || out == NULL) {
        return FW_DRV_E_INVAL;
    }
    if (len != FW_DRV_PMS5003_FRAME_LEN) {
        return FW_DRV_E_LEN;
    }
    if (!header_ok(buf)) {
        return FW_DRV_E_FRAME;
    }
    if (fw_drv_pms5003_checksum(buf, CHECKSUM_AT) != get_be16(buf + CHECKSUM_AT)) {
        return FW_DRV_E_CHECKSUM;
    }
    for (size_t i = 0; i < DATA_WORDS; i++) {
        w[i] = get_be16(buf + 4 + 2 * i);
    }
    out->pm1_0_cf1 = w[0];
    out->pm2_5_cf1 = w[1];
    out->pm10_cf1 = w[2];
    out->pm1_0 = w[3];
    out->pm2_5 = w[4];
    out->pm10 = w[5];
    for (size_t i = 0; i < 6; i++) {
        out->count[i] = w[6 + i];
    }
    out->reserved = w[12];
    return 0;
}

int fw_drv_pms5003_build(const struct fw_drv_pms5003_reading *in, uint8_t *buf, size_t cap)
{
    uint16_t w[DATA_WORDS];

    if (in == NULL || buf == NULL) {
        return FW_DRV_E_INVAL;
    }
    if (cap < FW_DRV_PMS5003_FRAME_LEN) {
        return FW_DRV_E_LEN;
    }
    w[0] = in->pm1_0_cf1;
    w[1] = in->pm2_5_cf1;
    w[2] = in->pm10_cf1;
    w[3] = in->pm1_0;
    w[4] = in->pm2_5;
    w[5] = in->pm10;
    for (size_t i = 0; i < 6; i++) {
        w[6 + i] = in->count[i];
    }
    w[12] = in->reserved;

    buf[0] = FW_DRV_PMS5003_START1;
    buf[1] = FW_DRV_PMS5003_START2;
    put_be16(buf + 2, FW_DRV_PMS5003_LEN_FIELD);
    for (size_t i = 0; i < DATA_WORDS; i++) {
        put_be16(buf + 4 + 2 * i, w[i]);
    }
    put_be16(buf + CHECKSUM_AT, fw_drv_pms5003_checksum(buf, CHECKSUM_AT));
    return 0;
}

void fw_drv_pms5003_stream_init(struct fw_drv_pms5003_stream *s)
{
    memset(s, 0, sizeof(*s));
}

/* Drops the first 'n' held bytes. */
static void drop(struct fw_drv_pms5003_stream *s, size_t n)
{
    memmove(s->buf, s->buf + n, s->fill - n);
    s->fill = (uint8_t)(s->fill - n);
}

/* Discards held bytes until they are empty or a plausible frame prefix: 0x42, 0x42 0x4D, or
 * 0x42 0x4D with length 28. */
static void settle(struct fw_drv_pms5003_stream *s)
{
    while (s->fill > 0) {
        if (s->buf[0] != FW_DRV_PMS5003_START1 ||
            (s->fill >= 2 && s->buf[1] != FW_DRV_PMS5003_START2)) {
            s->skipped++;
            drop(s, 1);
        } else if (s->fill >= 4 && get_be16(s->buf + 2) != FW_DRV_PMS5003_LEN_FIELD) {
            /* Drop only the start byte: a real frame may begin inside the rejected header. */
            s->bad_frame++;
            drop(s, 1);
        } else {
            return;
        }
    }
}

size_t fw_drv_pms5003_stream_feed(struct fw_drv_pms5003_stream *s, const uint8_t *data, size_t len,
                                  struct fw_drv_pms5003_reading *out, bool *got)
{
    if (got != NULL) {
        *got = false;
    }
    if (s == NULL || out == NULL || got == NULL || (data == NULL && len > 0)) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        s->buf[s->fill++] = data[i];
        settle(s);
        if (s->fill < FW_DRV_PMS5003_FRAME_LEN) {
            continue;
        }
        if (fw_drv_pms5003_parse(s->buf, s->fill, out) == 0) {
            s->fill = 0;
            s->frames++;
            *got = true;
            return i + 1;
        }
        /* Header was checked by settle(), so only the checksum can be wrong here. Rescan the
         * frame's bytes after its start byte. */
        s->bad_checksum++;
        drop(s, 1);
        settle(s);
    }
    return len;
}
