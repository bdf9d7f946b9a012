#!/usr/bin/env bash
# The drain measurement (docs/BENCHMARKS.md, "Draining an instance"): for
# each --drain-spread given, a fresh redis-server and two cursord on it (A
# and B); cursor-bench drain joins N clients to A, SIGTERMs A and moves
# every client to B, and prints one JSON line per run.
#
#   tests/bench/drain.sh BUILD_DIR [CONNECTIONS] [SPREAD ...]
#   tests/bench/drain.sh build 5000 5s 0s
set -euo pipefail
build=${1:?usage: drain.sh BUILD_DIR [CONNECTIONS] [SPREAD ...]}
connections=${2:-5000}
shift $(( $# >= 2 ? 2 : 1 ))
spreads=("$@")
[ ${#spreads[@]} -gt 0 ] || spreads=(5s 0s)
cursord=$build/server/cursord
bench=$build/tests/bench/cursor-bench
# Each client is a descriptor in cursor-bench and in one cursord, twice
# over during the move; children inherit this.
ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d /tmp/cursord-drain-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_ready() {  # port
  for _ in $(seq 200); do
    [ "$(curl -s "http://127.0.0.1:$1/readyz" || true)" = ready ] && return 0
    sleep 0.05
  done
  echo "drain.sh: nothing ready on $1" >&2
  return 1
}

for spread in "${spreads[@]}"; do
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --maxclients 10000 >"$work/redis.log" 2>&1 &
  redis=$!
  pids+=("$redis")
  for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  a_port=$(free_port)
  b_port=$(free_port)
  "$cursord" --listen "127.0.0.1:$a_port" --control-listen 127.0.0.1:0 \
    --redis "redis://127.0.0.1:$redis_port" --instance-id a \
    --drain-spread "$spread" >"$work/a.log" 2>&1 &
  a=$!
  pids+=("$a")
  "$cursord" --listen "127.0.0.1:$b_port" --control-listen 127.0.0.1:0 \
    --redis "redis://127.0.0.1:$redis_port" --instance-id b >"$work/b.log" 2>&1 &
  b=$!
  pids+=("$b")
  wait_ready "$a_port"
  wait_ready "$b_port"
  "$bench" drain --url "ws://127.0.0.1:$a_port" --to "ws://127.0.0.1:$b_port" \
    --pid "$a" --connections "$connections" --label "drain-spread $spread" || true
  # A exits by itself after its drain; B and Redis are stopped here.
  wait "$a" || echo "drain.sh: A exited with $?" >&2
  kill -TERM "$b" "$redis" 2>/dev/null || true
  wait "$b" "$redis" 2>/dev/null || true
  pids=()
done
