#!/usr/bin/env bash
# scripts/reproduce_transformers.sh [quick|full]: the transformer experiments of REPRODUCE.md (issue 8): ViT sample
# reweighting on Fashion-MNIST with 50% label noise (claim 6; the paper's CIFAR-100 is not in Debian): every method,
# the two baselines, several seeds at configs/vit_reweight.ini; the memory table of every algorithm at that size and
# at wider models (the headline memory claim), and the figures and checks (paper_figures/fig_neural.py --check
# vit_reweight, paper_figures/memory_table.py).
# Writes results/<mode>/transformers/*.h5 (one file per run), memory_*.csv, logs, the figures in results/figures/.
# Runs go two at a time (one BLAS thread each) on a 2-core machine.
# Exercised by: scripts/reproduce.sh (make reproduce, make reproduce-full).
# Exit status: 0 when every run finished and every check passed; 3 when everything ran but a claim check FAILed (a
# finding: the claim is not reproduced here, REPRODUCE.md says why); 1 when a run, a memory measurement or a figure
# failed; 2 on bad usage or a missing build.
# Environment: BUILD_DIR (default build), PYTHON (default .venv/bin/python), JOBS (default 2).
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 2
mode=${1:-quick}
case "$mode" in
    quick) seeds="1 2"; extra_seeds="1"; iters=600 ;;
    full)  seeds="1 2 3"; extra_seeds="1 2 3"; iters=1500 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: scripts/reproduce_transformers.sh [quick|full]" >&2; exit 2 ;;
esac
build_dir=${BUILD_DIR:-build}
python=${PYTHON:-.venv/bin/python}
jobs=${JOBS:-2}
sbo=$build_dir/sbo
out=results/$mode/transformers
logs=$out/logs
figdir=results/figures
[ -x "$sbo" ] || { echo "reproduce_transformers: $sbo is missing; run: make build" >&2; exit 2; }
mkdir -p "$out" "$logs" "$figdir"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1   # PLATFORM.md: one thread per run, two runs at a time

vit=(--config configs/vit_reweight.ini --set run.iters=$iters)
# BROS and naive get MA-SOBA's steps unscaled in the claim runs: with the §6.6 scalings (beta r/m, gamma/(1+V), V of
# BROS-general large at r/m = 1/4) the lower and auxiliary variables barely move (400 iterations on seed 1: upper
# loss 1.66 scaled, 1.40 unscaled, MA-SOBA 0.95); one scaled run keeps the §6.6 default on record (REPRODUCE.md).
unscaled=(--set algo.beta_scaling=none --set algo.gamma_scaling=none)
r8=(--set algo.rank=8)   # r/m = 1/4 on the 32-row blocks: the largest rank at which §9 projects every token-wise block

# --- the run list: "name|task|algo|seed|extra args" (the slow projected runs first) ------------------------------
runs=()
for s in $seeds; do
    runs+=("vit_bros_r8_s$s|vit_reweight|bros|$s|${vit[*]} ${r8[*]} ${unscaled[*]}")
done
runs+=("vit_bros_r8_scaled_s1|vit_reweight|bros|1|${vit[*]} ${r8[*]}")
# r = 16 (r/m = 1/2): above what §9 would project (memory rule off), V of BROS-general 10x smaller than at r = 8
runs+=("vit_bros_r16_s1|vit_reweight|bros|1|${vit[*]} --set algo.rank=16 --set algo.memory_rule=off ${unscaled[*]}")
for s in $extra_seeds; do
    runs+=("vit_naive_r8_s$s|vit_reweight|naive_projected|$s|${vit[*]} ${r8[*]} ${unscaled[*]}")
done
for s in $seeds; do
    runs+=("vit_ma_soba_s$s|vit_reweight|ma_soba|$s|${vit[*]}")
