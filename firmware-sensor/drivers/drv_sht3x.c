/* drv_sht3x.c - Sensirion SHT3x frame CRC, conversion and builder. */
#include "fw_drv_sht3x.h"

#include <math.h>

#include "fw_drv_err.h"

#define CRC_POLY 0x31u
#define CRC_INIT 0xFFu
#define RAW_FULL 65535.0f

uint8_t fw_drv_sht3x_crc8(const uint8_t *data, size_t len)
{
    uint8_t crc = CRC_INIT;

    for (size_t i = 0; i < len; i++) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; bit++) {
            if (crc & 0x80u) {
                crc = (uint8_t)(((unsigned)crc << 1) ^ CRC_POLY);
            } else {
                crc = (uint8_t)((unsigned)crc << 1);
            }
        }
    }
    return crc;
}

int fw_drv_sht3x_parse(const uint8_t *buf, size_t len, struct fw_drv_sht3x_reading *out)
{
    uint16_t t_raw;
    uint16_t rh_raw;

    if (buf == NULL || out == NULL) {
        return FW_DRV_E_INVAL;
    }
    if (len != FW_DRV_SHT3X_FRAME_LEN) {
        return FW_DRV_E_LEN;
    }
    if (fw_drv_sht3x_crc8(buf, 2) != buf[2] || fw_drv_sht3x_crc8(buf + 3, 2) != buf[5]) {
        return FW_DRV_E_CHECKSUM;
    }
    t_raw = (uint16_t)(((uint16_t)buf[0] << 8) | buf[1]);
    rh_raw = (uint16_t)(((uint16_t)buf[3] << 8) | buf[4]);
    out->t_raw = t_raw;
    out->rh_raw = rh_raw;
    out->t_c = -45.0f + 175.0f * (float)t_raw / RAW_FULL;
    out->rh_pct = 100.0f * (float)rh_raw / RAW_FULL;
    return 0;
}

/* Writes raw and its CRC at p. */
static void put_word(uint8_t *p, uint16_t raw)
{
    p[0] = (uint8_t)(raw >> 8);
    p[1] = (uint8_t)(raw & 0xFFu);
    p[2] = fw_drv_sht3x_crc8(p, 2);
}

int fw_drv_sht3x_build(float t_c, float rh_pct, uint8_t *buf, size_t cap)
{
    float t_ticks;
    float rh_ticks;

    if (buf == NULL) {
        return FW_DRV_E_INVAL;
    }
    /* Written so that NaN fails both comparisons and is rejected. */
    if (!(t_c >= FW_DRV_SHT3X_T_MIN_C && t_c <= FW_DRV_SHT3X_T_MAX_C) ||
        !(rh_pct >= 0.0f && rh_pct <= 100.0f)) {
        return FW_DRV_E_RANGE;
    }
    if (cap < FW_DRV_SHT3X_FRAME_LEN) {
        return FW_DRV_E_LEN;
    }
    t_ticks = roundf((t_c + 45.0f) * RAW_FULL / 175.0f);
    rh_ticks = roundf(rh_pct * RAW_FULL / 100.0f);
    put_word(buf, (uint16_t)fminf(t_ticks, RAW_FULL));
    put_word(buf + 3, (uint16_t)fminf(rh_ticks, RAW_FULL));
    return 0;
}
