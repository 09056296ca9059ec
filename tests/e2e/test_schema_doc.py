#!/usr/bin/env python3
"""End-to-end (issue 16, the time-series schema): what the collector writes into the real
InfluxDB matches the schema table of docs/protocol.md ("Measurements, tags and fields"): every
measurement written is documented, with exactly its documented tag keys, and every field it
has is documented with the same InfluxDB type. One device per kind reports every 10 minutes for
two and a half hours (so hourly windows, indices, rain sums, flood bands and the parking lot are
derived), and one reading with a bad signature is rejected."""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Stack, wait_until  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
passed = failed = 0


def check(cond, what):
    global passed, failed
    passed, failed = (passed + 1, failed) if cond else (passed, failed + 1)
    print(("ok - " if cond else "FAIL - ") + what)


def doc_table():
    """Parses the table under the heading "Measurements, tags and fields" of docs/protocol.md:
    {measurement pattern (regex): ((required tags, optional tags), {field: type})}. A name such as
    `<kind>_agg_<window>` is a pattern: <kind> is one of the five kinds, <window> like 1m."""
    text = open(os.path.join(SRC, "docs", "protocol.md"), encoding="utf-8").read()
    start = text.index("Measurements, tags and fields")
    rows = {}
    for line in text[start:].splitlines()[1:]:
        if rows and not line.startswith("|"):
            break
        if not line.startswith("|") or line.startswith("| measurement") or "---" in line:
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        name = cells[0].strip("`")
        pat = re.escape(name).replace(re.escape("<kind>"), "(air|water|rain|flood|parking)")
        pat = pat.replace(re.escape("<window>"), "[0-9]+[smh]")
        required, _, optional = cells[1].partition("optional:")
        tags = (set(re.findall(r"`([^`]+)`", required)), set(re.findall(r"`([^`]+)`", optional)))
        fields = {}
        for f in cells[2].split(","):
            m = re.match(r"\s*`([^`]+)`\s+(float|integer|string|boolean)", f)
            if m:
                fields[m.group(1).replace("<metric>", "")] = m.group(2)
            elif f.strip():
                raise AssertionError(f"cannot read the field cell {f!r} of {name}")
        rows["^" + pat + "$"] = (tags, fields)
    return rows


def field_ok(doc_fields, key, typ):
    """A documented field: exactly, or a `<metric>_min`-style template matching the suffix."""
    if doc_fields.get(key) == typ:
        return True
    return any(k.startswith("_") and key.endswith(k) and t == typ for k, t in doc_fields.items())


def main():
    table = doc_table()
    check(len(table) >= 10, f"the schema table of docs/protocol.md has {len(table)} rows")
    devs = [
        {"id": "hn-air-0001", "kind": "air", "name": "Trạm A", "lat": 21.03, "lon": 105.85,
         "district": "Hoàn Kiếm", "ward": "Hàng Bông"},
        {"id": "hn-water-0001", "kind": "water", "name": "Hồ B", "lat": 21.03, "lon": 105.85,
         "district": "Hoàn Kiếm", "ward": "Hàng Bông"},
        {"id": "hn-rain-0001", "kind": "rain", "name": "Mưa C", "lat": 21.03, "lon": 105.85,
         "district": "Hoàn Kiếm", "ward": "Hàng Bông"},
        {"id": "hn-flood-0001", "kind": "flood", "name": "Ngập D", "lat": 21.03, "lon": 105.85,
         "district": "Hoàn Kiếm", "ward": "Hàng Bông"},
        {"id": "hn-park-0001", "kind": "parking", "name": "Bãi E", "lat": 21.03, "lon": 105.85,
         "district": "Hoàn Kiếm", "ward": "Hàng Bông", "mode": "lot", "capacity": 60},
    ]
    values = {"air": {"pm25": 41.2, "pm10": 63.0, "no2": 22.1, "so2": 8.0, "o3": 30.0,
                      "co": 900.0, "t": 29.4, "rh": 78},
              "water": {"ph": 7.1, "do": 6.4, "turb": 12.5, "ec": 410, "t": 26.0, "nh4": 0.2,
                        "cod": 8.0, "tss": 20.0},
              "rain": {"tips": 10, "mm": 2.0},
              "flood": {"depth": 35.0},
              "parking": {"capacity": 60, "occupied": 12}}
    st = Stack("schema", BUILD, SRC)
    try:
        st.start_mosquitto()
        st.start_influxdb()
        st.write_registry(devs)
        st.write_master_key()
        st.start_collector(extra={"aggregate": {"window_s": 60}})
        wait_until(lambda: st.http_get("/healthz")[0] == 200, 30, "the collector subscribed")
        now = int(time.time() * 1000)
        t0 = now - now % 3600000 - 2 * 3600000
        n = 0
        for k in range(16):
            for d in devs:
                m = dict(values[d["kind"]])
                if d["kind"] == "rain":
                    m["tips"] = 10 * (k + 1)
                payload = json.dumps({"v": 1, "id": d["id"], "boot": 1, "seq": k + 1,
                                      "ts": t0 + k * 600000, "m": m}, separators=(",", ":"))
                st.publish(f"city/v1/{d['kind']}/{d['id']}/up", payload, key_of=d["id"])
                n += 1
        st.publish("city/v1/air/hn-air-0001/up", '{"v":1}', sig="00" * 32)
        wait_until(lambda: st.metric("citytel_store_points_total") >= n, 60, "the raw points")

        def measurements():
            return sorted(r["name"] for r in st.query("SHOW MEASUREMENTS"))
        wait_until(lambda: {"air_aqi", "rain_1h", "rain_24h", "flood_level", "parking_lot",
                            "rejected"} <= set(measurements()), 60, "the derived measurements",
                   interval=0.5)
        # The hourly 24-h sums: 2 mm every 10 minutes from t0; a reading at the hour ends it.
        h24 = {r["time"]: r["mm"] for r in st.query('SELECT "mm" FROM "rain_24h"')}
        check(h24.get(t0 + 3600000) == 14.0 and h24.get(t0 + 7200000) == 26.0,
              f"rain_24h at t0 + 1 h and + 2 h: 14 and 26 mm ({h24})")
        written = measurements()
        print(f"# written: {written}")
        for meas in written:
            rows = [v for p, v in table.items() if re.match(p, meas)]
            got_tags = {r["tagKey"] for r in st.query(f'SHOW TAG KEYS FROM "{meas}"')}
            got = {r["fieldKey"]: r["fieldType"] for r in st.query(
                f'SHOW FIELD KEYS FROM "{meas}"')}
            check(len(rows) == 1, f"{meas} is documented once")
            if len(rows) != 1:
                print(f"# {meas}: tags {sorted(got_tags)}, fields {sorted(got.items())}")
                continue
            tags, fields = rows[0]
            check(tags[0] <= got_tags <= tags[0] | tags[1],
                  f"{meas}: tags {sorted(got_tags)} as documented {sorted(tags[0])} "
                  f"(optional {sorted(tags[1])})")
            bad = sorted(f"{k}:{t}" for k, t in got.items() if not field_ok(fields, k, t))
            check(not bad, f"{meas}: every field documented with its type {bad}")
        check("rain_agg_1h" in written and "rain_1h" in written,
              "the hourly rain and the rain window aggregate are two measurements")
    finally:
        if failed:
            print(st.log("collector")[-3000:])
        st.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
