#!/usr/bin/env bash
# scripts/gpu_check.sh: the one-command check of the CUDA backend on a machine with an NVIDIA GPU (issue 9).
#
#   scripts/gpu_check.sh [OUTDIR]        OUTDIR: where the log and the results go (default $OUT, else gpu_check/)
#
# Steps, each PASS / FAIL / SKIP with its reason, then ONE summary line (the last line of the output):
#   1. the GPU (nvidia-smi -L) and the toolchain; libraries from .gpu-deps/*.deb when the machine lacks them
#      (scripts/gpu_deps.sh fetches them on a Debian machine with network);
#   2. build with CUDA for this GPU's architecture (build-gpu/, SBO_CUDA_ARCH overrides "native");
#   3. the device tests: build/test_cuda (every kernel body of the old seam, cuBLAS GEMMs in all transpose cases,
#      the device dot, conversions, Philox) and build/test_nn_guarded's suite device (whole networks and a ViT task's
#      every oracle on the CUDA backend against the CPU backend); a device test that skips is a FAIL here;
#   4. one MA-SOBA and one BROS run of vit_reweight on the device and on the CPU with the same seed: their curves
#      must agree to float tolerance (scripts/gpu_compare.py: the largest relative difference of every loss and
#      accuracy column), and the time per iteration of both is printed;
#   5. `sbo memory --device cuda` of every algorithm on the largest task (vit_reweight at width 256): the arenas,
#      the device arena peak and the device memory cudaMemGetInfo saw.
# Budget: within 8 minutes on one GPU and 16 cores, the build included (ITERS shortens the runs).
# Needs the Fashion-MNIST data set (SBO_DATA_DIR, default /usr/share/datasets/fashion-mnist) for steps 3 (the ViT
# test) and 4-5; without it those steps SKIP and say so.
# Nothing here has run on a GPU yet (README.md says so); the host-side checks of the same code run in make test.
set -uo pipefail
cd "$(dirname "$0")/.."
OUTDIR=${1:-${OUT:-gpu_check}}
BUILD=${BUILD_DIR:-build-gpu}
DATA=${SBO_DATA_DIR:-/usr/share/datasets/fashion-mnist}
ITERS=${ITERS:-100}
JOBS=$(nproc 2>/dev/null || echo 4)
mkdir -p "$OUTDIR" || exit 2
LOG=$OUTDIR/gpu_check.log
exec > >(tee "$LOG") 2>&1
T0=$(date +%s)
results=() n_pass=0 n_fail=0 n_skip=0
record() {   # record PASS|FAIL|SKIP name reason
    results+=("$1 $2${3:+: $3}")
    case $1 in PASS) n_pass=$((n_pass + 1)) ;; FAIL) n_fail=$((n_fail + 1)) ;; SKIP) n_skip=$((n_skip + 1)) ;; esac
    echo "-- $1 $2${3:+: $3}"
}
finish() {
    echo
    printf '%s\n' "${results[@]}"
    echo "gpu_check: $n_pass passed, $n_fail failed, $n_skip skipped in $(($(date +%s) - T0)) s on ${GPU:-no GPU}" \
         "(log: $LOG)"
    [ "$n_fail" -eq 0 ] && [ "${1:-0}" -eq 0 ]
    exit $?
}

