/* col_notify.h - the systemd readiness protocol (sd_notify) without libsystemd.
 *
 * col_notify() sends one datagram ("READY=1", "STOPPING=1", "RELOADING=1") to the AF_UNIX socket
 * named by $NOTIFY_SOCKET (a path, or an abstract name starting with '@'), as systemd sets it for
 * a Type=notify service. Without $NOTIFY_SOCKET it does nothing and returns 0, so the program
 * runs the same outside systemd. Writing the protocol directly spares a run-time dependency on
 * libsystemd; the protocol is documented as stable in sd_notify(3). Non-blocking (MSG_DONTWAIT),
 * so safe on the event loop. tests/e2e/test_deb.py receives READY=1 from the installed binary. */
#ifndef COL_NOTIFY_H
#define COL_NOTIFY_H

/* Returns 0 when sent or when $NOTIFY_SOCKET is unset; CT_E_INVAL when it names no usable
 * socket address; CT_E_IO when the send fails. */
int col_notify(const char *state);

#endif
