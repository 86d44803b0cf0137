#!/usr/bin/env bash
# scripts/reproduce.sh [quick|full]: runs the theory checks of docs/ALGORITHMS.md §8 (TC-1..TC-7, and TC-9 of
# issue 8: row symmetry on a real transformer block; TC-8 too in full mode), times each, writes results/<mode>/<check>.h5 and a log per check, draws the
# figures into results/figures/, and prints a summary table (claim, PASS/FAIL, seconds).
# Exercised by: `make reproduce` (quick, ALGORITHMS.md §8.2) and `make reproduce-full` (full, §8).
# Exit status: 0 if every check ran and passed (or ran and found a claim not reproduced: a result, listed as such in
# the summary) and every figure was drawn, 1 otherwise, 2 on bad usage or a missing build.
# Then scripts/reproduce_neural.sh (claims 5-6: the image tasks, memory and the rank sweep; SBO_REPRODUCE_NEURAL=0
# skips it) and scripts/reproduce_transformers.sh (issue 8: ViT reweighting, data-mixture learning and the memory
# headline; SBO_REPRODUCE_TRANSFORMERS=0 skips it).
# Environment: BUILD_DIR (default build), PYTHON (default .venv/bin/python). OPENBLAS_CORETYPE is left as it is.
# SLURM=1 (make reproduce-full SLURM=1): only submits the image-task sweeps (configs/sweeps/*.ini) to Slurm with
# `sbo sweep --fresh --slurm` and prints what to run once their jobs are done: the same command with KEEP=1, which
# runs the theory checks here, keeps (skips) the run files the cluster wrote, and draws the figures and checks.
# KEEP=1: the sweeps run without --fresh (complete run files are kept). SLURM=1 with a second argument --dry-run
# prints the Slurm scripts and the runs they would submit, and submits nothing.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 2

mode=${1:-quick}
case "$mode" in
    quick) quick_flag=(--quick) ;;
    full)  quick_flag=() ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: scripts/reproduce.sh [quick|full] [--dry-run (with SLURM=1)]" >&2; exit 2 ;;
esac
case "${2:-}" in
    "") dry=() ;;
    --dry-run) [ "${SLURM:-0}" = 1 ] || { echo "reproduce: --dry-run goes with SLURM=1" >&2; exit 2; }; dry=(--dry-run) ;;
    *) echo "usage: scripts/reproduce.sh [quick|full] [--dry-run (with SLURM=1)]" >&2; exit 2 ;;
esac
build_dir=${BUILD_DIR:-build}
python=${PYTHON:-.venv/bin/python}
outdir=results/$mode
logdir=$outdir/logs
figdir=results/figures

# check id | executable | claim it supports (PAPER.md claims 1-4; ALGORITHMS.md §8)
checks=(
    "TC-1|tc1_haar_constants|claim 1: Haar sampler, exact c1, c2 (2/5, 1/15 at m=3, r=2)"
    "TC-2|tc2_qaq_moments|claim 1: E[QAQ] = c1 A + c2 A^T + c2 tr(A) I (Monte Carlo)"
    "TC-3|tc3_estimators|claim 3: BROS Hessian action unbiased, naive biased"
    "TC-3b|tc3b_zdir|claim 3: the production zdir() is unbiased"
    "TC-4|tc4_variance|BROS variance formula V_I (step sizes, sec. 6.6)"
    "TC-5|tc5_exact_counterexample|claim 2: exact chain to 19/39 and 361/1521"
    "TC-6|tc6_counterexample|claim 2: naive stalls at -20/39, BROS reaches x* = -1"
    "TC-7|tc7_rate|claim 4: G(K) ~ K^-1/2 for SOBA, MA-SOBA, BROS; naive plateau"
    "TC-9|tc9_transformer_rowsym|claim 3 on a transformer: BROS-basic biased on a real attention block, general not"
)
if [ "$mode" = full ]; then
    checks+=("TC-8|tc8_frozen_subspace|documenting: frozen P (T_P = 10) breaks BROS")
