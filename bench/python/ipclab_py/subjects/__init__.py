"""The py- subjects: one table entry each, walked by the CLI, the case
matrix and --list.  A subject says which workloads and waits it has and
builds its objects for a case; the workloads (ipclab_py.workloads) drive
them."""

from ipclab_py.subjects import channels, sync, tasks

SUBJECTS = channels.SUBJECTS + sync.SUBJECTS + tasks.SUBJECTS


def find(name):
	for s in SUBJECTS:
		if s.name == name:
			return s
	return None
