"""durlib.py - helpers shared by test_durability.py and test_faults.py (standard library only).

A fleet registry of many devices, the dur-pub publisher (its acknowledged readings), InfluxDB
restarted on the same port, the stored points of a database, and the spool's segment format
(docs/spool.md) for damaging a segment on purpose."""
import json
import os
import struct
import subprocess
import zlib

from harness import wait_until

DISTRICTS = [("Hoàn Kiếm", "Hàng Bông"), ("Đống Đa", "Kim Liên"), ("Ba Đình", "Điện Biên"),
             ("Cầu Giấy", "Dịch Vọng"), ("Hai Bà Trưng", "Bách Khoa")]


def fleet_registry(n_air, n_water, first=1):
    """Registry lines for n_air air and n_water water devices numbered from 'first', in
    publishing order."""
    out = []
    for kind, n in (("air", n_air), ("water", n_water)):
        for i in range(first, first + n):
            district, ward = DISTRICTS[i % len(DISTRICTS)]
            out.append({"id": f"hn-{kind}-{i:04d}", "kind": kind, "name": f"Trạm {kind} {i}",
                        "lat": 21.0 + i / 1000.0, "lon": 105.8 + i / 1000.0,
                        "district": district, "ward": ward})
    return out


class Publisher:
    """One dur-pub process: count readings at rate msg/s; every acknowledged reading is a line
    '<device> <boot> <seq> <ts>' of the acked file."""

    def __init__(self, st, name, count, rate, devices, boot, registry=None, extra=None):
        self.st = st
        self.name = name
        self.count = count
        self.acked_file = os.path.join(st.dir, f"{name}.acked")
        self.out_file = os.path.join(st.dir, f"{name}.out")
        argv = [st.exe("tests", "e2e", "tools", "dur-pub"),
                "--broker", f"tcp://127.0.0.1:{st.mqtt_port}", "--registry", registry or st.registry,
                "--master-key-file", st.master_key_file, "--count", str(count),
                "--rate", str(rate), "--devices", str(devices), "--boot", str(boot),
                "--client-id", f"dur-pub-{name}", "--acked-file", self.acked_file,
                "--timeout-s", "300"] + (extra or [])
        self.out = open(self.out_file, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.out,
                                     stderr=open(os.path.join(st.dir, f"{name}.log"), "ab"),
                                     start_new_session=True)
        st.procs[name] = (self.proc, self.out)

    def acked(self):
        """The set of acknowledged readings as (device, ts)."""
        out = set()
        if os.path.exists(self.acked_file):
            with open(self.acked_file) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 4:
                        out.add((parts[0], int(parts[3])))
        return out

    def wait(self, timeout):
        """Waits for the exit; returns (exit code, summary line)."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.st.stop(self.name)
            return None, "timed out"
        self.st.stop(self.name)
        with open(self.out_file) as f:
            return rc, f.read().strip()


def start_influxdb_on(st, port):
    """Starts InfluxDB again with the stack's data folder, on 'port' (the port it had)."""
    st.start_influxdb(port)


def stored(st, db, measurements=("air", "water")):
    """The points of 'db' as a set of (device, time ms), and their number (rows)."""
    keep = st.db
    st.db = db
    try:
        out, rows = set(), 0
        for m in measurements:
            for r in st.query(f'SELECT * FROM "{m}" GROUP BY "device"'):
                out.add((r["device"], r["time"]))
                rows += 1
        return out, rows
    finally:
        st.db = keep


def wait_stored(st, db, want, timeout):
    """Waits until the stored set of 'db' holds as many points as 'want'; returns the set."""
    got = [set()]

    def enough():
        got[0], _ = stored(st, db)
        return len(got[0]) >= len(want)
    try:
        wait_until(enough, timeout, f"{len(want)} points in {db}", interval=1.0)
    except AssertionError:
        pass
    return got[0]


def describe_diff(acked, got):
    missing = sorted(acked - got)
    extra = sorted(got - acked)
    return (f"acked={len(acked)} stored={len(got)} missing={len(missing)} {missing[:5]} "
            f"extra={len(extra)} {extra[:5]}")


# -- the spool's segment format (docs/spool.md) ------------------------------------------------
SEG_HDR = 40
REC_HDR = 32
REC_MAGIC = bytes([0xC7, 0x5E, 0x52, 0x31])


def segments(spool_dir):
    return sorted(os.path.join(spool_dir, n) for n in os.listdir(spool_dir)
                  if n.startswith("spool-") and n.endswith(".seg"))


def records(path):
    """The valid records of a segment: list of (offset, seq, data)."""
    with open(path, "rb") as f:
        buf = f.read()
    out, off = [], SEG_HDR
    while off + REC_HDR <= len(buf):
        magic, crc, length, flags, seq, _ = struct.unpack_from("<4sIIIQQ", buf, off)
        end = off + REC_HDR + length
        if magic != REC_MAGIC or flags != 0 or end > len(buf):
            break
        data = buf[off + REC_HDR:end]
        if zlib.crc32(data + buf[off + 8:off + REC_HDR]) & 0xFFFFFFFF != crc:
            break
        out.append((off, seq, data))
        off = end
    return out


def record_reading(data):
    """(device, ts) of the reading in a collector message record (col_msg.h layout:
    u32 magic, i64 recv_ms, u16 topic_len, u8 sig_len, u8 flags, u32 payload_len, then topic,
    sig, payload)."""
    _, _, tlen, slen, _, plen = struct.unpack_from("<IqHBBI", data, 0)
    payload = data[20 + tlen + slen:20 + tlen + slen + plen]
    msg = json.loads(payload)
    return msg["id"], msg["ts"]
