#!/usr/bin/env python3
"""End-to-end, Grafana dashboards: every query of every dashboard runs against the real store.

Grafana is not in Debian, so this test does what Grafana's InfluxDB datasource would do: it takes
every InfluxQL query of every panel target and template variable of dashboards/grafana/*.json,
interpolates Grafana's macros ($timeFilter from the dashboard's time range, $__interval, template
variables: query variables with the values their own query returns from the store, custom
variables with each of their options in turn, constants with their value) and runs it against a
real InfluxDB 1.6 that the real collector filled from the real broker with signed readings of
every kind (air, water, rain, flood, parking), a station gone silent (a `station` point with
stale=true and a `stale` alert), flood and AQI alerts, and a rejected message.

Asserts, per query: no error, at least one row (InfluxDB answers a query on a measurement or a
field that does not exist with no error and no series), and no all-null column (a misspelt field
beside a real one). Also: the completeness panels count against each station's own interval_s
(the hourly aggregates carry it): 100 % for a water station (default 300 s) that sent its 12
readings of an hour and for an air station whose registry entry says 900 s (not the kind's 60 s)
that sent 4; the Prometheus targets name metrics the collector exports; and the static rules the former
dashboards.test.mjs checked (unique uids and panel ids, provisioned datasources, grid without
overlaps, a time bound on every InfluxDB query)."""
import glob
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
GRAFANA = os.path.join(SRC, "dashboards", "grafana")
KINDS = ["air", "water", "rain", "flood", "parking"]  # enum ct_kind order
# The dashboards' time zones (no tzdata needed: Vietnam has kept UTC+7 without DST since 1975).
UTC_OFFSET_MS = {"Asia/Ho_Chi_Minh": 7 * 3_600_000, "UTC": 0}
passed = failed = 0

REGISTRY = [
    # A station with its own interval, not the kind's 60 s: 4 readings an hour are 100 %.
    {"id": "hn-air-0001", "kind": "air", "name": "Trạm Hàng Bông", "lat": 21.0305,
     "lon": 105.847, "district": "Hoàn Kiếm", "ward": "Hàng Bông", "interval_s": 900},
    # Reports once, then goes silent: stale after 3 x 2 s.
    {"id": "hn-air-0002", "kind": "air", "name": "Trạm Kim Liên", "lat": 21.007,
     "lon": 105.836, "district": "Đống Đa", "ward": "Kim Liên", "interval_s": 2},
    {"id": "hn-water-0001", "kind": "water", "name": "Hồ Hoàn Kiếm", "lat": 21.0288,
     "lon": 105.8525, "district": "Hoàn Kiếm", "ward": "Hàng Trống"},
    {"id": "hn-rain-0001", "kind": "rain", "name": "Trạm đo mưa Lý Thái Tổ", "lat": 21.027,
     "lon": 105.8545, "district": "Hoàn Kiếm", "ward": "Lý Thái Tổ", "mm_per_tip": 0.2},
    {"id": "hn-flood-0001", "kind": "flood", "name": "Phố Nguyễn Khuyến", "lat": 21.0285,
     "lon": 105.838, "district": "Đống Đa", "ward": "Văn Miếu"},
    {"id": "hn-park-0001", "kind": "parking", "name": "Bãi đỗ xe Lý Thường Kiệt",
     "lat": 21.0245, "lon": 105.848, "district": "Hoàn Kiếm", "ward": "Trần Hưng Đạo",
     "mode": "lot", "capacity": 60},
]


def check(cond, what):
    global passed, failed
    passed, failed = (passed + 1, failed) if cond else (passed, failed + 1)
    print(("ok - " if cond else "FAIL - ") + what)
    return cond


def msg(dev, seq, ts, m):
    return json.dumps({"v": 1, "id": dev, "boot": 1, "seq": seq, "ts": ts, "m": m},
                      separators=(",", ":"))


