#!/usr/bin/env python3
"""End-to-end (issue 13, point 4): a station the registry marks `"public": false` appears on no
public surface.

The real Mosquitto and InfluxDB and the collector. Two air stations and two flood stations, one
of each public and one private, all publishing signed readings; then all fall silent, so each
raises a `stale` alert. Asserts, with the public station as the positive control each time:
- the public layers (/layers/<kind>.geojson), the OGC API (landing page, collections, items) and
  NGSI-LD (/ngsi-ld/v1/entities, and the layers with Accept: application/ld+json) carry the public
  station and never the private station's id or name;
- the public alert topic (city/v1/alert/#, read by a mosquitto_sub we did not write) carries the
  public station's stale alert and nothing of the private one;
- the private station's alert is in the store (`alert` measurement) for the staff."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools"))
from harness import Stack, wait_until  # noqa: E402
from durlib import Checks  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

PUB_AIR, PRIV_AIR = "hn-air-0001", "hn-air-0042"
PUB_FLOOD, PRIV_FLOOD = "hn-flood-0001", "hn-flood-0042"
PRIV_NAME_AIR, PRIV_NAME_FLOOD = "Trạm Nội Bộ Kiểm Định", "Cống Thử Nghiệm Riêng"
PRIVATE_MARKS = (PRIV_AIR, PRIV_FLOOD, PRIV_NAME_AIR, PRIV_NAME_FLOOD, "0042")
INTERVAL_S = 5  # each station reports every 5 s: silent (stale) after 2 x 5 s

CK = Checks()
check = CK.check


def station(dev_id, kind, name, public, lat, lon):
    return {"id": dev_id, "kind": kind, "name": name, "lat": lat, "lon": lon,
            "district": "Hoàn Kiếm", "ward": "Hàng Bông", "interval_s": INTERVAL_S,
            "public": public}


def reading(dev_id, kind, seq, ts):
    m = {"pm25": 35.0 + seq, "t": 29.5} if kind == "air" else {"depth": 12.0 + seq}
    return json.dumps({"v": 1, "id": dev_id, "boot": 1, "seq": seq, "ts": ts, "m": m},
                      separators=(",", ":")).encode()


def leaks(text):
    return [m for m in PRIVATE_MARKS if m in text]


def main():
    t0 = time.time()
    st = Stack("private", BUILD, SRC)
    sub = None
    try:
        st.start_mosquitto()
        st.start_influxdb()
        registry = [station(PUB_AIR, "air", "Trạm Hàng Bông", True, 21.03, 105.85),
                    station(PRIV_AIR, "air", PRIV_NAME_AIR, False, 21.04, 105.84),
                    station(PUB_FLOOD, "flood", "Ngập Hàng Bông", True, 21.03, 105.85),
                    station(PRIV_FLOOD, "flood", PRIV_NAME_FLOOD, False, 21.02, 105.83)]
        st.write_registry(registry)
        st.write_master_key()
        st.start_collector(extra={"layers": {"refresh_ms": 1000},
                                  "liveness": {"stale_intervals": 2}})
        wait_until(lambda: st.healthz()[1].get("mqtt_connected"), 20, "MQTT connected")
        alerts_path = os.path.join(st.dir, "alerts.txt")
        sub_out = open(alerts_path, "wb")
        sub = subprocess.Popen(["mosquitto_sub", "-V", "5", "-h", "127.0.0.1", "-p",
                                str(st.mqtt_port), "-q", "1", "-t", "city/v1/alert/#", "-v"],
                               stdout=sub_out, stderr=subprocess.STDOUT)
        time.sleep(0.5)
        now = int(time.time() * 1000)
        for seq in (1, 2, 3):
            for dev in registry:
                topic = f"city/v1/{dev['kind']}/{dev['id']}/up"
                st.publish(topic, reading(dev["id"], dev["kind"], seq, now - (4 - seq) * 1000),
                           key_of=dev["id"])
        wait_until(lambda: st.metric("citytel_store_points_total") >= 12, 30,
                   "every reading stored")

        def layer(name, accept=None):
            status, _, body = st.http_get(f"/layers/{name}.geojson",
                                          {"Accept": accept} if accept else None)
            return body.decode("utf-8", "replace") if status == 200 else None

        def air_ready():
            doc = layer("air")
            return doc if doc and PUB_AIR in doc else None
        wait_until(air_ready, 30, "the air layer shows the public station", interval=0.5)

        # Every public surface, read as a citizen or a city system would.
        surfaces = {}
        for name in ("air", "water", "rain", "flood", "parking"):
            surfaces[f"/layers/{name}.geojson"] = layer(name) or ""
            surfaces[f"/layers/{name}.geojson (ld+json)"] = layer(name, "application/ld+json") or ""
        for path in ("/ogc", "/ogc/collections", "/collections", "/ngsi-ld/v1/entities",
                     "/ngsi-ld/v1/entities?type=AirQualityObserved",
                     "/ngsi-ld/v1/entities?limit=100"):
            status, _, body = st.http_get(path)
            surfaces[path] = body.decode("utf-8", "replace")
        for base in ("/ogc/collections", "/collections"):
            status, _, body = st.http_get(base)
            if status != 200:
                continue
            try:
                cols = [c["id"] for c in json.loads(body).get("collections", [])]
            except (ValueError, KeyError, TypeError):
                cols = []
            for cid in cols:
                path = f"{base}/{cid}/items?limit=1000"
                surfaces[path] = st.http_get(path)[2].decode("utf-8", "replace")
        seen_public = [p for p, text in surfaces.items() if PUB_AIR in text or PUB_FLOOD in text]
        check(len(seen_public) >= 2,
              f"the public stations are on the public surfaces ({len(seen_public)} of them)")
        bad = {p: leaks(text) for p, text in surfaces.items() if leaks(text)}
        check(not bad, f"no private id or name on {len(surfaces)} public surfaces ({bad})")

        # Silence: every station goes stale after 2 x 5 s; each raises one alert.
        def stale_alerts():
            q = st.query('SELECT count("level") AS n FROM "alert" WHERE "type" = \'stale\' '
                         'GROUP BY "device"')
            got = {r["device"] for r in q}
            return got if {PRIV_AIR, PRIV_FLOOD, PUB_AIR, PUB_FLOOD} <= got else None
        got = wait_until(stale_alerts, 60, "stale alerts of the four stations in the store",
                         interval=1.0)
        check(PRIV_AIR in got and PRIV_FLOOD in got,
              "the private stations' stale alerts are in the store for the staff")

        def public_alert_seen():
            text = open(alerts_path, "rb").read().decode("utf-8", "replace")
            return text if PUB_AIR in text and PUB_FLOOD in text else None
        text = wait_until(public_alert_seen, 20, "the public stations' alerts on MQTT")
        check('"type":"stale"' in text, "the public stations' stale alerts are on the alert topic")
        time.sleep(1.0)
        text = open(alerts_path, "rb").read().decode("utf-8", "replace")
        check(not leaks(text), f"nothing of the private stations on the alert topic ({leaks(text)})")
        check(st.stop("collector") == 0, "the collector exits 0 on SIGTERM")
    finally:
        if sub is not None:
            sub.terminate()
            sub.wait(5)
        if CK.failed:
            print(f"--- collector log ---\n{st.log('collector')[-4000:]}")
        st.close()
    return CK.done(t0)


if __name__ == "__main__":
    sys.exit(main())
