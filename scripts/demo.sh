#!/usr/bin/env bash
# scripts/demo.sh - the whole citytel stack on one machine, for a look at it.
#
# Installs what is missing (Debian packages, the map's npm packages), builds, starts Mosquitto and
# InfluxDB as foreground processes on free loopback ports in run/demo/, starts the collector and
# a simulated fleet of the example registry's stations, and prints where to look. It builds only
# the two programs it runs (in build-demo/, without the tests), showing the build's progress.
# Ctrl-C stops everything it started and says what it stopped; the logs stay in run/demo/ (the
# data too with --keep). Options:
#   --rate-scale N   simulated time runs N times faster than real time (default 60)
#   --port P         the collector's HTTP port (default: 8080 if free, else any free port)
#   --keep           keep the data in run/demo/ (InfluxDB, broker, journal) after the stop, not
#                    only the logs
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. scripts/lib/deps.sh
. scripts/lib/servers.sh

rate_scale=60
http_port=""
keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        --rate-scale) rate_scale=$2; shift 2 ;;
        --port) http_port=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        *) echo "demo.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

ct_install_deps
ct_install_commands node:nodejs npm:npm
# progress LOG: copies a build's output to LOG and shows its progress: the "[ 42%] ..." lines
# rewritten on one line on a terminal, one line per 10% otherwise.
progress()
{
    local line pct step=-1
    while IFS= read -r line; do
        printf '%s\n' "$line" >>"$1"
        case "$line" in
            "["*"%]"*)
                if [ -t 1 ]; then
                    printf '\r\033[K  %.76s' "$line"
                else
                    pct=${line#[}
                    pct=${pct%%%]*}
                    pct=${pct// /}
                    if [ $((pct / 10)) -gt "$step" ]; then
                        step=$((pct / 10))
                        echo "  $line"
                    fi
                fi
                ;;
        esac
    done
    if [ -t 1 ]; then printf '\r\033[K'; fi
    return 0
}

bdir=build-demo
mkdir -p "$bdir"
trap 'echo; echo "demo.sh: interrupted while building; nothing was started (logs: $top/$bdir/demo-*.log)"; exit 130' INT TERM
echo "== building collector and fleet-sim in $bdir/ (log: $top/$bdir/demo-build.log)"
: >"$bdir/demo-build.log"
cmake -S . -B "$bdir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCT_BUILD_TESTS=OFF \
    2>&1 | progress "$bdir/demo-build.log" || { tail -40 "$bdir/demo-build.log"; exit 1; }
cmake --build "$bdir" -j"$(nproc)" --target collector fleet-sim 2>&1 \
    | progress "$bdir/demo-build.log" || { tail -40 "$bdir/demo-build.log"; exit 1; }
if [ -f dashboards/map/package.json ]; then
    echo "== building the map page (log: $top/$bdir/demo-map.log)"
    (cd dashboards/map && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent) \
        >"$bdir/demo-map.log" 2>&1 || { tail -20 "$bdir/demo-map.log"; exit 1; }
fi

