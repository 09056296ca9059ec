/* fw_drv_pms5003.h - Plantower PMS5003 particulate sensor, UART (9600 8N1) active-mode frames.
 *
 * Frame (32 bytes, all words big-endian):
 *   0x42 0x4D | frame length = 28 (2 bytes) | 13 data words (26 bytes) | checksum (2 bytes)
 * The checksum is the 16-bit sum of the 30 bytes before it. Data words:
 *   1-3  PM1.0, PM2.5, PM10 in ug/m3 under "CF=1" (standard particle, factory environment)
 *   4-6  PM1.0, PM2.5, PM10 in ug/m3 under atmospheric environment (the values to report)
 *   7-12 particle counts >0.3, >0.5, >1.0, >2.5, >5.0, >10 um per 0.1 L of air
 *   13   reserved (high byte: version, low byte: error code)
 * Pure: no I/O, no allocation; the board layer hands UART bytes in. Not thread-safe per stream. */
#ifndef FW_DRV_PMS5003_H
#define FW_DRV_PMS5003_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FW_DRV_PMS5003_FRAME_LEN 32u /* bytes of one frame */
#define FW_DRV_PMS5003_LEN_FIELD 28u /* value of the frame length field */
#define FW_DRV_PMS5003_START1 0x42u  /* 'B' */
#define FW_DRV_PMS5003_START2 0x4Du  /* 'M' */

struct fw_drv_pms5003_reading {
    uint16_t pm1_0_cf1; /* ug/m3, CF=1 */
    uint16_t pm2_5_cf1; /* ug/m3, CF=1 */
    uint16_t pm10_cf1;  /* ug/m3, CF=1 */
    uint16_t pm1_0;     /* ug/m3, atmospheric environment (word 4) */
    uint16_t pm2_5;     /* ug/m3, atmospheric environment (word 5) */
    uint16_t pm10;      /* ug/m3, atmospheric environment (word 6) */
    uint16_t count[6];  /* particles per 0.1 L above 0.3, 0.5, 1.0, 2.5, 5.0, 10 um */
    uint16_t reserved;  /* word 13: version << 8 | error code */
};

/* Streaming parser state, owned by the caller (one per UART). Zeroed by
 * fw_drv_pms5003_stream_init(). The counters only grow (they wrap at 2^32). */
struct fw_drv_pms5003_stream {
    uint8_t buf[FW_DRV_PMS5003_FRAME_LEN]; /* bytes of the frame being assembled */
    uint8_t fill;                          /* bytes held in buf, 0..32 */
    uint32_t frames;                       /* valid frames delivered */
    uint32_t bad_checksum;                 /* frames dropped for a checksum mismatch */
    uint32_t bad_frame;                    /* headers dropped for a wrong length field */
    uint32_t skipped;                      /* other bytes discarded (garbage, rejected frames) */
};

/* Returns the 16-bit sum of 'len' bytes of 'buf' (borrowed). */
uint16_t fw_drv_pms5003_checksum(const uint8_t *buf, size_t len);

/* Parses one complete frame. 'buf' is borrowed and must hold exactly 32 bytes.
 * Returns 0 and fills *out, or FW_DRV_E_LEN (len != 32), FW_DRV_E_FRAME (start bytes or length
 * field wrong), FW_DRV_E_CHECKSUM; FW_DRV_E_INVAL for NULL pointers. *out is untouched on error. */
int fw_drv_pms5003_parse(const uint8_t *buf, size_t len, struct fw_drv_pms5003_reading *out);

/* Builds the 32-byte frame the sensor would send for 'in' (for simulators and tests) into 'buf'
 * of 'cap' bytes. Returns 0, FW_DRV_E_LEN when cap < 32, FW_DRV_E_INVAL for NULL pointers. */
int fw_drv_pms5003_build(const struct fw_drv_pms5003_reading *in, uint8_t *buf, size_t cap);

/* Resets the stream to its empty state with zero counters. */
void fw_drv_pms5003_stream_init(struct fw_drv_pms5003_stream *s);

/* Feeds up to 'len' bytes of 'data' (borrowed; any chunking, garbage allowed; may be NULL only
 * when len is 0). Consumes bytes
 * until one valid frame is complete or the input ends, and returns the number of bytes consumed.
 * Sets *got to true and fills *out when a frame completed (call again with the rest of the data);
 * otherwise *got is false. Garbage before 0x42 0x4D is skipped and counted; a frame with a bad
 * length field or checksum is counted and dropped, and the search restarts at the byte after its
 * first start byte so that a real frame hidden inside it is still found. Returns 0 (nothing
 * consumed) when s, out or got is NULL. */
size_t fw_drv_pms5003_stream_feed(struct fw_drv_pms5003_stream *s, const uint8_t *data, size_t len,
                                  struct fw_drv_pms5003_reading *out, bool *got);

#endif
