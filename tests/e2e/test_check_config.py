#!/usr/bin/env python3
"""`collector check-config` loads everything `run` would (issue 17).

No server: check-config connects to nothing. Each case writes a config and its files into a
temporary folder and asserts the exit code and that stderr names the faulty file (and, for the
registry and malformed JSON, the line): a good config says "ok" with the registry's device
count; a registry with a bad third line, a missing or group-readable master key, a key file with
too few hex digits, a missing mqtt.password_file, an ssl:// broker with a missing CA file or a
client certificate without its key, malformed JSON in the config. Before issue 17 a bad
registry said "ok"."""
import json
import os
import shutil
import subprocess
import sys
import time
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools"))
from durlib import Checks  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
EXE = os.path.join(BUILD, "collector", "app", "collector")
GOOD_LINE = {"id": "hn-air-0001", "kind": "air", "name": "Trạm Hàng Bông", "lat": 21.03,
             "lon": 105.847, "district": "Hoàn Kiếm", "ward": "Hàng Bông"}

checks = Checks()
check = checks.check
T0 = time.time()


def write(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def main():
    d = tempfile.mkdtemp(prefix="citytel-checkcfg-")
    try:
        reg = write(os.path.join(d, "registry.jsonl"),
                    json.dumps(GOOD_LINE, ensure_ascii=False) + "\n", 0o644)
        key = write(os.path.join(d, "master.key"), "01" * 32 + "\n")

        def cfg(name, **groups):
            base = {"registry": {"path": reg},
                    "security": {"require_signatures": True, "master_key_file": key},
                    "mqtt": {"uri": "tcp://127.0.0.1:1883"},
                    "spool": {"dir": os.path.join(d, "spool")}}
            for g, kv in groups.items():
                base.setdefault(g, {}).update(kv)
            return write(os.path.join(d, name + ".json"), json.dumps(base), 0o644)

        def run(path):
            r = subprocess.run([EXE, "check-config", "-c", path], capture_output=True, text=True,
                               timeout=30)
            return r.returncode, r.stdout, r.stderr

        rc, out, err = run(cfg("good"))
        check(rc == 0 and "ok (1 devices" in out, f"a good config is ok ({out.strip()} {err.strip()})")
        check(not os.path.exists(os.path.join(d, "spool")), "check-config creates no spool")

        bad_reg = write(os.path.join(d, "bad.jsonl"),
                        json.dumps(GOOD_LINE, ensure_ascii=False) + "\n\n"
                        + '{"id": "hn-air-0002", "kind": "air", "lat": "north"}\n', 0o644)
        rc, out, err = run(cfg("badreg", registry={"path": bad_reg}))
        check(rc == 1 and "bad.jsonl:3" in err, f"a bad registry line fails naming file:line ({err.strip()})")

        rc, out, err = run(cfg("nokey", security={"master_key_file": os.path.join(d, "nope.key")}))
        check(rc == 1 and "nope.key" in err, f"a missing master key fails naming it ({err.strip()})")

        loose = write(os.path.join(d, "loose.key"), "01" * 32 + "\n", 0o644)
        rc, out, err = run(cfg("loosekey", security={"master_key_file": loose}))
        check(rc == 1 and "loose.key" in err and "chmod 600" in err,
              f"a group-readable master key fails naming it ({err.strip()})")

        short = write(os.path.join(d, "short.key"), "0102\n")
        rc, out, err = run(cfg("shortkey", security={"previous_master_key_file": short}))
        check(rc == 1 and "short.key" in err,
              f"a previous master key of 2 bytes fails naming it ({err.strip()})")

        rc, out, err = run(cfg("nopw", mqtt={"password_file": os.path.join(d, "mqtt.pw")}))
        check(rc == 1 and "mqtt.pw" in err, f"a missing mqtt.password_file fails naming it ({err.strip()})")

        rc, out, err = run(cfg("noca", mqtt={"uri": "ssl://127.0.0.1:8883",
                                             "ca_file": os.path.join(d, "ca.pem")}))
        check(rc == 1 and "ca.pem" in err, f"a missing CA file fails naming it ({err.strip()})")

        rc, out, err = run(cfg("nocert", mqtt={"uri": "ssl://127.0.0.1:8883", "ca_file": "",
                                               "cert_file": os.path.join(d, "client.pem")}))
        check(rc == 1 and "key_file" in err,
              f"a client certificate without its key fails ({err.strip()})")

        broken = write(os.path.join(d, "broken.json"), '{"registry": {"path": "x"},\n "mqtt": {\n', 0o644)
        rc, out, err = run(broken)
        check(rc == 1 and "broken.json:" in err, f"malformed JSON fails naming file:line ({err.strip()})")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(checks.done(T0))


if __name__ == "__main__":
    main()
