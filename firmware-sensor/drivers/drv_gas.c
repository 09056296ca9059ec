/* drv_gas.c - electrochemical NO2/CO/SO2/O3 channel: AE-corrected WE signal to ppb and ug/m3. */
#include "fw_drv_gas.h"

#include <math.h>
#include <stddef.h>

#include "fw_drv_err.h"

#define T_MAX_C (FW_DRV_GAS_NT_T0_C + FW_DRV_GAS_NT_STEP_C * (FW_DRV_GAS_NT_POINTS - 1))

float fw_drv_gas_sens_mv_per_ppm(float sens_na_per_ppm, float gain_mv_per_na)
{
    return sens_na_per_ppm * gain_mv_per_na;
}

float fw_drv_gas_molar_mass(enum fw_drv_gas_species species)
{
    switch (species) {
    case FW_DRV_GAS_NO2:
        return 46.01f;
    case FW_DRV_GAS_CO:
        return 28.01f;
    case FW_DRV_GAS_SO2:
        return 64.07f;
    case FW_DRV_GAS_O3:
        return 48.00f;
    default:
        return 0.0f;
    }
}

float fw_drv_gas_ppb_to_ug_m3(enum fw_drv_gas_species species, float ppb)
{
    return ppb * fw_drv_gas_molar_mass(species) / FW_DRV_GAS_MOLAR_VOLUME_L;
}

float fw_drv_gas_nt(const struct fw_drv_gas_cal *cal, float t_c)
{
    float pos = (t_c - FW_DRV_GAS_NT_T0_C) / FW_DRV_GAS_NT_STEP_C;
    int i;

    if (!(pos > 0.0f)) {
        return cal->nt[0];
    }
    if (pos >= (float)(FW_DRV_GAS_NT_POINTS - 1)) {
        return cal->nt[FW_DRV_GAS_NT_POINTS - 1];
    }
    i = (int)pos;
    return cal->nt[i] + (cal->nt[i + 1] - cal->nt[i]) * (pos - (float)i);
}

/* Common argument checks of convert and build. */
static int check(const struct fw_drv_gas_cal *cal, float t_c)
{
    if (fw_drv_gas_molar_mass(cal->species) == 0.0f || !isfinite(cal->sens_mv_per_ppm) ||
        cal->sens_mv_per_ppm == 0.0f) {
        return FW_DRV_E_INVAL;
    }
    if (!(t_c >= FW_DRV_GAS_NT_T0_C && t_c <= T_MAX_C)) {
        return FW_DRV_E_RANGE;
    }
    return 0;
}

int fw_drv_gas_convert(const struct fw_drv_gas_cal *cal, float we_mv, float ae_mv, float t_c,
                       struct fw_drv_gas_reading *out)
{
    float wec;
    float ppb;
    int rc;

    if (cal == NULL || out == NULL) {
        return FW_DRV_E_INVAL;
    }
    rc = check(cal, t_c);
    if (rc != 0) {
        return rc;
    }
    if (!isfinite(we_mv) || !isfinite(ae_mv)) {
        return FW_DRV_E_RANGE;
    }
    wec = (we_mv - cal->we_zero_mv) - fw_drv_gas_nt(cal, t_c) * (ae_mv - cal->ae_zero_mv);
    ppb = 1000.0f * wec / cal->sens_mv_per_ppm;
    if (!isfinite(ppb)) {
        return FW_DRV_E_RANGE;
    }
    out->clamped = ppb < 0.0f;
    out->ppb = out->clamped ? 0.0f : ppb;
    out->ug_m3 = fw_drv_gas_ppb_to_ug_m3(cal->species, out->ppb);
    return 0;
}

int fw_drv_gas_build(const struct fw_drv_gas_cal *cal, float ppb, float ae_mv, float t_c,
                     float *we_mv)
{
    int rc;

    if (cal == NULL || we_mv == NULL) {
        return FW_DRV_E_INVAL;
    }
    rc = check(cal, t_c);
    if (rc != 0) {
        return rc;
    }
    if (!(ppb >= 0.0f) || !isfinite(ppb) || !isfinite(ae_mv)) {
        return FW_DRV_E_RANGE;
    }
    *we_mv = cal->we_zero_mv + fw_drv_gas_nt(cal, t_c) * (ae_mv - cal->ae_zero_mv) +
             ppb * cal->sens_mv_per_ppm / 1000.0f;
    return 0;
}
