#!/usr/bin/env python3
"""End-to-end: real Mosquitto, real InfluxDB, the collector and a sensor node.

Asserts what a user sees: the exact points in InfluxDB with the right tags (Vietnamese names
intact), a forged signature, an unknown device, a spoofed id and an unsigned message rejected and
counted (in /metrics and as `rejected` points), a resent duplicate stored once, an out-of-range
value dropped alone."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Stack, device_key, wait_until  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

REGISTRY = [
    {"id": "hn-air-0001", "kind": "air", "name": "Trạm Hàng Bông", "lat": 21.0305,
     "lon": 105.8470, "district": "Hoàn Kiếm", "ward": "Hàng Bông"},
    {"id": "hn-air-0002", "kind": "air", "name": "Trạm Kim Liên", "lat": 21.0070,
     "lon": 105.8330, "district": "Đống Đa", "ward": "Kim Liên"},
    {"id": "hn-water-0001", "kind": "water", "name": "Hồ Hoàn Kiếm", "lat": 21.0288,
     "lon": 105.8525, "district": "Hoàn Kiếm", "ward": "Hàng Trống"},
]

passed = 0
failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok - {what}")
    else:
        failed += 1
        print(f"FAIL - {what}")


def water_payload(seq, ts, ph, do):
    return json.dumps({"v": 1, "id": "hn-water-0001", "boot": 1, "seq": seq, "ts": ts,
                       "m": {"ph": ph, "do": do, "t": 26.5}}, separators=(",", ":"))


def main():
    st = Stack("e2e", BUILD, SRC)
    try:
        st.start_mosquitto()
        st.start_influxdb()
        st.write_registry(REGISTRY)
        st.write_master_key()
        st.spawn("sub", ["mosquitto_sub", "-V", "5", "-h", "127.0.0.1", "-p",
                         str(st.mqtt_port), "-q", "1", "-v", "-t", "city/v1/air/+/up"])
        st.start_collector()
        wait_until(lambda: st.http_get("/healthz")[0] == 200, 20, "/healthz 200")
        check(b'"mqtt_connected":true' in st.http_get("/healthz")[2],
              "/healthz reports the MQTT subscription connected")

        # A real sensor node: 5 signed air readings through its outbox and Paho.
        key_file = os.path.join(st.dir, "hn-air-0001.key")
        with open(key_file, "w") as f:
            f.write(device_key(st.master, "hn-air-0001").hex() + "\n")
        os.chmod(key_file, 0o600)
        node = st.run([st.exe("firmware-sensor", "app", "sensor-node"), "--kind", "air",
                       "--id", "hn-air-0001", "--broker", f"tcp://127.0.0.1:{st.mqtt_port}",
                       "--key-file", key_file, "--state-dir", os.path.join(st.dir, "node1"),
                       "--interval-ms", "100", "--count", "5"], timeout=60, name="node1")
        check(node.returncode == 0, "sensor-node published 5 readings and exited 0")

        now = int(time.time() * 1000)
        topic = "city/v1/water/hn-water-0001/up"
        good = water_payload(1, now - 2000, 7.25, 8.1)
        st.publish(topic, good, key_of="hn-water-0001")
        st.publish(topic, good, key_of="hn-water-0001")  # resent duplicate
        st.publish(topic, water_payload(2, now - 1000, 15.0, 7.9), key_of="hn-water-0001")
        st.publish(topic, water_payload(3, now, 7.0, 7.0), sig="0" * 64)  # forged
        st.publish(topic, water_payload(4, now, 7.0, 7.0))  # unsigned
        st.publish("city/v1/air/hn-air-9999/up",
                   json.dumps({"v": 1, "id": "hn-air-9999", "boot": 1, "seq": 1, "ts": now,
                               "m": {"pm25": 10}}), key_of="hn-air-9999")
        spoof_topic = "city/v1/air/hn-air-0002/up"
        st.publish(spoof_topic, json.dumps({"v": 1, "id": "hn-air-0001", "boot": 9, "seq": 1,
                                            "ts": now, "m": {"pm25": 10}}),
                   key_of="hn-air-0002")

        # The exact points of the node arrive, with their tags.
        rows = wait_until(lambda: (lambda r: r if len(r) >= 5 else None)(
            st.query('SELECT * FROM "air" WHERE "device" = \'hn-air-0001\'')), 30,
            "5 air points in InfluxDB")
        check(len(rows) == 5, f"exactly 5 air points stored (got {len(rows)})")
        check(all(r["district"] == "Hoàn Kiếm" and r["ward"] == "Hàng Bông" for r in rows),
              "district and ward tags keep their Vietnamese diacritics and spaces")
        published = {}
        for line in st.log("sub").splitlines():
            t, _, payload = line.partition(" ")
            if t == "city/v1/air/hn-air-0001/up":
                msg = json.loads(payload)
                published[msg["ts"]] = msg["m"]
        check(len(published) >= 5, f"the subscriber saw the node's messages ({len(published)})")
        same = all(r["time"] in published and all(
            r.get(k) == v for k, v in published[r["time"]].items()) for r in rows)
        check(same, "every stored air point equals the published reading (time and values)")

        water = wait_until(lambda: (lambda r: r if len(r) >= 2 else None)(
            st.query('SELECT * FROM "water"')), 30, "2 water points")
        time.sleep(1.0)
        water = st.query('SELECT * FROM "water"')
        check(len(water) == 2, f"duplicate stored once, forged/unsigned not stored ({len(water)})")
        by_seq = {r["time"]: r for r in water}
        r1 = by_seq.get(now - 2000, {})
        check(r1.get("ph") == 7.25 and r1.get("do") == 8.1, "the good water reading is exact")
        r2 = by_seq.get(now - 1000, {})
        check(r2.get("ph") is None and r2.get("do") == 7.9,
              "an out-of-range pH is dropped alone; the rest of the message stands")
        spoofed = st.query('SELECT * FROM "air" WHERE "device" = \'hn-air-0002\'')
        check(spoofed == [], "a spoofed id is not stored")

        def reason(r):
            return st.metric(f'citytel_rejected_total{{reason="{r}"}}')
        wait_until(lambda: reason("bad_sig") >= 1, 10, "bad_sig counted")
        check(reason("bad_sig") == 1, "forged signature counted once as bad_sig")
        check(reason("no_sig") == 1, "unsigned message counted as no_sig")
        check(reason("unknown_device") == 1, "unknown device counted")
        check(reason("spoof") == 1, "spoofed id counted")
        check(reason("duplicate") == 1, "resent duplicate counted as duplicate")
        check(st.metric('citytel_values_dropped_total{reason="range"}') == 1,
              "the out-of-range value counted")

        rej = wait_until(lambda: st.query(
            'SELECT sum("count") AS n FROM "rejected" GROUP BY "reason"'), 30,
            "rejected points in InfluxDB", interval=0.5)
        got = {r["reason"]: r["n"] for r in rej}
        check(got.get("bad_sig") == 1 and got.get("unknown_device") == 1,
              f"rejections are written as `rejected` points ({got})")
        q = open(os.path.join(st.dir, "collector-quarantine.jsonl"), encoding="utf-8").read()
        check('"bad_sig"' in q and "hn-air-9999" in q, "the quarantine file keeps rejected payloads")
        check(st.stop("collector") == 0, "the collector stops cleanly on SIGTERM")
    finally:
        if failed:
            for name in ("collector", "node1"):
                print(f"--- {name} log ---\n{st.log(name)[-3000:]}")
        st.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
