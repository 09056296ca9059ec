#!/usr/bin/env python3
"""End-to-end durability: real Mosquitto, real InfluxDB, the collector, and a steady load of
signed QoS 1 readings from many devices (tests/e2e/tools/dur-pub). Every scenario ends by
comparing the readings the broker acknowledged with the points stored in InfluxDB, by device and
time: they must be equal (none lost, none extra).

1. InfluxDB stopped for two minutes while the load continues, then started on the same port.
5. (during the same outage, a second collector) a full spool: spool.max_bytes 1 MiB, block policy.
2. The collector killed with SIGKILL while points are pending, restarted: the journal replays.
3. Mosquitto restarted on the same port (persistence on) while the load runs.
4. A spool segment damaged while the collector is stopped (bytes flipped in a record in the
   middle of the newest segment, and its last record cut short): the damage is counted and
   exactly the two damaged readings are missing.

Each scenario has its own database, collector (spool) and MQTT client ids on the shared servers.
Measured figures are printed as '# figure: ...' lines (docs/durability.md quotes them)."""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools"))
from harness import Stack, free_port, wait_until  # noqa: E402
from durlib import (Publisher, describe_diff, fleet_registry, record_reading,  # noqa: E402
                    records, segments, start_influxdb_on, stored, wait_stored)

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

N_AIR, N_WATER = 40, 10
DEVICES = N_AIR + N_WATER
OUTAGE_S = float(os.environ.get("CT_DUR_OUTAGE_S", "120"))
RATE = 40  # readings per second of the steady load
# Shorter retry caps than the defaults, so that the drain starts within seconds of the store's
# return (with the default retry_max_ms of 1 min it may start up to a minute later).
SINK = {"flush_ms": 200, "retry_base_ms": 200, "retry_max_ms": 3000, "timeout_ms": 5000,
        "connect_timeout_ms": 1000}
# Open aggregation windows hold the journal for window + grace (2 windows): the shortest window
# lets the journal empty within 30 s of the last reading (docs/derived.md, "Low water").
WINDOW_S = 10

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


def figure(text):
    print(f"# figure: {text}", flush=True)


def new_db(st, name):
    st.influx_post(f'CREATE DATABASE "{name}"')
    return name


def collector(st, name, db, extra=None):
    cfg = {"influx": dict(SINK, db=db), "mqtt": {"client_id": f"citytel-{name}"},
           "collector": {"instance": name}, "aggregate": {"window_s": WINDOW_S}}
    for group, kv in (extra or {}).items():
        cfg.setdefault(group, {}).update(kv)
    st.db = db
    st.start_collector(extra=cfg, name=name, instance=name)
    wait_until(lambda: b'"mqtt_connected":true' in st.http_get("/healthz")[2], 20,
               f"{name} subscribed")
    return st.http_port, st.staff_port


def on(st, ports):
    """Points the stack's HTTP helpers at the collector listening on 'ports' (public, staff)."""
    st.http_port, st.staff_port = ports
    return st


def compare(st, what, pub, db, timeout, minus=frozenset()):
    rc, summary = pub.wait(timeout)
    check(rc == 0, f"{what}: the publisher had every reading acknowledged ({summary})")
    acked = pub.acked() - set(minus)
    got = wait_stored(st, db, acked, timeout)
    check(got == acked, f"{what}: acknowledged == stored, by device and time "
                        f"({describe_diff(acked, got)})")
    return acked, got


def healthz(st):
    code, _, body = st.http_get("/healthz")
    return code, body.decode()


