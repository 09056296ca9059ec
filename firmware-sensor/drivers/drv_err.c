/* drv_err.c - names and sentences of the FW_DRV_E_* codes. */
#include "fw_drv_err.h"

const char *fw_drv_err_name(int err)
{
    switch (err) {
#define FW_DRV_ERR_NAME(name, val, text)                                                           \
    case (val):                                                                                    \
        return "FW_DRV_E_" #name;
        FW_DRV_ERR_MAP(FW_DRV_ERR_NAME)
#undef FW_DRV_ERR_NAME
    default:
        return "FW_DRV_E_UNKNOWN";
    }
}

const char *fw_drv_strerror(int err)
{
    switch (err) {
#define FW_DRV_ERR_TEXT(name, val, text)                                                           \
    case (val):                                                                                    \
        return text;
        FW_DRV_ERR_MAP(FW_DRV_ERR_TEXT)
#undef FW_DRV_ERR_TEXT
    default:
        return "unknown driver error";
    }
}
