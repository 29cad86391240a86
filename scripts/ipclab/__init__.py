"""ipclab - read ipclab result folders; draw, report and compare them.

Modules:
  describe  what a folder's cases are: its describe.json, or the frozen
            description of folders written before describe existed
  results   load bench.json into cases with their repetitions
  stats     medians and spreads; the Mann-Whitney U test (scipy)
  sentinel  the machine's movement around each case (drift, sentinels,
            perf bench's yardstick)
  fmt       number and text formatting, atomic writes
  plot      gnuplot figures;  report  one folder;  compare  several

The entry scripts scripts/plot.py, report.py and compare.py call the main()
of the module of the same name.  Run them with Debian's /usr/bin/python3
(it has python3-scipy; the U test needs it).
"""