# --- 1. the GPU, the toolchain, the libraries ----------------------------------------------------------------------
echo "== 1. GPU and toolchain"
if ! GPU=$(nvidia-smi -L 2>&1 | head -1) || [ -z "$GPU" ]; then
    GPU=""
    record FAIL gpu "nvidia-smi -L found no GPU ($GPU); run this on a machine with an NVIDIA GPU"
    finish 1
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
command -v nvcc > /dev/null || export PATH=/usr/local/cuda/bin:$PATH
nvcc --version | tail -1
if compgen -G ".gpu-deps/*.deb" > /dev/null; then   # libraries this machine lacks, unpacked into a prefix
    PREFIX=/tmp/sbo-gpu-deps
    mkdir -p "$PREFIX"
    for f in .gpu-deps/*.deb; do dpkg -x "$f" "$PREFIX" || record FAIL deps "dpkg -x $f"; done
    ML=$(find "$PREFIX" -type d -name 'x86_64-linux-gnu' -path '*/lib/*' | head -1)
    export CMAKE_PREFIX_PATH=$PREFIX/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}
    export PKG_CONFIG_PATH=$ML/pkgconfig:$PREFIX/usr/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
    export LD_LIBRARY_PATH=$ML:$ML/hdf5/serial${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export HDF5_ROOT=$PREFIX/usr/lib/x86_64-linux-gnu/hdf5/serial
    [ -d "$PREFIX/usr/share/datasets/fashion-mnist" ] && [ ! -d "$DATA" ] && DATA=$PREFIX/usr/share/datasets/fashion-mnist
    echo "libraries from .gpu-deps/ unpacked into $PREFIX"
fi
record PASS gpu "$GPU"

# --- 2. build --------------------------------------------------------------------------------------------------------
echo "== 2. build ($BUILD, CUDA architecture ${SBO_CUDA_ARCH:-native})"
if cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DWITH_CUDA=ON \
         -DCMAKE_CUDA_ARCHITECTURES="${SBO_CUDA_ARCH:-native}" > "$OUTDIR/configure.log" 2>&1 &&
   cmake --build "$BUILD" -j "$JOBS" --target sbo test_cuda test_nn_guarded > "$OUTDIR/build.log" 2>&1; then
    record PASS build "$(grep -m1 -o 'CUDA compiler identification is.*' "$OUTDIR/configure.log")"
else
    tail -20 "$OUTDIR/configure.log" "$OUTDIR/build.log"
    record FAIL build "see $OUTDIR/configure.log and $OUTDIR/build.log"
    finish 1
fi
SBO=$BUILD/sbo

# --- 3. device tests -------------------------------------------------------------------------------------------------
echo "== 3. device tests"
for t in test_cuda test_nn_guarded; do
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$BUILD/$t" --verbose > "$OUTDIR/$t.log" 2>&1
    rc=$?
    grep -E '^\[(SKIP|FAIL)|device::|Synthesis' "$OUTDIR/$t.log" | tail -25
    skipped=$(grep -c '^\[SKIP\] device::' "$OUTDIR/$t.log")
    if [ $rc -ne 0 ]; then record FAIL "$t" "exit $rc (see $OUTDIR/$t.log)"
    elif [ "$skipped" -gt 0 ] && [ -d "$DATA" ]; then record FAIL "$t" "$skipped device tests skipped on a GPU machine"
    else record PASS "$t" "$(grep -m1 Synthesis "$OUTDIR/$t.log")"; fi
done

# --- 4. the same runs on the device and on the CPU -------------------------------------------------------------------
echo "== 4. MA-SOBA and BROS on the device against the CPU (vit_reweight, $ITERS iterations, seed 1)"
if [ ! -d "$DATA" ]; then
    record SKIP runs "no Fashion-MNIST at $DATA (set SBO_DATA_DIR)"
else
    for algo in ma_soba bros; do
        extra=(); [ $algo = bros ] && extra=(--set algo.rank=8)
        ok=1
        for dev in cuda cpu; do
            "$SBO" run --task vit_reweight --algo $algo --seed 1 --config configs/vit_reweight.ini --data-dir "$DATA" \
                --set run.iters="$ITERS" --set run.eval_every=$((ITERS / 5 > 0 ? ITERS / 5 : 1)) "${extra[@]}" \
                --device $dev --out "$OUTDIR/vit_${algo}_$dev.h5" --quiet > "$OUTDIR/vit_${algo}_$dev.log" 2>&1 ||
                { ok=0; tail -3 "$OUTDIR/vit_${algo}_$dev.log"; }
        done
        if [ $ok = 1 ] && python3 scripts/gpu_compare.py "$OUTDIR/vit_${algo}_cpu.h5" "$OUTDIR/vit_${algo}_cuda.h5"; then
            record PASS "run_$algo" "curves agree (above); time per iteration above"
        else
            record FAIL "run_$algo" "see $OUTDIR/vit_${algo}_*.log"
        fi
    done
fi

# --- 5. memory with device peaks -------------------------------------------------------------------------------------
echo "== 5. sbo memory --device cuda, every algorithm, vit_reweight at width 256"
if [ ! -d "$DATA" ]; then
    record SKIP memory "no Fashion-MNIST at $DATA"
elif "$SBO" memory --task vit_reweight --config configs/vit_reweight.ini --data-dir "$DATA" --set task.width=256 \
        --set task.heads=8 --set task.hidden=512 --set algo.rank=32 --device cuda --csv "$OUTDIR/memory_cuda.csv" \
        2>&1 | tee "$OUTDIR/memory_cuda.txt"; then
    record PASS memory "table above and in $OUTDIR/memory_cuda.txt"
else
    record FAIL memory "see $OUTDIR/memory_cuda.txt"
fi
finish 0
