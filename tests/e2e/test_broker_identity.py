#!/usr/bin/env python3
"""End-to-end: a device certificate cannot take a collector's MQTT session (issue 13, point 1).

The shipped broker config (config/broker/) on the real Mosquitto with certificates from
scripts/make-certs.sh, the real InfluxDB and the collector over TLS with its password, under the
client id citytel-collector-c1 with a persistent session.

Asserts: while the collector runs, a device certificate that presents the collector's client id
gets its own id (the broker log names the CN) and the collector keeps its connection; while the
collector is stopped, 5 readings wait in its session, then a device certificate presenting the
collector's client id with clean start, a device presenting another device's client id, a
device with an empty client id (MQTT 3.1.1: refused with clean session off, its own session with
it on) and a device certificate on the
collector listener without the password do not touch that session: when the collector comes
back, all 5 readings are stored. A device's SUBSCRIBE to other devices' telemetry is acknowledged
by Mosquitto 2.0.11 but nothing is delivered on it (what docs/security.md says)."""
import os
import re
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Stack, device_key, sign, wait_until  # noqa: E402
from test_security import REGISTRY, Secure, air  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
COLLECTOR_ID = "citytel-collector-c1"

passed = 0
failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok - {what}", flush=True)
    else:
        failed += 1
        print(f"FAIL - {what}", flush=True)


