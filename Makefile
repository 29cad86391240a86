# ipclab front door.  Everything is driven through CMake in $(BUILD).
#
#   make            configure and build (build/)
#   make test       build and run every TAP test under prove
#   make bench      deps + build + the default suite, results + plots
#   make deps       install what is missing (Debian/Ubuntu, as root)
#   make clean      remove build directories
#
#   make test SANITIZE=1   the same tests in build-asan/ (ASan + UBSan)
#   make test TSAN=1       the same tests in build-tsan/ (ThreadSanitizer)

SHELL := /bin/bash
GENERATOR ?= Ninja
PROFILE ?= quick
PROVE ?= prove
PROVE_FLAGS ?= --timer --failures
# The scripts need numpy/scipy: Debian's Python has them (python3-scipy from
# make deps); the python3 first on PATH may be another one without them.
PYTHON ?= /usr/bin/python3
# make bench also runs the Python driver (bench/python, under $(PYTHON)) into
# the same folder (python.json); PYTHON_BENCH=0 leaves it out, PY_BENCH_ARGS
# adds flags.
PYTHON_BENCH ?= 1
PY_BENCH_ARGS ?=

ifeq ($(SANITIZE),1)
BUILD ?= build-asan
CMAKE_FLAGS += -DIPCLAB_SANITIZE=ON
else ifeq ($(TSAN),1)
BUILD ?= build-tsan
CMAKE_FLAGS += -DIPCLAB_TSAN=ON
else
BUILD ?= build
endif

.PHONY: all build deps test bench report compare clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -G "$(GENERATOR)" $(CMAKE_FLAGS)
	cmake --build $(BUILD)

# Tests: every executable in $(BUILD)/tests and every tests/*.t script.
test: build
	@scripts/test-env.sh
	IPCLAB_BUILD=$(abspath $(BUILD)) $(PROVE) $(PROVE_FLAGS) --exec '' $(BUILD)/tests/* $(wildcard tests/*.t)

# The default suite: results/HOST/STAMP/ with bench.json, topology.xml,
# python.json (the Python driver's quick subset), plots and reports; the
# folder's path is the last line printed.
# BENCH_ARGS passes more flags to build/ipclab (e.g. --impl=pipe,shmring).
bench: build
	@dir="results/$$(uname -n)/$$(date -u +%Y%m%dT%H%M%SZ)"; \
	$(BUILD)/ipclab --profile=$(PROFILE) --out="$$dir" $(BENCH_ARGS); rc=$$?; \
	if [ ! -f "$$dir/bench.json" ]; then echo "make bench: no results written (ipclab exited $$rc)" >&2; exit 1; fi; \
	if [ "$(PYTHON_BENCH)" = 1 ] && [ $$rc -ne 130 ]; then \
		PYTHONPATH=bench/python IPCLAB_BUILD=$(abspath $(BUILD)) $(PYTHON) -B -m ipclab_py \
			--profile=$(PROFILE) --out="$$dir" $(filter --cpus=% --placement=%,$(BENCH_ARGS)) $(PY_BENCH_ARGS) || \
			echo "make bench: the Python driver exited $$?; bench.json is kept" >&2; \
	fi; \
	$(PYTHON) scripts/report.py "$$dir" >&2 || exit $$?; \
	echo "$$dir"; exit $$rc

# Plots, report.md, report.tex (and report.pdf with pdflatex) for one run;
# HIST=REGEX adds a figure overlaying those cases' latency distributions.
report: deps
	@test -n "$(RESULTS)" || { echo "usage: make report RESULTS=results/HOST/YYYYmmddTHHMMSSZ" >&2; exit 2; }
	$(PYTHON) scripts/report.py $(if $(HIST),--hist='$(HIST)') "$(RESULTS)"

# A is the baseline; tables on stdout and in OUT (default results/compare-STAMP/).
COMPARE_MORE := C D E F G H
compare: deps
	@test -n "$(A)" -a -n "$(B)" || { echo "usage: make compare A=DIR B=DIR [C=DIR ...] [OUT=DIR]" >&2; exit 2; }
	$(PYTHON) scripts/compare.py $(if $(OUT),--out "$(OUT)") "$(A)" "$(B)" $(foreach v,$(COMPARE_MORE),$(if $($(v)),"$($(v))"))

clean:
	rm -rf build build-asan build-tsan
