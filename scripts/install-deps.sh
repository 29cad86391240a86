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

missing=""
for p in $PKGS; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done

[ -z "$missing" ] && exit 0

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
