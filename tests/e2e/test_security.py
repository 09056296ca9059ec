#!/usr/bin/env python3
"""End-to-end security: the shipped broker config (config/broker/) on the real Mosquitto, with
certificates from scripts/make-certs.sh, the real InfluxDB and the collector over TLS with a
password.

Asserts: a device with its certificate publishes on its own topic and the reading is stored; the
same device publishing on another device's topic (correctly signed, so only the broker can stop
it) is refused by the ACL and never reaches the collector; a device reads nothing; a client
without a certificate cannot connect on the device listener, nor a collector with a wrong
password on the collector listener; sensor-node over ssl:// with its client certificate has its
readings stored; a wrong signature over an authenticated connection is still rejected by the
collector. Keys: a master key file of mode 0644 stops the collector (the log names the file and
the mode, and no key material is logged); the master key from an environment variable works;
rotation with security.previous_master_key_file accepts both old- and new-derived device keys,
and after removing the old key (restart) only the new ones."""
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Stack, device_key, free_port, sign, wait_until  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

COLLECTOR_USER = "citytel_collector"
COLLECTOR_PASSWORD = "pw-Hanoi-2026-collector"
DEVICES = ["hn-air-0001", "hn-air-0002", "hn-air-0003"]
REGISTRY = [
    {"id": "hn-air-0001", "kind": "air", "name": "Trạm Hàng Bông", "lat": 21.0305,
     "lon": 105.8470, "district": "Hoàn Kiếm", "ward": "Hàng Bông"},
    {"id": "hn-air-0002", "kind": "air", "name": "Trạm Kim Liên", "lat": 21.0070,
     "lon": 105.8330, "district": "Đống Đa", "ward": "Kim Liên"},
    {"id": "hn-air-0003", "kind": "air", "name": "Trạm Cầu Giấy", "lat": 21.0362,
     "lon": 105.7906, "district": "Cầu Giấy", "ward": "Dịch Vọng"},
]
NEW_MASTER = bytes(range(101, 133))

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


