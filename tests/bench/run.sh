#!/usr/bin/env bash
# The cursord benchmark: builds cursord, cursor-bench and the two peer
# servers (Node.js/ws and Go/gorilla), runs every scenario against each
# server in turn, and writes docs/BENCHMARKS.md with plots in docs/bench/.
#
# The backplane scenarios (local*, redis*, cluster*; not run by default)
# compare cursord with the Node.js peer's Redis mode: each run starts its own
# redis-server on a free loopback port, then one instance without Redis
# (local), one with it (redis) or two sharing it (cluster), every room's
# members spread over the instances. Their runs interleave across the three
# shapes and both servers, so the cost of --redis is measured under the
# same conditions.
#
# Every server runs alone on core 0 and cursor-bench on core 1 (taskset),
# each server is started fresh for every run, and the whole run is bounded
# (about 15 minutes with the defaults: 3 runs of 6 s per scenario and
# server; the report shows the median run and the spread).
#
# Usage: tests/bench/run.sh [options]
#   --duration S      measured seconds per run (default 6)
#   --repeat N        runs per scenario and server (default 3)
#   --servers LIST    space-separated subset of "cursord go node"
#   --scenarios LIST  space-separated subset of: noise rate10 rate50 rate200
#                     rooms1000 saturate100 idle10k idlemax churn, and of the
#                     backplane scenarios local50 redis50 cluster50 (a room
#                     of 50 at 30 Hz) and localrooms redisrooms clusterrooms
#                     (rooms of 10; "backplane" selects all six)
#   --cluster-rooms N rooms in the *rooms scenarios (default 500)
#   --redis-flush-interval D  passed to cursord in the backplane scenarios
#                     (default: cursord's own, 10ms)
#   --no-install      do not install packages (apt, npm)
#   --no-build        use the cursord and cursor-bench already built in
#                     CURSORD_BUILD (whatever its build type)
#   --rt MODE         SCHED_RR for server and generator: auto (the light
#                     latency scenarios only; default), on, off
#   --perf            also record a perf profile of cursord per scenario
#   --out FILE        report path (default docs/BENCHMARKS.md)
#   --results DIR     keep raw results here (default $CURSORD_BUILD/bench-results/<time>);
#                     scenarios run again into the same directory replace the old ones
# Environment: CURSORD_BUILD, the CMake build directory (default build).
set -euo pipefail

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$bench_dir/../.." && pwd)"

duration=6
repeat=3
servers="cursord go node"
all_scenarios="noise rate10 rate50 rate200 rooms1000 saturate100 idle10k idlemax churn"
backplane_scenarios="local50 redis50 cluster50 localrooms redisrooms clusterrooms"
scenarios="$all_scenarios"
cluster_rooms=500
flush_interval=""
install=1
build_cursord_bench=1
rt=auto
perf=0
out="$root/docs/BENCHMARKS.md"
results=""

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --servers) servers=$2; shift 2 ;;
    --scenarios) scenarios=$2; shift 2 ;;
    --cluster-rooms) cluster_rooms=$2; shift 2 ;;
    --redis-flush-interval) flush_interval=$2; shift 2 ;;
    --no-install) install=0; shift ;;
    --no-build) build_cursord_bench=0; shift ;;
    --rt) rt=$2; shift 2 ;;
    --perf) perf=1; shift ;;
    --out) out=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
