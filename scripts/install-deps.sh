#!/bin/sh
# install-deps.sh - install what ipclab needs on Debian/Ubuntu.
# A fast no-op when everything is there.  As root it installs the missing
# packages with apt-get; otherwise it prints the exact command and exits 2.
set -eu

# build: compiler, CMake, Ninja, pkg-config; libraries: hwloc, cmocka,
# Google Benchmark; tests: prove (perl); plots: gnuplot; compare: Google
# Benchmark's compare.py (libbenchmark-tools) with scipy for its U test.
PKGS="gcc g++ cmake ninja-build pkg-config perl python3 \
libhwloc-dev hwloc libcmocka-dev libbenchmark-dev \
gnuplot-nox libbenchmark-tools python3-scipy"

# Optional: never make `make` fail.  linux-perf: ipclab's perf bench sched
# pipe baseline around the pipe ping-pong case (issue 10); stress-ng: the CPU
# hog of scripts/soak-tests.sh (which has a spinner of its own without it).
# liburing-dev: the io-uring mechanism (CMake builds it only when found and
# says so); libzmq3-dev, libnng-dev: the zmq-ipc and nng-ipc mechanisms (same);
# libopenmpi-dev, openmpi-bin: the mpi mechanism and tests/mpi.t (issue 17;
# about 60 MiB, skipped with a line when absent); iproute2: `ip netns` for
# the emulated hosts of scripts/netns-hosts.sh (tests/hosts.t, skipped
# with a line when absent).
OPTIONAL_PKGS="linux-perf stress-ng liburing-dev libzmq3-dev libnng-dev libopenmpi-dev openmpi-bin iproute2"

optional() {
	opt=""
	for p in $OPTIONAL_PKGS; do
		case "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" in
		*"install ok installed"*) ;;
		*) opt="$opt $p" ;;
		esac
	done
	[ -z "$opt" ] && return 0
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "install-deps: optional:$opt (skipped if apt cannot install them)" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $opt >/dev/null 2>&1 ||
			{ DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 &&
			  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $opt >/dev/null 2>&1; } ||
			echo "install-deps: optional packages not installed:$opt (their features are skipped)" >&2
	else
		echo "install-deps: optional packages missing:$opt (their features are skipped; as root: apt-get install$opt)" >&2
	fi
	# Remember the attempt: one try per build folder, not one per make.
	return 0
}

missing=""
for p in $PKGS; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -z "$missing" ]; then
	[ -e "${IPCLAB_OPTIONAL_STAMP:-build/.optional-deps-tried}" ] && exit 0
	optional
	mkdir -p "$(dirname "${IPCLAB_OPTIONAL_STAMP:-build/.optional-deps-tried}")" 2>/dev/null &&
		: >"${IPCLAB_OPTIONAL_STAMP:-build/.optional-deps-tried}" 2>/dev/null
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps: missing packages:$missing; this script knows only apt-get (Debian/Ubuntu): install them with your package manager" >&2
	exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing; run: sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 2
fi
echo "install-deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >&2
optional
