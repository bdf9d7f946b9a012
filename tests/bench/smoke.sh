#!/usr/bin/env bash
# bench_smoke: a tiny run of cursor-bench against the real cursord, so that
# neither the tool nor the protocol it speaks can rot unnoticed. Passes when
# a 1 s rate run delivers cursor updates to every receiver and 1 s churn
# runs (with and without socket recycling) have every join and leave seen by
# the room. No timing thresholds: the
# result depends only on correctness, not on how fast this machine is.
#
# Usage: smoke.sh CURSORD CURSOR_BENCH
set -euo pipefail

cursord_bin=$1
bench_bin=$2
work=$(mktemp -d)
server_pid=""

cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Port 0: the kernel picks a free port, which cursord logs.
"$cursord_bin" --listen 127.0.0.1:0 --control-listen 127.0.0.1:0 --threads 1 --max-message-rate 0 \
  >"$work/server.log" 2>&1 &
server_pid=$!

port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*listening on [0-9.]*:\([0-9][0-9]*\).*/\1/p' "$work/server.log" | head -n1)
  [[ -n "$port" ]] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
  sleep 0.1
done
if [[ -z "$port" ]]; then
  echo "bench_smoke: cursord did not report its port" >&2
  cat "$work/server.log" >&2
  exit 1
fi
url="ws://127.0.0.1:$port"

# Fails unless the last line of $1 is JSON in which every "key":value pair
# given as the remaining arguments appears literally (values are integers or
# booleans, printed by cursor-bench without spaces).
expect() {
  local file=$1
  shift
  local json
  json=$(tail -n1 "$file")
  for pair in "$@"; do
    if [[ "$json" != *"$pair"* ]]; then
      echo "bench_smoke: expected $pair in: $json" >&2
      return 1
    fi
  done
}

# Extracts an unsigned integer field from the last line of $1.
field() {
  tail -n1 "$1" | sed -n "s/.*\"$2\":\([0-9][0-9]*\).*/\1/p"
}

status=0

"$bench_bin" rate --url "$url" --rooms 2 --members 5 --hz 20 --duration 1 \
  --drain 5 --pid "$server_pid" --max-runtime 60 >"$work/rate.json" || status=1
cat "$work/rate.json"
expect "$work/rate.json" '"mode":"rate"' '"joined":10' '"ok":true' || status=1
# Latest-wins coalescing may merge updates, but every receiver must end up
# with every sender's last position.
pairs=$(field "$work/rate.json" final_pairs)
current=$(field "$work/rate.json" final_pairs_current)
delivered=$(field "$work/rate.json" delivered)
if [[ -z "$pairs" || "$pairs" != "$current" || "${delivered:-0}" -eq 0 ]]; then
  echo "bench_smoke: rate run: $current of $pairs pairs current, $delivered delivered" >&2
  status=1
fi

# Churn both ways: churners' sockets recycled (the default) and closed.
for recycle in --recycle --no-recycle; do
  "$bench_bin" churn --url "$url" --rooms 2 --observers 2 --concurrency 2 \
    --duration 1 "$recycle" --pid "$server_pid" --max-runtime 60 \
    >"$work/churn.json" || status=1
  cat "$work/churn.json"
  expect "$work/churn.json" '"mode":"churn"' '"all_seen":true' \
    '"unclean_leaves":0' '"ok":true' || status=1
  joins=$(field "$work/churn.json" joins)
  recycled=$(field "$work/churn.json" recycled_sockets)
  if [[ "${joins:-0}" -eq 0 ]]; then
    echo "bench_smoke: churn $recycle had no joins" >&2
    status=1
  fi
  # Every session after a churner's first reuses its socket; none may
  # when recycling is off.
  if [[ "$recycle" == --recycle && "${recycled:-0}" -eq 0 ]] ||
     [[ "$recycle" == --no-recycle && "${recycled:-1}" -ne 0 ]]; then
    echo "bench_smoke: churn $recycle: $recycled of $joins sessions on recycled sockets" >&2
    status=1
  fi
done

if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "bench_smoke: cursord exited during the run" >&2
  cat "$work/server.log" >&2
  status=1
fi
exit $status
