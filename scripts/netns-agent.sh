#!/bin/sh
# netns-agent.sh - Open MPI's launch agent for the emulated hosts of
# scripts/netns-hosts.sh (issue 17; tests/hosts.t).
#
# mpirun starts its daemon (orted) on every other host of a job through a
# remote shell, ssh by default: it runs `AGENT HOST COMMAND...`, where
# COMMAND is one shell command line.  Given to mpirun as
#     mpirun --mca plm_rsh_agent /path/to/scripts/netns-agent.sh ...
# (Open MPI 4.1.4's name; `ompi_info --all | grep rsh_agent`), this agent
# runs that line with /bin/sh on the emulated host HOST (ipclab-ID-hK)
# instead, through `netns-hosts.sh exec`.  Unlike ssh it keeps mpirun's
# environment.  Open MPI's tree spawn (a daemon starting the next ones)
# works too, as every host runs this same file, but tests/hosts.t turns it
# off (plm_rsh_no_tree_spawn) to keep one launcher.
set -eu

# ssh's own options, in case Open MPI passes any (it does not by default):
# none take a value we need.
while [ $# -gt 0 ]; do
	case "$1" in
	-*) shift ;;
	*) break ;;
	esac
done
[ $# -ge 2 ] || { echo "netns-agent: usage: netns-agent.sh HOST COMMAND..." >&2; exit 2; }
host=$1
shift
exec "$(dirname "$0")/netns-hosts.sh" exec "$host" /bin/sh -c "$*"
