#!/usr/bin/env python3
"""layers_bench.py - how fast the collector serves the public air layer (/layers/air.geojson),
against nginx serving the same bytes as a static file, in the same run on the same machine.

    python3 simulations/bench/layers_bench.py [--build DIR] [--stations N] [--duration S]
                                              [--connections C] [--threads T] [--repeat R]

What it does:
  1. generates a registry of N air stations (default 3 000) spread over Hanoi's urban districts,
     with Vietnamese station, district and ward names;
  2. starts the real Mosquitto and InfluxDB (tests/e2e/harness.py: free loopback ports, a
     temporary folder) and the collector (http.rate_per_client 0, http.max_connections 4096,
     layers.refresh_ms as shipped);
  3. stores one recent raw reading per station ("air" points) and one hourly index per station
     ("air_aqi" points) with one POST to InfluxDB's /write (precision=ms): the points the collector
     itself would have written, without publishing N signed messages first;
  4. fetches /layers/air.geojson once (the first request waits for the store; every later one is
     served from the collector's cache), plain and with Accept-Encoding: gzip, and records both
     sizes;
  5. writes the same bytes to a folder served by nginx (worker_processes 1, like the collector's
     one event loop): /static/air.geojson with the collector's gzip body beside it as
     air.geojson.gz (gzip_static on), and /dynamic/air.geojson (gzip on, gzip_comp_level 6, the
     level the collector uses, so nginx compresses each response as the collector does);
  6. runs wrk (-t2 -c64 --latency by default) against the collector and nginx, plain and gzip,
     alternating, and prints a table: requests/s, p50/p99 latency, transfer/s, and collector /
     nginx ratios.

Everything it starts is stopped before it exits. Standard library only, plus the wrk and nginx
programs (apt-get install -y wrk nginx-light). Not a test: it prints figures, it does not pass
or fail them. The default run takes about 80 s (5 wrk runs of 15 s plus start-up);
with --repeat 3, about 4 minutes."""
import argparse
import gzip
import json
import os
import platform
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
import harness  # noqa: E402

# Hanoi's urban districts (pre-2025 boundaries, as in config/registry.jsonl): approximate centre
# and a few wards each.
DISTRICTS = (
    ("Hoàn Kiếm", 21.0285, 105.8542, ("Hàng Bạc", "Hàng Bông", "Tràng Tiền", "Lý Thái Tổ",
                                      "Hàng Trống", "Phúc Tân")),
    ("Ba Đình", 21.0359, 105.8190, ("Điện Biên", "Kim Mã", "Ngọc Hà", "Liễu Giai", "Quán Thánh",
                                    "Giảng Võ")),
    ("Đống Đa", 21.0181, 105.8297, ("Láng Hạ", "Kim Liên", "Văn Miếu", "Ô Chợ Dừa",
                                    "Láng Thượng", "Khâm Thiên")),
    ("Hai Bà Trưng", 21.0060, 105.8576, ("Bách Khoa", "Bạch Mai", "Minh Khai", "Lê Đại Hành",
                                         "Thanh Nhàn", "Vĩnh Tuy")),
    ("Cầu Giấy", 21.0362, 105.7906, ("Dịch Vọng", "Nghĩa Đô", "Mai Dịch", "Yên Hòa",
                                     "Quan Hoa", "Trung Hòa")),
    ("Tây Hồ", 21.0680, 105.8188, ("Quảng An", "Nhật Tân", "Xuân La", "Thụy Khuê", "Bưởi",
                                   "Phú Thượng")),
    ("Thanh Xuân", 20.9937, 105.8110, ("Khương Trung", "Nhân Chính", "Thanh Xuân Bắc",
                                       "Hạ Đình", "Kim Giang", "Phương Liệt")),
    ("Hoàng Mai", 20.9741, 105.8636, ("Định Công", "Giáp Bát", "Tương Mai", "Vĩnh Hưng",
                                      "Yên Sở", "Lĩnh Nam")),
    ("Long Biên", 21.0470, 105.8890, ("Bồ Đề", "Gia Thụy", "Ngọc Lâm", "Thạch Bàn",
                                      "Phúc Đồng", "Việt Hưng")),
    ("Nam Từ Liêm", 21.0126, 105.7610, ("Mỹ Đình 1", "Mễ Trì", "Phú Đô", "Cầu Diễn",
                                        "Trung Văn", "Tây Mỗ")),
    ("Bắc Từ Liêm", 21.0700, 105.7720, ("Cổ Nhuế 1", "Xuân Đỉnh", "Phú Diễn", "Thượng Cát",
                                        "Đông Ngạc", "Minh Khai")),
    ("Hà Đông", 20.9710, 105.7788, ("Văn Quán", "Mộ Lao", "Kiến Hưng", "Yết Kiêu", "Phú La",
                                    "Dương Nội")),
)

