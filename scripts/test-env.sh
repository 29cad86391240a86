#!/bin/sh
# test-env.sh - make leftovers visible before the tests run.
# POSIX message queues can only be listed (and leaks found) where the mqueue
# filesystem is mounted at /dev/mqueue; a fresh Debian machine may not have
# it.  As root we mount it; otherwise the tests check the names they created
# one by one and say so.
if ! grep -qs ' /dev/mqueue mqueue ' /proc/mounts; then
	if [ "$(id -u)" -eq 0 ]; then
		mkdir -p /dev/mqueue && mount -t mqueue none /dev/mqueue 2>/dev/null ||
			echo "test-env: could not mount /dev/mqueue; leak checks for message queues use names only" >&2
	else
		echo "test-env: /dev/mqueue is not mounted (needs root); leak checks for message queues use names only" >&2
	fi
fi
exit 0
