#!/usr/bin/env python3
"""End-to-end (issue 16): the collector with TT 10/2021 station files in and out, against the
real Mosquitto and InfluxDB.

Out: signed MQTT readings of a station with tt10 codes become one file per interval (tt10.interval
1m here) in tt10.out_dir/files, named <province>_<facility>_<station>_<local end time>.txt, whose
bytes are the interval's means, CRLF lines, Vietnam time, status 00, delivered to a real SFTP
receiver (OpenSSH's internal-sftp, tt10_servers.Sshd).
Restart: readings of a water station's interval still open (its end + tt10.grace not reached)
when the collector is stopped (SIGTERM) are written after the restart from the journal's replay:
the interval's file reaches the receiver once, with the means of all its readings. The open
interval holds the journal, so the replay also makes the air station's file written before the
stop again: it is not written or sent again (its copy at the receiver untouched, one delivery
after the restart: the water file).
In: a station file dropped in tt10.in_dir is stored in InfluxDB as the device's reading (values
with status 00 only: a 02 value is kept out), moved to .done; the same file again is removed as a
duplicate and the store still holds one point; a bad file goes whole to .quarantine with its line
and reason."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tt10_servers  # noqa: E402
from harness import Stack, wait_until  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
AIR = "hn-air-0001"
WATER = "hn-water-0002"

CHECKS = []


def check(cond, what):
    """Asserts and records one user-visible fact (printed with the summary)."""
    assert cond, what
    CHECKS.append(what)
    print("ok - " + what, flush=True)


def local(ms):
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(ms // 1000 + 7 * 3600))


def drop(folder, name, body, age_s=10):
    """As an FTP upload that finished age_s ago (the collector waits for files to settle)."""
    tmp = os.path.join(folder, "." + name + ".up")
    with open(tmp, "wb") as f:
        f.write(body)
    t = time.time() - age_s
    os.utime(tmp, (t, t))
    os.rename(tmp, os.path.join(folder, name))


def main():
    st = Stack("tt10", BUILD, SRC)
    sftp = None
    try:
        sftp = tt10_servers.Sshd(st.dir)
        st.start_mosquitto()
        st.start_influxdb()
        st.write_registry([
            {"id": AIR, "kind": "air", "name": "Trạm Hàng Bông", "lat": 21.03, "lon": 105.847,
             "district": "Hoàn Kiếm", "ward": "Hàng Bông",
             "tt10": {"province": "HN", "facility": "CITYTEL", "station": "KK-0001"}},
            {"id": WATER, "kind": "water", "name": "Sông Tô Lịch", "lat": 21.03, "lon": 105.79,
             "district": "Cầu Giấy", "ward": "Dịch Vọng",
             "tt10": {"province": "HN", "facility": "CITYTEL", "station": "NM-0002"}},
        ])
        st.write_master_key()
        out_dir = os.path.join(st.dir, "tt10-out")
        in_dir = os.path.join(st.dir, "tt10-in")
        tt10 = {"out_dir": out_dir, "in_dir": in_dir, "interval": "1m", "grace": "90s",
                "receivers": sftp.url, "ssh_private_key": sftp.client_key,
                "ssh_public_key": sftp.client_pub, "ssh_known_hosts": sftp.known_hosts}
        st.start_collector(extra={"tt10": tt10})
        wait_until(lambda: st.metric("citytel_mqtt_connected") == 1, 30, "collector connected")

        now = int(time.time() * 1000)
        start = now - now % 60000 - 180000  # interval B (air): end + grace passed
        c_start = now - now % 60000 - 60000  # interval C (water): end + 90 s grace ahead

        def publish(dev, kind, seq, ts, m):
            payload = json.dumps({"v": 1, "id": dev, "boot": 1, "seq": seq, "ts": ts, "m": m},
                                 separators=(",", ":"))
            st.publish(f"city/v1/{kind}/{dev}/up", payload, key_of=dev)

        # C first: its open interval holds the journal from its first record on.
        for i, ph in enumerate((7.0, 7.2, 7.7)):
            publish(WATER, "water", i, c_start + 10000 + 10000 * i, {"ph": ph, "t": 20.0 + i})
        # Out: three air readings in the minute three minutes back, written at once.
        for i, (pm25, t) in enumerate(((30, 24.0), (40, 25.0), (50, 26.0))):
            publish(AIR, "air", i, start + 5000 + 15000 * i, {"pm25": pm25, "t": t})
        end = start + 60000
        name = f"HN_CITYTEL_KK-0001_{local(end)}.txt"
        path = os.path.join(out_dir, "files", name)
        wait_until(lambda: os.path.exists(path), 40, f"{name} written")
        with open(path, "rb") as f:
            body = f.read()
        want = (f"PM-2.5\t40.00\tug/m3\t{local(end)}\t00\r\n"
                f"Temp\t25.00\toC\t{local(end)}\t00\r\n").encode()
        check(body == want, f"the station file holds the minute's means ({body!r})")
        got = os.path.join(sftp.incoming, name)
        wait_until(lambda: os.path.exists(got), 40, f"{name} at the SFTP receiver")
        with open(got, "rb") as f:
            check(f.read() == want, "the receiver has the file byte for byte")
        before = os.stat(got)

        # Restart: the collector stopped before C is written, started again with grace 1 s
        # (C's end + grace has then passed: due at once).
        c_name = f"HN_CITYTEL_NM-0002_{local(c_start + 60000)}.txt"
        wait_until(lambda: len(st.query(f"SELECT * FROM water WHERE device = '{WATER}'")) == 3,
                   30, "the water readings stored")
        check(not os.path.exists(os.path.join(out_dir, "files", c_name)),
              "the water interval is still open when the collector stops")
        st.stop("collector")
        st.start_collector(extra={"tt10": dict(tt10, grace="1s")})
        c_got = os.path.join(sftp.incoming, c_name)
        wait_until(lambda: os.path.exists(c_got), 40, f"{c_name} at the receiver after restart")
        rlabel = "sftp://" + sftp.url.split("@", 1)[1]
        wait_until(lambda: st.metric(f'citytel_tt10_delivered_total{{receiver="{rlabel}"}}') == 1,
                   20, "the delivery counted")
        c_end = local(c_start + 60000)
        with open(c_got, "rb") as f:
            body = f.read()
        check(body == (f"pH\t7.30\t\t{c_end}\t00\r\n"
                       f"Temp\t21.00\toC\t{c_end}\t00\r\n").encode(),
              f"after the restart the open interval's file has all its readings ({body!r})")
        check("written by an earlier run (a journal replay): not written or sent again"
              in st.log("collector"), "the replay made the air file again and it was skipped")
        time.sleep(2)  # a later delivery would show within the outbox's next pass (not an assert)
        after = os.stat(got)
        check((after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns) and
              st.metric(f'citytel_tt10_delivered_total{{receiver="{rlabel}"}}') == 1,
              "the file written before the stop was not sent again")
        check(sorted(os.listdir(sftp.incoming)) == sorted([name, c_name]),
              "the receiver has each interval's file once, no other name")

        # In: a water station's file, two minutes old; DO has status 02.
        t_ms = now - now % 60000 - 120000
        t = local(t_ms)
        good = (f"pH\t7.21\t\t{t}\t00\r\nDO\t5.40\tmg/L\t{t}\t02\r\n"
                f"COD\t18.00\tmg/L\t{t}\t00\r\nTSS\t12.5\tmg/L\t{t}\t00\r\n").encode("utf-8")
        gname = f"HN_CITYTEL_NM-0002_{t}.txt"
        drop(in_dir, gname, good)

        def water():
            return st.query(f"SELECT * FROM water WHERE device = '{WATER}' AND "
                            f"time = {t_ms}ms")

        rows = wait_until(water, 40, "the file's reading in the store")
        r = rows[0]
        check(len(rows) == 1 and r["time"] == t_ms and r["ph"] == 7.21 and r["cod"] == 18 and
              r["tss"] == 12.5, f"the reading is stored with the file's time and values ({r})")
        check(r.get("do") is None, "the value with status 02 (fault) is kept out")
        wait_until(lambda: os.path.exists(os.path.join(in_dir, ".done", gname)), 20,
                   "the file moved to .done")

        # The same file again: removed as a duplicate, still one point.
        drop(in_dir, gname, good)
        wait_until(lambda: not os.path.exists(os.path.join(in_dir, gname)), 30,
                   "the duplicate taken")
        time.sleep(1)  # the flow's next flush, before counting (not an assertion)
        check(len(water()) == 1, "the same file twice is stored once")

        # A bad file (a letter in a value) goes whole to quarantine with line and reason.
        bname = f"HN_CITYTEL_NM-0002_{local(t_ms + 60000)}.txt"
        drop(in_dir, bname, f"pH\t7.2\t\t{t}\t00\r\nCOD\t1O\tmg/L\t{t}\t00\r\n".encode())
        reason = os.path.join(in_dir, ".quarantine", bname + ".reason")
        wait_until(lambda: os.path.exists(reason), 30, "the bad file quarantined")
        with open(reason) as f:
            why = f.read()
        check(why == "line 2: value of COD: expected a decimal number\n", f"reason: {why!r}")
        check(os.path.exists(os.path.join(in_dir, ".quarantine", bname)),
              "the bad file is kept whole")
        wait_until(lambda: st.metric('citytel_tt10_in_files_total{outcome="quarantined"}') == 1,
                   20, "the quarantine counted")
        check(st.metric('citytel_tt10_in_files_total{outcome="accepted"}') == 1 and
              st.metric('citytel_tt10_in_files_total{outcome="duplicate"}') == 1 and
              st.metric("citytel_tt10_in_flagged_values_total") == 1 and
              st.metric("citytel_tt10_files_total") >= 1,
              "/metrics counts the files in and out")
    finally:
        if sftp is not None and sftp.proc is not None:
            sftp.stop()
        st.close()
    print(f"{len(CHECKS)} passed, 0 failed")


if __name__ == "__main__":
    main()
