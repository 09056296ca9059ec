#!/usr/bin/env bash
# simulations/fleet/measure.sh - how many nodes one fleet-sim process runs on this machine: starts
# Mosquitto, InfluxDB and the collector on free loopback ports (scripts/lib/servers.sh), generates
# a registry of --nodes devices, runs fleet-sim --mode shared against the stack, and prints the
# steady-state figures: acked messages/s, CPU of fleet-sim / collector / mosquitto (% of one
# core), fleet-sim's peak RSS, the collector's accepted count. Stops everything it started.
#   --nodes N          fleet size (default 10000)
#   --rate-scale X     time compression (default 1)
#   --seconds S        length of the run after setup (default 60)
#   --connections C    fleet-sim's MQTT connection pool (default 8)
#   --build DIR        build tree (default build-sim)
#   --no-collector     broker only (fleet-sim's own ceiling)
#   --state-base DIR   where the nodes' storage goes (default /dev/shm when present: every reading
#                      is an outbox append and every ack an atomic blob replace, so a disk-backed
#                      /tmp costs most of the CPU in system time at high rates)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. scripts/lib/servers.sh

nodes=10000
scale=1
seconds=60
conns=8
build=build-sim
collector=1
state_base=/tmp
[ -d /dev/shm ] && state_base=/dev/shm
while [ $# -gt 0 ]; do
    case "$1" in
        --nodes) nodes=$2; shift 2 ;;
        --rate-scale) scale=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --connections) conns=$2; shift 2 ;;
        --build) build=$2; shift 2 ;;
        --no-collector) collector=0; shift ;;
        --state-base) state_base=$2; shift 2 ;;
        *) echo "measure.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

run=$(mktemp -d /tmp/ct-measure-XXXXXX)
state=$(mktemp -d "$state_base/ct-measure-fleet-XXXXXX")
pids=()
cleanup()
{
    trap - INT TERM EXIT
    local i
    for (( i=${#pids[@]}-1; i>=0; i-- )); do
        ct_stop_pid "${pids[$i]}"
    done
    rm -rf "$run" "$state"
}
trap cleanup INT TERM EXIT

# The collector's accepted-messages counter (0 without a collector).
accepted()
{
    [ "$collector" = 1 ] || { echo 0; return; }
    curl -fsS "http://127.0.0.1:$staff_port/metrics" 2>/dev/null |
        awk '/^citytel_messages_accepted_total/ {s += $NF} END {printf "%d\n", s}'
}
# CPU ticks (utime + stime) of a pid.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

fleet=$build/simulations/fleet/fleet-sim
"$fleet" --write-registry "$run/registry.jsonl" --nodes "$nodes" --seed 1 2>/dev/null
install -m 600 config/demo-master.key.hex "$run/master.key"
ct_start_mosquitto "$run/mosquitto"
pids+=("$CT_MQTT_PID")
if [ "$collector" = 1 ]; then
    ct_start_influxdb "$run/influxdb"
    pids+=("$CT_INFLUX_PID")
    ct_influx_create_db citytel
    http_port=$(ct_free_port)
    staff_port=$(ct_free_port)
    cat >"$run/collector.json" <<CONF
{
  "collector": {"instance": "measure"},
  "log": {"level": "warn"},
  "mqtt": {"uri": "tcp://127.0.0.1:$CT_MQTT_PORT", "client_id": "citytel-collector-measure"},
  "registry": {"path": "$run/registry.jsonl"},
  "security": {"require_signatures": true, "master_key_file": "$run/master.key"},
  "influx": {"url": "http://127.0.0.1:$CT_INFLUX_PORT", "api": 1, "db": "citytel"},
  "spool": {"dir": "$run/spool"},
  "quarantine": {"path": "$run/quarantine.jsonl"},
  "http": {"listen": "127.0.0.1", "port": $http_port, "staff_port": $staff_port}
}
CONF
    "$build/collector/app/collector" run -c "$run/collector.json" >"$run/collector.log" 2>&1 &
    col_pid=$!
    pids+=("$col_pid")
    ct_wait_port "$http_port" 30
fi

"$fleet" --registry "$run/registry.jsonl" --broker "tcp://127.0.0.1:$CT_MQTT_PORT" \
    --master-key-file "$run/master.key" --mode shared --connections "$conns" \
    --rate-scale "$scale" --state-dir "$state" --print-stats >"$run/fleet.log" 2>&1 &
fleet_pid=$!
pids+=("$fleet_pid")
# Setup (apps, storage, connections) ends with the first status line; measure after a warm-up.
until grep -q "msgs/s=" "$run/fleet.log" 2>/dev/null; do
    kill -0 "$fleet_pid" 2>/dev/null || { cat "$run/fleet.log"; exit 1; }
    sleep 0.5
done
setup_line=$(grep -m1 "nodes," "$run/fleet.log")
sleep 10
lines0=$(wc -l <"$run/fleet.log")
f0=$(ticks "$fleet_pid"); m0=$(ticks "$CT_MQTT_PID"); c0=0
[ "$collector" = 1 ] && c0=$(ticks "$col_pid")
t0=$(date +%s.%N)
acc0=$(accepted)
sleep "$seconds"
f1=$(ticks "$fleet_pid"); m1=$(ticks "$CT_MQTT_PID"); c1=0
[ "$collector" = 1 ] && c1=$(ticks "$col_pid")
t1=$(date +%s.%N)
acc1=$(accepted)
rss=$(awk '/VmHWM/ {print $2}' "/proc/$fleet_pid/status")
tail -n +"$((lines0 + 1))" "$run/fleet.log" | grep "msgs/s=" >"$run/window.log" || true
first=$(head -1 "$run/window.log" | sed -E 's/.* acked=([0-9]+).*/\1/')
last=$(tail -1 "$run/window.log" | sed -E 's/.* acked=([0-9]+).*/\1/')
tfirst=$(head -1 "$run/window.log" | sed -E 's/.* t=([0-9]+)s.*/\1/')
tlast=$(tail -1 "$run/window.log" | sed -E 's/.* t=([0-9]+)s.*/\1/')
echo "$setup_line"
tail -1 "$run/window.log"
awk -v n="$nodes" -v s="$scale" -v f0="$f0" -v f1="$f1" -v m0="$m0" -v m1="$m1" -v c0="$c0" \
    -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$hz" -v rss="$rss" -v a0="$first" -v a1="$last" \
    -v ta="$tfirst" -v tb="$tlast" -v col="$collector" -v c0a="$acc0" -v c1a="$acc1" 'BEGIN {
    dt = t1 - t0
    printf "nodes=%d rate_scale=%s acked/s=%.0f fleet_cpu=%.0f%% fleet_rss=%.0fMiB mosquitto_cpu=%.0f%%",
        n, s, (tb > ta ? (a1 - a0) / (tb - ta) : 0), 100 * (f1 - f0) / hz / dt, rss / 1024,
        100 * (m1 - m0) / hz / dt
    if (col == 1) printf " collector_cpu=%.0f%% collector_accepted/s=%.0f", 100 * (c1 - c0) / hz / dt, (c1a - c0a) / dt
    printf "\n"
}'
if [ "$collector" = 1 ]; then
    curl -fsS "http://127.0.0.1:$staff_port/metrics" 2>/dev/null |
        grep -E '^citytel_(messages_accepted|rejected|mqtt_messages|ingest_queue|store_backlog)' || true
fi
