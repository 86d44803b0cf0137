#!/usr/bin/env bash
# scripts/fuzz.sh: runs the libFuzzer harnesses of a fuzz build (make fuzz builds it in build-fuzz/ with clang,
# -fsanitize=fuzzer,address,undefined) for SECONDS each and prints per harness: executions, exec/s, crashes.
# Exercised by: make fuzz (FUZZ_SECONDS=..., default 60) and make test (FUZZ_CI_SECONDS, default 15: the CI run).
#
#   scripts/fuzz.sh BUILD_DIR SECONDS [HARNESS ...]      (default harnesses: fuzz_idx fuzz_cifar fuzz_config fuzz_cli)
#
# Each harness first replays its whole seed corpus fuzz/corpus/<harness>/ (committed: seeds and the regression
# inputs crash-* of past findings), then mutates for SECONDS. New interesting inputs go to BUILD_DIR/corpus/<harness>/
# (kept between runs, never into the repository); a crashing input goes to BUILD_DIR/artifacts/<harness>/ and makes
# the script exit 1 after all harnesses ran. Add it to fuzz/corpus/<harness>/ as crash-<what> once fixed.
# sbo's own stdout/stderr are closed (-close_fd_mask=3); libFuzzer's and the sanitizers' reports still print.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:?usage: scripts/fuzz.sh BUILD_DIR SECONDS [HARNESS ...]}
seconds=${2:?usage: scripts/fuzz.sh BUILD_DIR SECONDS [HARNESS ...]}
shift 2
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(fuzz_idx fuzz_cifar fuzz_config fuzz_cli)
case "$seconds" in ''|*[!0-9]*) echo "fuzz: SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;; esac

# one thread (the harnesses are single-threaded; OpenBLAS/OpenMP threads would only add noise); UBSan aborts with a
# stack; LeakSanitizer on (libFuzzer reports leaks per input).
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

summary=()
failed=0
for h in "${harnesses[@]}"; do
    bin=$build/$h
    [ -x "$bin" ] || { echo "fuzz: $bin is missing; run 'make fuzz' (it builds $build first)" >&2; exit 2; }
    work=$build/corpus/$h
    art=$build/artifacts/$h
    mkdir -p "$work" "$art"
    log=$build/$h.log
    dict=()
    [ -f "$repo/fuzz/$h.dict" ] && dict=(-dict="$repo/fuzz/$h.dict")
    echo "fuzz: $h for ${seconds}s (log $log)"
    rc=0
    touch "$log.start"   # crashes of this run: the artifacts newer than this
    # -timeout: one input taking 10 s is a hang. -malloc_limit_mb=256: no input of at most 4 KiB needs more, so one
    # allocation above it is reported as a crash (the IDX reader once allocated the 2 GiB a header declares:
    # fuzz/corpus/fuzz_idx/crash-header-declares-2g replays it).
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 -close_fd_mask=3 \
        -print_final_stats=1 -artifact_prefix="$art/" "${dict[@]}" "$work" "$repo/fuzz/corpus/$h" >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    crashes=$(find "$art" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
              -o -name 'oom-*' \) -newer "$log.start" 2>/dev/null | wc -l || true)
    if [ "$rc" -ne 0 ]; then
        failed=1
        [ "$crashes" -gt 0 ] || crashes=1
        echo "fuzz: $h FAILED (exit $rc); the report:" >&2
        grep -E -A25 '^==[0-9]+==ERROR|runtime error|^SUMMARY|deadly signal|out-of-memory|Test unit written' "$log" \
            | head -60 >&2 || tail -40 "$log" >&2
    fi
    summary+=("$(printf '%-12s %4ss  executions %10s  exec/s %7s  crashes %s' "$h" "$seconds" "${execs:-?}" \
                 "${rate:-?}" "$crashes")")
done
echo "fuzz: summary (${seconds}s each, ASan + UBSan; inputs kept in $build/corpus/, crashes in $build/artifacts/)"
printf '  %s\n' "${summary[@]}"
exit $failed