fi

# --- SLURM=1: submit the image-task sweeps and stop; the rest runs here afterwards with KEEP=1 ---------------------
if [ "${SLURM:-0}" = 1 ]; then
    [ -x "${BUILD_DIR:-build}/sbo" ] || { echo "reproduce: ${BUILD_DIR:-build}/sbo is missing; run: make build" >&2; exit 2; }
    echo "reproduce: mode=$mode SLURM=1: submitting the sweeps of configs/sweeps/ with sbo sweep --slurm --fresh ${dry[*]}"
    rc=0
    for s in reproduce_neural reproduce_transformers; do
        KEEP=0 BUILD_DIR=${BUILD_DIR:-build} bash "scripts/$s.sh" "$mode" "${dry[@]}" || rc=1
    done
    [ "$mode" = full ] && again="make reproduce-full KEEP=1" || again="make reproduce KEEP=1"
    echo
    echo "reproduce: the sweeps are ${dry:+not }submitted (rc=$rc): results/$mode/neural/ and results/$mode/transformers/"
    echo "  (manifest.tsv, logs/slurm-*.out; watch: squeue -u \$USER). Once every job is done, run here:"
    echo "    $again"
    echo "  It runs the theory checks, finds the runs the cluster wrote complete (KEEP=1: no --fresh; a missing or killed"
    echo "  run is run or resumed here), measures memory and draws the figures and checks into results/figures/."
    exit "$rc"
fi

# --- every executable must exist before anything runs ---------------------------------------------------
missing=()
for c in "${checks[@]}"; do
    IFS='|' read -r _ exe _ <<<"$c"
    [ -x "$build_dir/$exe" ] || missing+=("$build_dir/$exe")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "reproduce: missing executables:" >&2
    printf '  %s\n' "${missing[@]}" >&2
    echo "reproduce: build them first with: make build   (or: cmake -S . -B $build_dir -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build $build_dir -j2)" >&2
    exit 2
fi

mkdir -p "$outdir" "$logdir"
now() { if [ -n "${EPOCHREALTIME:-}" ]; then echo "${EPOCHREALTIME/,/.}"; else date +%s.%N; fi; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

echo "reproduce: mode=$mode build=$build_dir results=$outdir/ OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-<unset>}"
t_all=$(now)
rows=()
n_pass=0
n_fail=0
failed=()
findings=()   # claims that ran cleanly but were not reproduced (a result, not a failure of the command)

# --- theory checks --------------------------------------------------------------------------------------
for c in "${checks[@]}"; do
    IFS='|' read -r id exe claim <<<"$c"
    out=$outdir/$exe.h5
    log=$logdir/$exe.log
    echo
    echo "=== $id ($exe) : $claim"
    echo "    \$ $build_dir/$exe ${quick_flag[*]} --out $out"
    rm -f "$out"   # a stale file from an earlier run must not reach the figures
    t0=$(now)
    "$build_dir/$exe" "${quick_flag[@]}" --out "$out" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    secs=$(elapsed "$t0" "$(now)")
    case "$rc" in
        0) status=PASS; n_pass=$((n_pass + 1)) ;;
        1) status=FAIL; n_fail=$((n_fail + 1)); failed+=("$id") ;;
        *) status="ERROR(rc=$rc)"; n_fail=$((n_fail + 1)); failed+=("$id") ;;
    esac
    echo "=== $id: $status in ${secs} s (log: $log)"
    rows+=("$id|$claim|$status|$secs")
done