if ! [[ "$duration" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
  echo "run.sh: --duration takes seconds" >&2
  exit 2
fi
if ! [[ "$repeat" =~ ^[1-9][0-9]*$ ]]; then
  echo "run.sh: --repeat takes a positive count" >&2
  exit 2
fi
if ! [[ "$cluster_rooms" =~ ^[1-9][0-9]*$ ]]; then
  echo "run.sh: --cluster-rooms takes a positive count" >&2
  exit 2
fi
scenarios=${scenarios//backplane/$backplane_scenarios}
# The backplane scenarios run in a loop of their own (below).
plain_scenarios=""
bp_scenarios=""
for s in $scenarios; do
  if [[ " $backplane_scenarios " == *" $s "* ]]; then
    bp_scenarios+="$s "
  else
    plain_scenarios+="$s "
  fi
done

# deploy/setup.sh gives install_packages and the package lists; it resolves
# CURSORD_BUILD against the repository root.
if [[ -n "${CURSORD_BUILD:-}" && "${CURSORD_BUILD}" != /* ]]; then
  export CURSORD_BUILD="$root/$CURSORD_BUILD"
fi
# shellcheck source=../../deploy/setup.sh
source "$root/deploy/setup.sh"
build="$CURSORD_BUILD"

log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }

# --- Install and build -----------------------------------------------------

if [[ $install -eq 1 ]]; then
  install_packages "${build_packages[@]}" nodejs npm golang-go \
    golang-github-gorilla-websocket-dev gnuplot-nox util-linux
  [[ -n "$bp_scenarios" ]] && install_packages redis-server redis-tools
  [[ $perf -eq 1 ]] && install_packages linux-perf
fi

if [[ $build_cursord_bench -eq 1 ]]; then
  log "building cursord and cursor-bench in $build"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  # Only the two targets needed, and never more than two compile jobs.
  cmake --build "$build" -j 2 --target cursord cursor-bench >/dev/null
fi
cursord_bin="$build/server/cursord"
bench_bin="$build/tests/bench/cursor-bench"

log "building the Node.js peer (npm ci)"
(cd "$bench_dir/peers/node" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

log "building the Go peer offline"
mkdir -p "$build/bench"
(cd "$bench_dir/peers/go" &&
  GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off GOCACHE="$build/bench/gocache" \
    go build -o "$build/bench/go-peer" .)
go_bin="$build/bench/go-peer"

# --- Environment -----------------------------------------------------------

# Each connection is a descriptor on both sides; use the hard cap.
hard=$(ulimit -Hn)
[[ "$hard" == unlimited ]] && hard=1048576
ulimit -n "$hard"
nofile=$(ulimit -n)
# The most idle connections one server process can hold: its descriptor
# limit less a margin for listeners, epoll, threads and logs.
idle_max=$((nofile - 500))

case "$rt" in
  auto|on|off) ;;
  *) echo "run.sh: --rt takes auto, on or off" >&2; exit 2 ;;
esac
if [[ $rt != off ]] && ! chrt -r 10 true 2>/dev/null; then
  log "SCHED_RR not permitted here; running without it"
  rt=off
fi
# A real-time policy keeps unrelated work (other builds on a shared
# machine) from delaying a lightly loaded server or generator by whole
# scheduler slices, which otherwise dominates sub-millisecond percentiles.
# Under full load it does harm instead: the kernel's own threads (softirq
# processing that overflows into ksoftirqd) are ordinary tasks, get only
# the 5% the kernel reserves for them, and stall the network path in
# chunks of tens of milliseconds. So "auto" uses it for the scenarios that
# leave both cores mostly idle. Round-robin rather than FIFO: Node's and
# Go's helper threads share the server's one core, and under FIFO a helper
# that does not block would starve the event loop outright.
scenario_rt() {
  case "$rt" in
    on) return 0 ;;
    off) return 1 ;;
  esac
  case "$1" in
    noise|rate10|rate50) return 0 ;;
    # The backplane's room of 50 is as light (well under a core for the
    # servers and Redis together); its many rooms are not.
    local50|redis50|cluster50) return 0 ;;
    *) return 1 ;;
  esac
}

if [[ -z "$results" ]]; then
  results="$build/bench-results/$(date +%Y%m%d-%H%M%S)"
fi
mkdir -p "$results"
log "raw results in $results"

# --- Servers ---------------------------------------------------------------

server_pid=""
# Every server process of the current run (a cluster has two), and the
# redis-server of a backplane run.
server_pids=()
redis_pid=""
redis_port=""

# The command of server $1; $2, if given, is the Redis URL it shares rooms
# through.
server_command() {
  local redis=${2:-}
  case "$1" in
    cursord) echo "$cursord_bin --listen 127.0.0.1:0 --control-listen 127.0.0.1:0 --threads 1 --max-message-rate 0${redis:+ --redis $redis}${redis:+${flush_interval:+ --redis-flush-interval $flush_interval}}" ;;
    go) echo "$go_bin -listen 127.0.0.1:0" ;;
    node) echo "node $bench_dir/peers/node/server.js --listen 127.0.0.1:0${redis:+ --redis $redis}" ;;
    *) echo "run.sh: unknown server $1" >&2; return 1 ;;
  esac
}

# Starts server $1 on core 0 with its log in $2 ($3: the Redis URL, if
# any); sets server_pid and server_port and adds the pid to server_pids.
start_server() {
  local name=$1 log_file=$2 cmd
  cmd=$(server_command "$name" "${3:-}")
  # shellcheck disable=SC2086
  "${prio[@]}" taskset -c 0 $cmd >"$log_file" 2>&1 &
  server_pid=$!
  server_pids+=("$server_pid")
  server_port=""
  for _ in $(seq 1 200); do
    server_port=$(sed -n 's/.*listening on [0-9.]*:\([0-9][0-9]*\).*/\1/p' "$log_file" 2>/dev/null | head -n1)
    [[ -n "$server_port" ]] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  log "$name did not start; see $log_file"
  stop_server
  return 1
}

# Ends pid $1: TERM, then KILL after 5 s.
stop_pid() {
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

stop_server() {
  local pid
  for pid in "${server_pids[@]}"; do stop_pid "$pid"; done
  server_pids=()
  server_pid=""
}

# A fresh redis-server on a free loopback port, on core 0 with the servers
# (the server side gets one core, as in every other scenario); nothing
# persisted. Sets redis_pid and redis_port; log in $1.
start_redis() {
  local log_file=$1
  for _ in 1 2 3; do
    # Below Linux's ephemeral range (32768-60999), so that no client socket
    # holds it; a port in use makes redis-server exit, and we try another.
    redis_port=$((20000 + RANDOM % 12000))
    "${prio[@]}" taskset -c 0 redis-server --bind 127.0.0.1 --port "$redis_port" \
      --save "" --appendonly no --loglevel warning >"$log_file" 2>&1 &
    redis_pid=$!
    for _ in $(seq 1 100); do
      # Ours, not another Redis already on that port.
      if [[ "$(redis-cli -p "$redis_port" info server 2>/dev/null | tr -d '\r' |
        sed -n 's/^process_id://p')" == "$redis_pid" ]]; then
        return 0
      fi
      kill -0 "$redis_pid" 2>/dev/null || break
      sleep 0.05
    done
    stop_pid "$redis_pid"
  done
  redis_pid=""
  log "redis-server did not start; see $log_file"
  return 1
}

stop_redis() {
  [[ -z "$redis_pid" ]] && return 0
  stop_pid "$redis_pid"
  redis_pid=""
}

# Redis' own counters as one JSON object: commands processed, PUBLISH
# calls, bytes in and out.
redis_counters() {
  redis-cli -p "$redis_port" info all 2>/dev/null | tr -d '\r' | awk -F'[:=,]' '
    $1 == "total_commands_processed" { c = $2 }
    $1 == "total_net_input_bytes" { i = $2 }
    $1 == "total_net_output_bytes" { o = $2 }
    $1 == "cmdstat_publish" { p = $3 }
    $1 == "cmdstat_info" { n = $3 }
    END { printf "{\"commands\":%d,\"publish\":%d,\"info\":%d,\"net_input_bytes\":%d,\"net_output_bytes\":%d}", c, p, n, i, o }'
}
trap 'stop_server; stop_redis' EXIT

# --- Scenarios -------------------------------------------------------------

# cursor-bench arguments of scenario $1 (after the URL and pid).
scenario_args() {
  case "$1" in
    # The machine's floor: two members, 60 updates/s in all.
    noise) echo "rate --rooms 1 --members 2 --hz 30 --duration $duration" ;;
    rate10) echo "rate --rooms 1 --members 10 --hz 30 --duration $duration" ;;
    rate50) echo "rate --rooms 1 --members 50 --hz 30 --duration $duration" ;;
    rate200) echo "rate --rooms 1 --members 200 --hz 30 --duration $duration" ;;
    # Many rooms: 10k connections, one moving cursor per room at 10 Hz, so
    # the 90k deliveries/s stay well inside what one generator core can
    # receive as separate reads (see docs/BENCHMARKS.md).
    rooms1000) echo "rate --rooms 1000 --members 10 --senders 1 --hz 10 --duration $duration" ;;
    saturate100) echo "saturate --rooms 1 --members 100 --window 4 --duration $duration" ;;
    idle10k) echo "idle --connections 10000 --members 50 --processes 2 --duration 4" ;;
    idlemax) echo "idle --connections $idle_max --members 50 --processes 4 --duration 4" ;;
    churn) echo "churn --rooms 10 --observers 4 --concurrency 4 --duration $duration" ;;
    *) echo "run.sh: unknown scenario $1" >&2; return 1 ;;
  esac
}

