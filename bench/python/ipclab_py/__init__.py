"""ipclab_py - Python's multiprocessing measured under ipclab's placement.

Run as `/usr/bin/python3 -m ipclab_py` with bench/python on PYTHONPATH (the
Makefile does this).  See bench/python/README.md.
"""
