/* reject.c - the reason tags of enum ct_reject, generated from CT_REJECT_MAP. */
#include "ct/reject.h"

static const char *const reject_names[CT_REJ__COUNT] = {
#define CT_REJECT_TAG(name, tag) [CT_REJ_##name] = (tag),
    CT_REJECT_MAP(CT_REJECT_TAG)
#undef CT_REJECT_TAG
};

const char *ct_reject_name(enum ct_reject r)
{
    if ((unsigned)r >= (unsigned)CT_REJ__COUNT) {
        return "unknown";
    }
    return reject_names[r];
}
