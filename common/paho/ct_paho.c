/* ct_paho.c - the `sig` user property on Paho messages (ct_paho.h). */
#include "ct_paho.h"

#include <string.h>

#include "ct/err.h"

int ct_paho_sig_props(MQTTProperties *props, const char *sig)
{
    MQTTProperty prop;

    if (props == NULL || sig == NULL) {
        return CT_E_INVAL;
    }
    memset(&prop, 0, sizeof(prop));
    prop.identifier = MQTTPROPERTY_CODE_USER_PROPERTY;
    prop.value.data.data = (char *)"sig";
    prop.value.data.len = 3;
    prop.value.value.data = (char *)sig;
    prop.value.value.len = (int)strlen(sig);
    /* MQTTProperties_add returns 0, or -1 (no room / bad property) or PAHO_MEMORY_ERROR. */
    return MQTTProperties_add(props, &prop) == 0 ? 0 : CT_E_NOMEM;
}
