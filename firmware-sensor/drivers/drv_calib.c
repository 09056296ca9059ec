/* drv_calib.c - the node's calibration record: defaults, check, binary encoding. */
#include "fw_drv_calib.h"

#include <math.h>
#include <string.h>

#include "ct/bytes.h"

#include "fw_drv_depth.h"
#include "fw_drv_err.h"

#define MAGIC 0x41435443u /* "CTCA" little-endian */

/* Every float of the record, in the encoding's order. */
static size_t fields(struct fw_drv_calib *c, float **f)
{
    size_t n = 0;
    for (size_t g = 0; g < FW_DRV_CALIB_GASES; g++) {
        f[n++] = &c->gas[g].we_zero_mv;
        f[n++] = &c->gas[g].ae_zero_mv;
        f[n++] = &c->gas[g].sens_mv_per_ppm;
        for (size_t i = 0; i < FW_DRV_GAS_NT_POINTS; i++) {
            f[n++] = &c->gas[g].nt[i];
        }
    }
    f[n++] = &c->gas_ae_drift_mv;
    f[n++] = &c->ph.mv_ph7;
    f[n++] = &c->ph.mv_buf;
    f[n++] = &c->ph.ph_buf;
    f[n++] = &c->ph.t_cal_c;
    f[n++] = &c->dox.sat_mv;
    f[n++] = &c->dox.t_cal_c;
    f[n++] = &c->dox.sat_mv_per_c;
    for (size_t i = 0; i < FW_DRV_TURB_MAX_POINTS; i++) {
        f[n++] = &c->turb.pts[i].mv;
        f[n++] = &c->turb.pts[i].ntu;
    }
    f[n++] = &c->ec.k;
    f[n++] = &c->ec.alpha;
    f[n++] = &c->ec_us_per_mv;
    f[n++] = &c->wt_mv_at_0c;
    f[n++] = &c->wt_mv_per_c;
    f[n++] = &c->air_t_default_c;
    f[n++] = &c->depth_mount_cm;
    f[n++] = &c->depth_min_cm;
    f[n++] = &c->depth_max_cm;
    f[n++] = &c->depth_window;
    f[n++] = &c->tip_debounce_ms;
    f[n++] = &c->bay_baseline;
    f[n++] = &c->bay_upper;
    f[n++] = &c->bay_lower;
    f[n++] = &c->lot_capacity;
    return n; /* + turb.n, encoded as the last float */
}

void fw_drv_calib_defaults(struct fw_drv_calib *c)
{
    /* Alphasense B4 sensors on an ISB: electronic zeros, sensitivity (nA/ppm x gain), nT. */
    static const struct fw_drv_gas_cal gas[FW_DRV_CALIB_GASES] = {
        {FW_DRV_GAS_NO2,
         225.0f,
         245.0f,
         220.0f,
         {1.3f, 1.3f, 1.3f, 1.3f, 1.0f, 0.6f, 0.4f, 0.2f, -1.5f}},
        {FW_DRV_GAS_CO,
         270.0f,
         260.0f,
         336.0f,
         {0.7f, 0.7f, 0.7f, 0.7f, 1.0f, 3.0f, 3.5f, 4.0f, 4.5f}},
        {FW_DRV_GAS_SO2,
         275.0f,
         295.0f,
         280.0f,
         {1.4f, 1.4f, 1.4f, 1.4f, 1.4f, 1.4f, 1.4f, 1.4f, 1.4f}},
        {FW_DRV_GAS_O3,
         230.0f,
         230.0f,
         250.0f,
         {1.8f, 1.8f, 1.4f, 1.1f, 1.1f, 1.1f, 1.1f, 1.1f, 1.1f}},
    };
    static const struct fw_drv_turb_point turb[] = {
        {4200.0f, 0.0f},    {3900.0f, 50.0f},   {3600.0f, 150.0f},  {3200.0f, 400.0f},
        {2700.0f, 1000.0f}, {2000.0f, 2000.0f}, {1200.0f, 3000.0f}, {500.0f, 4000.0f},
    };
    memset(c, 0, sizeof(*c));
    memcpy(c->gas, gas, sizeof(gas));
    c->gas_ae_drift_mv = 3.0f;
    c->ph =
        (struct fw_drv_ph_cal){.mv_ph7 = 3.0f, .mv_buf = 175.0f, .ph_buf = 4.0f, .t_cal_c = 25.0f};
    c->dox = (struct fw_drv_do_cal){.sat_mv = 38.0f, .t_cal_c = 25.0f, .sat_mv_per_c = 0.0f};
    memcpy(c->turb.pts, turb, sizeof(turb));
    c->turb.n = sizeof(turb) / sizeof(turb[0]);
    c->ec = (struct fw_drv_ec_cal){.k = 1.0f, .alpha = FW_DRV_EC_ALPHA_DEFAULT};
    c->ec_us_per_mv = 1.0f;
    c->wt_mv_at_0c = 500.0f;
    c->wt_mv_per_c = 10.0f;
    c->air_t_default_c = 28.0f;
    c->depth_mount_cm = 300.0f;
    c->depth_min_cm = 25.0f;
    c->depth_max_cm = 600.0f;
    c->depth_window = 5.0f;
    c->tip_debounce_ms = 25.0f;
    c->bay_baseline = 551.0f;
    c->bay_upper = 40.0f;
    c->bay_lower = 20.0f;
    c->lot_capacity = 120.0f;
}

