/* ct_paho.h - the one way the firmware, the simulator, the benches and the tests' publishers put
 * the contract's `sig` user property on a Paho MQTT v5 message or will.
 *
 * Built with MQTTProperties_add(), which computes the encoded length and copies the strings, so
 * the caller's 'sig' may go away after the call. The caller owns 'props' and frees it with
 * MQTTProperties_free() after the Paho call that sends it (Paho copies the properties it sends). */
#ifndef CT_PAHO_H
#define CT_PAHO_H
#include <MQTTProperties.h>

/* Sets 'props' (initialised with MQTTProperties_initializer) to the one user property
 * sig = 'sig'. Returns 0, or CT_E_NOMEM / CT_E_INVAL when Paho refuses it. */
int ct_paho_sig_props(MQTTProperties *props, const char *sig);

#endif