# Runs of one scenario alternate between servers, so slow drifts in the
# machine's state (other load, memory) spread over all of them alike.
for scenario in $plain_scenarios; do
  # Rerunning a scenario into an existing results directory replaces it.
  rm -f "$results/$scenario".*
  prio=()
  if scenario_rt "$scenario"; then prio=(chrt -r 10); fi
  for run in $(seq 1 "$repeat"); do
  for server in $servers; do
    base="$results/$scenario.$server.$run"
    start_server "$server" "$base.server.log" || continue
    args=$(scenario_args "$scenario")
    bench_cmd="taskset -c 1 $bench_bin $args --url ws://127.0.0.1:$server_port --pid $server_pid --label $server"
    if [[ $run -eq 1 ]]; then
      {
        echo "# $scenario / $server"
        echo "${prio[*]}${prio:+ }taskset -c 0 $(server_command "$server")"
        echo "${prio[*]}${prio:+ }$bench_cmd"
      } >>"$results/$scenario.commands"
    fi
    log "$scenario: $server, run $run of $repeat (port $server_port, pid $server_pid, load $(cut -d' ' -f1 /proc/loadavg))"
    perf_pid=""
    if [[ $perf -eq 1 && "$server" == cursord ]] && command -v perf >/dev/null; then
      perf record -g -o "$base.perf.data" -p "$server_pid" >/dev/null 2>&1 &
      perf_pid=$!
    fi
    # cursor-bench bounds its own run time; `timeout` is the backstop.
    # shellcheck disable=SC2086
    timeout 300 "${prio[@]}" $bench_cmd >"$base.json" 2>"$base.log" || true
    if [[ -n "$perf_pid" ]]; then
      kill -INT "$perf_pid" 2>/dev/null || true
      wait "$perf_pid" 2>/dev/null || true
      perf report -i "$base.perf.data" --no-children --percent-limit 0.5 \
        --sort symbol 2>/dev/null | grep -v "^$" | sed -E "s/ {2,}/  /g" | head -80 >"$base.perf.txt" || true
    fi
    tail -n1 "$base.json" | cut -c1-300 >&2
    stop_server
    # Let TIME_WAIT sockets and the last server's memory settle.
    sleep 1
  done
  done