def fill_store(st):
    """Publishes the readings of every kind through the broker, signed with the device keys."""
    now = int(time.time() * 1000)
    minute, hour = 60_000, 3_600_000
    h0 = (now // hour) * hour
    seq = {}

    def pub(dev, kind, ts, m):
        seq[dev] = seq.get(dev, 0) + 1
        st.publish(f"city/v1/{kind}/{dev}/up", msg(dev, seq[dev], ts, m), key_of=dev)

    # Haze: three past hours of heavy PM2.5 (an AQI alert), every pollutant the panels chart.
    for h in (3, 2, 1):
        for k in range(4):
            pub("hn-air-0001", "air", h0 - h * hour + k * 15 * minute + minute,
                {"pm25": 120.0, "pm10": 150.0, "no2": 40.0, "so2": 20.0, "o3": 60.0,
                 "co": 900.0, "t": 29.5, "rh": 78})
    # Water: the two past hours complete (12 readings each, one per 5 minutes).
    for h in (2, 1):
        for k in range(12):
            pub("hn-water-0001", "water", h0 - h * hour + k * 5 * minute + 30_000,
                {"ph": 7.2, "do": 5.5, "t": 27.0, "turb": 30.0, "ec": 450.0, "nh4": 0.4,
                 "cod": 12.0, "tss": 25.0})
    # A quiet reading in the past hour of each event-driven kind, so that its hourly aggregate
    # (the completeness panels' source) is closed and written.
    pub("hn-rain-0001", "rain", h0 - hour + 30 * minute, {"tips": 0, "mm": 0.0})
    pub("hn-flood-0001", "flood", h0 - hour + 30 * minute, {"depth": 0.0})
    pub("hn-park-0001", "parking", h0 - hour + 30 * minute, {"capacity": 60, "occupied": 5})
    # The storm: rain and water rising on Nguyễn Khuyến street (a flood alert).
    t0 = now - 12 * minute
    for i, depth in enumerate([0, 4, 9, 16, 24, 33, 42, 52, 61, 64, 66, 66, 67]):
        pub("hn-rain-0001", "rain", t0 + i * minute, {"tips": 25 * (i + 1), "mm": 5.0})
        pub("hn-flood-0001", "flood", t0 + i * minute, {"depth": float(depth)})
    # The last one at 'now', the dashboards' "now": inside the parking dashboard's "today".
    for i, occ in enumerate([12, 25, 41, 38]):
        pub("hn-park-0001", "parking", now - (3 - i) * 5 * minute,
            {"capacity": 60, "occupied": occ})
    pub("hn-air-0002", "air", now - 1000, {"pm25": 30.0, "pm10": 45.0})
    # A message with a bad signature: a `rejected` point.
    st.publish("city/v1/air/hn-air-0001/up", msg("hn-air-0001", 999, now, {"pm25": 1.0}),
               sig="00" * 32)
    return now


def wait_store(st):
    """Waits for every measurement the dashboards read to have its points."""
    want = {
        "air_aqi": 'SELECT count("aqi_vn") AS n FROM "air_aqi"',
        "water_wqi": 'SELECT count("wqi") AS n FROM "water_wqi"',
        "rain sums": 'SELECT count("mm_24h") AS n FROM "rain_1h"',
        "flood_level": 'SELECT count("depth_cm") AS n FROM "flood_level"',
        "parking_lot": 'SELECT count("free") AS n FROM "parking_lot"',
        "silent station": 'SELECT count("stale") AS n FROM "station" WHERE "stale" = true',
        "alerts": 'SELECT count("level") AS n FROM "alert" GROUP BY "type"',
        "rejected": 'SELECT count("count") AS n FROM "rejected"',
    }
    for kind, field in (("air", "pm25"), ("water", "ph"), ("rain", "tips"), ("flood", "depth"),
                        ("parking", "occupied")):
        want[f"{kind}_agg_1h"] = f'SELECT count("{field}_count") AS n FROM "{kind}_agg_1h"'

    for what, q in want.items():
        def ready(q=q, what=what):
            rows = st.query(q)
            if what == "alerts":
                return {r["type"] for r in rows} >= {"aqi", "flood", "stale"}
            return rows and rows[0]["n"] > 0
        try:
            wait_until(ready, 60, what, interval=0.5)
        except AssertionError as e:
            check(False, str(e))


# -- Grafana's interpolation -----------------------------------------------------------------------
def parse_range(s, now_ms, tz):
    """A Grafana relative time (now, now-6h, now/d) in ms; a day starts at midnight in the
    dashboard's time zone."""
    if s == "now":
        return now_ms
    if s == "now/d":
        offset = UTC_OFFSET_MS[tz]
        return (now_ms + offset) // 86_400_000 * 86_400_000 - offset
    m = re.fullmatch(r"now-(\d+)([mhdw])", s)
    assert m, f"time range {s!r}"
    unit = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}[m.group(2)]
    return now_ms - int(m.group(1)) * unit


def regex_escape(v):
    # Grafana's kbn.regexEscape
    return re.sub(r"[\\^$*+?.()|{}\[\]/]", lambda m: "\\" + m.group(0), v)


def format_value(values, multi):
    """An InfluxDB variable value as Grafana writes it: regex-escaped and (a|b) for multi-value
    and All variables, as is otherwise."""
    if not multi:
        return values[0]
    values = [regex_escape(v) for v in values]
    return values[0] if len(values) == 1 else "(" + "|".join(values) + ")"


