/* layers_registry.c - a borrowed view of the device registry for the builders. Kept in its own
 * object so that users of the pure builders do not pull in the registry loader. */
#include <stdlib.h>

#include "ct/err.h"
#include "layers_priv.h"

int col_layers_devices(const struct ct_registry *reg, const struct ct_device ***out, size_t *n)
{
    if (!reg || !out || !n) {
        return CT_E_INVAL;
    }
    *out = NULL;
    *n = 0;
    size_t count = ct_registry_count(reg);
    if (count == 0) {
        return 0;
    }
    const struct ct_device **arr = calloc(count, sizeof(*arr));
    if (!arr) {
        return CT_E_NOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        arr[i] = ct_registry_at(reg, i);
    }
    *out = arr;
    *n = count;
    return 0;
}
