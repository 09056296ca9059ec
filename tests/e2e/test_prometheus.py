#!/usr/bin/env python3
"""Prometheus checks the collector (issue 17).

The real Mosquitto and InfluxDB, the collector, and Debian's Prometheus and promtool. Asserts:
the staff listener's /metrics passes `promtool check metrics` with no finding (base units: every
time in seconds, sizes in bytes; `_total` counters), and the store times are fractional seconds;
config/prometheus/citytel.rules.yml passes `promtool check rules`; a real Prometheus (foreground,
temporary folder, free port) scraping the staff listener every second with those rules (every
`for:` shortened to 1 s) has the collector "up" and CitytelStoreDown inactive, and once InfluxDB is
stopped and a reading arrives, CitytelStoreDown goes firing; InfluxDB started again, it resolves."""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools"))
from durlib import Checks  # noqa: E402
from harness import Stack, free_port, wait_until  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
RULES = os.path.join(SRC, "config", "prometheus", "citytel.rules.yml")
DEV = "hn-air-0001"

checks = Checks()
check = checks.check
T0 = time.time()


def alerts(port):
    """{alertname: state} from Prometheus' /api/v1/alerts."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/alerts", timeout=5) as r:
            body = json.load(r)
    except OSError:
        return {}
    return {a["labels"]["alertname"]: a["state"] for a in body["data"]["alerts"]}


def prom_value(port, query):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            res = json.load(r)["data"]["result"]
    except OSError:
        return None
    return float(res[0]["value"][1]) if res else None


def main():
    for tool in ("promtool", "prometheus"):
        if shutil.which(tool) is None:
            print(f"FAIL - {tool} is missing: install the Debian package 'prometheus'")
            sys.exit(1)
    st = Stack("prometheus", BUILD, SRC)
    try:
        st.start_mosquitto()
        st.start_influxdb()
        st.write_registry([{"id": DEV, "kind": "air", "name": "Trạm Hàng Bông", "lat": 21.03,
                            "lon": 105.847, "district": "Hoàn Kiếm", "ward": "Hàng Bông"}])
        st.write_master_key()
        st.start_collector()
        wait_until(lambda: st.metric("citytel_mqtt_connected") == 1, 30, "collector connected")
        seq = [0]

        def send():
            seq[0] += 1
            payload = json.dumps({"v": 1, "id": DEV, "boot": 1, "seq": seq[0],
                                  "ts": int(time.time() * 1000) - 1000, "m": {"pm25": 20.5}},
                                 separators=(",", ":"))
            st.publish(f"city/v1/air/{DEV}/up", payload, key_of=DEV)

        send()
        wait_until(lambda: st.metric("citytel_store_points_total") >= 1, 30, "a stored point")

        # -- promtool check metrics ---------------------------------------------------------------
        _, _, body = st.http_get("/metrics")
        r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                           timeout=60)
        findings = (r.stdout + r.stderr).decode().strip()
        check(r.returncode == 0 and findings == "",
              f"promtool check metrics finds nothing ({findings[:500]!r})")
        text = body.decode()
        check(re.search(r"^citytel_\w*_ms\b", text, re.M) is None,
              "no metric is named in milliseconds")
        lat = re.search(r"^citytel_store_latency_seconds (\S+)$", text, re.M)
        check(lat is not None and re.fullmatch(r"\d+\.\d{3}", lat.group(1)) is not None
              and float(lat.group(1)) < 30,
              f"the store latency is fractional seconds ({lat.group(1) if lat else None})")
        check(st.metric("citytel_store_ok") == 1, "citytel_store_ok is 1 while InfluxDB runs")

        # -- promtool check rules ---------------------------------------------------------------------
        r = subprocess.run(["promtool", "check", "rules", RULES], capture_output=True, text=True,
                           timeout=60)
        check(r.returncode == 0 and "SUCCESS: 6 rules found" in r.stdout,
              f"promtool check rules passes ({r.stdout.strip()} {r.stderr.strip()})")
        names = re.findall(r"alert:\s*(\w+)", open(RULES).read())
        for a in ("CitytelStoreDown", "CitytelSpoolFilling", "CitytelStationsSilent",
                  "CitytelIngestStalled"):
            check(a in names, f"the rules have {a}")

        # -- a real Prometheus scraping the staff listener ----------------------------------------------
        pdir = os.path.join(st.dir, "prometheus")
        os.makedirs(pdir)
        rules = os.path.join(pdir, "citytel.rules.yml")
        with open(rules, "w") as f:
            f.write(re.sub(r"for: \d+m", "for: 1s", open(RULES).read()))
        conf = os.path.join(pdir, "prometheus.yml")
        with open(conf, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {rules}
scrape_configs:
  - job_name: citytel
    static_configs:
      - targets: ["127.0.0.1:{st.staff_port}"]
""")
        pport = free_port()
        st.spawn("prometheus", ["prometheus", f"--config.file={conf}",
                                f"--storage.tsdb.path={pdir}/data",
                                f"--web.listen-address=127.0.0.1:{pport}"])
        wait_until(lambda: prom_value(pport, 'up{job="citytel"}') == 1, 60,
                   "Prometheus scraping the collector")
        check(True, "Prometheus scrapes the collector's staff listener (up == 1)")
        wait_until(lambda: prom_value(pport, "citytel_store_ok") == 1, 30, "store_ok scraped")
        check(alerts(pport).get("CitytelStoreDown") is None,
              "CitytelStoreDown is inactive while InfluxDB runs")

        st.stop("influxd")
        last = [0.0]

        def firing():
            # The collector learns the store is down by writing to it: readings keep coming.
            if time.time() - last[0] > 2:
                send()
                last[0] = time.time()
            return alerts(pport).get("CitytelStoreDown") == "firing"
        try:
            wait_until(firing, 90, "CitytelStoreDown firing")
        except AssertionError as e:
            print(f"# {e}")
        check(alerts(pport).get("CitytelStoreDown") == "firing",
              "CitytelStoreDown fires once InfluxDB is stopped")

        st.start_influxdb(port=st.influx_port)
        try:
            wait_until(lambda: alerts(pport).get("CitytelStoreDown") is None, 90,
                       "CitytelStoreDown resolved")
        except AssertionError as e:
            print(f"# {e}")
        check(alerts(pport).get("CitytelStoreDown") is None,
              "CitytelStoreDown resolves once InfluxDB is back")
    finally:
        st.close()
    sys.exit(checks.done(T0))


if __name__ == "__main__":
    main()
