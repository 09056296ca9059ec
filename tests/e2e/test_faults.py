#!/usr/bin/env python3
"""End-to-end store faults: real Mosquitto, the collector, a steady load of signed readings
(tests/e2e/tools/dur-pub), and instead of InfluxDB the scriptable fake (tests/e2e/tools/
fault-influx over tests/fakes) that records every request and answers from a script:

  503 with Retry-After, 429, 400 partial write naming one line, 413 (split), and a request that
  is never answered (timeout, retry).

For each: the counters in /metrics, and the exact multiset of lines the fake accepted (lines of
2xx bodies, and the lines of a 400 partial-write body that it did not name, which InfluxDB
writes): every acknowledged reading exactly once, the refused line never."""
import collections
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools"))
from harness import Stack, wait_until  # noqa: E402
from durlib import Publisher, fleet_registry  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

DEVICES = 20
COUNT = 200
RATE = 100
BOOT = 7
TS_START = int(time.time() * 1000) - 60000  # every scenario publishes the same readings
SINK = {"flush_ms": 200, "batch_max_points": 50, "retry_base_ms": 200, "retry_max_ms": 2000,
        "timeout_ms": 1500, "connect_timeout_ms": 1000}
RAW = ("air", "water")  # the raw measurements; derived points (aggregates, indices) are not compared

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


def measurement(line):
    return line.split(",", 1)[0]


def lp_key(line):
    """(device, ts) of a line of line protocol of the collector (ts last, tag device)."""
    head = line.split(" ", 1)[0]
    device = next(t.split("=", 1)[1] for t in head.split(",")[1:] if t.startswith("device="))
    return device, int(line.rsplit(" ", 1)[1])


def named_lines(body):
    try:
        msg = json.loads(body).get("error", "")
    except ValueError:
        return set()
    out, key = set(), "unable to parse '"
    for part in msg.split(key)[1:]:
        out.add(part.split("'", 1)[0])
    return out


