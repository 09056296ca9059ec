/* err.c - names and sentences of the CT_E_* error space, generated from CT_ERR_MAP. */
#include "ct/err.h"

const char *ct_strerror(int err)
{
    switch (err) {
#define CT_ERR_TEXT(name, val, text)                                                               \
    case (val):                                                                                    \
        return (text);
        CT_ERR_MAP(CT_ERR_TEXT)
#undef CT_ERR_TEXT
    default:
        return "unknown error";
    }
}

const char *ct_err_name(int err)
{
    switch (err) {
#define CT_ERR_NAME(name, val, text)                                                               \
    case (val):                                                                                    \
        return "CT_E_" #name;
        CT_ERR_MAP(CT_ERR_NAME)
#undef CT_ERR_NAME
    default:
        return "CT_E_UNKNOWN";
    }
}
