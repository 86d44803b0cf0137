# Makefile: the README's two commands (make reproduce, make test) and their helpers. GNU make.
#   make setup             system packages (apt, skipped when present) + .venv for the figures
#   make build             setup, configure build/ (RelWithDebInfo), build with -j$(JOBS)
#   make test              build, ctest in build/, the figure self-tests, then an ASan+UBSan build in build-asan/
#                          running the unit tests, then `make fuzz` for FUZZ_CI_SECONDS per harness
#   make reproduce         build, then scripts/reproduce.sh quick  (theory checks TC-1..TC-7, figures, summary)
#   make reproduce-full    build, then scripts/reproduce.sh full   (TC-1..TC-8 at the full settings of ALGORITHMS.md §8)
#                          SLURM=1: only submit the image-task sweeps (configs/sweeps/) to Slurm; once their jobs
#                          are done, KEEP=1 runs the rest here and keeps the cluster's run files (REPRODUCE.md)
#   make figures           redraw the figures from results/$(MODE)/*.h5 (MODE=quick by default)
#   make figures-selftest  run the figure scripts on synthetic HDF5 files (no C code needed)
#   make fuzz              build the libFuzzer harnesses (clang, ASan + UBSan) in build-fuzz/ and run each for
#                          FUZZ_SECONDS (default 60): fuzz/README.md. make test runs them for FUZZ_CI_SECONDS (15) each
#   make clean             remove build/, build-asan/, build-fuzz/;  make distclean also .venv, results/{quick,full}
# OPENBLAS_CORETYPE is never set or changed here (PLATFORM.md): a value the machine presets is respected.

SHELL := /bin/bash
.DEFAULT_GOAL := build

BUILD_DIR  ?= build
ASAN_DIR   ?= build-asan
FUZZ_DIR   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CI_SECONDS ?= 15
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= 2
MODE       ?= quick
SLURM      ?= 0
KEEP       ?= 0
CMAKE_ARGS ?=
VENV_PY    := .venv/bin/python
FIG_OUTDIR ?= results/figures

.PHONY: setup build test test-asan fuzz fuzz-build reproduce reproduce-full figures figures-selftest clean distclean

setup:
	bash scripts/setup.sh

build: setup
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)
	cmake --build $(BUILD_DIR) -j $(JOBS)

# --no-tests=error: a test run that finds no test fails instead of passing silently.
# then the figure scripts: on synthetic TC files, and plot_runs.py on real `sbo run` outputs of this build.
test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure --no-tests=error -j $(JOBS)
	$(VENV_PY) paper_figures/test_figures.py
	SBO_BIN=$(BUILD_DIR)/sbo $(VENV_PY) paper_figures/test_plot_runs.py
	$(VENV_PY) paper_figures/test_fig_neural.py
	$(VENV_PY) paper_figures/test_fig_mixture.py
	SBO_BIN=$(BUILD_DIR)/sbo $(VENV_PY) paper_figures/test_check_oracle_dump.py
	$(MAKE) --no-print-directory test-asan
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_CI_SECONDS)

# Unit tests (test_*) only: the theory checks' Monte Carlo runs are too slow under the sanitizers and are
# covered by the plain build above. CUDA is off here: nvcc takes no -fsanitize flags and nothing runs on a GPU.
test-asan: setup
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DSBO_SANITIZE=ON -DWITH_CUDA=OFF $(CMAKE_ARGS)
	cmake --build $(ASAN_DIR) -j $(JOBS)
	ctest --test-dir $(ASAN_DIR) --output-on-failure --no-tests=error -j $(JOBS) -R '^test_'

# libFuzzer needs clang: its own build tree, the whole library instrumented (fuzzer coverage + ASan + UBSan), only the
# harnesses built. Each replays its seeds and regression inputs (fuzz/corpus/), then fuzzes FUZZ_SECONDS.
FUZZ_HARNESSES := fuzz_idx fuzz_cifar fuzz_config fuzz_cli
fuzz-build: setup
	cmake -S . -B $(FUZZ_DIR) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DSBO_FUZZ=ON -DWITH_CUDA=OFF \
	      $(CMAKE_ARGS)
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target $(FUZZ_HARNESSES)

fuzz: fuzz-build
	bash scripts/fuzz.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_HARNESSES)

reproduce: build
	BUILD_DIR=$(BUILD_DIR) SLURM=$(SLURM) KEEP=$(KEEP) bash scripts/reproduce.sh quick

reproduce-full: build
	BUILD_DIR=$(BUILD_DIR) SLURM=$(SLURM) KEEP=$(KEEP) bash scripts/reproduce.sh full

figures: setup
	@test -f results/$(MODE)/tc6_counterexample.h5 -o -f results/$(MODE)/tc7_rate.h5 || \
	  { echo "make figures: no results in results/$(MODE)/; run 'make reproduce' (or MODE=full after 'make reproduce-full')"; exit 1; }
	@if [ -f results/$(MODE)/tc6_counterexample.h5 ]; then \
	  $(VENV_PY) paper_figures/fig_counterexample.py results/$(MODE)/tc6_counterexample.h5 --outdir $(FIG_OUTDIR); fi
	@if [ -f results/$(MODE)/tc7_rate.h5 ]; then \
	  $(VENV_PY) paper_figures/fig_rate.py results/$(MODE)/tc7_rate.h5 --outdir $(FIG_OUTDIR); fi

figures-selftest: setup
	$(VENV_PY) paper_figures/test_figures.py

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(FUZZ_DIR)

distclean: clean
	rm -rf .venv results/quick results/full

# make bench: bench/README.md. Builds build/ (the configured BLAS, OpenBLAS by default) and $(BLIS_DIR)/ (BLIS,
# bench_gemm only), then bench_gemm --compare (forced OpenBLAS core types only in child processes and only when
# OPENBLAS_CORETYPE is unset) and bench_iter once per thread count in BENCH_THREADS (OPENBLAS_NUM_THREADS and
# OMP_NUM_THREADS both set to it). BENCH_ITER_ARGS=--quick for a shorter run.
BLIS_DIR ?= build-blis
BENCH_THREADS ?= 1 2
BENCH_ITER_ARGS ?=
.PHONY: bench
bench: build
	cmake -S . -B $(BLIS_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DSBO_BLAS_VENDOR=BLIS -DWITH_CUDA=OFF $(CMAKE_ARGS)
	cmake --build $(BLIS_DIR) -j $(JOBS) --target bench_gemm
	$(BUILD_DIR)/bench/bench_gemm --compare --blis $(BLIS_DIR)/bench/bench_gemm
	@for t in $(BENCH_THREADS); do \
	  echo; echo "### bench_iter with OPENBLAS_NUM_THREADS=$$t OMP_NUM_THREADS=$$t"; \
	  OPENBLAS_NUM_THREADS=$$t OMP_NUM_THREADS=$$t $(BUILD_DIR)/bench/bench_iter $(BENCH_ITER_ARGS) || exit 1; \
	done
