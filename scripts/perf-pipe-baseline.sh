#!/bin/sh
# perf-pipe-baseline.sh - the kernel's own pipe ping-pong, as a yardstick for
# ipclab's pingpong/pipe/block case: `perf bench sched pipe` with its two
# processes pinned to CPU A and CPU B.  perf has no pinning flag, so it is
# started on CPU A and its child is moved to CPU B with taskset -p; the few
# loops before the move are a negligible part of LOOPS.
#
#   scripts/perf-pipe-baseline.sh [LOOPS] [CPU_A] [CPU_B]
#
# Prints perf's report; "usecs/op" is one round trip (write, read back).
set -eu
loops=${1:-500000}
a=${2:-0}
b=${3:-1}
command -v perf >/dev/null 2>&1 || {
	echo "perf-pipe-baseline: perf is not installed (Debian: apt-get install linux-perf)" >&2
	exit 2
}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
taskset -c "$a" perf bench sched pipe -l "$loops" >"$out" 2>&1 &
parent=$!
child=""
for _ in $(seq 1 200); do
	# perf forks one worker process for the other end of the pipes.
	child=$(ps -o pid= --ppid "$parent" 2>/dev/null | head -n 1 | tr -d ' ')
	[ -n "$child" ] && break
	sleep 0.01
done
if [ -n "$child" ]; then
	taskset -p -c "$b" "$child" >/dev/null
else
	echo "perf-pipe-baseline: could not find perf's child process; both ends stayed on CPU $a" >&2
fi
wait "$parent"
cat "$out"
echo "# pinned: parent on CPU $a, child ${child:+(pid $child) }on CPU $b"