done

# --- Backplane scenarios ----------------------------------------------------

# Waits until file $1 has a line $2, or process $3 has ended (then fails).
wait_for_line() {
  while ! grep -qx "$2" "$1" 2>/dev/null; do
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.02
  done
}

# The cursor-bench arguments of backplane scenario $1 (after the URLs).
# --linger keeps the members connected for a second after the window, so
# that their leaves do not reach Redis before run.sh's last sample.
bp_args() {
  case "$1" in
    *50) echo "rate --rooms 1 --members 50 --hz 30 --duration $duration --linger 1" ;;
    # Many quiet rooms, as rooms1000: one moving cursor per room at 10 Hz,
    # so the cost per room (channels, flushes) shows rather than batching.
    *rooms) echo "rate --rooms $cluster_rooms --members 10 --senders 1 --hz 10 --duration $duration --linger 1" ;;
  esac
}

# Runs go round the shapes and servers (run 1 of each, then run 2, ...), so
# that the comparisons the section makes (with and without --redis, one
# instance against two) see the same machine.
for scenario in $bp_scenarios; do rm -f "$results/$scenario".*; done
bp_servers=""
for server in $servers; do
  case "$server" in
    cursord|node) bp_servers+="$server " ;;
  esac
done
[[ -n "$bp_scenarios" && -z "$bp_servers" ]] && log "backplane scenarios: only cursord and node take part"
for run in $(seq 1 "$repeat"); do
for scenario in $bp_scenarios; do
prio=()
if scenario_rt "$scenario"; then prio=(chrt -r 10); fi
for server in $bp_servers; do
  base="$results/$scenario.$server.$run"
  redis_url=""
  instances=1
  case "$scenario" in
    redis*) instances=1 ;;
    cluster*) instances=2 ;;
  esac
  if [[ "$scenario" != local* ]]; then
    start_redis "$base.redis.log" || continue
    redis_url="redis://127.0.0.1:$redis_port"
  fi
  urls=""
  watch=""
  first_pid=""
  failed=0
  for i in $(seq 1 "$instances"); do
    if ! start_server "$server" "$base.server$i.log" "$redis_url"; then failed=1; break; fi
    urls+="${urls:+,}ws://127.0.0.1:$server_port"
    if [[ -z "$first_pid" ]]; then first_pid=$server_pid; else watch+=" --watch instance$i=$server_pid"; fi
  done
  if [[ $failed -eq 1 ]]; then stop_server; stop_redis; continue; fi
  [[ -n "$redis_pid" ]] && watch+=" --watch redis=$redis_pid"
  bench_cmd="taskset -c 1 $bench_bin $(bp_args "$scenario") --url $urls --pid $first_pid$watch --label $server"
  if [[ $run -eq 1 ]]; then
    {
      echo "# $scenario / $server"
      [[ -n "$redis_pid" ]] && echo "${prio[*]}${prio:+ }taskset -c 0 redis-server --bind 127.0.0.1 --port $redis_port --save \"\" --appendonly no"
      for i in $(seq 1 "$instances"); do echo "${prio[*]}${prio:+ }taskset -c 0 $(server_command "$server" "$redis_url")"; done
      echo "${prio[*]}${prio:+ }$bench_cmd"
    } >>"$results/$scenario.commands"
  fi
  log "$scenario: $server, run $run of $repeat ($urls, load $(cut -d' ' -f1 /proc/loadavg))"
  # shellcheck disable=SC2086
  timeout 300 "${prio[@]}" $bench_cmd >"$base.json" 2>"$base.log" &
  bench_pid=$!
  if [[ -n "$redis_pid" ]]; then
    # Redis' counters at the start and end of the measured window, which
    # cursor-bench announces on stderr (polled every 20 ms), so the joins
    # and leaves around it are left out.
    if wait_for_line "$base.log" "window start" "$bench_pid"; then
      redis_before=$(redis_counters)
      if wait_for_line "$base.log" "window end" "$bench_pid"; then
        echo "{\"before\":$redis_before,\"after\":$(redis_counters)}" >"$base.redis.json"
      fi
    fi
  fi
  wait "$bench_pid" || true
  tail -n1 "$base.json" | cut -c1-300 >&2
  stop_server
  stop_redis
  sleep 1
