#!/usr/bin/env python3
"""End-to-end: status messages are signed and verified like telemetry (issue 13, point 2).

The real Mosquitto and InfluxDB and the collector with security.require_signatures. Asserts: a
signed "online" status sets `station.online` true in the store; then an unsigned "offline" is
rejected as no_sig, a wrongly signed one as bad_sig, and signed ones with trailing garbage, a
duplicate key, invalid UTF-8 and "v":99 as json, json, utf8 and schema; a signed "offline"
(seq 1) is accepted, a signed "online" (seq 2) after it too, and the recorded "offline" sent
again (same bytes, same signature) is a replay. Every rejection is counted under its reason and
leaves `station.online` as it was: the store holds exactly one online=false point, and the last
one is online=true. sensor-node's own signed status and will are accepted."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Stack, device_key, sign, wait_until  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
DEV = "hn-flood-0001"
NODE = "hn-air-0009"
TOPIC = f"city/v1/flood/{DEV}/status"

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


def status(seq, state, boot=1, **extra):
    obj = {"v": 1, "id": DEV, "boot": boot, "seq": seq, "state": state}
    obj.update(extra)
    return json.dumps(obj, separators=(",", ":")).encode()


def main():
    st = Stack("status", BUILD, SRC)
    try:
        st.start_mosquitto()
        st.start_influxdb()
        st.write_registry([
            {"id": DEV, "kind": "flood", "name": "Ngã tư Sở", "lat": 21.003, "lon": 105.820,
             "district": "Đống Đa", "ward": "Ngã Tư Sở"},
            {"id": NODE, "kind": "air", "name": "Trạm Láng", "lat": 21.02, "lon": 105.81,
             "district": "Đống Đa", "ward": "Láng Thượng"},
        ])
        st.write_master_key()
        st.start_collector()
        wait_until(lambda: st.metric("citytel_mqtt_connected") == 1, 30, "collector connected")
        key = device_key(st.master, DEV)

        def rej(reason):
            return st.metric(f'citytel_rejected_total{{reason="{reason}"}}')

        def stations(device=DEV):
            return st.query(f"SELECT online FROM station WHERE device = '{device}'")

        def send(payload, sig="auto"):
            st.publish(TOPIC, payload, sig=sign(key, TOPIC, payload) if sig == "auto" else sig)

        def expect_reject(payload, reason, what, sig="auto"):
            before = rej(reason)
            send(payload, sig)
            try:
                wait_until(lambda: rej(reason) > before, 15, f"{reason} counted")
            except AssertionError:
                pass
            check(rej(reason) == before + 1, f"{what} is rejected as {reason}")

        send(status(0, "online"))
        wait_until(lambda: [r for r in stations() if r["online"] is True], 20,
                   "station online=true in the store")
        check(True, "a signed online status sets station.online true in the store")

        expect_reject(status(1, "offline"), "no_sig", "an unsigned offline status", sig=None)
        expect_reject(status(1, "offline"), "bad_sig", "a wrongly signed offline status",
                      sig="ab" * 32)
        expect_reject(status(1, "offline") + b"x", "json", "a signed status with trailing garbage")
        expect_reject(b'{"v":1,"id":"%s","boot":1,"seq":1,"state":"online","state":"offline"}'
                      % DEV.encode(), "json", "a signed status with a duplicate key")
        expect_reject(b'{"v":1,"id":"%s","boot":1,"seq":1,"state":"off\xc0\xafline"}'
                      % DEV.encode(), "utf8", "a signed status with invalid UTF-8")
        v99 = json.dumps({"v": 99, "id": DEV, "boot": 1, "seq": 1, "state": "offline"}).encode()
        expect_reject(v99, "schema", 'a signed status with "v":99')
        check(all(r["online"] is True for r in stations()),
              f"none of them changed station.online ({stations()})")

        # A genuine offline then online, then the recorded offline again.
        offline = status(1, "offline")
        offline_sig = sign(key, TOPIC, offline)
        send(offline, offline_sig)
        wait_until(lambda: [r for r in stations() if r["online"] is False], 20,
                   "station online=false")
        send(status(2, "online"))
        wait_until(lambda: stations() and stations()[-1]["online"] is True, 20,
                   "station online=true again")
        expect_reject(offline, "replay", "the recorded offline status sent again",
                      sig=offline_sig)
        expect_reject(status(5, "offline", boot=0), "replay", "a signed status of an older boot")
        rows = stations()
        check(sum(1 for r in rows if r["online"] is False) == 1 and rows[-1]["online"] is True,
              f"the store holds one online=false point and ends online=true ({rows})")

        # sensor-node: its signed online status, then its signed will (SIGKILL).
        node_key = os.path.join(st.dir, "node.key")
        fd = os.open(node_key, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, device_key(st.master, NODE).hex().encode() + b"\n")
        os.close(fd)
        node = st.spawn("node", [st.exe("firmware-sensor", "app", "sensor-node"), "--kind", "air",
                                 "--id", NODE, "--broker", f"tcp://127.0.0.1:{st.mqtt_port}",
                                 "--key-file", node_key, "--state-dir",
                                 os.path.join(st.dir, "node"), "--interval-ms", "200",
                                 "--no-sync"])
        try:
            wait_until(lambda: [r for r in stations(NODE) if r["online"] is True], 30,
                       "the node's online status stored")
            check(True, "sensor-node's signed online status is accepted")
        except AssertionError:
            check(False, "sensor-node's signed online status is accepted")
        node.kill()
        st.stop("node")
        try:
            wait_until(lambda: [r for r in stations(NODE) if r["online"] is False], 30,
                       "the node's will stored (the socket closed)")
            check(True, "sensor-node's signed will (offline) is accepted")
        except AssertionError:
            check(False, "sensor-node's signed will (offline) is accepted")
    finally:
        if failed:
            print(f"--- collector log ---\n{st.log('collector')[-3000:]}")
        st.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