done
for s in $extra_seeds; do
    runs+=("vit_soba_s$s|vit_reweight|soba|$s|${vit[*]}")
    runs+=("vit_noisy_s$s|vit_reweight|ma_soba|$s|${vit[*]} --set task.weights=uniform")
    runs+=("vit_clean_s$s|vit_reweight|ma_soba|$s|${vit[*]} --set task.weights=clean")
done

run_one() {   # name|task|algo|seed|extra
    IFS='|' read -r name task algo seed extra <<<"$1"
    local t0=$SECONDS
    rm -f "$out/$name.h5"
    # shellcheck disable=SC2086
    "$sbo" run --task "$task" --algo "$algo" --seed "$seed" --out "$out/$name.h5" $extra >"$logs/$name.log" 2>&1
    local rc=$?
    echo "  $name: exit $rc in $((SECONDS - t0)) s"
    return $rc
}
export -f run_one
export sbo out logs

echo "reproduce_transformers: mode=$mode, ${#runs[@]} runs, $jobs at a time, results in $out/"
t_all=$SECONDS
printf '%s\n' "${runs[@]}" | xargs -d '\n' -P "$jobs" -I{} bash -c 'run_one "$@"' _ {}
runs_rc=$?

# --- memory: every algorithm at the trained size and rank, a rank sweep, and wider models ---------------------------
# (sbo memory runs 3 steps per algorithm in its own child; the wider models are measured, not trained)
mem_rc=0
memory() {   # name, then sbo memory args
    local name=$1; shift
    if ! "$sbo" memory "$@" --csv "$out/memory_$name.csv" >"$logs/memory_$name.log" 2>&1; then
        echo "  memory $name: FAILED (log $logs/memory_$name.log)"; mem_rc=1
    else
        echo "  memory $name: $out/memory_$name.csv"
    fi
}
memory vit --task vit_reweight --config configs/vit_reweight.ini --set algo.rank=8
for r in 2 4 16; do
    memory "vit_r$r" --task vit_reweight --config configs/vit_reweight.ini --set algo.rank=$r --algos ma_soba,bros
done
# wider models: width C, feed-forward 4C, 4 blocks, batch 16, r = C/8 (the §9 rule projects every token-wise block)
for w in 128 256; do
    memory "vit_w$w" --task vit_reweight --config configs/vit_reweight.ini --set task.width=$w \
        --set task.hidden=$((4 * w)) --set task.depth=4 --set task.heads=4 --set task.batch=16 \
        --set task.upper_batch=16 --set algo.rank=$((w / 8)) --algos ma_soba,bros,naive_projected
done

# --- figures and checks -----------------------------------------------------------------------------------------
fig_rc=0 claim_rc=0
if [ -x "$python" ]; then
    "$python" paper_figures/fig_neural.py "$out"/vit_*.h5 --check vit_reweight --outdir "$figdir" \
        --name "vit_reweight_$mode" --summary "$out/vit_reweight.md" 2>&1 | tee "$logs/fig_vit_reweight.log"
    case "${PIPESTATUS[0]}" in
        0) ;;
        1) claim_rc=1 ;;   # a criterion FAILed: the figure and table were written
        *) fig_rc=1 ;;
    esac
    "$python" paper_figures/memory_table.py "$out"/memory_*.csv --out "$out/memory.md" 2>&1 |
        tee "$logs/memory_table.log" || fig_rc=1
else
    echo "reproduce_transformers: no $python (run: make setup); figures skipped" >&2
    fig_rc=1
fi
echo "reproduce_transformers: $((SECONDS - t_all)) s; runs rc=$runs_rc, memory rc=$mem_rc, figures rc=$fig_rc," \
     "claim checks $([ "$claim_rc" -eq 0 ] && echo PASS || echo 'FAIL (a finding: not reproduced here)')"
[ "$runs_rc" -eq 0 ] && [ "$mem_rc" -eq 0 ] && [ "$fig_rc" -eq 0 ] || exit 1
[ "$claim_rc" -eq 0 ] || exit 3
