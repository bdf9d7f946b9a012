#!/usr/bin/env bash
# ListRooms across a cluster (docs/BENCHMARKS.md, "ListRooms across a
# cluster"): one redis-server (loopback port 16379) and N cursord
# (127.0.0.1:18080.., control 15051..); 100 rooms of one member on each,
# then PER more on each, one instance at a time; `cursorctl rooms list
# --limit 100` (and with a prefix) against instance 0 is timed 11 times with
# the small and with the big room count, and `cursorctl status` (local) as
# the cost of starting cursorctl. Prints one line per call.
#
#   N=6 PER=17000 tests/bench/cluster_list_rooms.sh BUILD_DIR
set -u
B=$(cd "${1:?usage: cluster_list_rooms.sh BUILD_DIR}" && pwd)
N=${N:-6}
PER=${PER:-17000}
work=$(mktemp -d /tmp/cursord-listrooms-XXXXXX)
cd "$work"
echo "logs in $work"
redis-server --port 16379 --bind 127.0.0.1 --save '' --appendonly no --daemonize no > redis.log 2>&1 &
RPID=$!
sleep 0.5
PIDS=()
for i in $(seq 0 $((N-1))); do
  $B/server/cursord --listen 127.0.0.1:$((18080+i)) --control-listen 127.0.0.1:$((15051+i)) \
    --redis redis://127.0.0.1:16379 --instance-id b$i --log-level warning --threads 1 > c$i.log 2>&1 &
  PIDS+=($!)
done
sleep 2
measure() {  # label
  for n in 1 2 3 4 5 6 7 8 9 10 11; do
    s=$(date +%s%N); $B/cli/cursorctl --server 127.0.0.1:15051 -o json rooms list --limit 100 > out.json; e=$(date +%s%N)
    echo "$1 rooms_list_100 $(( (e-s)/1000 ))us $(wc -l < out.json)"
  done
  for n in 1 2 3 4 5 6 7 8 9 10 11; do
    s=$(date +%s%N); $B/cli/cursorctl --server 127.0.0.1:15051 -o json rooms list --prefix small0- --limit 100 > out2.json; e=$(date +%s%N)
    echo "$1 rooms_list_prefix $(( (e-s)/1000 ))us $(wc -l < out2.json)"
  done
  s=$(date +%s%N); $B/cli/cursorctl --server 127.0.0.1:15051 -o json status > st.json; e=$(date +%s%N); echo "$1 status $(( (e-s)/1000 ))us"
}
# small: 100 rooms per instance
BG=()
for i in $(seq 0 $((N-1))); do
  $B/tests/bench/cursor-bench idle --url ws://127.0.0.1:$((18080+i)) --room-prefix small$i- --connections 100 --members 1 --duration 900 --settle 1 --quiet > small$i.json 2>&1 &
  BG+=($!)
done
sleep 4
measure small
# big: PER rooms per instance on top, one instance at a time, few handshakes in flight
count() {
  $B/cli/cursorctl --server 127.0.0.1:15051 -o json instances 2>/dev/null | python3 -c 'import sys,json
d=json.load(sys.stdin)
print(sum(int(i.get("roomCount",0)) for i in d["instances"]))'
}
for i in $(seq 0 $((N-1))); do
  $B/tests/bench/cursor-bench idle --url ws://127.0.0.1:$((18080+i)) --room-prefix big$i- --connections $PER --members 1 --max-pending 32 --duration 900 --settle 1 --connect-timeout 200 --quiet > big$i.json 2>&1 &
  BG+=($!)
  want=$(( N*100 + (i+1)*PER ))
  for t in $(seq 1 90); do
    sleep 1
    c=$(count)
    [ "${c:-0}" -ge $want ] && break
  done
  echo "after instance $i: t=$t rooms=$c want=$want"
done
measure big
$B/cli/cursorctl --server 127.0.0.1:15051 -o json instances > instances.json
kill ${BG[@]} 2>/dev/null
sleep 1
kill ${PIDS[@]}; wait ${PIDS[@]} 2>/dev/null
kill $RPID; wait $RPID 2>/dev/null
echo done