class Fault:
    """One scenario: a fault-influx with 'script', a collector, COUNT readings."""

    def __init__(self, st, name, script):
        self.st, self.name = st, name
        self.answer_body = ""  # the scripted 400 body, when the script has one
        self.port_file = os.path.join(st.dir, f"{name}.fport")
        self.dump = os.path.join(st.dir, f"{name}.dump")
        script_file = os.path.join(st.dir, f"{name}.script")
        with open(script_file, "w") as f:
            f.write(script)
        proc = st.spawn(f"fake-{name}", [st.exe("tests", "e2e", "tools", "fault-influx"),
                                          "--port-file", self.port_file, "--dump", self.dump,
                                          "--script", script_file, "--arm-on-usr1"])
        self.fake = proc
        wait_until(lambda: proc.poll() is None and os.path.exists(self.port_file), 10,
                   "fault-influx port file")
        st.influx_port = int(open(self.port_file).read())

    def run(self):
        st = self.st
        st.start_collector(extra={"influx": SINK, "collector": {"role": "ingest"},
                                  "mqtt": {"client_id": f"citytel-{self.name}"}},
                           name=f"c-{self.name}", instance=self.name)
        wait_until(lambda: b'"mqtt_connected":true' in st.http_get("/healthz")[2], 30,
                   "collector subscribed")
        # The collector's start-up queries (state rebuilt from the store) are answered by the
        # default; the script applies from here on.
        self.fake.send_signal(signal.SIGUSR1)
        wait_until(lambda: os.path.exists(self.dump + ".armed"), 10, "the fake's script loaded")
        self.t0 = time.time()
        pub = Publisher(st, f"pub-{self.name}", COUNT, RATE, DEVICES, boot=BOOT,
                        extra=["--ts-start", str(TS_START)])
        rc, summary = pub.wait(60)
        check(rc == 0, f"{self.name}: every reading acknowledged by the broker ({summary})")
        self.acked = pub.acked()
        wait_until(lambda: st.metric("citytel_messages_accepted_total") >= COUNT, 20,
                   "every reading processed")

        # Raw points are enqueued as each reading is processed: once nothing is held, queued
        # or in flight, every raw line has been answered.
        def settled():
            m = st.metrics()
            return (m.get("citytel_store_pending_bytes", 1) == 0 and
                    m.get("citytel_store_backlog_batches", 1) == 0 and
                    m.get("citytel_store_inflight", 1) == 0 and m)
        self.metrics = wait_until(settled, 60, f"{self.name}: the sink settled", interval=0.2)
        self.settle_s = time.time() - self.t0
        check(st.stop(f"c-{self.name}") == 0, f"{self.name}: the collector stops cleanly")
        st.stop(f"fake-{self.name}")
        self.reqs = []
        with open(self.dump, encoding="utf-8") as f:
            for line in f:
                obj = json.loads(line)
                if "dropped" in obj:
                    check(obj["dropped"] == 0, f"{self.name}: the fake recorded every request")
                elif obj["target"].startswith("/write"):
                    self.reqs.append(obj)
        self.accepted = collections.Counter()
        for r in self.reqs:
            lines = [x for x in r["body"].split("\n") if x]
            if 200 <= r["status"] < 300:
                self.accepted.update(lines)
            elif r["status"] == 400:
                bad = named_lines(self.body_of_answer(r))
                self.accepted.update(x for x in lines if x not in bad)
        return self

    def body_of_answer(self, r):
        return self.answer_body

    def check_exactly_once(self, minus=frozenset()):
        want = self.acked - set(minus)
        dup = [x for x, n in self.accepted.items() if n > 1]
        check(not dup, f"{self.name}: no line accepted twice ({len(dup)} duplicates {dup[:2]})")
        keys = collections.Counter(lp_key(x) for x in self.accepted if measurement(x) in RAW)
        dup = [k for k, n in keys.items() if n > 1]
        check(not dup, f"{self.name}: no reading accepted twice ({len(dup)} {dup[:3]})")
        got = set(keys)
        check(got == want, f"{self.name}: the lines accepted == the readings acknowledged "
                           f"(acked {len(want)}, accepted {len(got)}, missing "
                           f"{sorted(want - got)[:3]}, extra {sorted(got - want)[:3]})")
        m = self.metrics
        check(m.get("citytel_store_points_total", 0) >= len(want),
              f"{self.name}: citytel_store_points_total counts them "
              f"({m.get('citytel_store_points_total')} >= {len(want)})")

    def rejected(self, cls):
        return self.metrics.get(f'citytel_store_rejected_lines_total{{class="{cls}"}}', 0)


def scenario_503(st):
    f = Fault(st, "s503", "503 retry-after=2 body={\"error\":\"overloaded\"}\n"
                          "503 retry-after=2 body={\"error\":\"overloaded\"}\n").run()
    m = f.metrics
    check(m.get("citytel_store_retries_total", 0) >= 2,
          f"503: two retries counted ({m.get('citytel_store_retries_total')})")
    st503 = [r for r in f.reqs if r["status"] == 503]
    check(len(st503) == 2, f"503: the fake answered 503 twice ({len(st503)})")
    after = [r for r in f.reqs if r["t_ms"] > st503[0]["t_ms"]]
    gap = (after[0]["t_ms"] - st503[0]["t_ms"]) if after else 0
    check(gap >= 1900, f"503: nothing was sent for the Retry-After of 2 s ({gap} ms)")
    check(sum(f.rejected(c) for c in ("parse", "bad_request", "too_large")) == 0,
          "503: no line rejected")
    f.check_exactly_once()
    print(f"# figure: 503 x2 with Retry-After 2 s: settled {f.settle_s:.1f} s after the start",
          flush=True)
    return f


def scenario_429(st):
    f = Fault(st, "s429", "429 retry-after=1\n429\n").run()
    m = f.metrics
    check(m.get("citytel_store_retries_total", 0) >= 2,
          f"429: two retries counted ({m.get('citytel_store_retries_total')})")
    check(len([r for r in f.reqs if r["status"] == 429]) == 2, "429: answered 429 twice")
    check(sum(f.rejected(c) for c in ("parse", "bad_request", "too_large")) == 0,
          "429: no line rejected")
    f.check_exactly_once()


