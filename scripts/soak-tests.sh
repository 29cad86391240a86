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
# "soak: K of N passed"; each failing round's log is kept and named.
# SOAK_RECLONE=1 clones and builds afresh before every round.
# SOAK_PAUSE=S waits S seconds between rounds, outside the lock, so that
# measuring runs waiting for it get their turn (default 0).
# Exit status: 0 when every round passed, 1 otherwise, 2 on bad usage.
set -u
n=${1:-20}
case "$n" in
'' | *[!0-9]* | 0) echo "soak-tests: N must be a whole number 1 or more, got '$n'" >&2; exit 2 ;;
esac
repo=$(cd "$(dirname "$0")/.." && pwd)
commit=${2:-HEAD}
rev=$(git -C "$repo" rev-parse --verify -q "$commit^{commit}") || {
	echo "soak-tests: '$commit' is not a commit of $repo" >&2
	exit 2
}
lock=${SOAK_LOCK:-/tmp/ipclab-measure.lock}
work=$(mktemp -d "${TMPDIR:-/tmp}/soak-tests.XXXXXX")
ncpu=$(nproc)
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

fresh_clone() {
	rm -rf "$work/clone"
	git clone -q --no-hardlinks "$repo" "$work/clone" &&
		git -C "$work/clone" checkout -q "$rev" &&
		make -C "$work/clone" >"$work/build.log" 2>&1 || {
		echo "soak-tests: fresh clone of $rev does not build; see $work/build.log" >&2
		exit 1
	}
}

hog_name=$(command -v stress-ng >/dev/null 2>&1 && echo "stress-ng --cpu $ncpu" || echo "$ncpu shell spinners")
echo "soak: $n rounds of make test at $(git -C "$repo" rev-parse --short "$rev"), hog: $hog_name, lock: $lock, logs: $work"
fresh_clone
passed=0
i=1
while [ "$i" -le "$n" ]; do
	[ "${SOAK_RECLONE:-0}" = 1 ] && [ "$i" -gt 1 ] && fresh_clone
	log="$work/round-$i.log"
	t0=$(date +%s)
	# The hog runs only while this round holds the lock.
	flock "$lock" sh -c '
		"$1" >/dev/null 2>&1 &
		hog=$!
		make -C "$2" test >"$3" 2>&1
		rc=$?
		kill "$hog" 2>/dev/null; wait "$hog" 2>/dev/null
		exit $rc' sh "$work/hog.sh" "$work/clone" "$log"
	rc=$?
	t=$(( $(date +%s) - t0 ))
	if [ "$rc" -eq 0 ] && grep -q '^Result: PASS' "$log"; then
		passed=$((passed + 1))
		echo "soak: round $i passed (${t}s)"
		rm -f "$log"
	else
		failing=$(grep -E '^(tests/|/)[^ ]* .*(Wstat|Failed)|^ *Failed tests?:' "$log" | tr -s ' ' | head -n 6 | tr '\n' ';')
		echo "soak: round $i FAILED (${t}s, exit $rc): $failing log $log"
	fi
	i=$((i + 1))
	[ "$i" -le "$n" ] && sleep "${SOAK_PAUSE:-0}"
done
echo "soak: $passed of $n passed"
[ "$passed" -eq "$n" ] && rm -rf "$work/clone"
[ "$passed" -eq "$n" ]