done
done
done

# --- Report ----------------------------------------------------------------

{
  echo "{"
  echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
  echo "  \"cpu\": \"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)\","
  echo "  \"cores\": $(nproc),"
  echo "  \"memory_kb\": $(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo),"
  echo "  \"kernel\": \"$(uname -r)\","
  echo "  \"os\": \"$(. /etc/os-release && echo "$PRETTY_NAME")\","
  echo "  \"virtualization\": \"$(systemd-detect-virt --vm 2>/dev/null || true) VM, $(systemd-detect-virt --container 2>/dev/null || true) container\","
  echo "  \"loadavg_end\": \"$(cut -d' ' -f1-3 /proc/loadavg)\","
  echo "  \"nofile\": $nofile,"
  echo "  \"rt\": \"$rt\","
  echo "  \"duration\": $duration,"
  echo "  \"repeat\": $repeat,"
  echo "  \"gxx\": \"$(g++ --version | head -n1)\","
  echo "  \"boost\": \"$(dpkg-query -W -f='${Version}' libboost-dev 2>/dev/null || echo unknown)\","
  echo "  \"cursord\": \"$("$cursord_bin" --version 2>/dev/null | head -n1)\","
  echo "  \"git\": \"$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)\","
  echo "  \"server_dirty\": $(git -C "$root" status --porcelain -- server proto 2>/dev/null | grep -c . || true),"
  echo "  \"node\": \"$(node --version)\","
  echo "  \"ws\": \"$(node -p "require('$bench_dir/peers/node/node_modules/ws/package.json').version")\","
  echo "  \"go\": \"$(go version | cut -d' ' -f3)\","
  echo "  \"gorilla\": \"$(dpkg-query -W -f='${Version}' golang-github-gorilla-websocket-dev 2>/dev/null || echo unknown)\","
  echo "  \"flush_interval\": \"$flush_interval\","
  echo "  \"redis\": \"$(redis-server --version 2>/dev/null | sed -n 's/.* v=\([^ ]*\).*/\1/p')\","
  echo "  \"ioredis\": \"$(node -p "require('$bench_dir/peers/node/node_modules/ioredis/package.json').version" 2>/dev/null || echo unknown)\","
  echo "  \"gnuplot\": \"$(gnuplot --version)\""
  echo "}"
} >"$results/meta.json"

log "writing $out"
mkdir -p "$(dirname "$out")/bench"
node "$bench_dir/report.js" "$results" "$out" "$(dirname "$out")/bench"
log "done"