def scenario_partial(st, line0):
    body = json.dumps({"error": f"partial write: unable to parse '{line0}': invalid field "
                                "format dropped=1"})
    f = Fault(st, "s400", f"400 body={body}\n")
    f.answer_body = body
    f.run()
    check(f.rejected("parse") == 1,
          f"400: citytel_store_rejected_lines_total{{class=parse}} is 1 ({f.rejected('parse')})")
    check(f.rejected("bad_request") == 0, "400: no whole batch rejected")
    first = f.reqs[0] if f.reqs else {"status": 0, "body": ""}
    check(first["status"] == 400 and line0 in first["body"].split("\n"),
          "400: the first batch held the named line and was answered 400 partial write")
    later = [r for r in f.reqs[1:] if line0 in r["body"].split("\n")]
    check(not later, "400: the refused line was never sent again")
    good_in_first = [x for x in first["body"].split("\n") if x and x != line0]
    resent = [x for r in f.reqs[1:] for x in r["body"].split("\n") if x in good_in_first]
    check(good_in_first and not resent,
          f"400: the {len(good_in_first)} good lines of that batch were not resent ({len(resent)})")
    q = open(os.path.join(st.dir, "c-s400-quarantine.jsonl"), encoding="utf-8").read()
    check(q.count('"store_rejected"') == 1 and json.dumps(line0, ensure_ascii=False)[1:-1] in q,
          "400: the refused line is in the quarantine")
    f.check_exactly_once(minus={lp_key(line0)})


def scenario_413(st):
    f = Fault(st, "s413", "413 body={\"error\":\"Request Entity Too Large\"}\n").run()
    check(f.metrics.get("citytel_store_splits_total") == 1,
          f"413: one split counted ({f.metrics.get('citytel_store_splits_total')})")
    big = [x for x in f.reqs[0]["body"].split("\n") if x] if f.reqs else []
    halves = [[x for x in r["body"].split("\n") if x] for r in f.reqs[1:3]]
    check(f.reqs and f.reqs[0]["status"] == 413 and len(big) >= 2 and
          len(halves) == 2 and halves[0] and halves[1] and
          sorted(halves[0] + halves[1]) == sorted(big),
          f"413: the batch of {len(big)} lines was resent split in two at a line boundary "
          f"({[len(h) for h in halves]})")
    check(f.rejected("too_large") == 0, "413: no line rejected")
    f.check_exactly_once()


def scenario_hang(st):
    f = Fault(st, "shang", "hang\n").run()
    m = f.metrics
    check(m.get("citytel_store_transport_errors_total", 0) >= 1,
          f"hang: the timeout counted as a transport error "
          f"({m.get('citytel_store_transport_errors_total')})")
    check(m.get("citytel_store_retries_total", 0) >= 1,
          f"hang: the batch was retried ({m.get('citytel_store_retries_total')})")
    hung = [r for r in f.reqs if r["status"] == 0]
    check(len(hung) == 1, f"hang: one request was left unanswered ({len(hung)})")
    f.check_exactly_once()


def main():
    st = Stack("faults", BUILD, SRC)
    t_start = time.time()
    try:
        st.start_mosquitto()
        st.write_registry(fleet_registry(DEVICES // 2, DEVICES - DEVICES // 2))
        st.write_master_key()
        first = None
        for fn in (scenario_503, scenario_429, scenario_partial, scenario_413, scenario_hang):
            t0 = time.time()
            try:
                if fn is scenario_partial:
                    # The line of reading 0 as the collector wrote it in the 503 scenario (the
                    # readings are deterministic): the one the fake names as unparsable.
                    line0 = next(x for x in first.accepted
                                 if lp_key(x) == ("hn-air-0001", TS_START))
                    fn(st, line0)
                elif fn is scenario_503:
                    first = fn(st)
                else:
                    fn(st)
            except (AssertionError, StopIteration, AttributeError) as e:
                check(False, f"{fn.__name__}: {e!r}")
            print(f"# figure: {fn.__name__} took {time.time() - t0:.1f} s", flush=True)
            for name in [n for n in st.procs if n.startswith(("c-", "pub-", "fake-"))]:
                st.stop(name)
    finally:
        if failed:
            for name in ("c-s503", "c-s429", "c-s400", "c-s413", "c-shang"):
                print(f"--- {name} log ---\n{st.log(name)[-2000:]}")
        st.close()
    print(f"{passed} passed, {failed} failed ({time.time() - t_start:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
