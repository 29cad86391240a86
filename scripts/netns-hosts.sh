#!/bin/sh
# netns-hosts.sh - emulated hosts on this one machine, for running Open MPI
# jobs "across hosts" in tests (issue 17; tests/hosts.t).
#
#   netns-hosts.sh up N [ID]       make N hosts, print a hostfile (stdout)
#   netns-hosts.sh down ID         remove everything run ID made
#   netns-hosts.sh exec HOST CMD.. run CMD on emulated host HOST
#   netns-hosts.sh pids ID         the processes still inside run ID's hosts
#
# A host of run ID is named ipclab-ID-hK (K = 1..N) and has:
#   - its own network namespace (ip netns: ipclab-hosts-ID-hK) with lo up
#     and eth0 = 10.251.0.(K+1)/24, a veth whose peer sits on a bridge in
#     one more namespace (ipclab-hosts-ID-sw, the "switch"): the run's
#     network touches nothing of this machine's own (no address, route or
#     interface outside its namespaces), so runs beside each other may all
#     use the same addresses;
#   - its own host name (a UTS namespace) and its own SysV / POSIX message
#     queue objects (an IPC namespace), both kept by bind mounts under the
#     run's folder /run/ipclab-hosts/ID/;
#   - its own /tmp and /dev/shm (a tmpfs each, STATE/hK/tmp and
#     STATE/hK/shm, bound over /tmp and /dev/shm for what runs there), and
#     its message queues listed in STATE/hK/mq (an mqueue mount of its IPC
#     namespace): what a job leaves on a host can be seen from here;
#   - its own share of this machine's CPUs (STATE/hK/cpus, taskset for
#     what runs there): host K gets every N-th CPU this process may use,
#     starting at the K-th (one CPU each for 2 hosts on 2 CPUs), so that
#     ipclab's placement on each host (per local rank) picks CPUs of its
#     own, as on real hosts; with more hosts than CPUs they share;
#   - /etc/hosts = STATE/hosts (every host of the run, and localhost); this
#     machine's /etc/hosts is never changed.
# Everything else is shared, as a cluster's shared home is: the file
# system (the build, STATE/shared for results), the kernel.  Under
# /tmp, this checkout and the paths in NETNS_HOSTS_SHARE (':' between
# them) stay visible at their own paths, so a clone in /tmp runs too.
#
# `exec` runs CMD inside the host's network, UTS and IPC namespaces and in
# a mount namespace of its own (made for this command: the binds above);
# Open MPI's launch agent (netns-agent.sh) uses it to start its daemons
# there.  `up` with an ID that is up already prints its hostfile again;
# `down` of an ID that is gone does nothing; `down` ends the processes
# still inside the run's hosts (SIGKILL, by pid) before it removes them.
# It touches only names with the prefix ipclab-hosts-ID (its own run id).
#
# Root only (namespaces, mounts, interfaces): otherwise one line, exit 2.
# Needs ip (iproute2, an optional package of make deps), unshare and
# nsenter (util-linux).
set -eu

PREFIX=ipclab-hosts
ROOT=/run/ipclab-hosts
NET=10.251.0
MAX_HOSTS=200

die() {
	echo "netns-hosts: $*" >&2
	exit 2
}

usage() {
	die "usage: netns-hosts.sh up N [ID] | down ID | exec HOST CMD... | pids ID (N: 1..$MAX_HOSTS hosts; ID: letters and digits, at most 12)"
}

need_root() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces, mounts and interfaces need it); you are uid $(id -u)"
	command -v ip >/dev/null 2>&1 || die "ip (iproute2) not found: make deps installs it (apt-get install iproute2)"
	command -v unshare >/dev/null 2>&1 && command -v nsenter >/dev/null 2>&1 ||
		die "unshare and nsenter (util-linux) not found"
}

