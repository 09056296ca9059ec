#!/usr/bin/env python3
"""Release check (issue 17): the .deb installs and the installed collector runs.

Builds the package with CPack (cmake/CtInstall.cmake), installs it with dpkg into a temporary
root (`dpkg --root --force-script-chrootless`, so the maintainer scripts run with $DPKG_ROOT),
and asserts what an operator would see: the programs in /usr/bin, the config and registry as
conffiles, the user "citytel" with /var/lib/citytel and its spool folder, a generated master key
the collector accepts (mode 600), the runtime Depends, `collector --help` naming the files, the
units passing `systemd-analyze verify`. Then it runs the installed collector on the installed
config (only the servers' ports and the writable paths changed) against a real Mosquitto and
InfluxDB: the collector tells $NOTIFY_SOCKET READY=1 (the unit's Type=notify), and a reading
signed with the generated key, from a station of the installed example registry, is stored.
Last, `dpkg --purge` removes the programs, the state folder and the generated key."""
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools"))
from durlib import Checks  # noqa: E402
from harness import Stack, wait_until  # noqa: E402

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR",
                                                                              "build"))
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
DEV = "hn-air-0001"  # in config/registry.jsonl, installed as /etc/citytel/registry.jsonl

checks = Checks()
check = checks.check
T0 = time.time()


def run(argv, **kw):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=kw.pop("timeout", 300), **kw)
    if r.returncode != 0:
        print(f"# {' '.join(argv)} -> {r.returncode}\n{r.stdout[-3000:]}")
    return r


def seed_root(root):
    """An empty dpkg database and the base accounts, as a fresh system has."""
    for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "etc"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for f in ("var/lib/dpkg/status", "var/lib/dpkg/available"):
        open(os.path.join(root, f), "w").close()
    base = {"passwd": "root:x:0:0:root:/root:/bin/sh\n", "group": "root:x:0:\n",
            "shadow": "root:*:20000:0:99999:7:::\n", "gshadow": "root:*::\n"}
    for name, text in base.items():
        with open(os.path.join(root, "etc", name), "w") as f:
            f.write(text)
    if os.path.exists("/etc/login.defs"):
        shutil.copy("/etc/login.defs", os.path.join(root, "etc", "login.defs"))