def interpolate(q, env, time_filter, interval="1m"):
    q = q.replace("$timeFilter", time_filter)
    q = q.replace("$__interval_ms", "60000").replace("$__interval", interval)

    def sub(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name not in env:
            raise KeyError(f"unknown variable ${name}")
        return env[name]
    return re.sub(r"\$\{(\w+)\}|\[\[(\w+)\]\]|\$(\w+)", sub, q)


def run_checked(st, q):
    """(rows, problem): problem is None when the query ran without error and returned rows with
    no all-null column."""
    try:
        rows = st.query(q)
    except AssertionError as e:
        return [], str(e)
    except OSError as e:
        return [], f"HTTP: {e}"
    if not rows:
        return rows, "no rows (measurement or field missing?)"
    cols = {c for r in rows for c in r} - {"time"}
    empty = sorted(c for c in cols if all(r.get(c) is None for r in rows))
    if empty:
        return rows, f"columns always null: {empty}"
    return rows, None


def variable_envs(st, dash, time_filter):
    """The template variables' values (base env) and, per custom variable, one env per option.
    Runs each query variable's query (it must return values too)."""
    env, alternatives = {}, []
    for v in dash.get("templating", {}).get("list", []):
        name, typ = v["name"], v["type"]
        if typ == "constant":
            env[name] = v["query"]
        elif typ == "custom":
            opts = [o.strip() for o in v["query"].split(",")]
            multi = v.get("multi") or v.get("includeAll")
            cur = v["current"]["value"]
            cur = opts if cur in ("$__all", ["$__all"]) else [cur] if isinstance(cur, str) else cur
            env[name] = format_value(cur, multi)
            alternatives.append((name, [format_value([o], multi) for o in opts]))
        elif typ == "query":
            check(re.fullmatch(r'SHOW TAG VALUES FROM "[^"]+" WITH KEY = "[a-z]+"', v["query"])
                  is not None, f"{dash['uid']}: variable {name} is a SHOW TAG VALUES query")
            q = interpolate(v["query"], env, time_filter)
            rows, problem = run_checked(st, q)
            check(problem is None, f"{dash['uid']}: variable ${name}: {q} -> "
                  f"{problem or f'{len(rows)} values'}")
            values = sorted(r["value"] for r in rows) or ["none"]
            env[name] = format_value(values, v.get("multi") or v.get("includeAll"))
        elif typ in ("textbox", "interval"):
            env[name] = v.get("query") or v["current"]["value"]
        else:
            check(False, f"{dash['uid']}: variable {name} of unsupported type {typ}")
    return env, alternatives


def panels_of(dash):
    for p in dash["panels"]:
        yield p
        yield from p.get("panels", [])


def static_checks(dashes, provisioned):
    uids = [d["uid"] for d in dashes.values()]
    check(sorted(dashes) == ["citytel-environment.json", "citytel-parking.json"]
          and len(set(uids)) == len(uids), f"two dashboards with unique uids ({uids})")
    for f, d in dashes.items():
        ids, bad = set(), []
        for p in panels_of(d):
            if p["id"] in ids:
                bad.append(f"{p['title']}: duplicate id")
            ids.add(p["id"])
            if p["type"] == "row":
                continue
            g = p["gridPos"]
            if not (g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= 24 and g["y"] >= 0
                    and g["h"] > 0):
                bad.append(f"{p['title']}: grid")
            if f"uid: {p['datasource']['uid']}" not in provisioned:
                bad.append(f"{p['title']}: datasource not provisioned")
            if not p.get("targets"):
                bad.append(f"{p['title']}: no query")
            for t in p.get("targets", []):
                if p["datasource"]["type"] == "influxdb" and not re.search(
                        r"\$timeFilter|time > now\(\) - \d+[hd]", t["query"]):
                    bad.append(f"{p['title']}: no time bound in {t['query']}")
        grids = [(p["id"], p["gridPos"]) for p in d["panels"]]
        for i, (ia, a) in enumerate(grids):
            for ib, b in grids[i + 1:]:
                if (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
                        and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]):
                    bad.append(f"panels {ia} and {ib} overlap")
        check(not bad, f"{f}: panel ids, grid, datasources, time bounds {bad}")


