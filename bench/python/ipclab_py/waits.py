"""waits.py - the two wait strategies and the message header.

block: the object's blocking call, always with the case's timeout
(Connection.poll(T) then recv_bytes, Queue.get(True, T), acquire(True, T),
Event.wait(T)).  spin: its non-blocking form in a loop (poll(0),
get_nowait, acquire(False), is_set) that looks at the clock every
SPIN_CHECK tries and fails the case after the timeout.
"""

import queue
import struct
import time

from ipclab_py.errors import CaseFailed

SPIN_CHECK = 1024
# Every message starts like the C side's: sequence | sender << 48, then the
# send time (time.monotonic_ns, CLOCK_MONOTONIC, shared by all CPUs).
HEADER = struct.Struct("<QQ")
HEADER_SIZE = HEADER.size
SENDER_SHIFT = 48
SEQ_MASK = (1 << SENDER_SHIFT) - 1
# The seq of the end-of-round marker a fanout producer sends each consumer.
END_SEQ = SEQ_MASK

now_ns = time.monotonic_ns


def message(seq, size, pad_cache={}):	# noqa: B006 - a deliberate cache
	"""size bytes: the header (stamped now) and zero padding."""
	pad = pad_cache.get(size)
	if pad is None:
		pad = pad_cache[size] = bytes(size - HEADER_SIZE)
	return HEADER.pack(seq, now_ns()) + pad


def timed_out(what, timeout_s):
	return CaseFailed("%s: nothing within %gs" % (what, timeout_s))


def spin_call(try_once, timeout_s, what):
	"""Call try_once() until it returns something other than None."""
	deadline = None
	k = 0
	while True:
		r = try_once()
		if r is not None:
			return r
		k += 1
		if k % SPIN_CHECK == 0:
			t = time.monotonic()
			if deadline is None:
				deadline = t + timeout_s
			elif t > deadline:
				raise timed_out(what, timeout_s)


def spin_acquire(lock, timeout_s, what):
	acq = lock.acquire
	if acq(False):
		return
	spin_call(lambda: True if acq(False) else None, timeout_s, what)


def block_acquire(lock, timeout_s, what):
	if not lock.acquire(True, timeout_s):
		raise timed_out(what, timeout_s)


def queue_get_block(q, timeout_s, what):
	try:
		return q.get(True, timeout_s)
	except queue.Empty:
		raise timed_out(what, timeout_s) from None


def queue_get_spin(q, timeout_s, what):
	get = q.get_nowait

	def once():
		try:
			return get()
		except queue.Empty:
			return None
	return spin_call(once, timeout_s, what)
