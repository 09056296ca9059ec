#!/usr/bin/env python3
"""End-to-end: the staff console (collector/console) on the real collector, broker and store.

Accounts are made with `collector staff-user add` (password on stdin). Asserts over HTTP: the
console is served on the staff listener and never on the public one (404 there); a wrong
password, a missing CSRF token, a viewer approving, an expired session and a locked account are
refused with clear messages; the session cookie is HttpOnly and SameSite=Strict; every change
lands in the store's console_audit measurement with who, what and why, and decisions in
console_decision. Then the browser test (tests/e2e/map/console.test.mjs, headless Chromium)
signs in as each role, sees a station go silent and come back, sets it calibrating, marks a range
invalid and approves a day; its screenshots go to <build>/artifacts/console.

Also: the users file reloads on SIGHUP (an added account signs in, a changed role applies to the
running session, a broken file keeps the running accounts, a removed account's session ends);
"exceeding" alerts reach the MQTT alert topic (a subscriber sees the public station's, never the
private one's) and a restart raises no second alert for an exceedance that goes on; an audit
point made while the store is down, with a collector restart before the store comes back, lands
in the store (the console's points are journalled)."""
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Stack, device_key, sign, wait_until  # noqa: E402

# Usage: test_console.py BUILD_DIR [--browser]. Without --browser only the HTTP checks run (the
# ctest e2e_console); with it the Chromium test runs too (e2e_console_browser, release pass).
BROWSER = "--browser" in sys.argv[2:]
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
USERS = {"viewer": ["vien", "viewer-pass-1"], "operator": ["oanh", "operator-pass-2"],
         "approver": ["an", "approver-pass-3"]}
STEADY = "hn-air-0001"
FLAKY = "hn-air-0002"
PRIVATE = "hn-water-0002"  # "public": false: its alerts stay off MQTT
RAIN = "hn-rain-0001"
FLOOD = "hn-flood-0001"
passed = failed = 0


def check(cond, what):
    global passed, failed
    passed, failed = (passed + 1, failed) if cond else (passed, failed + 1)
    print(("ok - " if cond else "FAIL - ") + what, flush=True)


class Client:
    """A console client: keeps the session cookie and the CSRF token."""

    def __init__(self, port, keep=None):
        self.base = f"http://127.0.0.1:{port}/console/api/"
        self.cookie = None
        self.csrf = None
        self.set_cookie = None
        self.keep = keep  # a role: signs in again when the session has expired (idle 6 s here)

    def call(self, method, path, body=None, csrf=True):
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.cookie:
            headers["Cookie"] = self.cookie
        if csrf and self.csrf and method == "POST":
            headers["X-CSRF-Token"] = self.csrf
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, hdrs, raw = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, hdrs, raw = e.code, e.headers, e.read()
        sc = hdrs.get("Set-Cookie")
        if sc:
            self.set_cookie = sc
            self.cookie = sc.split(";")[0]
        try:
            doc = json.loads(raw) if raw else {}
        except ValueError:
            doc = {}
        if status == 401 and self.keep and path != "login" and "expired" in doc.get("error", ""):
            self.login(self.keep)
            return self.call(method, path, body, csrf)
        return status, doc

    def login(self, role_or_name, password=None):
        name, pw = USERS[role_or_name] if password is None else (role_or_name, password)
        status, doc = self.call("POST", "login", {"user": name, "password": pw})
        if status == 200:
            self.csrf = doc["csrf"]
        return status, doc


class Publisher:
    """Publishes a reading of every active station each second; the browser test's control
    server stops and starts the flaky one."""

    def __init__(self, st):
        self.st = st
        self.active = {STEADY, FLAKY, "hn-water-0001", PRIVATE, "hn-park-0001"}
        self.seq = {}
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            with self.lock:
                ids = sorted(self.active)
            for dev in ids:
                kind = dev.split("-")[1]
                m = {"air": {"pm25": 41.0, "pm10": 60.0, "no2": 20.0},
                     "water": {"ph": 7.1, "do": 6.5, "turb": 10.0, "ec": 400, "t": 26.0,
                               "nh4": 0.5},
                     "park": {"capacity": 60, "occupied": 12}}[kind]
                kind = "parking" if kind == "park" else kind
                n = self.seq[dev] = self.seq.get(dev, 0) + 1
                payload = json.dumps({"v": 1, "id": dev, "boot": 1, "seq": n,
                                      "ts": int(time.time() * 1000), "m": m})
                try:
                    self.st.publish(f"city/v1/{kind}/{dev}/up", payload, key_of=dev)
                except (subprocess.SubprocessError, OSError):
                    pass
            self.stop.wait(1.0)

    def set(self, dev, on):
        with self.lock:
            (self.active.add if on else self.active.discard)(dev)