# -- 1 and 5: InfluxDB down for OUTAGE_S; a full spool on a second collector meanwhile ---------
def scenario_outage_and_full(st):
    db1 = new_db(st, "dur_outage")
    db5 = new_db(st, "dur_full")
    # Every collector subscribes to every topic: the two collectors get disjoint registries, so
    # each stores only its own fleet (the other fleet's messages are journaled, then rejected as
    # unknown devices).
    reg5 = os.path.join(st.dir, "registry-full.jsonl")
    with open(reg5, "w", encoding="utf-8") as f:
        for obj in fleet_registry(N_AIR, N_WATER, first=101):
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")
    p1 = collector(st, "c-outage", db1)
    p5 = collector(st, "c-full", db5, {"spool": {"max_bytes": "1MiB", "segment_bytes": "128KiB",
                                                  "full_policy": "block"},
                                        "registry": {"path": reg5}})
    lead_s, tail_s = 6.0, 8.0
    n1 = int(RATE * (lead_s + OUTAGE_S + tail_s))
    pub1 = Publisher(st, "pub-outage", n1, RATE, DEVICES, boot=101)
    time.sleep(lead_s)
    before, _ = stored(st, db1)
    check(len(before) > 0, f"outage: points arrive before the outage ({len(before)})")
    on(st, p1)
    retries0 = st.metric("citytel_store_retries_total")
    influx_port = st.influx_port
    t_stop = time.time()
    st.stop("influxd")
    figure(f"outage: InfluxDB stopped at +{lead_s:.0f} s for {OUTAGE_S:.0f} s, load "
           f"{RATE} readings/s from {DEVICES} devices")

    # The full spool: 6000 readings of the second fleet at 400/s while the store is down; the
    # 1 MiB journal holds about 3800 records.
    n5 = 6000
    pub5 = Publisher(st, "pub-full", n5, 400, DEVICES, boot=105, registry=reg5)
    samples, degraded, full_seen, full_health = [], False, False, False
    end = t_stop + OUTAGE_S
    # (With a short CT_DUR_OUTAGE_S the outage lasts until the second fleet is acknowledged.)
    while time.time() < end or (len(pub5.acked()) < n5 and time.time() < end + 60):
        on(st, p1)
        m = st.metrics()
        samples.append((time.time() - t_stop, m.get("citytel_spool_records", 0.0)))
        code, body = healthz(st)
        if code == 503 and '"status":"degraded"' in body and '"store_ok":false' in body:
            degraded = True
        on(st, p5)
        if st.metric("citytel_spool_full") == 1:
            full_seen = True
            code, body = healthz(st)
            full_health = full_health or (code == 503 and '"spool_ok":false' in body)
        time.sleep(min(5.0, max(0.5, end - time.time())))
    check(st.procs["c-full"][0].poll() is None, "full: the collector is still running")
    on(st, p5)
    m5 = st.metrics()
    check(full_seen and m5.get("citytel_spool_full") == 1,
          f"full: citytel_spool_full is 1 while the store is down (seen={full_seen})")
    check(full_health, "full: /healthz says spool_ok false (503) while the spool is full")
    check(m5.get("citytel_spool_full_total", 0) > 0,
          f"full: appends were refused (citytel_spool_full_total "
          f"{m5.get('citytel_spool_full_total')})")
    check(m5.get("citytel_spool_bytes", 0) <= 1 << 20,
          f"full: the spool stays within max_bytes ({m5.get('citytel_spool_bytes')} bytes)")
    check("spool is full" in st.log("c-full"), "full: an error line says the spool is full")
    sent = len(pub1.acked()) + len(pub5.acked())
    taken = m5.get("citytel_mqtt_messages_total", 0)
    check(len(pub5.acked()) == n5 and taken < sent,
          f"full: the broker acknowledged all {n5} readings and keeps those the collector has "
          f"not taken ({sent} acknowledged to the publishers, {taken:.0f} taken)")
    figure(f"full: the 1 MiB spool held {m5.get('citytel_spool_records'):.0f} records; "
           f"{sent - taken:.0f} messages waited in the broker")

    on(st, p1)
    m1 = st.metrics()
    check(m1.get("citytel_store_retries_total", 0) > retries0,
          f"outage: citytel_store_retries_total rose ({retries0} -> "
          f"{m1.get('citytel_store_retries_total')})")
    check(degraded, "outage: /healthz answered 503 degraded with store_ok false")
    first = next((v for t, v in samples if t >= 5), 0.0)
    peak = max(v for _, v in samples)
    check(peak > first + RATE * OUTAGE_S * 0.5,
          f"outage: citytel_spool_records rose during the outage ({first:.0f} -> {peak:.0f})")

    t_restart = time.time()
    start_influxdb_on(st, influx_port)
    t_back = time.time()
    figure(f"outage: InfluxDB down for {t_back - t_stop:.1f} s (its start took "
           f"{t_back - t_restart:.1f} s); backlog at its return {peak:.0f} journal records "
           f"(both fleets: the outage collector journals every message it is sent), "
           f"{m1.get('citytel_store_pending_bytes', 0):.0f} bytes of line protocol held, "
           f"{RATE * OUTAGE_S:.0f} of its own readings")

    # Drained: no batch waits for a retry and what the sink holds is the fresh load's open batch.
    def drained():
        on(st, p1)
        m = st.metrics()
        return (m.get("citytel_store_backlog_batches", 1) == 0 and
                m.get("citytel_store_pending_bytes", 1e9) < 50000)
    wait_until(drained, 90, "the outage backlog drained", interval=0.5)
    figure(f"outage: backlog drained {time.time() - t_back:.1f} s after InfluxDB returned")
    code, body = healthz(st)
    check(code == 200 and '"status":"ok"' in body, f"outage: /healthz is ok again ({body.strip()})")
    compare(st, "outage", pub1, db1, 120)
    on(st, p1)
    t_done = time.time()
    try:
        wait_until(lambda: st.metric("citytel_spool_records") <= 2, 3 * WINDOW_S + 20,
                   "the journal committed")
    except AssertionError:
        pass
    check(st.metric("citytel_spool_records") <= 2,
          f"outage: citytel_spool_records back to ~0 once the windows closed "
          f"({st.metric('citytel_spool_records')} after {time.time() - t_done:.0f} s)")

    on(st, p5)
    wait_until(lambda: st.metric("citytel_spool_full") == 0, 60, "the full spool freed")
    compare(st, "full", pub5, db5, 120)
    check(st.procs["c-full"][0].poll() is None, "full: no crash")
    code, body = healthz(st)
    check(code == 200, f"full: /healthz is ok again ({body.strip()})")
    for name in ("c-outage", "c-full"):
        check(st.stop(name) == 0, f"{name} stops cleanly")