check_id() {
	case "$1" in
	'' | *[!A-Za-z0-9]*) die "run id '$1' is not letters and digits (at most 12)" ;;
	esac
	[ ${#1} -le 12 ] || die "run id '$1' is longer than 12 characters"
}

host_name() { echo "ipclab-$1-h$2"; }
ns_name() { echo "$PREFIX-$1-h$2"; }

# The run id and host number of a host name ipclab-ID-hK, as "ID K".
parse_host() {
	case "$1" in
	ipclab-*-h*) ;;
	*) die "'$1' is not an emulated host name (ipclab-ID-hK)" ;;
	esac
	rest=${1#ipclab-}
	id=${rest%-h*}
	k=${rest##*-h}
	check_id "$id"
	case "$k" in '' | *[!0-9]*) die "'$1' is not an emulated host name (ipclab-ID-hK)" ;; esac
	echo "$id $k"
}

# The CPUs this process may use, one a line (from a taskset list).
allowed_cpus() {
	sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status | tr ',' '\n' |
		awk -F- '{ hi = NF > 1 ? $2 : $1; for (c = $1; c <= hi; c++) print c }'
}

# Host k's CPUs of n hosts, as a taskset list.
host_cpus() {
	allowed_cpus | awk -v k="$1" -v n="$2" '{ c[NR - 1] = $1 }
		END {
			if (NR >= n) { for (j = k - 1; j < NR; j += n) s = s (s == "" ? "" : ",") c[j] }
			else s = c[(k - 1) % NR]
			print s
		}'
}

hostfile() {
	id=$1
	n=$(cat "$ROOT/$id/n")
	echo "# emulated hosts of run $id (this file: $ROOT/$id/hostfile); scripts/netns-hosts.sh down $id removes them"
	k=1
	while [ "$k" -le "$n" ]; do
		echo "$(host_name "$id" "$k") slots=1"
		k=$((k + 1))
	done
}

up() {
	[ $# -ge 1 ] && [ $# -le 2 ] || usage
	n=$1
	case "$n" in '' | *[!0-9]*) die "host count '$n' is not a number (1..$MAX_HOSTS)" ;; esac
	[ "$n" -ge 1 ] && [ "$n" -le "$MAX_HOSTS" ] || die "host count $n is out of range (1..$MAX_HOSTS)"
	id=${2:-$(printf '%x%04x' $$ "$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')")}
	check_id "$id"
	need_root
	st=$ROOT/$id
	if [ -e "$st/up" ]; then
		[ "$(cat "$st/n")" = "$n" ] || die "run $id is up with $(cat "$st/n") hosts, not $n (down it first)"
		cat "$st/hostfile"
		return 0
	fi
	# A half-made run of this id (an earlier up that failed): start over.
	down_run "$id"
	trap 'down_run "$id" >/dev/null 2>&1 || true' EXIT
	# (Twice: a down of another run may remove an empty $ROOT between the
	# two levels.)
	mkdir -p "$st" 2>/dev/null || mkdir -p "$st"
	echo "$n" >"$st/n"
	# A folder for results that every host sees (each host's /tmp is its own).
	mkdir "$st/shared"
	# The namespace files are bind mounts: keep them on a private mount.
	mount --bind "$st" "$st"
	mount --make-private "$st"
	{
		echo "127.0.0.1 localhost"
		k=1
		while [ "$k" -le "$n" ]; do
			echo "$NET.$((k + 1)) $(host_name "$id" "$k")"
			k=$((k + 1))
		done
	} >"$st/hosts"
	sw=$PREFIX-$id-sw
	ip netns add "$sw"
	ip -n "$sw" link set lo up
	ip -n "$sw" link add br0 type bridge
	ip -n "$sw" link set br0 up
	k=1
	while [ "$k" -le "$n" ]; do
		ns=$(ns_name "$id" "$k")
		hd=$st/h$k
		mkdir -p "$hd/tmp" "$hd/shm" "$hd/mq" "$hd/orig"
		host_cpus "$k" "$n" >"$hd/cpus"
		: >"$hd/uts"
		: >"$hd/ipc"
		mount -t tmpfs -o mode=1777 "$ns-tmp" "$hd/tmp"
		mount -t tmpfs -o mode=1777 "$ns-shm" "$hd/shm"
		unshare --uts="$hd/uts" hostname "$(host_name "$id" "$k")"
		unshare --ipc="$hd/ipc" true
		# The host's own queues, seen from here (mqueue takes the IPC
		# namespace of whoever mounts it).
		nsenter --ipc="$hd/ipc" mount -t mqueue "$ns-mq" "$hd/mq"
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		ip -n "$sw" link add "p$k" type veth peer name eth0 netns "$ns"
		ip -n "$sw" link set "p$k" master br0 up
		ip -n "$ns" addr add "$NET.$((k + 1))/24" dev eth0
		ip -n "$ns" link set eth0 up
		k=$((k + 1))
	done
	hostfile "$id" >"$st/hostfile"
	: >"$st/up"
	trap - EXIT
	cat "$st/hostfile"
}