# VN_AQI categories (Decision 1459/QD-TCMT): upper bound, level, Vietnamese name, colour.
VN_LEVELS = ((50, 1, "Tốt", "#00E400"), (100, 2, "Trung bình", "#FFFF00"),
             (150, 3, "Kém", "#FF7E00"), (200, 4, "Xấu", "#FF0000"),
             (300, 5, "Rất xấu", "#8F3F97"), (500, 6, "Nguy hại", "#7E0023"))
US_CATS = ((50, "Good"), (100, "Moderate"), (150, "Unhealthy for Sensitive Groups"),
           (200, "Unhealthy"), (300, "Very Unhealthy"), (500, "Hazardous"))


# -- helpers ------------------------------------------------------------------------------------
def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def tool_version(argv):
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
        return r.stdout.decode(errors="replace").splitlines()[0].strip()
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def registry_lines(n, seed=2026):
    rnd = random.Random(seed)
    per_ward = {}
    out = []
    for i in range(n):
        district, lat0, lon0, wards = DISTRICTS[i % len(DISTRICTS)]
        ward = wards[(i // len(DISTRICTS)) % len(wards)]
        k = per_ward[(district, ward)] = per_ward.get((district, ward), 0) + 1
        out.append({"id": f"lb-air-{i + 1:05d}", "kind": "air",
                    "name": f"Trạm {ward} {k}",
                    "lat": round(lat0 + rnd.uniform(-0.018, 0.018), 5),
                    "lon": round(lon0 + rnd.uniform(-0.018, 0.018), 5),
                    "district": district, "ward": ward})
    return out


def lp_tag(s):
    return s.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def lp_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def aqi_pm25(pm25, bps):
    """Linear interpolation over (concentration, index) breakpoints."""
    for (c0, i0), (c1, i1) in zip(bps, bps[1:]):
        if pm25 <= c1:
            return round(i0 + (i1 - i0) * (pm25 - c0) / (c1 - c0))
    return 500


VN_BP = ((0, 0), (25, 50), (50, 100), (80, 150), (150, 200), (250, 300), (350, 400), (500, 500))
US_BP = ((0, 0), (9, 50), (35.4, 100), (55.4, 150), (125.4, 200), (225.4, 300), (325.4, 500))


def points(stations, now_ms, seed=7):
    """Line protocol: one raw 'air' reading per station in the last 10 minutes and one 'air_aqi'
    hourly index at the start of the current hour, tags as the collector writes them."""
    rnd = random.Random(seed)
    hour_ms = now_ms - now_ms % 3_600_000
    lines = []
    for d in stations:
        tags = f"device={lp_tag(d['id'])},district={lp_tag(d['district'])},ward={lp_tag(d['ward'])}"
        pm25 = round(rnd.uniform(12, 140), 1)
        pm10 = round(pm25 * rnd.uniform(1.3, 1.8), 1)
        no2 = round(rnd.uniform(10, 80), 1)
        t = round(rnd.uniform(22, 34), 1)
        rh = round(rnd.uniform(55, 95))
        ts = now_ms - rnd.randint(5_000, 600_000)
        lines.append(f"air,{tags} pm25={pm25},pm10={pm10},no2={no2},t={t},rh={rh} {ts}")
        vn = aqi_pm25(pm25, VN_BP)
        us = aqi_pm25(pm25, US_BP)
        _, level, cat, color = next(v for v in VN_LEVELS if vn <= v[0])
        us_cat = next(c for u, c in US_CATS if us <= u)
        lines.append(f"air_aqi,{tags} aqi_vn={vn}i,aqi_vn_level={level}i,"
                     f"aqi_vn_category={lp_str(cat)},aqi_vn_color={lp_str(color)},"
                     f"dominant=\"pm25\",aqi_us={us}i,aqi_us_category={lp_str(us_cat)},"
                     f"nowcast_pm25={pm25} {hour_ms}")
    return "\n".join(lines) + "\n"


def influx_write(st, body):
    url = (f"http://127.0.0.1:{st.influx_port}/write?" +
           urllib.parse.urlencode({"db": st.db, "precision": "ms"}))
    req = urllib.request.Request(url, data=body.encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status
    except urllib.error.HTTPError as e:
        raise SystemExit(f"InfluxDB /write: {e.code} {e.read()[:300]!r}")


def get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


NGINX_CONF = """\
{user}worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {d}/tmp/body;
  proxy_temp_path {d}/tmp/proxy;
  fastcgi_temp_path {d}/tmp/fastcgi;
  uwsgi_temp_path {d}/tmp/uwsgi;
  scgi_temp_path {d}/tmp/scgi;
  types {{ application/geo+json geojson; }}
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port};
    root {d}/www;
    add_header Cache-Control "public, max-age=30";
    add_header Access-Control-Allow-Origin "*";
    location /static/ {{ gzip_static on; }}
    location /dynamic/ {{
      gzip on;
      gzip_comp_level 6;
      gzip_min_length 0;
      gzip_types application/geo+json;
    }}
  }}
}}
"""


def start_nginx(st, plain, gz):
    d = os.path.join(st.dir, "nginx")
    for sub in ("tmp", "www/static", "www/dynamic"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    for path, data in (("www/static/air.geojson", plain), ("www/static/air.geojson.gz", gz),
                       ("www/dynamic/air.geojson", plain)):
        with open(os.path.join(d, path), "wb") as f:
            f.write(data)
    port = harness.free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(d=d, port=port,
                                  user="user root;\n" if os.geteuid() == 0 else ""))
    st.spawn("nginx", ["nginx", "-p", d, "-e", os.path.join(d, "error.log"), "-c", conf])
    st.wait_port(port, 20)
    return port


# -- wrk ----------------------------------------------------------------------------------------
UNITS_T = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
UNITS_B = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}


def parse_ms(s):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", s)
    return float(m.group(1)) * UNITS_T[m.group(2)] if m else float("nan")


def parse_wrk(out):
    r = {"rps": float("nan"), "p50": float("nan"), "p99": float("nan"), "bps": float("nan"),
         "requests": 0, "non2xx": 0, "errors": 0}
    if m := re.search(r"Requests/sec:\s+([\d.]+)", out):
        r["rps"] = float(m.group(1))
    if m := re.search(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB|TB)", out):
        r["bps"] = float(m.group(1)) * UNITS_B[m.group(2)]
    if m := re.search(r"^\s+50%\s+(\S+)", out, re.M):
        r["p50"] = parse_ms(m.group(1))
    if m := re.search(r"^\s+99%\s+(\S+)", out, re.M):
        r["p99"] = parse_ms(m.group(1))
    if m := re.search(r"(\d+) requests in", out):
        r["requests"] = int(m.group(1))
    if m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        r["non2xx"] = int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        r["errors"] = sum(int(x) for x in m.groups())
    return r


def cpu_ticks(pids):
    """utime + stime of the given processes, in clock ticks."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            pass
    return total


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rpartition(")")[2].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def wrk(args, url, gz, log, pids=()):
    argv = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
            "--latency", "--timeout", "10s"]
    if gz:
        argv += ["-H", "Accept-Encoding: gzip"]
    argv.append(url)
    c0, t0 = cpu_ticks(pids), time.monotonic()
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=args.duration + 60)
    cpu = (cpu_ticks(pids) - c0) / os.sysconf("SC_CLK_TCK") / (time.monotonic() - t0)
    out = r.stdout.decode(errors="replace")
    with open(log, "a") as f:
        f.write(f"$ {' '.join(shlex.quote(a) for a in argv)}\n{out}\n")
    res = parse_wrk(out)
    res["argv"] = argv
    res["cpu"] = cpu * 100
    return res


# -- main ---------------------------------------------------------------------------------------
def fmt_ms(v):
    if v != v:
        return "-"
    return f"{v:.2f} ms" if v < 10 else f"{v:.0f} ms"


def fmt_bps(v):
    return "-" if v != v else f"{v / 1024 ** 2:.1f} MiB/s"


def fmt_cpu_req(r):
    """CPU time per answered request (server CPU over the run / requests per second)."""
    if not r["rps"] or r["rps"] != r["rps"]:
        return "-"
    ms = r["cpu"] / 100 / r["rps"] * 1000
    return f"{ms * 1000:.0f} us" if ms < 1 else f"{ms:.2f} ms"


def fmt_ratio(a, b):
    if not (a == a and b == b) or b == 0:
        return "-"
    return f"{a / b:.0f}" if a / b >= 100 else f"{a / b:.3g}"


def table(rows, head):
    cells = [list(map(str, head))] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    out = []
    for k, r in enumerate(cells):
        out.append("| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(r)) + " |")
        if k == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print("\n".join(out))


def median_of(runs):
    keys = ("rps", "p50", "p99", "bps", "cpu")
    out = {k: statistics.median(r[k] for r in runs) for k in keys}
    out["non2xx"] = sum(r["non2xx"] for r in runs)
    out["errors"] = sum(r["errors"] for r in runs)
    out["requests"] = sum(r["requests"] for r in runs)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.environ.get("CT_BINARY_DIR", "build-bench"),
                    help="build folder holding collector/app/collector (default build-bench)")
    ap.add_argument("--stations", type=int, default=3000, help="air stations (default 3000)")
    ap.add_argument("--duration", type=int, default=15, help="seconds per wrk run (default 15)")
    ap.add_argument("--connections", type=int, default=64, help="wrk -c (default 64)")
    ap.add_argument("--threads", type=int, default=2, help="wrk -t (default 2)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="wrk runs per row, alternating servers, medians reported (default 1)")
    ap.add_argument("--no-dynamic", action="store_true",
                    help="skip the nginx gzip-per-request row")
    args = ap.parse_args()
    for tool in ("wrk", "nginx", "mosquitto", "influxd"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found (apt-get install -y wrk nginx-light)")
    build = os.path.abspath(args.build)
    if not os.access(os.path.join(build, "collector", "app", "collector"), os.X_OK):
        raise SystemExit(f"no collector in {build}/collector/app; build it or pass --build")

    t0 = time.time()
    print("## Public layers: /layers/air.geojson, collector against nginx\n")
    print(f"machine: {os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}, "
          f"{cpu_model()}), kernel {platform.release()}, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"load generator: {tool_version(['wrk', '-v'])}, -t{args.threads} "
          f"-c{args.connections} -d{args.duration}s --latency --timeout 10s, on the same "
          f"machine as the servers; {tool_version(['nginx', '-v'])}")
    print(f"command: {' '.join(shlex.quote(a) for a in [sys.executable] + sys.argv)}")
    sys.stdout.flush()

    st = harness.Stack("bench-layers", build, SRC)
    try:
        st.start_mosquitto()
        st.start_influxdb()
        stations = registry_lines(args.stations)
        st.write_registry(stations)
        st.write_master_key()
        st.start_collector(extra={
            "log": {"level": "warn"},
            "http": {"rate_per_client": 0, "max_connections": 4096},
            "map": {"dir": os.path.join(st.dir, "map")}})
        harness.wait_until(lambda: st.http_get("/healthz")[0] == 200, 30,
                           "the collector's /healthz")
        body = points(stations, int(time.time() * 1000))
        t = time.time()
        influx_write(st, body)
        write_s = time.time() - t
        n_points = 2 * len(stations)
        harness.wait_until(lambda: st.query('SELECT count("pm25") FROM "air"') and
                           st.query('SELECT count("pm25") FROM "air"')[0]["count"] ==
                           len(stations), 30, "the points in InfluxDB")

        curl = f"http://127.0.0.1:{st.http_port}/layers/air.geojson"
        t = time.time()
        status, hdr, plain = get(curl)
        first_s = time.time() - t
        if status != 200:
            raise SystemExit(f"collector: {status} for /layers/air.geojson")
        doc = json.loads(plain)
        nfeat = len(doc.get("features", []))
        with_aqi = sum(1 for f in doc["features"] if "aqi_vn" in f["properties"])
        t = time.time()
        status, hdr, plain2 = get(curl)
        cached_s = time.time() - t
        status, ghdr, gz = get(curl, {"Accept-Encoding": "gzip"})
        if status != 200 or ghdr.get("content-encoding") != "gzip":
            raise SystemExit(f"collector: no gzip answer ({status}, {ghdr})")
        if gzip.decompress(gz) != plain or plain2 != plain:
            raise SystemExit("collector: the plain and gzip bodies differ")
        print(f"layer: {nfeat} features ({with_aqi} with aqi_vn) of {len(stations)} stations, "
              f"{len(plain)} bytes plain, {len(gz)} bytes gzip "
              f"({len(gz) / len(plain):.1%}); {n_points} points written in {write_s:.2f} s; "
              f"first request {first_s * 1000:.0f} ms (store query and build), "
              f"second {cached_s * 1000:.1f} ms (cache)")

        nport = start_nginx(st, plain, gz)
        nstatic = f"http://127.0.0.1:{nport}/static/air.geojson"
        ndyn = f"http://127.0.0.1:{nport}/dynamic/air.geojson"
        s1, h1, b1 = get(nstatic)
        s2, h2, b2 = get(nstatic, {"Accept-Encoding": "gzip"})
        s3, h3, b3 = get(ndyn, {"Accept-Encoding": "gzip"})
        if (s1, s2, s3) != (200, 200, 200) or b1 != plain or b2 != gz or \
                h2.get("content-encoding") != "gzip" or h3.get("content-encoding") != "gzip" or \
                gzip.decompress(b3) != plain:
            raise SystemExit(f"nginx does not serve the same bytes ({s1} {s2} {s3})")
        print(f"nginx: /static/ = the same {len(plain)} bytes, gzip_static serves the "
              f"collector's {len(gz)}-byte gzip body; /dynamic/ = gzip on, level 6, "
              f"{len(b3)} bytes per response")
        sys.stdout.flush()

        wlog = os.path.join(st.dir, "wrk.log")
        npid = st.procs["nginx"][0].pid
        pids = {"collector": [st.procs["collector"][0].pid],
                "nginx": [npid] + children(npid)}
        pids["nginx-dyn"] = pids["nginx"]
        plan = [("plain", False, "nginx", nstatic), ("plain", False, "collector", curl),
                ("gzip", True, "nginx", nstatic), ("gzip", True, "collector", curl)]
        if not args.no_dynamic:
            plan.append(("gzip", True, "nginx-dyn", ndyn))
        res = {}
        for rep in range(args.repeat):
            order = list(plan)
            if rep % 2 == 1:  # collector first on odd runs
                order[0:2], order[2:4] = order[1::-1], order[3:1:-1]
            for enc, gzh, who, url in order:
                r = wrk(args, url, gzh, wlog, pids[who])
                res.setdefault((enc, who), []).append(r)
                print(f"  run {rep + 1}: {enc:5} {who:9} {r['rps']:9.1f} req/s  "
                      f"p50 {fmt_ms(r['p50'])}  p99 {fmt_ms(r['p99'])}  "
                      f"{fmt_bps(r['bps'])}  cpu {r['cpu']:.0f}%  "
                      f"non-2xx {r['non2xx']}  errors {r['errors']}")
                sys.stdout.flush()
        m = {k: median_of(v) for k, v in res.items()}
        print()
        rows = []
        for enc, base, label in (("plain", "nginx", "plain"),
                                 ("gzip", "nginx", "gzip (nginx gzip_static)"),
                                 ("gzip", "nginx-dyn", "gzip (nginx gzip on, level 6)")):
            if (enc, base) not in m:
                continue
            b, c = m[(enc, base)], m[(enc, "collector")]
            rows += [
                (label, "requests/s", f"{b['rps']:.0f}", f"{c['rps']:.0f}",
                 fmt_ratio(c["rps"], b["rps"])),
                ("", "latency p50", fmt_ms(b["p50"]), fmt_ms(c["p50"]),
                 fmt_ratio(c["p50"], b["p50"])),
                ("", "latency p99", fmt_ms(b["p99"]), fmt_ms(c["p99"]),
                 fmt_ratio(c["p99"], b["p99"])),
                ("", "transfer/s", fmt_bps(b["bps"]), fmt_bps(c["bps"]),
                 fmt_ratio(c["bps"], b["bps"])),
                ("", "server CPU (% of one core)", f"{b['cpu']:.0f}%", f"{c['cpu']:.0f}%",
                 fmt_ratio(c["cpu"], b["cpu"])),
                ("", "server CPU per request", fmt_cpu_req(b), fmt_cpu_req(c),
                 fmt_ratio(c["cpu"] / c["rps"], b["cpu"] / b["rps"])),
                ("", "non-2xx / socket errors", f"{b['non2xx']} / {b['errors']}",
                 f"{c['non2xx']} / {c['errors']}", ""),
            ]
        table(rows, ("Accept-Encoding", "measure", "nginx", "collector", "collector / nginx"))
        print(f"\n(medians of {args.repeat} run(s) of {args.duration} s each; "
              f"total {time.time() - t0:.0f} s)")
        print("wrk commands:")
        seen = set()
        for runs in res.values():
            a = " ".join(shlex.quote(x) for x in runs[0]["argv"])
            a = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", a)
            if a not in seen:
                seen.add(a)
                print(f"  {a}")
        return 0
    finally:
        st.close()


if __name__ == "__main__":
    sys.exit(main())
