#!/usr/bin/env bash
# A Plugway cluster on one machine (docs/cluster.md): PostgreSQL and NATS
# (started or installed by scripts/services.sh), N `plugway serve` nodes on
# one database and one NATS, and HAProxy in front on one address, passing
# HTTP and chargers' WebSocket upgrades alike. Runs until Ctrl-C, then stops
# the nodes and HAProxy (the database and NATS keep running).
#
#   scripts/cluster.sh [NODES] [PORT]      # default 3 nodes behind :8080
#
# Environment: PLUGWAY_BIN (default target/release/plugway, built if
# missing), CLUSTER_DB (default plugway_cluster, created if missing),
# CLUSTER_DIR (default ./cluster: data directories, logs, haproxy.cfg).
set -euo pipefail

NODES=${1:-3}
PORT=${2:-8080}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${PLUGWAY_BIN:-$ROOT/target/release/plugway}
DB=${CLUSTER_DB:-plugway_cluster}
DIR=${CLUSTER_DIR:-$PWD/cluster}
say() { echo "cluster: $*" >&2; }

[[ "$NODES" =~ ^[1-9][0-9]*$ ]] || { say "NODES must be a positive number, not '$NODES'"; exit 2; }
[[ "$PORT" =~ ^[0-9]+$ ]] || { say "PORT must be a number, not '$PORT'"; exit 2; }

eval "$(cd "$ROOT" && bash scripts/services.sh)"
if [ ! -x "$BIN" ]; then
  say "building $BIN"
  (cd "$ROOT" && cargo build --release -p plugway)
fi
if ! command -v haproxy >/dev/null; then
  say "installing HAProxy from Debian packages"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
fi
PG_SERVER=${PLUGWAY_TEST_DATABASE_URL%/*}
NATS=${PLUGWAY_TEST_NATS_URL:-nats://127.0.0.1:4222}
psql "$PG_SERVER/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 \
  || psql "$PG_SERVER/postgres" -qc "CREATE DATABASE \"$DB\""
DATABASE_URL="$PG_SERVER/$DB"

mkdir -p "$DIR"
# One secret for every node (kept, so restarts keep signed-in users).
[ -s "$DIR/jwt_secret" ] || (umask 077; head -c 48 /dev/urandom | base64 -w0 > "$DIR/jwt_secret")
export PLUGWAY_JWT_SECRET
PLUGWAY_JWT_SECRET=$(cat "$DIR/jwt_secret")
export PLUGWAY_OCPI__PUBLIC_URL="http://127.0.0.1:$PORT"

pids=()
stop() {
  say "stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

backends=""
for n in $(seq 1 "$NODES"); do
  node_port=$((PORT + n))
  mkdir -p "$DIR/node$n"
  "$BIN" serve --listen "127.0.0.1:$node_port" --data-dir "$DIR/node$n" \
    --database-url "$DATABASE_URL" --nats-url "$NATS" > "$DIR/node$n.log" 2>&1 &
  pids+=($!)
  backends+="    server node$n 127.0.0.1:$node_port check inter 2s"$'\n'
done
for n in $(seq 1 "$NODES"); do
  for _ in $(seq 1 60); do
    grep -q "plugway listening on" "$DIR/node$n.log" && break
    if ! kill -0 "${pids[$((n - 1))]}" 2>/dev/null; then
      say "node $n did not start:"; tail -5 "$DIR/node$n.log" >&2; exit 1
    fi
    sleep 0.5
  done
done

# Round robin for HTTP; a charger's WebSocket stays on the node it reached
# until it drops, then reconnects wherever HAProxy sends it.
cat > "$DIR/haproxy.cfg" <<EOF
global
    # Each connection is two descriptors (client, node); raise with ulimit -n.
    maxconn 8000
defaults
    mode http
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
    option http-server-close
frontend plugway
    bind 127.0.0.1:$PORT
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /readyz
$backends
EOF
haproxy -f "$DIR/haproxy.cfg" -db > "$DIR/haproxy.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 40); do
  curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break
  sleep 0.25
done
curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null || { say "HAProxy does not answer:"; tail -5 "$DIR/haproxy.log" >&2; exit 1; }
say "$NODES nodes behind http://127.0.0.1:$PORT (chargers: ws://127.0.0.1:$PORT/ocpp/{id})"
say "database $DATABASE_URL, NATS $NATS, logs and data in $DIR; Ctrl-C stops"
say "an admin key: $BIN api-key create --role admin --database-url $DATABASE_URL"
wait -n "${pids[@]}" || true
say "a process ended; see $DIR/*.log"