# Pids of processes in run id's network namespaces.
pids_of() {
	for f in /run/netns/"$PREFIX-$1"-*; do
		[ -e "$f" ] || continue
		ip netns pids "${f#/run/netns/}" 2>/dev/null || true
	done
}

down_run() {
	id=$1
	st=$ROOT/$id
	# Whatever still runs on the run's hosts (a job that hung): by pid.
	for p in $(pids_of "$id"); do
		kill -KILL "$p" 2>/dev/null || true
	done
	for f in /run/netns/"$PREFIX-$id"-h*; do
		[ -e "$f" ] || continue
		ip netns del "${f#/run/netns/}"
	done
	[ -e "/run/netns/$PREFIX-$id-sw" ] && ip netns del "$PREFIX-$id-sw"
	if [ -d "$st" ]; then
		# Inner mounts first (tmpfs, mqueue, namespace files), then the
		# run's own bind mount.
		awk -v st="$st" '$5 == st || index($5, st "/") == 1 { print $5 }' /proc/self/mountinfo |
			sort -r | while read -r m; do
			umount "$m" 2>/dev/null || umount -l "$m"
		done
		rm -rf "$st"
	fi
	rmdir "$ROOT" 2>/dev/null || true
}

down() {
	[ $# -eq 1 ] || usage
	check_id "$1"
	need_root
	down_run "$1"
}

exec_on() {
	[ $# -ge 2 ] || usage
	host=$1
	shift
	set -- "$host" "$@"
	idk=$(parse_host "$host")
	id=${idk% *}
	k=${idk#* }
	need_root
	hd=$ROOT/$id/h$k
	[ -e "$ROOT/$id/up" ] && [ -d "$hd" ] || die "host $host is not up (netns-hosts.sh up N $id)"
	shift
	# Paths under /tmp that stay shared (the host's own /tmp hides this
	# machine's): this checkout (a fresh clone in /tmp must still run),
	# and NETNS_HOSTS_SHARE (paths separated by ':').
	share=$(cd "$(dirname "$0")/.." && pwd -P):${NETNS_HOSTS_SHARE:-}
	# shellcheck disable=SC2016 # the inner script expands its own $1, $2, $3
	exec nsenter --net="/run/netns/$(ns_name "$id" "$k")" --uts="$hd/uts" --ipc="$hd/ipc" -- \
		taskset -c "$(cat "$hd/cpus")" unshare --mount --propagation private -- /bin/sh -c '
			hd=$1 hosts=$2 share=$3
			shift 3
			mount --rbind /tmp "$hd/orig" &&
			mount --bind "$hd/tmp" /tmp &&
			mount --bind "$hd/shm" /dev/shm &&
			mount --bind "$hosts" /etc/hosts || exit 2
			IFS=:
			for p in $share; do
				case "$p" in
				/tmp/?*)
					[ -e "$hd/orig/${p#/tmp/}" ] || continue
					mkdir -p "$p" && mount --rbind "$hd/orig/${p#/tmp/}" "$p" || exit 2
					;;
				esac
			done
			unset IFS
			# Its own queues at /dev/mqueue too, where this machine has one.
			if [ -d /dev/mqueue ]; then mount -t mqueue none /dev/mqueue || exit 2; fi
			exec "$@"' sh "$hd" "$ROOT/$id/hosts" "$share" "$@"
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case "$cmd" in
up) up "$@" ;;
down) down "$@" ;;
exec) exec_on "$@" ;;
pids)
	[ $# -eq 1 ] || usage
	check_id "$1"
	need_root
	pids_of "$1"
	;;
*) usage ;;
esac
