"""Number and text formatting for tables and figures; atomic writes."""

import math
import os

def fmt_sig(v, digits=3):
	"""v with `digits` significant digits, never in exponent form."""
	if v is None:
		return "-"
	if v == 0:
		return "0"
	mag = int(math.floor(math.log10(abs(v))))
	dec = max(0, digits - 1 - mag)
	if dec == 0:
		return "%d" % round(v, digits - 1 - mag)
	return "%.*f" % (dec, v)


def fmt_si(v, digits=3):
	"""v with an SI prefix (k, M, G): 47.2k, 1.23M."""
	if v is None:
		return "-"
	for div, pfx in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
		if abs(v) >= div:
			return fmt_sig(v / div, digits) + pfx
	return fmt_sig(v, digits)


def fmt_size(n):
	"""Bytes with binary suffixes where exact: 64, 4k, 64k, 1M."""
	for div, pfx in ((1 << 30, "G"), (1 << 20, "M"), (1 << 10, "k")):
		if n >= div and n % div == 0:
			return "%d%s" % (n // div, pfx)
	return "%d" % n


def fmt_stat(s, scale=1.0, fmt=fmt_sig):
	"""'median (min-max)', or 'median (±sd)' from aggregates."""
	if s is None:
		return "-"
	med = fmt(s.median / scale)
	if s.from_aggregates:
		if s.sd is None:
			return med
		return "%s (±%s)" % (med, fmt(s.sd / scale))
	if s.n < 2:
		return med
	return "%s (%s–%s)" % (med, fmt(s.lo / scale), fmt(s.hi / scale))


def tex_escape(s):
	s = str(s)
	out = []
	for ch in s:
		if ch in "&%$#_{}":
			out.append("\\" + ch)
		elif ch == "\\":
			out.append("\\textbackslash{}")
		elif ch == "~":
			out.append("\\textasciitilde{}")
		elif ch == "^":
			out.append("\\textasciicircum{}")
		elif ch == "–":
			out.append("--")
		elif ch == "±":
			out.append("$\\pm$")
		elif ch == "µ":
			out.append("$\\mu$")
		elif ch == "→":
			out.append("$\\rightarrow$")
		elif ch in "<>|":
			out.append("$%s$" % ("\\vert" if ch == "|" else ch))
		elif ord(ch) > 126:
			out.append("?")
		else:
			out.append(ch)
	return "".join(out)


def md_escape(s):
	return str(s).replace("|", "\\|")


def write_atomic(path, text):
	"""Write text to path through a temporary name and a rename."""
	tmp = "%s.tmp.%d" % (path, os.getpid())
	try:
		with open(tmp, "w", encoding="utf-8") as f:
			f.write(text)
		os.replace(tmp, path)
	except BaseException:
		try:
			os.unlink(tmp)
		except OSError:
			pass
		raise