run=$top/run/demo
rm -rf "$run"
mkdir -p "$run"
pids=()
names=()
# Says what it stops, and what had already ended (with its exit status); keeps the logs.
cleanup()
{
    trap - INT TERM EXIT
    echo
    if [ "$interrupted" = 1 ]; then
        echo "== stopping (interrupted; the servers also got the Ctrl-C and may have ended first)"
    else
        echo "== stopping"
    fi
    local i pid name st
    for (( i=${#pids[@]}-1; i>=0; i-- )); do
        pid=${pids[$i]} name=${names[$i]}
        if kill -0 "$pid" 2>/dev/null; then
            ct_stop_pid "$pid"
            echo "  stopped $name (pid $pid)"
        else
            st=0
            wait "$pid" 2>/dev/null || st=$?
            echo "  $name (pid $pid) had already ended, exit status $st"
        fi
    done
    if [ "$keep" = 1 ]; then
        echo "== kept the data and the logs in $run"
    else
        rm -rf "$run/influxdb/data" "$run/influxdb/meta" "$run/influxdb/wal" "$run/spool" \
            "$run/fleet" "$run/mosquitto"/*.db "$run/quarantine.jsonl"*
        echo "== deleted the demo's data; kept the logs in $run:"
        (cd "$run" && find . -name '*.log' | sed 's|^\./|  |' | sort)
    fi
}
interrupted=0
on_signal()
{
    interrupted=1
    cleanup
    exit 130
}
trap on_signal INT TERM
trap cleanup EXIT

echo "== logs: $run/*.log"
ct_start_mosquitto "$run/mosquitto"
pids+=("$CT_MQTT_PID") names+=(mosquitto)
ct_start_influxdb "$run/influxdb"
pids+=("$CT_INFLUX_PID") names+=(influxd)
ct_influx_create_db citytel

install -m 600 config/demo-master.key.hex "$run/master.key"
if [ -z "$http_port" ]; then
    if (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null; then http_port=$(ct_free_port); else http_port=8080; fi
fi
staff_port=$(ct_free_port)
cat >"$run/collector.json" <<CONF
{
  "collector": {"instance": "demo"},
  "log": {"level": "info"},
  "mqtt": {"uri": "tcp://127.0.0.1:$CT_MQTT_PORT", "client_id": "citytel-collector-demo"},
  "registry": {"path": "$top/config/registry.jsonl"},
  "security": {"require_signatures": true, "master_key_file": "$run/master.key"},
  "influx": {"url": "http://127.0.0.1:$CT_INFLUX_PORT", "api": 1, "db": "citytel"},
  "spool": {"dir": "$run/spool"},
  "quarantine": {"path": "$run/quarantine.jsonl"},
  "http": {"listen": "127.0.0.1", "port": $http_port, "staff_port": $staff_port},
  "map": {"dir": "$top/dashboards/map/dist"}
}
CONF
"$bdir/collector/app/collector" run -c "$run/collector.json" >"$run/collector.log" 2>&1 &
pids+=("$!") names+=(collector)
ct_wait_port "$http_port" 30 || { tail -20 "$run/collector.log"; exit 1; }

"$bdir/simulations/fleet/fleet-sim" --registry config/registry.jsonl \
    --broker "tcp://127.0.0.1:$CT_MQTT_PORT" --master-key-file "$run/master.key" \
    --rate-scale "$rate_scale" --backfill-hours 12 --state-dir "$run/fleet" --print-stats \
    >"$run/fleet.log" 2>&1 &
pids+=("$!") names+=(fleet-sim)

cat <<MSG

citytel demo is running (simulated time x$rate_scale).
  Public map:      http://127.0.0.1:$http_port/
  Layers:          http://127.0.0.1:$http_port/layers/air.geojson  (air water rain flood parking)
  OGC API:         http://127.0.0.1:$http_port/ogc  (ogrinfo OAPIF:http://127.0.0.1:$http_port/ogc)
  NGSI-LD:         http://127.0.0.1:$http_port/ngsi-ld/v1/entities?type=AirQualityObserved
  Health, metrics: http://127.0.0.1:$staff_port/healthz   http://127.0.0.1:$staff_port/metrics (staff listener)
  InfluxDB:        http://127.0.0.1:$CT_INFLUX_PORT (database "citytel")
  MQTT broker:     tcp://127.0.0.1:$CT_MQTT_PORT
  Logs:            $run/*.log (kept after the stop)
  Add a station:   append it to config/registry.jsonl, then
                   kill -HUP ${pids[2]}   (the collector reloads; docs/config.md)
Press Ctrl-C to stop everything.
MSG
# Returns when one of them ends, by itself or from a Ctrl-C, which reaches the servers too: the
# short sleep lets the script's own INT trap run first, so a Ctrl-C is never reported as a crash.
wait -n "${pids[@]}" || true
sleep 1
for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
        echo "demo.sh: ${names[$i]} (pid ${pids[$i]}) ended by itself; last lines of its log:" >&2
        log=$run/${names[$i]}.log
        case "${names[$i]}" in
            mosquitto) log=$run/mosquitto/mosquitto.log ;;
            influxd) log=$run/influxdb/influxd.log ;;
            fleet-sim) log=$run/fleet.log ;;
        esac
        tail -5 "$log" >&2 || true
    fi
done
exit 1
