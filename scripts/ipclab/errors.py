"""The one error a result folder can raise while it is read."""


class LoadError(Exception):
	"""A result folder that cannot be read; str() is one line naming it."""

	def __init__(self, path, problem):
		super().__init__("%s: %s" % (path, problem))
		self.path = path
		self.problem = problem
