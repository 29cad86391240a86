"""How a case ends early: skipped (cannot run here) or failed (a worker
died, a wait timed out, a check did not hold).  str() is the reason."""


class CaseSkipped(Exception):
	pass


class CaseFailed(Exception):
	pass
