/* fw_drv_err.h - error codes of the sensor drivers (firmware-sensor/drivers).
 *
 * Every driver action returns int: 0 on success or a negative FW_DRV_E_* code. Predicates return
 * bool. The values live in their own block (-101..-106) so that they never collide with the
 * project's CT_E_* codes; the board layer translates them at its edge when it has to. Values are
 * explicit and never reused. */
#ifndef FW_DRV_ERR_H
#define FW_DRV_ERR_H

#define FW_DRV_ERR_MAP(XX)                                                                         \
    XX(OK, 0, "success")                                                                           \
    XX(CHECKSUM, -101, "checksum or CRC mismatch")                                                 \
    XX(FRAME, -102, "malformed frame (start bytes or length field)")                               \
    XX(RANGE, -103, "value outside the physical or calibrated range")                              \
    XX(LEN, -104, "wrong length or buffer too small")                                              \
    XX(INVAL, -105, "invalid argument or calibration")                                             \
    XX(AGAIN, -106, "not enough samples yet")

enum fw_drv_err {
#define FW_DRV_ERR_ENUM(name, val, text) FW_DRV_E_##name = (val),
    FW_DRV_ERR_MAP(FW_DRV_ERR_ENUM)
#undef FW_DRV_ERR_ENUM
};

/* Returns the code's name ("FW_DRV_E_CHECKSUM"), "FW_DRV_E_OK" for 0 and "FW_DRV_E_UNKNOWN" for
 * any other value; never NULL, points to static storage. */
const char *fw_drv_err_name(int err);
/* Returns a sentence for 'err' ("checksum or CRC mismatch"); never NULL, static storage. */
const char *fw_drv_strerror(int err);

#endif
