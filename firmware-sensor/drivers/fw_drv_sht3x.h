/* fw_drv_sht3x.h - Sensirion SHT3x (SHT30/31/35) temperature and humidity, I2C single shot.
 *
 * The board layer writes a single-shot command (FW_DRV_SHT3X_CMD_*, MSB first) and, after the
 * measurement time (15 ms at high repeatability), reads 6 bytes:
 *   T msb, T lsb, CRC(T), RH msb, RH lsb, CRC(RH)
 * CRC-8: polynomial 0x31, init 0xFF, no reflection, no final XOR (datasheet: 0xBEEF -> 0x92).
 * Conversion (datasheet 4.13): T = -45 + 175 * raw / 65535 degC, RH = 100 * raw / 65535 %.
 * Pure: no I/O, no allocation, reentrant. */
#ifndef FW_DRV_SHT3X_H
#define FW_DRV_SHT3X_H
#include <stddef.h>
#include <stdint.h>

#define FW_DRV_SHT3X_ADDR 0x44u                /* I2C address with ADDR pin low (0x45 high) */
#define FW_DRV_SHT3X_CMD_SINGLE_HIGH 0x2400u   /* single shot, high repeatability, no stretch */
#define FW_DRV_SHT3X_CMD_SINGLE_MEDIUM 0x240Bu /* single shot, medium repeatability */
#define FW_DRV_SHT3X_CMD_SINGLE_LOW 0x2416u    /* single shot, low repeatability */
#define FW_DRV_SHT3X_FRAME_LEN 6u              /* bytes read back */
#define FW_DRV_SHT3X_T_MIN_C (-45.0f)          /* conversion range of T */
#define FW_DRV_SHT3X_T_MAX_C 130.0f

struct fw_drv_sht3x_reading {
    float t_c;       /* temperature, degC */
    float rh_pct;    /* relative humidity, %, 0..100 */
    uint16_t t_raw;  /* raw ticks as read */
    uint16_t rh_raw; /* raw ticks as read */
};

/* Returns the SHT3x CRC-8 of 'len' bytes of 'data' (borrowed). */
uint8_t fw_drv_sht3x_crc8(const uint8_t *data, size_t len);

/* Parses the 6 bytes read after a measurement. Returns 0 and fills *out, FW_DRV_E_LEN when
 * len != 6, FW_DRV_E_CHECKSUM when either CRC is wrong, FW_DRV_E_INVAL for NULL pointers.
 * *out is untouched on error. */
int fw_drv_sht3x_parse(const uint8_t *buf, size_t len, struct fw_drv_sht3x_reading *out);

/* Builds the 6 bytes the sensor would return for t_c (degC) and rh_pct (%), rounded to the
 * nearest tick, into 'buf' of 'cap' bytes. Returns 0, FW_DRV_E_RANGE when t_c is outside
 * -45..130 or rh_pct outside 0..100 (or not finite), FW_DRV_E_LEN when cap < 6,
 * FW_DRV_E_INVAL for a NULL buf. */
int fw_drv_sht3x_build(float t_c, float rh_pct, uint8_t *buf, size_t cap);

#endif
