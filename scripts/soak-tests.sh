#!/bin/sh
# soak-tests.sh - the whole test suite N times from a fresh clone, with a
# CPU hog on every CPU, to find tests that fail now and then (issue 10).
#
#   scripts/soak-tests.sh N [COMMIT]      (default N 20, COMMIT HEAD)
#
# Clones this repository at COMMIT into a temporary folder, builds it once,
# then runs `make test` N times, each inside the measure lock (SOAK_LOCK,
# default /tmp/ipclab-measure.lock: other measuring runs on this machine
# wait while a round runs, and its hog does not disturb theirs) with a hog
# on every CPU for that round only: `stress-ng --cpu NCPU` when installed
# (Debian's stress-ng, an optional package of scripts/install-deps.sh), else
# one shell spinner per CPU.  Prints one line per round and then
# "soak: K of N passed"; each failing round's log is kept and named, and
# nothing else the soak made is left when it ends (also on SIGINT/SIGTERM).
# SOAK_RECLONE=1 clones and builds afresh before every round.
# SOAK_PAUSE=S waits S seconds between rounds, outside the lock, so that
# measuring runs waiting for it get their turn (default 0).
# SOAK_JOBS=K (default 1) runs K copies of the suite at once, each in a
# clone of its own, under one hog that runs for the whole soak: round i
# goes to copy ((i-1) mod K)+1.  Copies running beside each other share
# the machine's per-user limits (RLIMIT_MSGQUEUE, process counts) as two
# users' runs would; rounds then take no lock.
# Exit status: 0 when every round passed, 1 otherwise, 2 on bad usage.
set -u
n=${1:-20}
case "$n" in
'' | *[!0-9]* | 0) echo "soak-tests: N must be a whole number 1 or more, got '$n'" >&2; exit 2 ;;
esac
jobs=${SOAK_JOBS:-1}
case "$jobs" in
'' | *[!0-9]* | 0) echo "soak-tests: SOAK_JOBS must be a whole number 1 or more, got '$jobs'" >&2; exit 2 ;;
esac

repo=$(cd "$(dirname "$0")/.." && pwd)
commit=${2:-HEAD}
rev=$(git -C "$repo" rev-parse --verify -q "$commit^{commit}") || {
	echo "soak-tests: '$commit' is not a commit of $repo" >&2
	exit 2
}
lock=${SOAK_LOCK:-/tmp/ipclab-measure.lock}
work=$(mktemp -d "${TMPDIR:-/tmp}/soak-tests.XXXXXX")
# Open to other users, as a checkout usually is: faults.t runs ipclab as a
# user of its own (RLIMIT_NPROC), which must reach the clone's build.
chmod 755 "$work"
ncpu=$(nproc)
# What the soak made goes when it ends, however it ends: the clones, the
# hog, the round markers and every log but those of rounds that failed
# (the folder stays only for them).
cleanup() {
	rm -rf "$work"/clone-* "$work/hog.sh" "$work"/passed-*
	for f in "$work"/round-*.log; do
		[ -e "$f" ] || continue
		i=${f##*/round-}
		[ -e "$work/failed-${i%.log}" ] || rm -f "$f"
	done
	rm -f "$work"/failed-*
	rmdir "$work" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The hog: runs until SIGTERM, then stops every spinner it started.
cat >"$work/hog.sh" <<EOF2
#!/bin/sh
if command -v stress-ng >/dev/null 2>&1; then exec stress-ng --cpu $ncpu --quiet; fi
pids=""
i=0
while [ \$i -lt $ncpu ]; do
	sh -c 'while :; do :; done' &
	pids="\$pids \$!"
	i=\$((i + 1))
done
trap 'kill \$pids; exit 0' TERM
wait
EOF2
chmod +x "$work/hog.sh"

# fresh_clone DIR: a clone of $rev in DIR, built.
fresh_clone() {
	rm -rf "$1"
	git clone -q --no-hardlinks "$repo" "$1" &&
		git -C "$1" checkout -q "$rev" &&
		make -C "$1" >"$1.build.log" 2>&1 || {
		echo "soak-tests: fresh clone of $rev does not build; see $1.build.log" >&2
		exit 1
	}
}

# round I CLONE: one `make test` in CLONE; with one copy it runs inside
# the lock with a hog of its own, with several the soak's hog is running.
round() {
	log="$work/round-$1.log"
	t0=$(date +%s)
	if [ "$jobs" -eq 1 ]; then
		# The hog runs only while this round holds the lock.
		flock "$lock" sh -c '
			"$1" >/dev/null 2>&1 &
			hog=$!
			make -C "$2" test >"$3" 2>&1
			rc=$?
			kill "$hog" 2>/dev/null; wait "$hog" 2>/dev/null
			exit $rc' sh "$work/hog.sh" "$2" "$log"
	else
		make -C "$2" test >"$log" 2>&1
	fi
	rc=$?
	t=$(($(date +%s) - t0))
	if [ "$rc" -eq 0 ] && grep -q '^Result: PASS' "$log"; then
		: >"$work/passed-$1"
		echo "soak: round $1 passed (${t}s)"
		rm -f "$log"
	else
		: >"$work/failed-$1"
		failing=$(grep -E '^(tests/|/)[^ ]* .*(Wstat|Failed)|^ *Failed tests?:' "$log" | tr -s ' ' | head -n 6 | tr '\n' ';')
		echo "soak: round $1 FAILED (${t}s, exit $rc): $failing log $log"
	fi
}

# copy J: rounds J, J+K, J+2K, ... in clone J.
copy() {
	clone="$work/clone-$1"
	i=$1
	while [ "$i" -le "$n" ]; do
		[ "${SOAK_RECLONE:-0}" = 1 ] && [ "$i" -gt "$1" ] && fresh_clone "$clone"
		round "$i" "$clone"
		i=$((i + jobs))
		[ "$i" -le "$n" ] && sleep "${SOAK_PAUSE:-0}"
	done
}

hog_name=$(command -v stress-ng >/dev/null 2>&1 && echo "stress-ng --cpu $ncpu" || echo "$ncpu shell spinners")
if [ "$jobs" -eq 1 ]; then
	echo "soak: $n rounds of make test at $(git -C "$repo" rev-parse --short "$rev"), hog: $hog_name, lock: $lock, logs: $work"
	fresh_clone "$work/clone-1"
	copy 1
else
	echo "soak: $n rounds of make test at $(git -C "$repo" rev-parse --short "$rev"), $jobs copies at once, hog: $hog_name for the whole soak, logs: $work"
	j=1
	while [ "$j" -le "$jobs" ]; do fresh_clone "$work/clone-$j"; j=$((j + 1)); done
	"$work/hog.sh" >/dev/null 2>&1 &
	hog=$!
	pids=""
	j=1
	while [ "$j" -le "$jobs" ]; do
		copy "$j" &
		pids="$pids $!"
		j=$((j + 1))
	done
	trap 'kill $pids $hog 2>/dev/null; exit 130' INT
	trap 'kill $pids $hog 2>/dev/null; exit 143' TERM
	wait $pids
	kill "$hog" 2>/dev/null
	wait "$hog" 2>/dev/null
fi
passed=$(ls "$work" | grep -c '^passed-')
echo "soak: $passed of $n passed"
[ "$passed" -eq "$n" ]
