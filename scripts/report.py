#!/usr/bin/python3
"""report.py - figures, report.md and report.tex for one ipclab result folder.

  scripts/report.py RESULTS_DIR

A thin entry point (Makefile and users call it here): the code and its
full description are in scripts/ipclab/report.py.  Runs under Debian's
/usr/bin/python3, which has python3-numpy and python3-scipy.
"""
import os
import sys

sys.dont_write_bytecode = True	# keep scripts/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ipclab import report  # noqa: E402

if __name__ == "__main__":
	sys.exit(report.main(sys.argv[1:]))