# -- 2: SIGKILL while points are pending -----------------------------------------------------------
def scenario_kill(st):
    db = new_db(st, "dur_kill")
    name = "c-kill"
    # A long flush period keeps a batch open (points pending) most of the time.
    extra = {"influx": {"flush_ms": 1500}}
    port = collector(st, name, db, extra)
    pub = Publisher(st, "pub-kill", RATE * 14, RATE, DEVICES, boot=102)
    time.sleep(4)

    def pending():
        on(st, port)
        m = st.metrics()
        return (m.get("citytel_store_pending_bytes", 0) > 0 and
                m.get("citytel_spool_records", 0) > 0 and m)
    m = wait_until(pending, 10, "points pending in the sink", interval=0.05)
    st.stop(name, sig=signal.SIGKILL)
    figure(f"kill: SIGKILL with {m['citytel_store_pending_bytes']:.0f} bytes of points pending "
           f"and {m['citytel_spool_records']:.0f} journal records uncommitted")
    time.sleep(2)
    port = collector(st, name, db, extra)
    on(st, port)
    replayed = st.metric("citytel_spool_replayed_total")
    check(replayed > 0, f"kill: the journal replayed after the restart ({replayed:.0f} records)")
    check("replaying journal records" in st.log(name), "kill: the log says the journal replays")
    compare(st, "kill", pub, db, 60)
    check(st.stop(name) == 0, f"{name} stops cleanly")


# -- 3: the broker restarted ----------------------------------------------------------------------
def scenario_broker(st):
    db = new_db(st, "dur_broker")
    name = "c-broker"
    port = collector(st, name, db)
    pub = Publisher(st, "pub-broker", RATE * 16, RATE, DEVICES, boot=103)
    time.sleep(5)
    mqtt_port = st.mqtt_port
    t0 = time.time()
    st.stop("mosquitto")
    time.sleep(2)
    st.start_mosquitto(port=mqtt_port)
    on(st, port)
    wait_until(lambda: st.metric("citytel_mqtt_connected") == 1 and
               st.metric("citytel_mqtt_connects_total") >= 2, 30, "the collector reconnected")
    figure(f"broker: Mosquitto down for 2 s; collector reconnected {time.time() - t0:.1f} s "
           f"after the stop")
    check(st.metric("citytel_mqtt_lost_total") >= 1, "broker: the collector saw the loss")
    compare(st, "broker", pub, db, 60)
    check("connection lost" in st.log("pub-broker"),
          "broker: the publisher lost its connection too, and reconnected")
    check(st.stop(name) == 0, f"{name} stops cleanly")


