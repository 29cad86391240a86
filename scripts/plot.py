#!/usr/bin/python3
"""plot.py - gnuplot figures for one or more ipclab result folders.

  scripts/plot.py RESULTS_DIR            figures into RESULTS_DIR/plots/
  scripts/plot.py --out DIR A B [C ...]  overlay figures of several machines

A thin entry point (Makefile and users call it here): the code and its
full description are in scripts/ipclab/plot.py.  Runs under Debian's
/usr/bin/python3, which has python3-numpy and python3-scipy.
"""
import os
import sys

sys.dont_write_bytecode = True	# keep scripts/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ipclab import plot  # noqa: E402

if __name__ == "__main__":
	sys.exit(plot.main(sys.argv[1:]))
