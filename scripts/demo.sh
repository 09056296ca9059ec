#!/usr/bin/env bash
# scripts/demo.sh - the whole citytel stack on one machine, for a look at it.
#
# Installs what is missing (Debian packages, the map's npm packages), builds, starts Mosquitto and
# InfluxDB as foreground processes on free loopback ports in run/demo/, starts the collector and
# a simulated fleet of the example registry's stations, and prints where to look. Ctrl-C stops
# everything it started. Options:
#   --rate-scale N   simulated time runs N times faster than real time (default 60)
#   --port P         the collector's HTTP port (default: 8080 if free, else any free port)
#   --keep           keep run/demo/ (data, logs) after the stop
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
echo "== building"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >build/demo-build.log 2>&1 || { tail -40 build/demo-build.log; exit 1; }
if [ -f dashboards/map/package.json ]; then
    echo "== building the map page"
    (cd dashboards/map && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent) \
        >build/demo-map.log 2>&1 || { tail -20 build/demo-map.log; exit 1; }
fi

run=$top/run/demo
rm -rf "$run"
mkdir -p "$run"
pids=()
cleanup()
{
    trap - INT TERM EXIT
    echo
    echo "== stopping"
    local i
    for (( i=${#pids[@]}-1; i>=0; i-- )); do
        ct_stop_pid "${pids[$i]}"
    done
    [ "$keep" = 1 ] || rm -rf "$run"
}
trap cleanup INT TERM EXIT

ct_start_mosquitto "$run/mosquitto"
pids+=("$CT_MQTT_PID")
ct_start_influxdb "$run/influxdb"
pids+=("$CT_INFLUX_PID")
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
build/collector/app/collector run -c "$run/collector.json" >"$run/collector.log" 2>&1 &
pids+=("$!")
ct_wait_port "$http_port" 30 || { tail -20 "$run/collector.log"; exit 1; }

build/simulations/fleet/fleet-sim --registry config/registry.jsonl \
    --broker "tcp://127.0.0.1:$CT_MQTT_PORT" --master-key-file "$run/master.key" \
    --rate-scale "$rate_scale" --backfill-hours 12 --state-dir "$run/fleet" --print-stats \
    >"$run/fleet.log" 2>&1 &
pids+=("$!")

cat <<MSG

citytel demo is running (simulated time x$rate_scale).
  Public map:      http://127.0.0.1:$http_port/
  Layers:          http://127.0.0.1:$http_port/layers/air.geojson  (air water rain flood parking)
  OGC API:         http://127.0.0.1:$http_port/ogc  (ogrinfo OAPIF:http://127.0.0.1:$http_port/ogc)
  NGSI-LD:         http://127.0.0.1:$http_port/ngsi-ld/v1/entities?type=AirQualityObserved
  Health, metrics: http://127.0.0.1:$staff_port/healthz   http://127.0.0.1:$staff_port/metrics (staff listener)
  InfluxDB:        http://127.0.0.1:$CT_INFLUX_PORT (database "citytel")
  MQTT broker:     tcp://127.0.0.1:$CT_MQTT_PORT
  Logs:            $run/*.log
Press Ctrl-C to stop everything.
MSG
wait -n "${pids[@]}" || true
echo "demo.sh: a process of the demo ended; see $run/*.log" >&2
[ "$keep" = 1 ] || { keep=1; echo "(run/demo kept for its logs)"; }