int fw_drv_calib_check(const struct fw_drv_calib *c)
{
    if (c == NULL) {
        return FW_DRV_E_INVAL;
    }
    struct fw_drv_calib tmp = *c;
    float *f[FW_DRV_CALIB_FLOATS];
    size_t n = fields(&tmp, f);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(*f[i])) {
            return FW_DRV_E_RANGE;
        }
    }
    for (size_t g = 0; g < FW_DRV_CALIB_GASES; g++) {
        if (c->gas[g].species != (enum fw_drv_gas_species)g || c->gas[g].sens_mv_per_ppm == 0.0f) {
            return FW_DRV_E_RANGE;
        }
    }
    if (fw_drv_ph_cal_check(&c->ph) != 0 || fw_drv_turb_cal_check(&c->turb) != 0 ||
        !(c->dox.sat_mv > 0.0f) || c->dox.t_cal_c < FW_DRV_DO_T_MIN_C ||
        c->dox.t_cal_c > FW_DRV_DO_T_MAX_C || !(c->ec.k > 0.0f) || c->ec.alpha < 0.0f ||
        c->ec.alpha > 0.1f || !(c->ec_us_per_mv > 0.0f) || !(c->wt_mv_per_c > 0.0f) ||
        !(c->depth_mount_cm > 0.0f) || c->depth_min_cm < 0.0f ||
        !(c->depth_max_cm > c->depth_min_cm) || c->tip_debounce_ms < 1.0f ||
        c->tip_debounce_ms > 1000.0f || c->bay_baseline < 0.0f || c->bay_lower < 0.0f ||
        !(c->bay_upper > c->bay_lower) || c->lot_capacity < 1.0f || c->lot_capacity > 10000.0f ||
        c->lot_capacity != floorf(c->lot_capacity)) {
        return FW_DRV_E_RANGE;
    }
    float w = c->depth_window;
    if (w != floorf(w) || w < 1.0f || w > (float)FW_DRV_DEPTH_MAX_WINDOW ||
        fmodf(w, 2.0f) != 1.0f) {
        return FW_DRV_E_RANGE;
    }
    return 0;
}

size_t fw_drv_calib_encode(const struct fw_drv_calib *c, uint8_t *buf, size_t cap)
{
    if (c == NULL || buf == NULL || cap < FW_DRV_CALIB_BLOB_LEN) {
        return 0;
    }
    struct fw_drv_calib tmp = *c;
    float *f[FW_DRV_CALIB_FLOATS];
    size_t n = fields(&tmp, f);
    float turb_n = (float)tmp.turb.n;
    f[n++] = &turb_n;
    ct_put_le32(buf, MAGIC);
    buf[4] = (uint8_t)FW_DRV_CALIB_VERSION;
    buf[5] = 0;
    buf[6] = (uint8_t)FW_DRV_CALIB_FLOATS;
    buf[7] = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, f[i], sizeof(u));
        ct_put_le32(buf + 8 + 4 * i, u);
    }
    ct_put_le32(buf + 8 + 4 * n, ct_crc32(0, buf, 8 + 4 * n));
    return FW_DRV_CALIB_BLOB_LEN;
}

int fw_drv_calib_decode(const uint8_t *buf, size_t len, struct fw_drv_calib *c)
{
    if (buf == NULL || c == NULL) {
        return FW_DRV_E_INVAL;
    }
    if (len != FW_DRV_CALIB_BLOB_LEN) {
        return FW_DRV_E_LEN;
    }
    if (ct_get_le32(buf) != MAGIC || buf[4] != FW_DRV_CALIB_VERSION || buf[5] != 0 ||
        buf[6] != FW_DRV_CALIB_FLOATS || buf[7] != 0) {
        return FW_DRV_E_FRAME;
    }
    if (ct_crc32(0, buf, len - 4) != ct_get_le32(buf + len - 4)) {
        return FW_DRV_E_CHECKSUM;
    }
    struct fw_drv_calib tmp;
    fw_drv_calib_defaults(&tmp); /* species and padding */
    float *f[FW_DRV_CALIB_FLOATS];
    size_t n = fields(&tmp, f);
    float turb_n = 0.0f;
    f[n++] = &turb_n;
    for (size_t i = 0; i < n; i++) {
        uint32_t u = ct_get_le32(buf + 8 + 4 * i);
        memcpy(f[i], &u, sizeof(u));
    }
    if (!(turb_n >= 2.0f && turb_n <= (float)FW_DRV_TURB_MAX_POINTS)) {
        return FW_DRV_E_RANGE;
    }
    tmp.turb.n = (size_t)turb_n;
    if (fw_drv_calib_check(&tmp) != 0) {
        return FW_DRV_E_RANGE;
    }
    *c = tmp;
    return 0;
}
