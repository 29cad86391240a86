#!/usr/bin/python3
"""compare.py - compare ipclab result folders (machines, or runs).

  scripts/compare.py [--out DIR] A B [C ...]

A thin entry point (Makefile and users call it here): the code and its
full description are in scripts/ipclab/compare.py.  Runs under Debian's
/usr/bin/python3, which has python3-numpy and python3-scipy.
"""
import os
import sys

sys.dont_write_bytecode = True	# keep scripts/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ipclab import compare  # noqa: E402

if __name__ == "__main__":
	sys.exit(compare.main(sys.argv[1:]))