def control_server(pub):
    class H(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            parts = self.path.strip("/").split("/")
            if len(parts) == 2 and parts[0] in ("stop", "start"):
                pub.set(parts[1], parts[0] == "start")
                self.send_response(200)
            else:
                self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def add_user(st, cfg, name, role, password):
    exe = os.path.join(BUILD, "collector", "app", "collector")
    r = subprocess.run([exe, "staff-user", "add", name, role, "-c", cfg], input=password.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return r.returncode, r.stderr.decode(errors="replace")


def sighup(st):
    st.procs["collector"][0].send_signal(signal.SIGHUP)


def edit_users(path, fn):
    lines = open(path).read().splitlines()
    with open(path + ".new", "w") as f:
        f.write("".join(x + "\n" for x in fn(lines)))
    os.chmod(path + ".new", 0o600)
    os.replace(path + ".new", path)


def check_users_reload(st, cfg, users_file):
    """Issue 15: accounts follow the users file at SIGHUP, without a restart."""
    rc, _ = add_user(st, cfg, "moi", "viewer", "new-pass-4")
    check(rc == 0, "staff-user add moi viewer while the collector runs")
    m = Client(st.staff_port)
    status, _ = m.login("moi", "new-pass-4")
    check(status == 401, f"the new account cannot sign in before the SIGHUP ({status})")
    sighup(st)
    wait_until(lambda: m.login("moi", "new-pass-4")[0] == 200, 30,
               "the new account signs in after the SIGHUP", interval=0.5)
    check(True, "an account added to the users file signs in after a SIGHUP")
    status, doc = m.call("POST", "station-state", {"id": FLAKY, "state": "measuring", "why": "x"})
    check(status == 403 and "viewer role" in doc.get("error", ""), "moi is a viewer")

    # The role changes in the file (same password): the running session gets it.
    edit_users(users_file, lambda ls: [x.replace("moi:viewer:", "moi:operator:") for x in ls])
    sighup(st)
    status, doc = wait_until(lambda: (lambda r: r if r[0] != 403 else None)(m.call(
        "POST", "station-state", {"id": FLAKY, "state": "measuring", "why": "role reloaded"})),
        30, "the changed role applies to the running session", interval=0.5)
    check(status == 200, f"a changed role applies to the next request ({status} {doc})")

    # A broken file: refused with the file, the line and the reason; the accounts stay.
    edit_users(users_file, lambda ls: ls + ["moi2:chief:nohash"])
    bad_line = len(open(users_file).read().splitlines())
    sighup(st)
    log = wait_until(lambda: (lambda t: t if "the running accounts stay" in t else None)(
        st.log("collector")), 30, "the refused reload in the log")
    line = next(x for x in log.splitlines() if "the running accounts stay" in x)
    check(users_file in line and f"line {bad_line}" in line and "expected name:role:hash" in line,
          f"the refusal names the file, the line and the reason ({line})")
    status, doc = m.call("GET", "me")
    check(status == 200 and doc.get("role") == "operator", "the running accounts stay")

    # Removed: the running session ends.
    edit_users(users_file, lambda ls: [x for x in ls if not x.startswith(("moi:", "moi2:"))])
    sighup(st)
    status, doc = wait_until(lambda: (lambda r: r if r[0] == 401 else None)(m.call("GET", "me")),
                             30, "the removed account's session ends", interval=0.5)
    check(doc.get("error") == "You are not signed in.",
          f"a removed account's session gets 401 ({doc})")


def alert_lines(st, dev):
    """The exceeding alerts of 'dev' the MQTT subscriber saw."""
    return [x for x in st.log("alertsub").splitlines()
            if '"type":"exceeding"' in x and f'"device":"{dev}"' in x]


def exceeding_in_store(st, dev):
    return st.query(f"SELECT * FROM alert WHERE \"type\" = 'exceeding' AND device = '{dev}'")


def audit_with(st, why):
    return [r for r in st.query("SELECT * FROM console_audit") if r.get("why") == why]


def publish_status(st, dev, seq, state):
    """The node's own signed status, retained (as a node's status and will are)."""
    topic = f"city/v1/air/{dev}/status"
    payload = json.dumps({"v": 1, "id": dev, "boot": 1, "seq": seq, "state": state}).encode()
    sig = sign(device_key(st.master, dev), topic, payload)
    subprocess.run(["mosquitto_pub", "-V", "5", "-h", "127.0.0.1", "-p", str(st.mqtt_port), "-q",
                    "1", "-r", "-t", topic, "-s", "-D", "publish", "user-property", "sig", sig],
                   input=payload, check=True, timeout=20)


def station_in(client, dev, state):
    """The station's row of the stations page when its state is 'state', else None."""
    s, d = client.call("GET", "stations")
    x = next((x for x in d.get("stations", []) if x["id"] == dev), None) if s == 200 else None
    return x if x and x["state"] == state else None


def check_staff_state_kept(st, cal, how):
    """After a restart: STEADY is still calibrating, with the same start, who and why."""
    op = Client(st.staff_port)
    op.login("operator")
    x = wait_until(lambda: station_in(op, STEADY, "calibrating"), 30,
                   f"the staff state after {how}")
    check(x["since"] == cal["since"] and x["staff_by"] == "oanh"
          and x["staff_why"] == "monthly calibration",
          f"calibrating survives {how} with its start, who and why (since {x['since']}, "
          f"before {cal['since']})")
    return op


def check_outage_restart(st, extra):
    """The store stops; a change is made; the collector restarts before the store is back:
    the audit point lands. The exceedance of hn-water-0001 goes on: no second alert. A station
    set calibrating during the outage stays so across a SIGTERM and a SIGKILL restart, with the
    time it began; cleared, it shows the node's own (retained, signed) offline status. A range
    marked invalid during the outage waits for its recompute in spool.dir/console-recompute; the
    restarted collector restores it and runs it once the store is back, and the ended job leaves
    the file."""
    n_store = len(exceeding_in_store(st, "hn-water-0001"))
    n_mqtt = len(alert_lines(st, "hn-water-0001"))
    op = Client(st.staff_port)
    status, _ = op.login("operator")
    publish_status(st, STEADY, 1, "offline")
    wait_until(lambda: station_in(op, STEADY, "offline"), 20, "the node's offline status shown")
    st.stop("influxd")
    status2, _ = op.call("POST", "station-state", {"id": FLAKY, "state": "measuring",
                                                   "why": "noted during the store outage"})
    check(status == 200 and status2 == 200, "sign-in and a change while the store is down")
    status3, _ = op.call("POST", "station-state", {"id": STEADY, "state": "calibrating",
                                                   "why": "monthly calibration"})
    cal = wait_until(lambda: station_in(op, STEADY, "calibrating"), 10, "calibrating shown")
    check(status3 == 200 and cal["since"] > 0,
          "staff set a station calibrating while the store is down; it wins over the node's "
          "offline status")
    # A range three days back (no readings there: the recompute writes nothing) marked invalid
    # while the store is down: its recompute cannot run before the restart.
    rc_path = os.path.join(st.dir, "collector-spool", "console-recompute")
    rc_from = (int(time.time() * 1000) // 3600000 - 72) * 3600000 + 600000
    status4, _ = op.call("POST", "invalid", {"id": FLAKY, "param": "pm25", "from": rc_from,
                                             "to": rc_from + 60000, "reason": "fault",
                                             "why": "sensor swap, kept across a restart"})
    rc_line = f"{FLAKY} pm25 {rc_from} {rc_from + 60000} "
    wait_until(lambda: os.path.exists(rc_path) and rc_line in open(rc_path).read(), 10,
               "the waiting recompute job in spool.dir/console-recompute")
    check(status4 == 200, "a range marked invalid during the outage waits in "
          "spool.dir/console-recompute")
    ran = f"recompute: {FLAKY} pm25 hours "
    n_ran = st.log("collector").count(ran)
    n_restored = st.log("collector").count("1 waiting recompute job(s) restored from")
    st.stop("collector")
    st.start_collector(extra=extra)
    check_staff_state_kept(st, cal, "a restart (SIGTERM) during the store outage")
    check(st.log("collector").count("1 waiting recompute job(s) restored from") == n_restored + 1
          and rc_line in open(rc_path).read(),
          "the restarted collector restores the waiting recompute job from console-recompute")
    st.start_influxdb(port=st.influx_port)
    # Every field of the point, not just the first one seen: InfluxDB files each field of a point
    # on its own, so a query racing the write can see "why" before "target".
    rows = wait_until(lambda: (lambda r: r if r and all(x.get("target") for x in r) else None)(
        audit_with(st, "noted during the store outage")), 60,
        "the audit point made during the outage, with all its fields")
    check(len(rows) == 1 and rows[0]["user"] == "oanh" and rows[0]["target"] == FLAKY,
          f"an audit point made while the store was down survives a restart ({rows})")
    wait_until(lambda: st.log("collector").count(ran) > n_ran, 90,
               "the restored recompute job run once the store is back")
    wait_until(lambda: rc_line not in open(rc_path).read(), 10,
               "the ended recompute job gone from console-recompute")
    check(n_ran == 0, "the recompute job ran only after the restart, from the kept file")

    op = Client(st.staff_port)
    op.login("operator")

    def water_nh4():
        s, d = op.call("GET", "stations")
        x = next((x for x in d.get("stations", []) if x["id"] == "hn-water-0001"), None)
        p = next((p for p in x["params"] if p["param"] == "nh4"), None) if x else None
        return p if p and p["level"] == "exceeding" else None
    wait_until(water_nh4, 30, "NH4 of hn-water-0001 exceeding again after the restart")
    op.call("POST", "station-state", {"id": FLAKY, "state": "measuring", "why": "after restart"})
    wait_until(lambda: audit_with(st, "after restart"), 30, "a later audit point")
    check(len(exceeding_in_store(st, "hn-water-0001")) == n_store
          and len(alert_lines(st, "hn-water-0001")) == n_mqtt,
          f"no second exceeding alert after the restart (store {n_store}, MQTT {n_mqtt}: "
          f"{exceeding_in_store(st, 'hn-water-0001')})")
    check(os.path.exists(os.path.join(st.dir, "collector-spool", "console-alerts")),
          "the ongoing alerts are kept in spool.dir/console-alerts")

    st.stop("collector", sig=signal.SIGKILL)
    st.start_collector(extra=extra)
    op = check_staff_state_kept(st, cal, "a crash (SIGKILL)")
    status, _ = op.call("POST", "station-state", {"id": STEADY, "state": "measuring",
                                                  "why": "calibrated"})
    x = wait_until(lambda: station_in(op, STEADY, "offline"), 20, "the node's status again")
    check(status == 200 and x["since"] > cal["since"],
          f"cleared after the restarts, the station shows the node's own offline status "
          f"(since {x['since']})")
    kept = open(os.path.join(st.dir, "collector-spool", "console-states")).read()
    check(STEADY not in kept, f"spool.dir/console-states no longer holds it ({kept!r})")
    publish_status(st, STEADY, 2, "online")
    wait_until(lambda: station_in(op, STEADY, "measuring"), 20, "measuring once the node is online")


def check_completeness(st, pub):
    """The completeness CSV of the steady station against the store's own counts, hour by hour
    (after the publisher stops, so that both see the same points)."""
    pub.stop.set()
    pub.thread.join(10)
    day_start = (int(time.time()) + 7 * 3600) // 86400 * 86400 - 7 * 3600
    day = time.strftime("%Y-%m-%d", time.gmtime(day_start + 7 * 3600))
    where = (f"device='{STEADY}' AND time >= {day_start}s AND time < {day_start + 86400}s")

    def store_counts():
        acc = {r["time"]: r["count"] for r in st.query(
            f"SELECT count(pm25) FROM air WHERE {where} GROUP BY time(1h) fill(none)")}
        rej = {r["time"]: r["sum"] for r in st.query(
            f"SELECT sum(\"count\") FROM rejected WHERE {where} GROUP BY time(1h) fill(none)")}
        return acc, rej
    last = [None]

    def stable():
        now = store_counts()
        ok = now == last[0] and sum(now[1].values()) >= 1
        last[0] = now
        return now if ok else None
    acc, rej = wait_until(stable, 40, "the store's counts settle (the rejection flushed)",
                          interval=2.0)
    c = Client(st.staff_port)
    c.login("viewer")
    req = urllib.request.Request(
        f"{c.base}completeness?id={STEADY}&day={day}&format=csv", headers={"Cookie": c.cookie})
    with urllib.request.urlopen(req, timeout=30) as r:
        csv = r.read().decode()
        disp = r.headers.get("Content-Disposition", "")
    check(f"completeness-{STEADY}-{day}.csv" in disp, f"the CSV is a download ({disp})")
    lines = csv.strip().split("\r\n")
    check(len(lines) == 26, f"a header, 24 hours and the day ({len(lines)} lines)")
    bad = []
    for h in range(24):
        f = lines[1 + h].split(",")
        t = (day_start + h * 3600) * 1000
        a, rj = acc.get(t, 0), rej.get(t, 0)
        if f[2] != "1800" or int(f[4]) != a or int(f[3]) != a + rj:
            bad.append((h, f, a, rj))
    check(not bad, f"every hour's expected (1800 at 2 s), received and accepted match the store "
          f"({bad[:3]})")
    tot = lines[25].split(",")
    check(int(tot[4]) == sum(acc.values()) and int(tot[3]) == sum(acc.values())
          + sum(rej.values()) and tot[2] == str(1800 * 24),
          f"the day's totals match ({tot}, accepted {sum(acc.values())}, "
          f"rejected {sum(rej.values())})")
    req = urllib.request.Request(
        f"{c.base}completeness?id={STEADY}&month={day[:7]}&format=csv",
        headers={"Cookie": c.cookie})
    with urllib.request.urlopen(req, timeout=30) as r:
        month = r.read().decode().strip().split("\r\n")
    row = next((x.split(",") for x in month if x.startswith(f"{STEADY},{day},")), None)
    check(row is not None and row[2] == str(1800 * 24) and int(row[4]) == sum(acc.values())
          and int(row[3]) == sum(acc.values()) + sum(rej.values()),
          f"the monthly report's row of today matches ({row})")
    check_export(st, day, where)


def decision(client, why):
    """The row of the console's decisions list (GET decisions) whose note is 'why', or None."""
    s, d = client.call("GET", "decisions")
    rows = [dict(zip(x["columns"], v)) for r in d.get("results", []) for x in r.get("series", [])
            for v in x["values"]] if s == 200 else []
    return next((r for r in rows if r.get("why") == why), None)


def stored_decision(st, action, t):
    """STEADY's console_decision point of 'action' at time t (ms) in the store, or None."""
    rows = st.query(f"SELECT * FROM console_decision WHERE station='{STEADY}' AND "
                    f"\"action\"='{action}' AND time = {t}ms")
    return rows[0] if rows else None


def check_revoke_approval(st, op, ap, url):
    """Issue 15: an approval withdrawn (POST revoke; approvers only, with a note): the refusals
    with their messages, the decision's row in the store keeps who and why and gains the
    withdrawal, an audit point, and the approved-data export is refused again (409)."""
    appr = wait_until(lambda: decision(ap, "day reviewed"), 20, "the approval in the list")
    name = {"id": STEADY, "action": "approve", "time": appr["time"]}
    status, doc = op.call("POST", "revoke", dict(name, why="wrong day"))
    check(status == 403 and doc.get("error") == "Refused: withdrawing an approval needs the "
          "approver role; oanh has the operator role.", f"an operator cannot withdraw an "
          f"approval ({status} {doc})")
    status, doc = ap.call("POST", "revoke", name)
    check(status == 400 and doc.get("error") == 'Say why ("why", 1 to 500 bytes).',
          f"a withdrawal needs a note ({status} {doc})")
    status, doc = ap.call("POST", "revoke", dict(name, time=appr["time"] + 1, why="x"))
    check(status == 404 and doc.get("error") == f"No such decision: no approve decision of "
          f"{STEADY} at time {appr['time'] + 1} (ms) in the store.",
          f"an unknown decision: 404 ({status} {doc})")
    status, doc = ap.call("POST", "revoke", dict(name, why="approved the wrong day"))
    check(status == 200, f"the approver withdraws the approval ({status} {doc})")
    row = wait_until(lambda: (lambda r: r if r and r.get("revoked") is True else None)(
        stored_decision(st, "approve", appr["time"])), 20, "the withdrawn approval in the store")
    check(row["by"] == "an" and row["why"] == "day reviewed" and row["revoked_by"] == "an"
          and row["revoked_why"] == "approved the wrong day" and row["revoked_at"] > row["time"],
          f"the approval's row keeps who and why and gains the withdrawal ({row})")
    status, doc = ap.call("POST", "revoke", dict(name, why="again"))
    check(status == 409 and doc.get("error") == "This decision was already withdrawn by an: "
          "approved the wrong day", f"withdrawn twice: 409 ({status} {doc})")
    status, doc = ap.call("GET", url)
    check(status == 409 and "not approved" in doc.get("error", ""),
          f"the export of a day whose approval was withdrawn is refused again ({status} {doc})")
    audit = wait_until(lambda: [r for r in st.query(
        "SELECT * FROM console_audit WHERE \"action\"='revoke'")
        if r["why"] == "approved the wrong day"], 20, "the withdrawal's audit point")
    check(audit[0]["user"] == "an" and audit[0]["target"] == STEADY
          and f"decision={appr['time']} action=approve" in audit[0]["detail"],
          f"audit: who withdrew which decision and why ({audit[0]})")


def check_export(st, day, where):
    """Approved-data CSV: refused before the approval; afterwards the raw values without the
    range an operator marked invalid (that parameter only)."""
    times = [r["time"] for r in st.query(f"SELECT pm25 FROM air WHERE {where}")]
    op, ap = Client(st.staff_port), Client(st.staff_port)
    op.login("operator")
    ap.login("approver")
    url = f"export?id={STEADY}&day={day}"
    status, doc = ap.call("GET", url)
    check(status == 409 and "not approved" in doc.get("error", ""),
          f"no export before the day is approved ({doc})")
    lo, hi = times[2], times[4]
    status, _ = op.call("POST", "invalid", {"id": STEADY, "param": "pm25", "from": lo, "to": hi,
                                            "reason": "outlier", "why": "spike from a truck"})
    check(status == 200, "the operator marks three PM2.5 readings invalid")
    status, _ = ap.call("POST", "approve", {"id": STEADY, "day": day, "why": "day reviewed"})
    check(status == 200, "the approver approves the day")

    def export():
        req = urllib.request.Request(ap.base + url, headers={"Cookie": ap.cookie})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.read().decode()
        except urllib.error.HTTPError:
            return None
    csv = wait_until(export, 20, "the approved export")
    rows = [line.split(",") for line in csv.strip().split("\r\n")[1:]]
    pm25 = sorted(int(r[1]) for r in rows if r[2] == "pm25")
    pm10 = sorted(int(r[1]) for r in rows if r[2] == "pm10")
    check(pm25 == [t for t in times if not lo <= t <= hi],
          f"PM2.5 without the invalid range ({len(pm25)} of {len(times)})")
    check(pm10 == times, "PM10 of the same readings is kept")
    check_revoke_approval(st, op, ap, url)
    check_aqi(st, day, op)
    check_events(st)


def check_aqi(st, day, op):
    """Three PM2.5 spikes in a past hour raise the station's hourly VN_AQI (derive's air_aqi);
    marked invalid, the console recomputes the hour from the validated data: the store holds the
    hour's air_aqi again, same series and time, with validated=true and the value the console's
    raw-and-validated page gives (82: NowCast of 41, 41, 41), the hour's air_agg_1h without
    the spikes, and the hour's windows of aggregate.window_s (air_agg_10s): summed over all their
    series (a late part and another collector instance's, written into the store here) each
    counts the valid values only; the public layer
    shows the recomputed index with "validated": true (and, with --browser, the map's popup says
    so)."""
    hour_ms = 3600000
    cur = int(time.time() * 1000) // hour_ms * hour_ms
    a, b, c = cur - 4 * hour_ms, cur - 3 * hour_ms, cur - 2 * hour_ms  # hours no one else fills
    spikes = [c + 1200000, c + 1201000, c + 1202000]
    seq = [0]

    def publish(ts, v):
        seq[0] += 1
        st.publish(f"city/v1/air/{STEADY}/up", json.dumps(
            {"v": 1, "id": STEADY, "boot": 2, "seq": seq[0], "ts": ts, "m": {"pm25": v}}),
            key_of=STEADY)

    def agg(start):
        rows = st.query(f"SELECT * FROM air_agg_1h WHERE device='{STEADY}' AND "
                        f"collector='c1' AND part='' AND time = {start}ms")
        return rows[0] if rows else None

    def aqi_point():
        rows = st.query(f"SELECT * FROM air_aqi WHERE device='{STEADY}' AND time = {c + hour_ms}ms")
        return rows[0] if rows else None

    def windows(meas="air_agg_10s"):
        """The hour's windows (window_s 10, or the hour): time -> [PM2.5 count summed over all
        series (as readers merge parts and collectors), the rows' validated fields]."""
        out = {}
        for r in st.query(f"SELECT pm25_count, validated FROM {meas} WHERE "
                          f"device='{STEADY}' AND time >= {c}ms AND time < {c + hour_ms}ms "
                          "GROUP BY *"):
            w = out.setdefault(r["time"], [0, []])
            w[0] += r.get("pm25_count") or 0
            w[1].append(r.get("validated"))
        return out
    # The NowCast's earlier hours first, so that derive has them when the spiky hour closes.
    publish(a + 600000, 41.0)
    publish(b + 600000, 41.0)
    wait_until(lambda: agg(a) and agg(b), 30, "the hourly aggregates of the two hours before")
    publish(c + 600000, 41.0)
    for t in spikes:
        publish(t, 400.0)
    raw = wait_until(lambda: (lambda p: p if p and p.get("aqi_vn", 0) > 100 else None)(
        aqi_point()), 40, "derive's hourly VN_AQI over the spikes")
    check(raw.get("validated") is None, f"derive's own hourly point has no validated field ({raw})")
    wins = wait_until(lambda: (lambda w: w if w.get(spikes[0], [0])[0] == 3 else None)(
        windows()), 30, "derive's 10-s window counting the three spikes")
    check(wins.get(c + 600000, [0])[0] == 1 and len(wins) == 2,
          f"derive's 10-s windows of the hour: the 41 and the spikes ({wins})")
    # A late part of the spikes' window and of the hour, and another collector instance's
    # series of both, each with one more spike (as a late reading or a second collector
    # receiving part of the station's readings would have written them).
    spike = "pm25_min=400,pm25_max=400,pm25_sum=400,pm25_count=1i,interval_s=2i"
    lines = [f"{m},collector={col},device={STEADY},district=Hoàn\\ Kiếm,{part}ward=Hàng\\ Bông "
             f"{spike} {t}"
             for m, t in (("air_agg_10s", spikes[0]), ("air_agg_1h", c))
             for col, part in (("c1", "part=1,"), ("c2", ""))]
    store_write(st, "\n".join(lines))
    check(windows()[spikes[0]][0] == 5 and windows("air_agg_1h")[c][0] == 6,
          "a late part and another instance's series in the store, counted by readers")
    cday = time.strftime("%Y-%m-%d", time.gmtime(c / 1000 + 7 * 3600))
    chour = (c // 1000 + 7 * 3600) % 86400 // 3600

    def page():
        s, d = op.call("GET", f"aqi?id={STEADY}&day={cday}")
        return d["hours"][chour] if s == 200 else None
    before = page()
    check(before is not None and before["aqi_raw"] == raw["aqi_vn"],
          f"the console's raw hourly VN_AQI is derive's ({before}, {raw['aqi_vn']})")
    status, _ = op.call("POST", "invalid", {"id": STEADY, "param": "pm25", "from": spikes[0],
                                            "to": spikes[-1], "reason": "outlier",
                                            "why": "three spikes"})
    check(status == 200, "the operator marks the spikes invalid")
    after = wait_until(lambda: (lambda h: h if h and h["aqi_validated"] is not None
                                and h["aqi_validated"] < h["aqi_raw"] else None)(page()), 20,
                       "the validated VN_AQI without the spikes")
    check(after["aqi_raw"] == before["aqi_raw"] and after["aqi_validated"] == 82,
          f"the console's hourly VN_AQI from validated data drops ({before} -> {after})")
    point = wait_until(lambda: (lambda p: p if p and p.get("validated") is True else None)(
        aqi_point()), 60, "the recomputed air_aqi in the store")
    check(point["aqi_vn"] == after["aqi_validated"] == 82 and point["dominant"] == "pm25"
          and point["aqi_vn_level"] == 2 and point["aqi_vn_category"] == "Trung bình"
          and point["nowcast_pm25"] == 41,
          f"the store's hourly air_aqi is recomputed from the validated data ({point})")
    ag = agg(c)
    check(ag is not None and ag.get("validated") is True and ag["pm25_count"] == 1
          and ag["pm25_max"] == 41 and ag["pm25_sum"] == 41 and ag["collector"] == "c1",
          f"the hour's air_agg_1h is recomputed without the spikes ({ag})")
    # The windows of aggregate.window_s, written with the same run, and the hour: summed over
    # every series of a window (this instance's, its late part, the other instance's), PM2.5
    # counts the valid values only (1 and 0; the hour 1), every series marked validated.
    wins = wait_until(lambda: (lambda w: w if w.get(spikes[0], [None])[0] == 0 else None)(
        windows()), 30, "the 10-s window of the spikes recomputed")
    check({t: v[0] for t, v in wins.items()} == {c + 600000: 1, spikes[0]: 0}
          and len(wins[spikes[0]][1]) == 3
          and all(x is True for v in wins.values() for x in v[1]),
          f"the hour's air_agg_10s windows count the valid PM2.5 values only ({wins})")
    hour = windows("air_agg_1h")
    check(hour.get(c, [None])[0] == 1 and len(hour[c][1]) == 3
          and all(x is True for x in hour[c][1]),
          f"the hour's air_agg_1h counts the valid PM2.5 value only over its series ({hour})")
    keys = {r["fieldKey"]: r["fieldType"] for r in st.query("SHOW FIELD KEYS FROM air_aqi")}
    from test_schema_doc import doc_table  # the schema table of docs/protocol.md
    doc = next(f for pat, (_, f) in doc_table().items() if pat == "^air_aqi$")
    check(keys.get("validated") == "boolean" and doc.get("validated") == "boolean",
          f"air_aqi's validated field is a boolean, as docs/protocol.md says ({keys})")

    # The public map: the newest index reads the invalid hour (NowCast); it is shown from the
    # recomputed point and says so.
    def public_props():
        s, _, body = st.http_get("/layers/air.geojson")
        f = next((f for f in json.loads(body)["features"] if f.get("id") == STEADY),
                 None) if s == 200 else None
        p = f["properties"] if f else {}
        return p if p.get("validated") is True else None
    p = wait_until(public_props, 60, "the public layer showing the recomputed VN_AQI")
    check(p.get("aqi_vn") == 82 and "aqi_vn" not in p.get("withheld", []),
          f"the public map shows the VN_AQI recomputed from validated data ({p})")
    s, _, body = st.http_get("/layers/air.history.json")
    hist = dict((int(t), v) for t, v in json.loads(body)["series"].get(STEADY, [])) \
        if s == 200 else {}
    check(hist.get(c + hour_ms) == 82,
          f"the 24-hour history shows the recomputed hour ({hist.get(c + hour_ms)})")
    if BROWSER:
        check_map_popup(st)
    check_revoke_invalid(st, op, c, raw, agg, aqi_point)


def check_revoke_invalid(st, op, c, raw, agg, aqi_point):
    """Issue 15: a range marked invalid withdrawn (POST revoke, with a note). A range over the
    newest reading: the public layer withholds its PM2.5, and shows it again once the range is
    withdrawn. The spikes' range of check_aqi withdrawn: the decision's row in the store gains
    revoked=true with who and why (and keeps the mark's), an audit point, and the recompute
    writes the spiky hour back from the data now valid: derive's VN_AQI with validated=true,
    the hourly aggregate with the four PM2.5 values, the history's hour again."""
    hour_ms = 3600000
    op = Client(st.staff_port, keep="operator")  # the waits below outlast the 6-s idle limit
    op.login("operator")

    def feature():
        s, _, body = st.http_get("/layers/air.geojson")
        f = next((f for f in json.loads(body)["features"] if f.get("id") == STEADY),
                 None) if s == 200 else None
        return f["properties"] if f else None
    # From the newest stored reading (the publisher may lag on a busy machine) to 10 min ahead.
    newest = st.query(f"SELECT last(pm25) FROM air WHERE device='{STEADY}'")[0]["time"]
    now = int(time.time() * 1000)
    status, _ = op.call("POST", "invalid", {"id": STEADY, "param": "pm25", "from": newest - 1000,
                                            "to": now + 600000, "reason": "fault",
                                            "why": "sensor swap, marked by mistake"})
    check(status == 200, "the operator marks the newest PM2.5 readings invalid")
    p = wait_until(lambda: (lambda p: p if p and "pm25" in p.get("withheld", []) else None)(
        feature()), 30, "the public layer withholding PM2.5")
    check("pm25" not in p, f"the public layer withholds the newest PM2.5 ({p})")
    mark = wait_until(lambda: decision(op, "sensor swap, marked by mistake"), 20, "the mark")
    name = {"id": STEADY, "action": "invalid", "param": "pm25", "time": mark["time"]}
    status, doc = op.call("POST", "revoke", dict(name, why=""))
    check(status == 400 and "Say why" in doc.get("error", ""), f"no note: 400 ({doc})")
    status, doc = op.call("POST", "revoke", dict(name, param="pm10", why="x"))
    check(status == 404 and "No such decision" in doc.get("error", ""),
          f"the wrong parameter names no decision: 404 ({doc})")
    status, doc = op.call("POST", "revoke", dict(name, why="marked the wrong station"))
    check(status == 200, f"the operator withdraws the mark ({status} {doc})")
    p = wait_until(lambda: (lambda p: p if p and "pm25" not in p.get("withheld", [])
                            and p.get("pm25") is not None else None)(feature()), 30,
                   "the public layer showing PM2.5 again")
    check(p["pm25"] == 41, f"the withdrawn range withholds nothing: PM2.5 shown again ({p})")
    check(decision(op, "sensor swap, marked by mistake").get("revoked") is True,
          "the decisions list shows the mark withdrawn")

    # The spikes' range: withdrawn, the recompute writes the hour back from every value.
    spikes = wait_until(lambda: decision(op, "three spikes"), 20, "the spikes' decision")
    status, doc = op.call("POST", "revoke", {"id": STEADY, "action": "invalid", "param": "pm25",
                                             "time": spikes["time"],
                                             "why": "the spikes were a real smoke event"})
    check(status == 200, f"the operator withdraws the spikes' mark ({status} {doc})")
    row = wait_until(lambda: (lambda r: r if r and r.get("revoked") is True else None)(
        stored_decision(st, "invalid", spikes["time"])), 20, "the withdrawn mark in the store")
    check(row["by"] == "oanh" and row["why"] == "three spikes" and row["reason"] == "outlier"
          and row["revoked_by"] == "oanh"
          and row["revoked_why"] == "the spikes were a real smoke event"
          and row["from"] == spikes["from"] and row["to"] == spikes["to"],
          f"the mark's row keeps who, why and the range and gains the withdrawal ({row})")
    audit = wait_until(lambda: [r for r in st.query(
        "SELECT * FROM console_audit WHERE \"action\"='revoke'")
        if r["why"] == "the spikes were a real smoke event"], 20, "the withdrawal's audit point")
    check(audit[0]["user"] == "oanh" and audit[0]["role"] == "operator"
          and f"decision={spikes['time']} action=invalid param=pm25 reason=outlier"
          in audit[0]["detail"], f"audit: the withdrawal ({audit[0]})")
    point = wait_until(lambda: (lambda p: p if p and p.get("aqi_vn") == raw["aqi_vn"] else None)(
        aqi_point()), 90, "the hour's air_aqi recomputed back")
    check(point.get("validated") is True,
          f"the store's hourly air_aqi is derive's again, from the data now valid ({point})")
    ag = agg(c)
    check(ag is not None and ag["pm25_count"] == 4 and ag["pm25_max"] == 400,
          f"the hour's air_agg_1h counts the spikes again ({ag})")
    s, _, body = st.http_get("/layers/air.history.json")
    hist = dict((int(t), v) for t, v in json.loads(body)["series"].get(STEADY, [])) \
        if s == 200 else {}
    check(hist.get(c + hour_ms) == raw["aqi_vn"],
          f"the 24-hour history shows the hour's index again ({hist.get(c + hour_ms)})")
    p = wait_until(lambda: (lambda p: p if p and p.get("aqi_vn") is not None else None)(
        feature()), 30, "the public layer's index")
    check("pm25" not in p.get("withheld", []) and "aqi_vn" not in p.get("withheld", []),
          f"the public layer withholds nothing of the station any more ({p})")


def store_write(st, lp):
    """Writes line protocol (ms) straight into the store."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{st.influx_port}/write?db={st.db}&precision=ms", data=lp.encode(),
        method="POST")
    urllib.request.urlopen(req, timeout=10).close()


def check_events(st):
    """A rain gauge's burst of tips and a flood sensor's spike in a past hour, published through
    the broker, then marked invalid through the console: the console recomputes the rain sums
    from the valid readings (the store's rain_1h at the same time, validated=true, without the
    burst) and marks the spike's flood_level validated=false; the public layers withhold the
    sums until the recompute lands and then show them with "validated": true, and withhold the
    flood depth and band; the alerts view keeps the flood alert the spike raised and marks it
    raised over data later marked invalid (console_recompute_events.c, col_console_alerts_mark)."""
    hour_ms, min_ms = 3600000, 60000
    h = int(time.time() * 1000) // hour_ms * hour_ms - 2 * hour_ms  # a closed hour
    seq = [0]

    def publish(kind, dev, ts, m):
        seq[0] += 1
        st.publish(f"city/v1/{kind}/{dev}/up", json.dumps(
            {"v": 1, "id": dev, "boot": 1, "seq": seq[0], "ts": ts, "m": m}), key_of=dev)

    def point(meas, dev, ts):
        rows = st.query(f"SELECT * FROM {meas} WHERE device='{dev}' AND time = {ts}ms")
        return rows[0] if rows else None

    def feature(layer, dev):
        s, _, body = st.http_get(f"/layers/{layer}.geojson")
        f = next((f for f in json.loads(body)["features"] if f.get("id") == dev),
                 None) if s == 200 else None
        return f["properties"] if f else None

    # Rain: one tip every 5 minutes (0.2 mm) and, at +20 min, a burst of 500 tips (a fault).
    rain = [(h + 10 * min_ms, 10, 0.0), (h + 15 * min_ms, 11, 0.2), (h + 20 * min_ms, 511, 100.0),
            (h + 25 * min_ms, 512, 0.2), (h + 30 * min_ms, 513, 0.2)]
    for ts, tips, mm in rain:
        publish("rain", RAIN, ts, {"tips": tips, "mm": mm})
    # Flood: 5 cm, then 80 cm from +12 min for 4 minutes (a confirmed band: a flood alert).
    flood = [(h + 10 * min_ms, 5.0), (h + 11 * min_ms, 5.0)] + \
        [(h + (12 + k) * min_ms, 80.0 + k) for k in range(5)]
    for ts, depth in flood:
        publish("flood", FLOOD, ts, {"depth": depth})
    last_rain, last_flood = rain[-1][0], flood[-1][0]
    raw = wait_until(lambda: point("rain_1h", RAIN, last_rain), 30, "derive's rain_1h")
    check(abs(raw["mm"] - 100.6) < 1e-6 and raw["intense"] is True and raw.get("validated") is None,
          f"derive's 1-h rain holds the burst ({raw})")
    wait_until(lambda: point("flood_level", FLOOD, last_flood), 30, "derive's flood_level")

    def signed_in():
        # A fresh session for each step: console.session_idle_ms is 6 s here.
        c = Client(st.staff_port)
        c.login("operator")
        return c

    def flood_alert():
        s, d = signed_in().call("GET", "alerts?type=flood")
        rows = [dict(zip(x["columns"], v)) for r in d.get("results", [])[:1]
                for x in r.get("series", []) for v in x["values"]] if s == 200 else []
        return next((r for r in rows if r.get("device") == FLOOD), None)
    alert = wait_until(flood_alert, 30, "the flood alert of the spike")
    check(alert.get("over_invalid") is False and alert["level"] >= 4,
          f"the flood alert, not yet over invalid data ({alert})")

    for dev, param, lo, hi in ((RAIN, "tips", rain[2][0], rain[2][0]),
                               (FLOOD, "depth", flood[2][0], last_flood)):
        status, _ = signed_in().call("POST", "invalid", {
            "id": dev, "param": param, "from": lo, "to": hi, "reason": "fault",
            "why": "sensor fault"})
        check(status == 200, f"the operator marks {dev}'s {param} invalid")
    # Until the recompute lands, the public layers withhold the sums over the burst.
    p = wait_until(lambda: (lambda p: p if p and "mm_1h" in p.get("withheld", []) else None)(
        feature("rain", RAIN)), 20, "the rain layer withholding the sums")
    check("mm_1h" not in p and "mm_24h" in p.get("withheld", []),
          f"the rain layer withholds the sums whose window meets the range ({p})")
    rc = wait_until(lambda: (lambda p: p if p and p.get("validated") is True else None)(
        point("rain_1h", RAIN, last_rain)), 90, "the recomputed rain_1h")
    check(abs(rc["mm"] - 0.6) < 1e-6 and rc["intense"] is False,
          f"the store's rain_1h is recomputed without the burst ({rc})")
    check(rc.get("mm_24h") is not None and abs(rc["mm_24h"] - 0.6) < 1e-6,
          f"and so is its 24-hour sum ({rc})")
    fl = wait_until(lambda: (lambda p: p if p and p.get("validated") is False else None)(
        point("flood_level", FLOOD, last_flood)), 60, "the spike's flood_level marked")
    check(fl["depth_cm"] == 84, f"the spike's flood_level is kept, marked validated=false ({fl})")
    p = wait_until(lambda: (lambda p: p if p and p.get("validated") is True else None)(
        feature("rain", RAIN)), 30, "the rain layer showing the recomputed sums")
    check(abs(p.get("mm_1h", -1) - 0.6) < 1e-6 and abs(p.get("mm_24h", -1) - 0.6) < 1e-6
          and not p.get("withheld"), f"the rain layer shows the recomputed sums ({p})")
    # The live sums: the recompute took the burst out of this instance's live 24-h ring
    # (col_derive_rain_adjust), so derive's point of the next reading counts the valid rain only
    # and carries validated=true, and the layer shows its 24-h sum instead of withholding it.
    now_ms = int(time.time() * 1000)
    publish("rain", RAIN, now_ms, {"tips": 514, "mm": 0.2})

    def newest_rain():
        rows = st.query(f"SELECT * FROM rain_1h WHERE device='{RAIN}' ORDER BY time DESC LIMIT 1")
        return rows[0] if rows and rows[0]["time"] == now_ms else None
    live = wait_until(newest_rain, 30, "derive's rain_1h of the next live reading")
    check(live.get("validated") is True and abs(live["mm_24h"] - 0.8) < 1e-6
          and abs(live["mm"] - 0.2) < 1e-6 and live["intense"] is False,
          f"derive's live rain_1h counts the valid rain only, validated=true ({live})")
    p = wait_until(lambda: (lambda p: p if p and abs(p.get("mm_1h", -1) - 0.2) < 1e-6 else None)(
        feature("rain", RAIN)), 30, "the rain layer showing the live sums")
    check(p.get("validated") is True and abs(p.get("mm_24h", -1) - 0.8) < 1e-6
          and not p.get("withheld"), f"the rain layer shows the live 24-h sum, validated ({p})")
    p = feature("flood", FLOOD)
    check(p is not None and "depth_cm" not in p and "flood_band" not in p
          and {"depth_cm", "flood_band"} <= set(p.get("withheld", [])),
          f"the flood layer withholds the invalid depth and its band ({p})")
    alert = wait_until(lambda: (lambda a: a if a and a.get("over_invalid") else None)(
        flood_alert()), 20, "the flood alert marked")
    check(alert["over_invalid"] is True and alert["value"] >= 80,
          f"the alerts view keeps the flood alert, raised over data later marked invalid ({alert})")
    if BROWSER:
        # The page marks the row, Vietnamese first (tests/e2e/map/alerts_invalid.test.mjs).
        env = dict(os.environ, CONSOLE_URL=f"http://127.0.0.1:{st.staff_port}/console/",
                   CONSOLE_USERS=json.dumps(USERS), STATION=FLOOD,
                   CT_ARTIFACT_DIR=os.path.join(os.path.abspath(BUILD), "artifacts", "console"))
        r = subprocess.run(["node", "--test", "alerts_invalid.test.mjs"],
                           cwd=os.path.join(SRC, "tests", "e2e", "map"), env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        print(r.stdout.decode(errors="replace")[-3000:])
        check(r.returncode == 0, "the console's alerts page marks the alert over invalid data")
    # The flood mark withdrawn: the spike's point is shown again (validated=true) and the alert
    # is no longer marked (console_recompute_events.c restores a withdrawn range's points).
    mark = st.query(f"SELECT * FROM console_decision WHERE station='{FLOOD}'")
    status, doc = signed_in().call("POST", "revoke", {
        "id": FLOOD, "action": "invalid", "param": "depth", "time": mark[0]["time"],
        "why": "the spike was real water"}) if mark else (None, None)
    check(status == 200, f"the operator withdraws the flood mark ({status} {doc})")
    fl = wait_until(lambda: (lambda p: p if p and p.get("validated") is True else None)(
        point("flood_level", FLOOD, last_flood)), 90, "the spike's flood_level restored")
    p = wait_until(lambda: (lambda p: p if p and p.get("validated") is True else None)(
        feature("flood", FLOOD)), 30, "the flood layer showing the spike again")
    check(p.get("depth_cm") == 84 and p.get("flood_band") == 4 and not p.get("withheld"),
          f"withdrawn, the flood layer shows the depth and band again ({fl}, {p})")
    alert = flood_alert()
    check(alert is not None and alert.get("over_invalid") is False,
          f"withdrawn, the flood alert is no longer marked ({alert})")


def check_map_popup(st):
    """Chromium: the public map's popup of the station shows the recomputed VN_AQI and says, in
    Vietnamese first, that it is computed from validated data (tests/e2e/map/validated.test.mjs;
    a screenshot goes to <build>/artifacts/console)."""
    env = dict(os.environ, MAP_URL=f"http://127.0.0.1:{st.http_port}/", STATION=STEADY,
               EXPECT_AQI="82",
               CT_ARTIFACT_DIR=os.path.join(os.path.abspath(BUILD), "artifacts", "console"))
    r = subprocess.run(["node", "--test", "validated.test.mjs"],
                       cwd=os.path.join(SRC, "tests", "e2e", "map"), env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    print(r.stdout.decode(errors="replace")[-3000:])
    check(r.returncode == 0, "the map popup shows the recomputed VN_AQI and the validated note")


def run_browser(st, pub):
    """The Chromium test (tests/e2e/map/console.test.mjs); returns the control server."""
    srv = control_server(pub)
    env = dict(os.environ, CONSOLE_URL=f"http://127.0.0.1:{st.staff_port}/console/",
               CONTROL_URL=f"http://127.0.0.1:{srv.server_address[1]}/",
               CONSOLE_USERS=json.dumps(USERS), FLAKY=FLAKY,
               CT_ARTIFACT_DIR=os.path.join(os.path.abspath(BUILD), "artifacts", "console"))
    r = subprocess.run(["node", "--test", "console.test.mjs"],
                       cwd=os.path.join(SRC, "tests", "e2e", "map"), env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=240)
    out = r.stdout.decode(errors="replace")
    print(out[-4000:])
    check(r.returncode == 0, "the browser test passes against the real collector")
    acks = st.query("SELECT * FROM console_ack")
    check(any(a.get("device") == FLAKY and a.get("type") == "stale" and a.get("by") == "oanh"
              and "power cut" in a.get("note", "") for a in acks),
          f"the acknowledgement is in the store with who and the note ({acks})")
    check_completeness(st, pub)
    shots = os.listdir(env["CT_ARTIFACT_DIR"]) if os.path.isdir(env["CT_ARTIFACT_DIR"]) else []
    check(len([s for s in shots if s.startswith("console-")]) >= 7,
          f"screenshots kept ({len(shots)})")
    return srv


def main():
    st = Stack("console", BUILD, SRC)
    pub = None
    srv = None
    try:
        st.start_mosquitto()
        st.start_influxdb()
        st.write_registry([
            {"id": STEADY, "kind": "air", "name": "Trạm Hàng Bông", "lat": 21.03, "lon": 105.847,
             "district": "Hoàn Kiếm", "ward": "Hàng Bông", "interval_s": 2},
            {"id": FLAKY, "kind": "air", "name": "Trạm Kim Mã", "lat": 21.03, "lon": 105.822,
             "district": "Ba Đình", "ward": "Kim Mã", "interval_s": 2},
            {"id": "hn-water-0001", "kind": "water", "name": "Hồ Tây", "lat": 21.05,
             "lon": 105.82, "district": "Tây Hồ", "ward": "Quảng An", "interval_s": 2},
            {"id": PRIVATE, "kind": "water", "name": "Trạm nội bộ Yên Sở", "lat": 20.97,
             "lon": 105.87, "district": "Hoàng Mai", "ward": "Yên Sở", "interval_s": 2,
             "public": False},
            {"id": "hn-park-0001", "kind": "parking", "name": "Bãi đỗ xe Lý Thường Kiệt",
             "lat": 21.0245, "lon": 105.848, "district": "Hoàn Kiếm", "ward": "Trần Hưng Đạo",
             "mode": "lot", "capacity": 60, "interval_s": 2},
            {"id": RAIN, "kind": "rain", "name": "Trạm đo mưa Láng", "lat": 21.015,
             "lon": 105.81, "district": "Đống Đa", "ward": "Láng Thượng", "interval_s": 3600},
            {"id": FLOOD, "kind": "flood", "name": "Ngã tư Nguyễn Chí Thanh", "lat": 21.016,
             "lon": 105.809, "district": "Đống Đa", "ward": "Láng Thượng", "interval_s": 3600},
        ])
        st.write_master_key()
        users_file = os.path.join(st.dir, "staff-users")
        # Short aggregate windows (their grace is 2 x window_s), and the recompute 25 s after a
        # decision or an hour close, past that grace (docs/console.md).
        extra = {"console": {"users_file": users_file, "session_idle_ms": "6s",
                             "max_failures": 3, "lockout_ms": "10m",
                             "recompute_after_ms": "25s"},
                 "aggregate": {"window_s": 10, "update_s": 1},
                 "liveness": {"stale_intervals": 2}, "layers": {"refresh_ms": "1s"},
                 "map": {"dir": os.path.join(SRC, "dashboards", "map", "dist")}}
        # The config first (not started), to add the accounts with the CLI.
        cfg = st.start_collector(extra=extra, wait_http=False)
        st.stop("collector")
        for role, (name, pw) in USERS.items():
            rc, err = add_user(st, cfg, name, role, pw)
            check(rc == 0 and "has the role" in err, f"staff-user add {name} {role}")
        rc, err = add_user(st, cfg, "khoa", "operator", "locked-out-pass")
        rc2, err2 = add_user(st, cfg, "Bad:Name", "viewer", "x")
        check(rc2 == 2, "staff-user add refuses a bad name")
        mode = os.stat(users_file).st_mode & 0o777
        check(mode == 0o600, f"the users file is private (mode {oct(mode)})")
        check("$argon2id$" in open(users_file).read() and "viewer-pass-1" not in
              open(users_file).read(), "the users file holds argon2id hashes, no passwords")

        # The city's view of the alert topic, subscribed before the collector starts.
        st.spawn("alertsub", ["mosquitto_sub", "-V", "5", "-h", "127.0.0.1", "-p",
                              str(st.mqtt_port), "-q", "1", "-v", "-t", "city/v1/alert/#"])

        def sub_ready():
            st.publish("city/v1/alert/test/probe", "probe")
            return "city/v1/alert/test/probe" in st.log("alertsub")
        wait_until(sub_ready, 20, "the alert subscriber", interval=0.5)

        pub = Publisher(st)
        st.start_collector(extra=extra)
        pub.thread.start()
        wait_until(lambda: st.http_get("/healthz")[0] == 200, 30, "the collector subscribed")

        # One reading of the steady station with a bad signature: received, not accepted.
        st.publish(f"city/v1/air/{STEADY}/up", json.dumps(
            {"v": 1, "id": STEADY, "boot": 1, "seq": 999999, "ts": int(time.time() * 1000),
             "m": {"pm25": 1.0}}), sig="00" * 32)

        status, _, _ = st.http_get("/console/", port=st.http_port)
        check(status == 404, f"no console on the public listener ({status})")
        status, _, _ = st.http_get("/console/api/stations", port=st.http_port)
        check(status == 404, "no console API on the public listener")
        status, hdrs, body = st.http_get("/console/", port=st.staff_port)
        check(status == 200 and b"Staff console" in body, "the console page on the staff port")
        check("script-src 'self'" in hdrs.get("Content-Security-Policy", ""),
              "the page has a strict Content-Security-Policy")

        c = Client(st.staff_port)
        status, doc = c.call("GET", "stations")
        check(status == 401 and doc.get("error") == "You are not signed in.",
              f"not signed in: 401 ({doc})")
        status, doc = c.login("vien", "wrong")
        check(status == 401 and doc.get("error") == "Wrong user name or password.",
              f"wrong password: 401 with a clear message ({doc})")
        status, doc = c.login("nobody", "wrong")
        check(status == 401 and doc.get("error") == "Wrong user name or password.",
              "unknown user: the same answer")

        for _ in range(3):
            c.login("khoa", "wrong")
        status, doc = c.login("khoa", "locked-out-pass")
        check(status == 403 and "locked after 3 wrong passwords" in doc.get("error", ""),
              f"locked after 3 failures, even with the right password ({doc})")

        op = Client(st.staff_port)
        status, doc = op.login("operator")
        check(status == 200 and doc.get("role") == "operator" and len(doc.get("csrf", "")) == 64,
              "operator signs in")
        sc = op.set_cookie or ""
        check("HttpOnly" in sc and "SameSite=Strict" in sc and "Secure" not in sc
              and "Path=/console/" in sc, f"session cookie flags ({sc})")
        status, doc = op.call("POST", "station-state",
                              {"id": STEADY, "state": "fault", "why": "x"}, csrf=False)
        check(status == 403 and "CSRF" in doc.get("error", ""),
              f"a change without the CSRF token is refused ({doc})")
        status, doc = op.call("POST", "station-state",
                              {"id": STEADY, "state": "fault", "why": "pump broken"})
        check(status == 200, "operator sets a station in fault (with CSRF)")
        status, doc = op.call("POST", "approve", {"id": STEADY, "day": "2026-12-01", "why": "ok"})
        check(status == 403 and "needs the approver role" in doc.get("error", ""),
              f"an operator cannot approve ({doc})")

        def state_of(client, dev):
            s, d = client.call("GET", "stations")
            if s != 200:
                return None
            return next((x for x in d["stations"] if x["id"] == dev), None)
        x = wait_until(lambda: (lambda s: s if s and s["state"] == "fault" else None)(
            state_of(op, STEADY)), 10, "the fault state shows")
        check(x["staff_by"] == "oanh" and x["staff_why"] == "pump broken" and x["since"] > 0,
              "the state says who, why and since when")
        pm25 = next((p for p in x["params"] if p["param"] == "pm25"), None)
        check(pm25 is not None and pm25["limit"] == 50 and pm25["avg_h"] == 24
              and pm25["level"] == "approaching",
              f"PM2.5 41 against the 24 h limit 50 (QCVN 05:2023) is approaching ({pm25})")
        op.call("POST", "station-state", {"id": STEADY, "state": "measuring", "why": "fixed"})

        vi = Client(st.staff_port)
        vi.login("viewer")
        status, doc = vi.call("POST", "approve", {"id": STEADY, "day": "2026-12-01", "why": "ok"})
        check(status == 403 and doc.get("error") ==
              "Refused: this needs the approver role; vien has the viewer role.",
              f"a viewer approving is refused ({doc})")
        status, doc = vi.call("POST", "invalid", {"id": STEADY, "param": "pm25", "from": 0,
                                                  "to": 1, "reason": "fault", "why": "x"})
        check(status == 403, "a viewer cannot mark data invalid")

        ap = Client(st.staff_port)
        ap.login("approver")
        status, doc = ap.call("POST", "approve", {"id": STEADY, "day": "2026-12-01",
                                                  "why": "checked"})
        check(status == 200, "the approver approves a day")

        # NH4 0.5 mg/L over the 1 h limit 0.3 (QCVN 08:2023): an "exceeding" alert; ack it.
        def exceeding():
            s, d = ap.call("GET", "alerts?type=exceeding")
            rows = [dict(zip(x["columns"], v)) for r in d.get("results", [])[:1]
                    for x in r.get("series", []) for v in x["values"]] if s == 200 else []
            return next((r for r in rows if r.get("device") == "hn-water-0001"), None)
        alert = wait_until(exceeding, 20, "the exceeding alert of hn-water-0001")
        check(alert["district"] == "Tây Hồ" and "nh4" in alert["label"] and alert["value"] == 0.5,
              f"the exceeding alert names the parameter and the mean ({alert})")
        lines = alert_lines(st, "hn-water-0001")
        msg = json.loads(lines[0].split(" ", 1)[1]) if lines else {}
        check(len(lines) == 1 and lines[0].startswith("city/v1/alert/water/tay-ho ")
              and msg.get("district") == "Tây Hồ" and "nh4" in msg.get("label_vi", "")
              and msg.get("value") == 0.5 and msg.get("level") == 1,
              f"the exceeding alert on the MQTT alert topic ({lines})")
        wait_until(lambda: exceeding_in_store(st, PRIVATE), 20, "the private station's alert")
        check(not alert_lines(st, PRIVATE),
              "the private station's exceeding alert is in the store, never on MQTT")
        ack = {"device": "hn-water-0001", "type": "exceeding", "time": alert["time"]}
        status, doc = vi.call("POST", "ack", dict(ack, note="seen"))
        check(status == 403, "a viewer cannot acknowledge")
        status, doc = op.call("POST", "ack", ack)
        check(status == 400 and "note" in doc.get("error", ""), f"an ack needs a note ({doc})")
        status, doc = op.call("POST", "ack", dict(ack, note="sampling team sent"))
        check(status == 200, "the operator acknowledges the alert with a note")

        def acked():
            s, d = ap.call("GET", "alerts?type=exceeding")
            res = d.get("results", []) if s == 200 else []
            rows = [dict(zip(x["columns"], v)) for r in res[1:2] for x in r.get("series", [])
                    for v in x["values"]]
            return next((r for r in rows if r.get("alert_time") == alert["time"]), None)
        a = wait_until(acked, 20, "the acknowledgement in the alerts view")
        check(a["by"] == "oanh" and a["note"] == "sampling team sent",
              "the acknowledgement (who, note) is kept in the store")

        def parking():
            s, d = vi.call("GET", "parking?day=" + time.strftime(
                "%Y-%m-%d", time.gmtime(time.time() + 7 * 3600)))
            res = d.get("results", []) if s == 200 else []
            now = [x for r in res[:1] for x in r.get("series", [])]
            return now if now and len(res) == 3 else None
        lots = wait_until(parking, 20, "the parking view")
        check(lots[0]["tags"]["lot"] == "hn-park-0001" and lots[0]["values"][0][1:] == [48, 60, 12],
              f"parking: free spaces now, capacity, occupied ({lots})")

        def audit_rows():
            return st.query("SELECT * FROM console_audit")
        rows = wait_until(lambda: (lambda r: r if r and any(
            x["action"] == "approve" for x in r) else None)(audit_rows()), 20,
            "the audit points in the store")
        fault = [r for r in rows if r["action"] == "station_state" and r["detail"] == "fault"]
        check(len(fault) == 1 and fault[0]["user"] == "oanh" and fault[0]["role"] == "operator"
              and fault[0]["target"] == STEADY and fault[0]["why"] == "pump broken",
              f"audit: who, what, why of the fault ({fault})")
        check(any(r["action"] == "lockout" and r["user"] == "khoa" for r in rows),
              "audit: the lockout")
        check(any(r["action"] == "login_failed" and r["user"] == "vien" for r in rows),
              "audit: a failed sign-in")

        # Expiry: the viewer's session idles past console.session_idle_ms (6 s).
        # Each request renews a session, so no polling here: let 7 s pass, then ask once.
        vi_last = time.monotonic()
        vi.call("GET", "me")
        wait_until(lambda: time.monotonic() - vi_last > 7.5, 30, "the viewer's idle time")
        status, doc = vi.call("GET", "me")
        check(status == 401 and doc.get("error") == "Your session has expired. Sign in again.",
              f"an expired session is refused with a clear message ({doc})")

        check_users_reload(st, cfg, users_file)
        check_outage_restart(st, extra)

        if BROWSER:
            srv = run_browser(st, pub)
        else:
            check_completeness(st, pub)
    finally:
        if pub is not None:
            pub.stop.set()
        if srv is not None:
            srv.shutdown()
        if failed:
            print(st.log("collector")[-3000:])
        st.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