def dpkg(root, *args):
    argv = ["dpkg", f"--root={root}", "--force-script-chrootless", "--force-depends",
            "--log=/dev/null"] + list(args)
    if os.geteuid() != 0:
        argv = ["fakeroot"] + argv + ["--force-not-root"]
    env = dict(os.environ, PATH=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    return run(argv, env=env)


def citytel_ids(root):
    for line in open(os.path.join(root, "etc", "passwd")):
        p = line.split(":")
        if p[0] == "citytel":
            return int(p[2]), int(p[3]), p[6].strip()
    return None


def main():
    st = Stack("deb", BUILD, SRC)
    root = os.path.join(st.dir, "root")
    out = os.path.join(st.dir, "pkg")
    try:
        # -- build the package -----------------------------------------------------------------
        r = run(["cmake", "--build", BUILD, "--target", "collector", "fleet-sim"], timeout=600)
        check(r.returncode == 0, "collector and fleet-sim build")
        r = run(["cpack", "-G", "DEB", "-B", out], cwd=BUILD, timeout=300)
        debs = [f for f in os.listdir(out) if f.endswith(".deb")] if os.path.isdir(out) else []
        check(r.returncode == 0 and len(debs) == 1, f"cpack made one .deb ({debs})")
        if len(debs) != 1:
            return
        deb = os.path.join(out, debs[0])
        depends = run(["dpkg-deb", "-f", deb, "Depends"]).stdout
        for lib in ("libuv1", "libcurl4", "libpaho-mqtt1.3", "libcjson1", "libmbedcrypto7",
                    "libhttp-parser2.9", "passwd"):
            check(lib in depends, f"Depends names {lib}")

        # -- install into a temporary root ---------------------------------------------------------
        seed_root(root)
        r = dpkg(root, "-i", deb)
        check(r.returncode == 0, "dpkg --root -i installs the package (postinst ran)")
        for exe in ("usr/bin/collector", "usr/bin/fleet-sim"):
            check(os.access(os.path.join(root, exe), os.X_OK), f"/{exe} is installed")
        status = run(["dpkg-query", f"--admindir={root}/var/lib/dpkg", "-s", "citytel"]).stdout
        check("Status: install ok installed" in status, "dpkg records citytel as installed")
        for f in ("/etc/citytel/collector.json", "/etc/citytel/registry.jsonl"):
            check(f" {f} " in status.split("Conffiles:")[-1], f"{f} is a conffile")
        ids = citytel_ids(root)
        check(ids is not None and ids[0] > 0, f"postinst made the system user citytel ({ids})")
        uid, gid = (ids[0], ids[1]) if ids else (-1, -1)
        for d in ("var/lib/citytel", "var/lib/citytel/spool"):
            p = os.path.join(root, d)
            s = os.stat(p) if os.path.isdir(p) else None
            check(s is not None and s.st_uid == uid and stat.S_IMODE(s.st_mode) == 0o750,
                  f"/{d} exists, owned by citytel, mode 750")
        key = os.path.join(root, "etc/citytel/master.key")
        ks = os.stat(key) if os.path.exists(key) else None
        check(ks is not None and ks.st_uid == uid and stat.S_IMODE(ks.st_mode) == 0o600,
              "postinst made /etc/citytel/master.key, owned by citytel, mode 600")
        master_hex = open(key).read().strip() if ks else ""
        check(len(master_hex) == 64 and all(c in "0123456789abcdef" for c in master_hex),
              "the master key is 32 random bytes in hex")
        cs = os.stat(os.path.join(root, "etc/citytel/collector.json"))
        check(cs.st_gid == gid and stat.S_IMODE(cs.st_mode) == 0o640,
              "collector.json is readable by the citytel group only (640 root:citytel)")
        cfg = json.load(open(os.path.join(root, "etc/citytel/collector.json")))
        check(cfg["registry"]["path"] == "/etc/citytel/registry.jsonl"
              and cfg["spool"]["dir"].startswith("/var/lib/citytel/")
              and cfg["security"]["master_key_file"] == "/etc/citytel/master.key"
              and cfg["map"]["dir"] == "/usr/share/citytel/map",
              "the installed config names the installed files")
        if os.path.exists(os.path.join(SRC, "dashboards/map/dist/index.html")):
            check(os.path.exists(os.path.join(root, "usr/share/citytel/map/index.html")),
                  "the built map page is in /usr/share/citytel/map")
        else:
            print("# dashboards/map/dist is not built: the map page is not packaged")
        check(os.path.exists(os.path.join(root, "usr/share/doc/citytel/examples/prometheus/"
                                          "citytel.rules.yml")),
              "the Prometheus alert rules are installed with the examples")
        exe = os.path.join(root, "usr/bin/collector")
        helptext = run([exe, "--help"]).stdout
        check(all(f in helptext for f in ("/etc/citytel/collector.json", "/var/lib/citytel/spool",
                                          "/usr/share/citytel/map", "/etc/citytel/master.key")),
              "collector --help names the installed files")
        unit_dir = os.path.join(root, "lib/systemd/system")
        units = sorted(os.listdir(unit_dir)) if os.path.isdir(unit_dir) else []
        check(units == ["citytel-collector.service", "citytel-fleet-sim.service"],
              f"the units are installed ({units})")
        unit = open(os.path.join(unit_dir, "citytel-collector.service")).read() if units else ""
        for line in ("User=citytel", "ProtectSystem=strict", "ReadWritePaths=/var/lib/citytel",
                     "NoNewPrivileges=yes", "Restart=on-failure", "Type=notify",
                     "ExecReload=/bin/kill -HUP $MAINPID"):
            check(line + "\n" in unit, f"the collector unit has {line}")
        if shutil.which("systemd-analyze") and units:
            # --root: ExecStart= and the units are looked up in the temporary root, which gets
            # the host's targets and /bin/kill (ExecReload) as a real system has them. Any
            # warning naming our units (an unknown key, a missing program) fails.
            for t in os.listdir("/lib/systemd/system"):
                if t.endswith(".target") and not os.path.exists(os.path.join(unit_dir, t)):
                    shutil.copy(os.path.join("/lib/systemd/system", t), unit_dir)
            os.makedirs(os.path.join(root, "bin"), exist_ok=True)
            shutil.copy("/bin/kill", os.path.join(root, "bin", "kill"))
            r = run(["systemd-analyze", "verify", f"--root={root}"]
                    + [os.path.join("/lib/systemd/system", u) for u in units])
            check(r.returncode == 0 and "citytel" not in r.stdout,
                  "systemd-analyze verify passes on the units")

        # -- run the installed collector -------------------------------------------------------------
        st.start_mosquitto()
        st.start_influxdb()
        run_dir = os.path.join(st.dir, "run")
        os.makedirs(run_dir)
        port_file = os.path.join(run_dir, "http.port")
        staff_file = os.path.join(run_dir, "staff.port")
        cfg["mqtt"].update({"uri": f"tcp://127.0.0.1:{st.mqtt_port}", "username": "",
                            "password_file": ""})
        cfg["influx"].update({"url": f"http://127.0.0.1:{st.influx_port}", "flush_ms": 200})
        cfg["registry"]["path"] = os.path.join(root, "etc/citytel/registry.jsonl")
        cfg["security"]["master_key_file"] = key
        cfg["spool"]["dir"] = os.path.join(run_dir, "spool")
        cfg["quarantine"]["path"] = os.path.join(run_dir, "quarantine.jsonl")
        cfg["map"]["dir"] = os.path.join(root, "usr/share/citytel/map")
        cfg["http"].update({"port": 0, "port_file": port_file, "staff_port": 0,
                            "staff_port_file": staff_file})
        cfg_path = os.path.join(run_dir, "collector.json")
        with open(cfg_path, "w") as f:
            json.dump(cfg, f)
        r = run([exe, "check-config", "-c", cfg_path])
        check(r.returncode == 0, "the installed collector's check-config accepts the config")
        notify = os.path.join(run_dir, "notify.sock")
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(notify)
        ns.settimeout(60)
        os.environ["NOTIFY_SOCKET"] = notify
        try:
            st.spawn("collector", [exe, "run", "-c", cfg_path])
        finally:
            del os.environ["NOTIFY_SOCKET"]
        try:
            msg = ns.recv(256).decode()
        except socket.timeout:
            msg = ""
        check(msg == "READY=1", f"the collector sends READY=1 to $NOTIFY_SOCKET ({msg!r})")
        ns.close()
        wait_until(lambda: os.path.exists(staff_file) and open(staff_file).read().strip(), 30,
                   "the staff port file")
        st.staff_port = int(open(staff_file).read().strip())
        wait_until(lambda: st.metric("citytel_mqtt_connected") == 1, 30, "collector connected")
        st.master = bytes.fromhex(master_hex)
        topic = f"city/v1/air/{DEV}/up"
        payload = json.dumps({"v": 1, "id": DEV, "boot": 1, "seq": 1,
                              "ts": int(time.time() * 1000) - 5000, "m": {"pm25": 42.5}},
                             separators=(",", ":"))
        st.publish(topic, payload, key_of=DEV)
        try:
            rows = wait_until(lambda: st.query(f"SELECT pm25 FROM air WHERE device = '{DEV}'"),
                              60, "the reading in InfluxDB")
        except AssertionError as e:
            print(f"# {e}\n{st.log('collector')[-2000:]}")
            rows = []
        check(len(rows) == 1 and rows[0]["pm25"] == 42.5,
              "a reading signed with the generated key is stored by the installed collector")
        check(st.stop("collector") == 0, "the collector stops cleanly on SIGTERM")

        # -- purge ---------------------------------------------------------------------------------------
        r = dpkg(root, "--purge", "citytel")
        check(r.returncode == 0, "dpkg --purge succeeds")
        check(not os.path.exists(exe) and not os.path.exists(os.path.join(root, "var/lib/citytel"))
              and not os.path.exists(key), "purge removes the programs, the state and the key")
    finally:
        st.close()
    sys.exit(checks.done(T0))


if __name__ == "__main__":
    main()