def raw_connect(sec, device, client_id, clean):
    """MQTT 3.1.1 CONNECT over TLS with `device`'s certificate; returns the CONNACK return code
    (0 accepted) or None when the connection failed. Closes without DISCONNECT."""
    ctx = ssl.create_default_context(cafile=sec.ca)
    ctx.load_cert_chain(os.path.join(sec.certs, "devices", f"{device}.crt"),
                        os.path.join(sec.certs, "devices", f"{device}.key"))
    cid = client_id.encode()
    var = b"\x00\x04MQTT\x04" + bytes([0x02 if clean else 0x00]) + b"\x00\x3c"
    body = var + len(cid).to_bytes(2, "big") + cid
    try:
        with socket.create_connection(("127.0.0.1", sec.dev_port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(bytes([0x10, len(body)]) + body)
                ack = b""
                while len(ack) < 4:
                    chunk = s.recv(4 - len(ack))
                    if not chunk:
                        return None
                    ack += chunk
                return ack[3] if ack[0] == 0x20 else None
    except OSError:
        return None


def main():
    st = Stack("identity", BUILD, SRC)
    seq = [0]
    try:
        st.start_influxdb()
        st.write_registry(REGISTRY)
        sec = Secure(st)
        mlog = os.path.join(sec.etc, "mosquitto.log")
        key_file = st.write_master_key()
        extra = sec.collector_cfg("c1", {"master_key_file": key_file})
        extra["mqtt"]["client_id"] = COLLECTOR_ID

        def send(device="hn-air-0001"):
            seq[0] += 1
            topic = f"city/v1/air/{device}/up"
            ts = int(time.time() * 1000) - 50
            payload = air(device, seq[0], ts, 10.0 + seq[0])
            rc = sec.publish(device, topic, payload, sign(device_key(st.master, device), topic,
                                                           payload))
            return rc, ts

        def stored(device="hn-air-0001"):
            return st.query(f"SELECT pm25 FROM \"air\" WHERE \"device\" = '{device}'")

        def connected():
            return st.metric("citytel_mqtt_connected") == 1

        st.start_collector(extra=extra, name="c1", instance="c1")
        wait_until(connected, 30, "the collector connected over TLS")
        rc, ts = send()
        check(rc == 0, f"a device publishes on its own topic (PUBACK {rc})")
        wait_until(lambda: len(stored()) == 1, 20, "the first reading stored")

        # 1. While the collector runs: a device certificate presenting the collector's client id.
        grab = subprocess.run(["mosquitto_sub", "-V", "5", "-h", "127.0.0.1", "-p",
                               str(sec.dev_port), "-i", COLLECTOR_ID, "-q", "1", "-t",
                               "city/v1/+/+/up", "-W", "2", "-d"] + sec.dev_tls("hn-air-0002"),
                              capture_output=True, timeout=30)
        log = open(mlog, errors="replace").read()
        check(re.search(r"New client connected from \S+ as hn-air-0002 \(p5, c1, k\d+, "
                        r"u'hn-air-0002'\)", log) is not None,
              "the broker replaces the client id a device sends with its certificate's CN")
        check(b"Subscribed (mid: 1): 1" in grab.stdout,
              "Mosquitto 2.0.11 acknowledges a device's SUBSCRIBE outside the ACL (documented)")
        rc, ts = send()
        wait_until(lambda: len(stored()) == 2, 20, "a reading after the takeover attempt")
        log = open(mlog, errors="replace").read()
        check(connected() and "citytel-collector-c1 disconnected" not in log
              and "already connected" not in log,
              "the collector keeps its connection while a device presents its client id")

        # 2. The collector away, 5 readings queued in its persistent session.
        check(st.stop("c1") == 0, "the collector stops cleanly (its session stays)")
        mark = len(open(mlog, errors="replace").read())
        queued = []
        for _ in range(5):
            rc, ts = send()
            queued.append(ts)
        check(len(queued) == 5, "5 readings published while the collector is away")

        # Takeover attempts: collector's id with clean start; another device's id; empty id
        # with clean session off (3.1.1 would refuse it without the broker's id binding); a
        # device certificate on the collector listener without a password.
        grab = subprocess.run(["mosquitto_sub", "-V", "5", "-h", "127.0.0.1", "-p",
                               str(sec.dev_port), "-i", COLLECTOR_ID, "-q", "1", "-t",
                               "city/v1/+/+/up", "-W", "2", "-v"] + sec.dev_tls("hn-air-0002"),
                              capture_output=True, timeout=30)
        check(b"city/" not in grab.stdout,
              f"a device with the collector's client id receives none of its queued messages "
              f"({grab.stdout[:120]!r})")
        check(raw_connect(sec, "hn-air-0002", "hn-air-0001", clean=True) == 0,
              "a device presenting another device's client id is accepted as itself")
        rc = raw_connect(sec, "hn-air-0002", "", clean=False)
        check(rc is None or rc == 2,
              f"a device with no client id and clean session off is refused (CONNACK {rc})")
        check(raw_connect(sec, "hn-air-0002", "", clean=True) == 0,
              "a device with no client id and clean session on is accepted as itself")
        col = subprocess.run(["mosquitto_sub", "-V", "5", "-h", "127.0.0.1", "-p",
                              str(sec.col_port), "-i", COLLECTOR_ID, "-c", "-x", "3600",
                              "-q", "1", "-t", "city/v1/+/+/up", "-W", "2", "-v"]
                             + sec.dev_tls("hn-air-0002"), capture_output=True, timeout=30)
        check(col.returncode != 0 and b"city/" not in col.stdout,
              "a device certificate without the password is refused on the collector listener")
        log = open(mlog, errors="replace").read()[mark:]
        names = re.findall(r"New client connected from \S+ as (\S+) ", log)
        check(names and COLLECTOR_ID not in names and set(names) <= {"hn-air-0001", "hn-air-0002"},
              f"while the collector was away no client got its session (clients: {names})")

        # 3. The collector comes back: its session delivers every queued reading.
        st.start_collector(extra=extra, name="c1", instance="c1")
        wait_until(connected, 30, "the collector reconnected")
        try:
            wait_until(lambda: len(stored()) >= 7, 30, "the 5 queued readings stored")
        except AssertionError:
            pass
        got = {r["time"] for r in stored()}
        check(all(t in got for t in queued),
              f"the collector's session survived: {sum(t in got for t in queued)} of 5 "
              "queued readings stored")
        check(st.stop("c1") == 0, "the collector stops cleanly")
    finally:
        if failed:
            print(f"--- c1 log ---\n{st.log('c1')[-2500:]}")
            mlog = os.path.join(st.dir, "broker", "mosquitto.log")
            if os.path.exists(mlog):
                print(f"--- mosquitto log ---\n{open(mlog).read()[-4000:]}")
        st.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