# -- 4: a damaged spool segment ----------------------------------------------------------------------
def scenario_corrupt(st):
    db = new_db(st, "dur_corrupt")
    name = "c-corrupt"
    spool_dir = os.path.join(st.dir, f"{name}-spool")
    real_influx = st.influx_port
    # Phase 1: no store (a closed port), so every record stays in the journal.
    dead = {"influx": {"url": f"http://127.0.0.1:{free_port()}"},
            "spool": {"segment_bytes": "128KiB"}}
    n = 700
    port = collector(st, name, db, dead)
    pub = Publisher(st, "pub-corrupt", n, 250, DEVICES, boot=104)
    rc, summary = pub.wait(60)
    check(rc == 0, f"corrupt: the publisher had every reading acknowledged ({summary})")
    on(st, port)
    wait_until(lambda: st.metric("citytel_spool_records") >= n, 20, "every reading journaled")
    st.stop(name, sig=signal.SIGKILL)
    segs = segments(spool_dir)
    newest = segs[-1]
    recs = records(newest)
    check(len(segs) >= 2 and len(recs) >= 10,
          f"corrupt: the journal has {len(segs)} segments, {len(recs)} records in the newest")
    # Flip bytes in the data of the record in the middle of the newest segment (CRC mismatch) ...
    off, seq, data = recs[len(recs) // 2]
    flipped = record_reading(data)
    with open(newest, "r+b") as f:
        f.seek(off + 32 + len(data) // 2)
        chunk = f.read(4)
        f.seek(off + 32 + len(data) // 2)
        f.write(bytes(b ^ 0xFF for b in chunk))
    # ... and cut the last record short (a torn tail).
    last_off, _, last_data = recs[-1]
    torn = record_reading(last_data)
    os.truncate(newest, last_off + 32 + len(last_data) // 2)
    figure(f"corrupt: {n} records in {len(segs)} segments; record seq {seq} flipped, "
           f"last record seq {recs[-1][1]} cut short")

    st.influx_port = real_influx
    port = collector(st, name, db)
    on(st, port)
    m = st.metrics()
    check(m.get("citytel_spool_corrupt_total") == 1,
          f"corrupt: citytel_spool_corrupt_total is 1 ({m.get('citytel_spool_corrupt_total')})")
    check(m.get("citytel_spool_torn_total") == 1,
          f"corrupt: citytel_spool_torn_total is 1 ({m.get('citytel_spool_torn_total')})")
    wait_until(lambda: st.metric("citytel_spool_replayed_total") >= n - 2, 20, "the replay")
    check(st.metric("citytel_spool_replayed_total") == n - 2,
          f"corrupt: exactly the {n - 2} undamaged records replayed "
          f"({st.metric('citytel_spool_replayed_total')})")
    acked = pub.acked()
    want = acked - {flipped, torn}
    got = wait_stored(st, db, want, 60)
    time.sleep(1.0)
    got, _ = stored(st, db)
    check(got == want, f"corrupt: stored == acknowledged minus the two damaged readings "
                       f"({describe_diff(want, got)})")
    check(acked - got == {flipped, torn}, "corrupt: the missing readings are exactly the damaged "
                                          f"ones ({sorted(acked - got)})")
    check(st.stop(name) == 0, f"{name} stops cleanly")


def main():
    st = Stack("durability", BUILD, SRC)
    t_start = time.time()
    try:
        st.start_mosquitto()
        st.start_influxdb()
        st.write_registry(fleet_registry(N_AIR, N_WATER))
        st.write_master_key()
        for fn in (scenario_outage_and_full, scenario_kill, scenario_broker, scenario_corrupt):
            t0 = time.time()
            try:
                fn(st)
            except AssertionError as e:
                check(False, f"{fn.__name__}: {e}")
            figure(f"{fn.__name__} took {time.time() - t0:.1f} s")
            for name in [n for n in st.procs if n.startswith(("c-", "pub-"))]:
                st.stop(name, sig=signal.SIGKILL)
    finally:
        if failed:
            for name in ("c-outage", "c-full", "c-kill", "c-broker", "c-corrupt"):
                print(f"--- {name} log ---\n{st.log(name)[-2500:]}")
        st.close()
    print(f"{passed} passed, {failed} failed ({time.time() - t_start:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