def completeness_checks(st, env, dash, now, time_filter):
    """The hourly completeness panel counts against each station's own interval: a water station
    (the kind's 300 s) with 12 readings in an hour and an air station of 900 s (the kind's
    default is 60 s) with 4 both read 100 %."""
    panel = next(p for p in panels_of(dash) if p["title"].endswith("Hourly completeness"))
    by_kind = {re.search(r'FROM "(\w+)_agg_1h"', t["query"]).group(1): t["query"]
               for t in panel["targets"]}
    check(sorted(by_kind) == sorted(KINDS), f"hourly completeness: one query per kind "
          f"({sorted(by_kind)})")
    hour = 3_600_000
    h0 = (now // hour) * hour
    for kind, dev, n in (("water", "hn-water-0001", 12), ("air", "hn-air-0001", 4)):
        rows = st.query(interpolate(by_kind[kind], env, time_filter))
        got = [r for r in rows if r["device"] == dev and r["time"] == h0 - hour]
        want = 100.0
        vals = [round(list(v for c, v in r.items() if c not in ("time", "device"))[0], 3)
                for r in got]
        check(vals == [round(want, 3)], f"{dev}: {n} readings in an hour read {want:.1f} % "
              f"complete ({vals})")


def flood_name_check(st, env, dash, time_filter):
    """The flood table names the last confirmed band with its value mapping (flood_level holds
    the band's number only): the name it shows for the station is the one the public map shows
    (/layers/flood.geojson, flood_band_vi and flood_band_en)."""
    panel = next(p for p in panels_of(dash) if p["title"].endswith("Flood level now"))
    rows = st.query(interpolate(panel["targets"][0]["query"], env, time_filter))
    row = next((r for r in rows if r.get("device") == "hn-flood-0001"), None)
    mapping = next(o for o in panel["fieldConfig"]["overrides"]
                   if o["matcher"]["options"] == "name")["properties"][0]["value"][0]["options"]
    shown = mapping.get(str(int(row["name"])), {}).get("text") if row else None
    _, _, body = st.http_get("/layers/flood.geojson")
    feat = next(f for f in json.loads(body)["features"] if f["id"] == "hn-flood-0001")
    want = f"{feat['properties'].get('flood_band_vi')} / {feat['properties'].get('flood_band_en')}"
    check(shown == want, f"flood table: band {row and row['name']} reads {shown!r}, the map "
          f"{want!r}")


def prometheus_checks(st, dashes):
    _, _, body = st.http_get("/metrics", port=st.staff_port)
    names = {line.split("{")[0].split(" ")[0] for line in body.decode().splitlines()
             if line and not line.startswith("#")}
    for f, d in dashes.items():
        for p in panels_of(d):
            for t in p.get("targets", []):
                if "expr" not in t:
                    continue
                used = set(re.findall(r"\bcitytel_[a-z0-9_]+", t["expr"]))
                check(used and used <= names,
                      f"{f}: {p['title']}: {t['expr']} names exported metrics")


def main():
    dashes = {os.path.basename(f): json.load(open(f, encoding="utf-8"))
              for f in sorted(glob.glob(os.path.join(GRAFANA, "*.json")))}
    provisioned = open(os.path.join(GRAFANA, "provisioning", "datasources",
                                    "citytel.yaml")).read()
    static_checks(dashes, provisioned)
    st = Stack("grafana", BUILD, SRC)
    t_start = time.time()
    try:
        st.start_mosquitto()
        st.start_influxdb()
        st.write_registry(REGISTRY)
        st.write_master_key()
        st.start_collector()
        wait_until(lambda: st.http_get("/healthz")[0] == 200, 20, "the collector subscribed")
        now_ms = fill_store(st)
        wait_store(st)
        print(f"# store filled in {time.time() - t_start:.0f} s")
        nq = 0
        for f, d in dashes.items():
            tz = d.get("timezone") or "UTC"
            # The range ends at the time of the queries (points such as `rejected` are
            # written after the readings); "now/d" is taken at the fill time, so a run across
            # local midnight still finds the readings in the parking dashboard's "today".
            frm = parse_range(d["time"]["from"], now_ms, tz)
            to = parse_range(d["time"]["to"], int(time.time() * 1000), tz)
            time_filter = f"time >= {frm}ms and time <= {to}ms"
            env, alternatives = variable_envs(st, d, time_filter)
            for p in panels_of(d):
                if p.get("datasource", {}).get("type") != "influxdb":
                    continue
                for t in p["targets"]:
                    # The query with the variables' current values, then with each option of
                    # each custom variable the query uses.
                    envs = [env]
                    for name, values in alternatives:
                        if re.search(rf"\$\{{{name}\}}|\$\[\[{name}\]\]|\${name}\b", t["query"]):
                            envs += [dict(env, **{name: v}) for v in values]
                    seen = set()
                    for e in envs:
                        try:
                            q = interpolate(t["query"], e, time_filter)
                        except KeyError as err:
                            check(False, f"{f}: {p['title']}/{t['refId']}: {err}")
                            continue
                        if q in seen:
                            continue
                        seen.add(q)
                        rows, problem = run_checked(st, q)
                        nq += 1
                        check(problem is None, f"{f}: {p['title']}/{t['refId']}: {q} -> "
                              f"{problem or f'{len(rows)} rows'}")
            if f == "citytel-environment.json":
                completeness_checks(st, env, d, now_ms, time_filter)
                flood_name_check(st, env, d, time_filter)
        check(nq >= 40, f"{nq} dashboard queries ran against the store")
        prometheus_checks(st, dashes)
    finally:
        if failed:
            print(st.log("collector")[-3000:])
        st.close()
    print(f"{passed} passed, {failed} failed ({time.time() - t_start:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
