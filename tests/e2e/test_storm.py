#!/usr/bin/env python3
"""End-to-end, derived data: a scripted monsoon storm and a haze episode through the real broker,
the collector and the real InfluxDB.

Rain gauges report tips rising for ten minutes; a street-flood sensor reports water rising to a
dangerous depth; an air station reports three hours of heavy PM2.5. Asserts what operators and
citizens see: rain_1h (1-h and 24-h sums), flood_level and air_aqi points, window aggregates, the flood and
AQI alerts on city/v1/alert/<kind>/<district> (each once, not once per message) and as `alert`
points, and the map layers carrying the indices."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Stack, wait_until  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
passed = failed = 0

REGISTRY = [
    {"id": "hn-rain-0001", "kind": "rain", "name": "Trạm đo mưa Lý Thái Tổ", "lat": 21.027,
     "lon": 105.8545, "district": "Hoàn Kiếm", "ward": "Lý Thái Tổ", "mm_per_tip": 0.2},
    {"id": "hn-flood-0001", "kind": "flood", "name": "Phố Nguyễn Khuyến", "lat": 21.0285,
     "lon": 105.838, "district": "Đống Đa", "ward": "Văn Miếu"},
    {"id": "hn-air-0001", "kind": "air", "name": "Trạm Hàng Bông", "lat": 21.0305,
     "lon": 105.847, "district": "Hoàn Kiếm", "ward": "Hàng Bông"},
]


def check(cond, what):
    global passed, failed
    passed, failed = (passed + 1, failed) if cond else (passed, failed + 1)
    print(("ok - " if cond else "FAIL - ") + what)


def msg(dev, seq, ts, m):
    return json.dumps({"v": 1, "id": dev, "boot": 1, "seq": seq, "ts": ts, "m": m},
                      separators=(",", ":"))


def main():
    st = Stack("storm", BUILD, SRC)
    try:
        st.start_mosquitto()
        st.start_influxdb()
        st.write_registry(REGISTRY)
        st.write_master_key()
        st.spawn("alerts", ["mosquitto_sub", "-V", "5", "-h", "127.0.0.1", "-p",
                            str(st.mqtt_port), "-q", "1", "-v", "-t", "city/v1/alert/#"])
        st.start_collector(extra={"aggregate": {"window_s": 60}, "layers": {"refresh_ms": 1000}})
        wait_until(lambda: st.http_get("/healthz")[0] == 200, 20, "the collector subscribed")
        now = int(time.time() * 1000)
        minute = 60_000
        hour = 3_600_000

        # Haze: three past hours of heavy PM2.5 at the air station (NowCast needs 2 of 3 hours).
        h0 = (now // hour) * hour
        seq = 0
        for h in (3, 2, 1):
            for k in range(4):
                seq += 1
                ts = h0 - h * hour + k * 15 * minute + minute
                st.publish("city/v1/air/hn-air-0001/up",
                           msg("hn-air-0001", seq, ts, {"pm25": 120.0, "pm10": 150.0}),
                           key_of="hn-air-0001")

        # The storm: ten minutes of heavy rain and water rising on Nguyễn Khuyến street.
        t0 = now - 12 * minute
        depths = [0, 4, 9, 16, 24, 33, 42, 52, 61, 64, 66, 66, 67]
        for i, depth in enumerate(depths):
            ts = t0 + i * minute
            st.publish("city/v1/rain/hn-rain-0001/up",
                       msg("hn-rain-0001", i + 1, ts, {"tips": 25 * (i + 1), "mm": 5.0}),
                       key_of="hn-rain-0001")
            st.publish("city/v1/flood/hn-flood-0001/up",
                       msg("hn-flood-0001", i + 1, ts, {"depth": float(depth)}),
                       key_of="hn-flood-0001")

        total = 5.0 * len(depths)

        def rain_done():
            r = st.query('SELECT last("mm") AS mm FROM "rain_1h"')
            return r if r and abs(r[0]["mm"] - total) < 1e-6 else None
        try:
            rain = wait_until(rain_done, 30, "rain_1h of the whole storm")
        except AssertionError:
            rain = st.query('SELECT last("mm") AS mm FROM "rain_1h"')
        check(rain and abs(rain[0]["mm"] - 5.0 * len(depths)) < 1e-6,
              f"rain_1h sums the storm's interval amounts ({rain[0]['mm'] if rain else None} mm)")
        r24 = st.query('SELECT last("mm_24h") AS mm FROM "rain_1h"')
        check(r24 and r24[0]["mm"] is not None and abs(r24[0]["mm"] - total) < 1e-6,
              f"rain_1h carries the 24-hour sum, here the storm's whole amount ({r24})")
        def flood_done():
            r = st.query('SELECT last("band") AS b, last("depth_cm") AS d FROM "flood_level"')
            return r if r and r[0]["d"] == 67.0 else None
        try:
            fl = wait_until(flood_done, 30, "flood_level of the last reading")
        except AssertionError:
            fl = st.query('SELECT last("band") AS b, last("depth_cm") AS d FROM "flood_level"')
        check(fl and fl[0]["d"] == 67.0 and fl[0]["b"] >= 3,
              f"flood_level shows the deepest band for 67 cm ({fl})")

        def alerts_of(kind):
            return [line for line in st.log("alerts").splitlines()
                    if line.startswith(f"city/v1/alert/{kind}/")]
        flood_alerts = wait_until(lambda: alerts_of("flood"), 30, "flood alerts on MQTT")
        time.sleep(2)
        flood_alerts = alerts_of("flood")
        bands = [json.loads(a.split(" ", 1)[1])["level"] for a in flood_alerts]
        check(len(bands) == len(set(bands)) and bands == sorted(bands),
              f"one flood alert per band rise, not per message (levels {bands})")
        check(flood_alerts and json.loads(flood_alerts[-1].split(" ", 1)[1])["device"]
              == "hn-flood-0001", "the flood alert names the station")

        aqi = wait_until(lambda: st.query('SELECT last("aqi_vn") AS a, last("aqi_vn_category") '
                                          'AS c FROM "air_aqi"'), 40, "air_aqi points",
                         interval=0.5)
        check(aqi and aqi[0]["a"] >= 151 and aqi[0]["c"] == "Xấu",
              f"hourly VN_AQI from the NowCast of three hours of PM2.5 120 ({aqi})")
        aqi_alerts = wait_until(lambda: alerts_of("air"), 30, "AQI alert on MQTT")
        check(len(aqi_alerts) == 1, f"one AQI alert for entering Xấu ({len(aqi_alerts)})")
        pts = st.query('SELECT count("level") AS n FROM "alert" GROUP BY "type"')
        got = {p["type"]: p["n"] for p in pts}
        check(got.get("flood", 0) == len(flood_alerts) and got.get("aqi", 0) == 1,
              f"alerts are also `alert` points in InfluxDB ({got})")
        # Each emitted window equals the raw points of its minute (the last windows may still
        # be open within their grace period).
        aggs = wait_until(lambda: st.query('SELECT "depth_sum", "depth_count", "depth_min", '
                                           '"depth_max" FROM "flood_agg_1m"'), 30,
                          "flood_agg_1m aggregates", interval=0.5)
        raw = st.query('SELECT "depth" FROM "flood"')
        exact = len(aggs) >= 5
        for a in aggs:
            vals = [r["depth"] for r in raw if a["time"] <= r["time"] < a["time"] + minute]
            exact = exact and (a["depth_count"] == len(vals) and abs(a["depth_sum"] - sum(vals))
                               < 1e-9 and a["depth_min"] == min(vals)
                               and a["depth_max"] == max(vals))
        check(exact, f"every flood_agg_1m window equals its raw points ({len(aggs)} windows)")
        props = {}
        def layer_done():
            d = json.loads(st.http_get("/layers/flood.geojson")[2])
            p = d["features"][0]["properties"]
            return p if p.get("flood_band") == fl[0]["b"] else None
        try:
            props = wait_until(layer_done, 45, "the flood layer refreshed", interval=1)
        except AssertionError:
            props = json.loads(st.http_get("/layers/flood.geojson")[2])["features"][0]["properties"]
        check(props.get("depth_cm") == 67.0 and props.get("flood_band") == fl[0]["b"],
              f"the flood layer shows the depth and the collector's band ({props})")
        check(st.metric('citytel_alerts_total{type="flood"}') == len(flood_alerts),
              "alerts counted in /metrics")
    finally:
        if failed:
            print(st.log("collector")[-4000:])
        st.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
