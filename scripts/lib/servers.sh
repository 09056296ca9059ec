# scripts/lib/servers.sh - start the real Mosquitto broker and InfluxDB 1.x as plain foreground
# processes on free loopback ports, each in its own folder, and stop them again.
#
# Source it, then:
#   ct_free_port                    prints a free TCP port on 127.0.0.1
#   ct_start_mosquitto DIR [PORT]   sets CT_MQTT_PORT, CT_MQTT_PID; config and log in DIR
#   ct_start_influxdb DIR [PORT]    sets CT_INFLUX_PORT, CT_INFLUX_PID; data, meta, wal in DIR
#   ct_influx_query DB QUERY        runs an InfluxQL query, prints the JSON answer (epoch=ms)
#   ct_stop_pid PID                 TERM, then KILL after 10 s
# Every server started here is a child of the calling shell: the caller traps EXIT to stop them.

ct_free_port()
{
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
        return
    fi
    local p
    while :; do
        p=$(( (RANDOM << 15 | RANDOM) % 20000 + 30000 ))
        if ! ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
            echo "$p"
            return
        fi
    done
}

# ct_wait_port PORT SECONDS: waits until 127.0.0.1:PORT accepts a connection.
ct_wait_port()
{
    local port=$1 deadline=$(( $(date +%s) + $2 ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "servers.sh: nothing listens on 127.0.0.1:$port after $2 s" >&2
    return 1
}

ct_start_mosquitto()
{
    local dir=$1 port=${2:-$(ct_free_port)}
    mkdir -p "$dir"
    # max_queued_messages: Mosquitto's default of 1000 silently drops QoS 1 messages for a
    # subscriber that falls behind (17-37% of a 200k burst measured here); the collector's
    # persistent session must be able to hold a whole outage.
    cat >"$dir/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $dir/
autosave_interval 1
max_queued_messages 1000000
max_inflight_messages 1000
max_packet_size 65536
log_dest file $dir/mosquitto.log
log_type error
log_type warning
log_type notice
CONF
    if [ "$(id -u)" = 0 ]; then
        echo "user root" >>"$dir/mosquitto.conf"
    fi
    if [ -n "${CT_MOSQUITTO_EXTRA:-}" ]; then
        printf '%s\n' "$CT_MOSQUITTO_EXTRA" >>"$dir/mosquitto.conf"
    fi
    mosquitto -c "$dir/mosquitto.conf" >>"$dir/mosquitto.out" 2>&1 &
    CT_MQTT_PID=$!
    CT_MQTT_PORT=$port
    ct_wait_port "$port" 20 || { cat "$dir/mosquitto.log" "$dir/mosquitto.out" >&2; return 1; }
}

ct_start_influxdb()
{
    local dir=$1 port=${2:-$(ct_free_port)} rpc
    rpc=$(ct_free_port)
    mkdir -p "$dir/meta" "$dir/data" "$dir/wal"
    cat >"$dir/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$rpc"
[meta]
  dir = "$dir/meta"
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
  index-version = "inmem"
  cache-snapshot-write-cold-duration = "10s"
[coordinator]
  max-concurrent-queries = 0
[http]
  enabled = true
  bind-address = "127.0.0.1:$port"
  log-enabled = false
  max-body-size = 0
  max-concurrent-write-limit = 0
[logging]
  level = "warn"
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
CONF
    influxd run -config "$dir/influxdb.conf" >>"$dir/influxd.log" 2>&1 &
    CT_INFLUX_PID=$!
    CT_INFLUX_PORT=$port
    local deadline=$(( $(date +%s) + 60 ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if curl -fsS "http://127.0.0.1:$port/ping" >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$CT_INFLUX_PID" 2>/dev/null; then
            break
        fi
        sleep 0.2
    done
    echo "servers.sh: InfluxDB did not answer /ping on port $port" >&2
    tail -20 "$dir/influxd.log" >&2
    return 1
}

# ct_influx_query DB QUERY: prints the JSON answer with integer millisecond times.
ct_influx_query()
{
    curl -fsS -G "http://127.0.0.1:$CT_INFLUX_PORT/query" --data-urlencode "db=$1" \
        --data-urlencode "epoch=ms" --data-urlencode "q=$2"
}

ct_influx_create_db()
{
    curl -fsS -XPOST "http://127.0.0.1:$CT_INFLUX_PORT/query" \
        --data-urlencode "q=CREATE DATABASE \"$1\"" >/dev/null
}

ct_stop_pid()
{
    local pid=$1 i
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    echo "servers.sh: process $pid did not stop within 10 s of SIGTERM; killed" >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 0
}