# --- figures: read only the files just written ---------------------------------------------------------
figures=(
    "fig TC-6|fig_counterexample.py|tc6_counterexample.h5"
    "fig TC-7|fig_rate.py|tc7_rate.h5"
)
for f in "${figures[@]}"; do
    IFS='|' read -r id script input <<<"$f"
    t0=$(now)
    if [ ! -x "$python" ]; then
        echo "reproduce: $id skipped: no $python (run: make setup)" >&2
        status="SKIPPED(no venv)"; n_fail=$((n_fail + 1)); failed+=("$id")
    elif [ ! -f "$outdir/$input" ]; then
        echo "reproduce: $id skipped: $outdir/$input was not written" >&2
        status="SKIPPED(no input)"; n_fail=$((n_fail + 1)); failed+=("$id")
    elif "$python" "paper_figures/$script" "$outdir/$input" --outdir "$figdir" 2>&1 | tee "$logdir/${script%.py}.log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
        status=DRAWN; n_pass=$((n_pass + 1))
    else
        status=FAIL; n_fail=$((n_fail + 1)); failed+=("$id")
    fi
    rows+=("$id|figure from $input|$status|$(elapsed "$t0" "$(now)")")
done

# --- the neural experiments (claims 5 and 6: data cleaning, hyper-representation, memory, rank sweep) -------------
if [ "${SBO_REPRODUCE_NEURAL:-1}" = 1 ]; then
    echo
    echo "=== neural experiments: scripts/reproduce_neural.sh $mode"
    t0=$(now)
    BUILD_DIR=$build_dir PYTHON=$python bash scripts/reproduce_neural.sh "$mode" 2>&1 | tee "$logdir/reproduce_neural.log"
    if [ "${PIPESTATUS[0]}" -eq 0 ]; then
        status=PASS; n_pass=$((n_pass + 1))
    else
        status=FAIL; n_fail=$((n_fail + 1)); failed+=("neural")
    fi
    rows+=("neural|claim 5: data cleaning (accuracy, F1, BROS vs MA-SOBA), memory, rank sweep, hyper-rep|$status|$(elapsed "$t0" "$(now)")")
fi

# --- the transformer experiments (issue 8: ViT sample reweighting, claim 6; data mixture, claim 5; memory) --------
if [ "${SBO_REPRODUCE_TRANSFORMERS:-1}" = 1 ]; then
    echo
    echo "=== transformer experiments: scripts/reproduce_transformers.sh $mode"
    t0=$(now)
    BUILD_DIR=$build_dir PYTHON=$python bash scripts/reproduce_transformers.sh "$mode" 2>&1 |
        tee "$logdir/reproduce_transformers.log"
    case "${PIPESTATUS[0]}" in
        0) status=PASS; n_pass=$((n_pass + 1)) ;;
        3) status="NOT REPRODUCED"; findings+=("vit") ;;   # ran; a claim criterion (ViT or mixture) failed: a result
        *) status=FAIL; n_fail=$((n_fail + 1)); failed+=("transformers") ;;
    esac
    rows+=("vit|claim 6: ViT reweighting (accuracy vs noisy baseline, BROS vs MA-SOBA), memory by rank and width; claim 5: data mixture (learned vs uniform weights, BROS vs MA-SOBA)|$status|$(elapsed "$t0" "$(now)")")
fi

# --- summary ---------------------------------------------------------------------------------------------
total=$(elapsed "$t_all" "$(now)")
summary=$outdir/summary.txt
{
    echo
    echo "==== sbo reproduce ($mode) summary: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(hostname) ===="
    printf '%-9s %-66s %-17s %8s\n' check claim result seconds
    for r in "${rows[@]}"; do
        IFS='|' read -r id claim status secs <<<"$r"
        printf '%-9s %-66s %-17s %8s\n' "$id" "$claim" "$status" "$secs"
    done
    echo "total: ${total} s; results in $outdir/, logs in $logdir/, figures in $figdir/"
    if [ "$n_fail" -eq 0 ] && [ "${#findings[@]}" -eq 0 ]; then
        echo "ALL PASS"
    elif [ "$n_fail" -eq 0 ]; then
        (IFS=,; echo "ALL RAN; not reproduced (findings, see REPRODUCE.md): ${findings[*]}")
    else
        (IFS=,; echo "NOT PASSED: ${failed[*]}")
    fi
    echo "reproduce: $n_pass passed, $n_fail failed"
} | tee "$summary"

[ "$n_fail" -eq 0 ]