class Secure:
    """The shipped broker config on free ports, with certificates and a password file."""

    def __init__(self, st):
        self.st = st
        self.etc = os.path.join(st.dir, "broker")
        self.certs = os.path.join(self.etc, "certs")
        os.makedirs(self.certs)
        r = subprocess.run(["sh", os.path.join(SRC, "scripts", "make-certs.sh"), self.certs]
                           + DEVICES, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError(f"make-certs.sh failed: {r.stderr}")
        self.ca = os.path.join(self.certs, "ca.crt")
        subprocess.run(["mosquitto_passwd", "-c", "-b", os.path.join(self.etc, "citytel.passwd"),
                        COLLECTOR_USER, COLLECTOR_PASSWORD], check=True, timeout=20,
                       capture_output=True)
        shutil.copy(os.path.join(SRC, "config", "broker", "citytel.acl"), self.etc)
        self.dev_port = free_port()
        self.col_port = free_port()
        data = os.path.join(self.etc, "data")
        os.makedirs(data)
        conf = open(os.path.join(SRC, "config", "broker", "mosquitto.conf")).read()
        conf = conf.replace("/etc/mosquitto/citytel", self.etc)
        conf = conf.replace("/var/lib/mosquitto/", data + "/")
        conf = re.sub(r"^listener 8883$", f"listener {self.dev_port} 127.0.0.1", conf,
                      flags=re.M)
        conf = re.sub(r"^listener 8884$", f"listener {self.col_port} 127.0.0.1", conf,
                      flags=re.M)
        if "8883" in conf or "8884" in conf:
            raise AssertionError("the broker config has ports the test could not template")
        conf += f"log_dest file {self.etc}/mosquitto.log\n"
        if os.geteuid() == 0:
            conf += "user root\n"
        self.conf = os.path.join(self.etc, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        st.spawn("mosquitto", ["mosquitto", "-c", self.conf])
        st.wait_port(self.dev_port, 20)
        st.wait_port(self.col_port, 20)
        st.mqtt_port = self.col_port

    def dev_tls(self, device):
        return ["--cafile", self.ca, "--cert", os.path.join(self.certs, "devices", f"{device}.crt"),
                "--key", os.path.join(self.certs, "devices", f"{device}.key")]

    def publish(self, device, topic, payload, sig):
        """Publishes as `device` (its certificate) on the device listener; returns the PUBACK
        reason code (0 success, 135 not authorized) or None when it could not connect."""
        argv = ["mosquitto_pub", "-V", "5", "-h", "127.0.0.1", "-p", str(self.dev_port), "-d",
                "-q", "1", "-t", topic, "-s", "-D", "publish", "user-property", "sig", sig]
        argv += self.dev_tls(device) if device else ["--cafile", self.ca]
        r = subprocess.run(argv, input=payload, capture_output=True, timeout=20)
        m = re.search(rb"received PUBACK \(Mid: \d+, RC:(\d+)\)", r.stdout)
        return int(m.group(1)) if m else None

    def collector_cfg(self, name, extra_security, password_file=False):
        """The collector over TLS to the collector listener, with the password inline or, with
        password_file, in a 0600 file (mqtt.password_file)."""
        mqtt = {"uri": f"ssl://127.0.0.1:{self.col_port}", "username": COLLECTOR_USER,
                "ca_file": self.ca}
        if password_file:
            pw = os.path.join(self.st.dir, f"{name}.mqtt-password")
            fd = os.open(pw, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(fd, COLLECTOR_PASSWORD.encode() + b"\n")
            os.close(fd)
            mqtt["password_file"] = pw
        else:
            mqtt["password"] = COLLECTOR_PASSWORD
        sec = {"require_signatures": True}
        sec.update(extra_security)
        return {"mqtt": mqtt, "security": sec}


def air(device, seq, ts, pm25):
    return json.dumps({"v": 1, "id": device, "boot": 1, "seq": seq, "ts": ts,
                       "m": {"pm25": pm25, "t": 29.5}}, separators=(",", ":")).encode()


def write_key(path, key, mode):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, key.hex().encode() + b"\n")
    os.close(fd)
    os.chmod(path, mode)
    return path


def main():
    os.environ.pop("CITYTEL_MASTER_KEY", None)
    st = Stack("security", BUILD, SRC)
    seq = {d: 0 for d in DEVICES}
    names = []

    def send(sec, device, master, topic_device=None, sig=None, pm25=20.0):
        """Sends the next reading of `device` as itself (its certificate), on its own topic or
        on topic_device's; returns (reason code, ts)."""
        td = topic_device or device
        who = device or td
        seq[who] += 1
        ts = int(time.time() * 1000) - 100 + seq[who]
        topic = f"city/v1/air/{td}/up"
        payload = air(td, seq[who], ts, pm25)
        if sig is None:
            sig = sign(device_key(master, td), topic, payload)
        return sec.publish(device, topic, payload, sig), ts

    def points(device, ts=None):
        q = f"SELECT * FROM \"air\" WHERE \"device\" = '{device}'"
        if ts is not None:
            q += f" AND time = {ts}ms"
        return st.query(q)

    def wait_point(device, ts, what):
        try:
            wait_until(lambda: points(device, ts), 20, what, interval=0.2)
            return True
        except AssertionError:
            return False

    def start(name, security, env=None):
        names.append(name)
        if env:
            os.environ.update(env)
        try:
            st.start_collector(extra=sec.collector_cfg(name, security), name=name,
                               instance=name)
        finally:
            for k in (env or {}):
                os.environ.pop(k, None)
        wait_until(lambda: st.metric("citytel_mqtt_connected") == 1, 30,
                   f"{name} connected to the broker over TLS")
        # Retained status messages (signed by whichever key was current) arrive on subscribe;
        # let them settle so that the counters compared below move only by what we publish.
        last = [None]

        def settled():
            now = st.metrics()
            now = {k: v for k, v in now.items() if k.startswith(("citytel_mqtt_messages_total",
                                                                 "citytel_rejected_total",
                                                                 "citytel_status_messages"))}
            same, last[0] = now == last[0], now
            return same
        wait_until(settled, 20, f"{name}: retained messages settled", interval=0.7)

    try:
        st.start_influxdb()
        st.write_registry(REGISTRY)
        sec = Secure(st)
        key_hex = st.master.hex()
        st.master_key_file = ""
        old_key_file = write_key(os.path.join(st.dir, "master-old.key"), st.master, 0o600)
        new_key_file = write_key(os.path.join(st.dir, "master-new.key"), NEW_MASTER, 0o600)

        # 1. A master key file readable by others stops the collector; no key in the log.
        loose = write_key(os.path.join(st.dir, "master-loose.key"), st.master, 0o644)
        st.start_collector(extra=sec.collector_cfg("loose", {"master_key_file": loose}),
                           name="loose", instance="loose", wait_http=False)
        names.append("loose")
        rc = st.procs["loose"][0].wait(30)
        log = st.log("loose")
        check(rc != 0, f"the collector refuses to start with a 0644 master key file (exit {rc})")
        check(loose in log and "644" in log,
              "the log names the key file and its mode: "
              + next((ln for ln in log.splitlines() if "master key" in ln), "(no line)"))
        st.stop("loose")

        # The collector's broker password from mqtt.password_file (a 0600 file).
        names.append("pwfile")
        st.start_collector(extra=sec.collector_cfg("pwfile", {"master_key_file": old_key_file},
                                                   password_file=True),
                           name="pwfile", instance="pwfile")
        try:
            wait_until(lambda: st.metric("citytel_mqtt_connected") == 1, 15,
                       "pwfile connected")
        except AssertionError:
            pass
        check(st.metric("citytel_mqtt_connected") == 1,
              "with mqtt.password_file the collector authenticates on the collector listener")
        st.stop("pwfile")

        # 2. The collector over TLS with a password; a device with its certificate.
        start("c1", {"master_key_file": old_key_file})
        accepted0 = st.metric("citytel_messages_accepted_total")
        rc, ts = send(sec, "hn-air-0001", st.master, pm25=31.5)
        check(rc == 0, f"the broker acknowledges a device's publish on its own topic (RC {rc})")
        ok = wait_point("hn-air-0001", ts, "the device's reading in InfluxDB")
        check(ok and points("hn-air-0001", ts)[0].get("pm25") == 31.5,
              "the reading published over TLS with a client certificate is stored exactly")
        wait_until(lambda: st.metric("citytel_messages_accepted_total") >= accepted0 + 1, 10,
                   "accepted counter")

        # A device subscribing to everything receives nothing.
        sub = st.spawn("devsub", ["mosquitto_sub", "-V", "5", "-h", "127.0.0.1", "-p",
                                  str(sec.dev_port), "-q", "1", "-v", "-t", "city/#"]
                       + sec.dev_tls("hn-air-0002"))
        time.sleep(1.0)

        # The same device on another device's topic, correctly signed for that device.
        before = st.metrics()
        rc, spoof_ts = send(sec, "hn-air-0001", st.master, topic_device="hn-air-0002")
        check(rc == 135, f"the broker's ACL refuses a publish on another device's topic "
                         f"(PUBACK RC {rc}, 135 = not authorized)")
        rc, ts2 = send(sec, "hn-air-0001", st.master, pm25=33.0)
        wait_point("hn-air-0001", ts2, "a later reading of the device")
        time.sleep(0.5)
        after = st.metrics()
        check(points("hn-air-0002") == [],
              "the spoofed reading never reaches the store (no point for hn-air-0002)")
        changed = {k: (before.get(k, 0), v) for k, v in after.items()
                   if k.startswith(("citytel_rejected_total", "citytel_mqtt_messages_total",
                                    "citytel_messages_accepted_total"))
                   and v != before.get(k, 0)}
        check(all(v - b == 1 for b, v in changed.values()) and any(
            k.startswith("citytel_messages_accepted_total") for k in changed)
            and not any(k.startswith("citytel_rejected_total") for k in changed),
            f"the collector saw only the one later reading: no rejection counted ({changed})")

        # The rest of the device ACL: its own status yes; another's status, alerts, no.
        def status(dev_topic):
            t = f"city/v1/air/{dev_topic}/status"
            p = json.dumps({"v": 1, "id": dev_topic, "state": "online"}).encode()
            return sec.publish("hn-air-0001", t, p, sign(device_key(st.master, dev_topic), t, p))
        rc_own, rc_other = status("hn-air-0001"), status("hn-air-0002")
        check(rc_own == 0 and rc_other == 135,
              f"a device may publish its own status only (own {rc_own}, other's {rc_other})")
        rc = sec.publish("hn-air-0001", "city/v1/alert/air/hoan-kiem", b'{"v":1}', "00" * 32)
        check(rc == 135, f"a device may not publish alerts (PUBACK RC {rc})")

        # Without a client certificate, and with a wrong collector password: no connection.
        rc, _ = send(sec, None, st.master, topic_device="hn-air-0001")
        check(rc is None, "a client without a certificate cannot connect on the device listener")
        bad = subprocess.run(["mosquitto_pub", "-V", "5", "-h", "127.0.0.1", "-p",
                              str(sec.col_port), "--cafile", sec.ca, "-u", COLLECTOR_USER,
                              "-P", "wrong", "-q", "1", "-t", "city/v1/alert/air/x", "-m", "x"],
                             capture_output=True, timeout=20)
        check(bad.returncode != 0, "a wrong password is refused on the collector listener")
        plain = subprocess.run(["mosquitto_pub", "-V", "5", "-h", "127.0.0.1", "-p",
                                str(sec.dev_port), "-q", "1", "-t", "city/v1/air/x/up",
                                "-m", "x"], capture_output=True, timeout=20)
        check(plain.returncode != 0, "plain TCP (no TLS) is refused on the device listener")

        # sensor-node over ssl:// with its client certificate.
        node_key = write_key(os.path.join(st.dir, "hn-air-0003.key"),
                             device_key(st.master, "hn-air-0003"), 0o600)
        node = st.run([st.exe("firmware-sensor", "app", "sensor-node"), "--kind", "air",
                       "--id", "hn-air-0003", "--broker", f"ssl://127.0.0.1:{sec.dev_port}",
                       "--key-file", node_key, "--state-dir", os.path.join(st.dir, "node3"),
                       "--interval-ms", "100", "--count", "4", "--no-sync",
                       "--ca", sec.ca,
                       "--cert", os.path.join(sec.certs, "devices", "hn-air-0003.crt"),
                       "--key-pem", os.path.join(sec.certs, "devices", "hn-air-0003.key")],
                      timeout=60, name="node3")
        check(node.returncode == 0, f"sensor-node published over TLS and exited 0 "
                                    f"({node.returncode})")
        try:
            rows = wait_until(lambda: (lambda r: r if len(r) >= 4 else None)(
                points("hn-air-0003")), 30, "4 sensor-node points")
        except AssertionError:
            rows = points("hn-air-0003")
        check(len(rows) == 4, f"sensor-node's 4 readings are stored ({len(rows)})")

        # Defence in depth: an authenticated device with a wrong signature.
        bad0 = st.metric('citytel_rejected_total{reason="bad_sig"}')
        rc, bad_ts = send(sec, "hn-air-0001", st.master, sig="ab" * 32)
        check(rc == 0, "the broker accepts the device's own topic whatever the signature")
        try:
            wait_until(lambda: st.metric('citytel_rejected_total{reason="bad_sig"}') > bad0, 15,
                       "bad_sig counted")
        except AssertionError:
            pass
        check(st.metric('citytel_rejected_total{reason="bad_sig"}') == bad0 + 1,
              "a wrong signature is still rejected by the collector (bad_sig + 1)")
        check(points("hn-air-0001", bad_ts) == [], "the wrongly signed reading is not stored")

        st.stop("devsub")
        got = st.log("devsub")
        check(sub is not None and "city/" not in got,
              f"a device subscribed to city/# received nothing ({got.strip()[:200]!r})")
        check(st.stop("c1") == 0, "c1 stops cleanly")

        # 3. The master key from an environment variable (no key file at all).
        start("c2", {"master_key_file": "", "master_key_env": "CT_TEST_MASTER"},
              env={"CT_TEST_MASTER": key_hex})
        rc, ts = send(sec, "hn-air-0002", st.master, pm25=12.25)
        check(rc == 0 and wait_point("hn-air-0002", ts, "env-key reading"),
              "with security.master_key_env the collector verifies and stores a reading")
        check(st.stop("c2") == 0, "c2 stops cleanly")

        # docs/config.md: master_key_env is "used when master_key_file is empty", so with both
        # given the file's key verifies (here the env variable holds a different key).
        start("c2b", {"master_key_file": old_key_file, "master_key_env": "CT_TEST_MASTER"},
              env={"CT_TEST_MASTER": NEW_MASTER.hex()})
        rc, ts = send(sec, "hn-air-0001", st.master, pm25=13.5)
        check(rc == 0 and wait_point("hn-air-0001", ts, "file-key reading with env set"),
              "with both master_key_file and a set master_key_env, the file's key is used "
              "(as docs/config.md says)")
        check(st.stop("c2b") == 0, "c2b stops cleanly")

        # 4. Rotation: new key file + previous key file: both derivations accepted.
        start("c3", {"master_key_file": new_key_file, "previous_master_key_file": old_key_file})
        rc_old, ts_old = send(sec, "hn-air-0001", st.master, pm25=40.0)
        rc_new, ts_new = send(sec, "hn-air-0002", NEW_MASTER, pm25=41.0)
        check(rc_old == 0 and wait_point("hn-air-0001", ts_old, "old-key reading"),
              "during rotation a reading signed with an old-master device key is accepted")
        check(rc_new == 0 and wait_point("hn-air-0002", ts_new, "new-key reading"),
              "during rotation a reading signed with a new-master device key is accepted")
        check(st.stop("c3") == 0, "c3 stops cleanly")

        # After the old key is removed from the config (restart): only the new ones.
        start("c4", {"master_key_file": new_key_file})
        bad0 = st.metric('citytel_rejected_total{reason="bad_sig"}')
        rc_old, ts_old = send(sec, "hn-air-0001", st.master, pm25=42.0)
        rc_new, ts_new = send(sec, "hn-air-0002", NEW_MASTER, pm25=43.0)
        check(rc_new == 0 and wait_point("hn-air-0002", ts_new, "new-key reading after"),
              "after rotation a new-master signature is accepted")
        try:
            wait_until(lambda: st.metric('citytel_rejected_total{reason="bad_sig"}') > bad0, 15,
                       "old-key reading rejected")
        except AssertionError:
            pass
        rej = {k: v for k, v in st.metrics().items()
               if k.startswith("citytel_rejected_total") and v}
        stored_old = points("hn-air-0001", ts_old)
        check(rc_old == 0 and st.metric('citytel_rejected_total{reason="bad_sig"}') == bad0 + 1
              and stored_old == [],
              f"after rotation an old-master signature is rejected as bad_sig and not stored "
              f"(PUBACK {rc_old}, rejections {rej}, stored {stored_old})")
        check(st.stop("c4") == 0, "c4 stops cleanly")

        # No log of any collector run holds key material or the broker password.
        secrets = [key_hex, NEW_MASTER.hex(), COLLECTOR_PASSWORD]
        for d in DEVICES:
            secrets += [device_key(st.master, d).hex(), device_key(NEW_MASTER, d).hex()]
        leaks = [n for n in names for s in secrets
                 if s.lower() in st.log(n).lower() or s.upper() in st.log(n)]
        check(names and not leaks, f"no key material or password in the logs of {names} "
                                   f"(leaks in: {sorted(set(leaks))})")
    finally:
        if failed:
            for name in names + ["node3"]:
                print(f"--- {name} log ---\n{st.log(name)[-2500:]}")
            mlog = os.path.join(st.dir, "broker", "mosquitto.log")
            if os.path.exists(mlog):
                print(f"--- mosquitto log ---\n{open(mlog).read()[-2500:]}")
        st.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
