# scripts/run_sweeps.sh: parse_args and run_sweeps, sourced by scripts/reproduce_neural.sh and scripts/reproduce_transformers.sh (issue 10).
# run_sweeps LABEL: runs `$sbo sweep configs/sweeps/<cfg>.ini --out $out` for each "cfg|full-tier overrides" of the
# array `sweeps`, the overrides only when $mode is full: locally $jobs sweeps at a time with --jobs 1 each (logs in
# $logs/sweep_<cfg>.log); a dry run or a Slurm submission goes one sweep after the other with --jobs $jobs; with --fresh unless KEEP=1, --slurm when
# SLURM=1, --dry-run when $dry_run is 1, and SWEEP_SET="k=v ..." as --sets after the tier's (a shortened check of the
# path: tests/check_sweep_bitident.py). Sets runs_rc (0: every sweep exited 0). After a dry run or a Slurm submission
# it exits the calling script (nothing else is to be done here until the jobs are done).
# parse_args SCRIPT HELP_LINES [quick|full] [--dry-run]: sets mode and dry_run; --help prints SCRIPT's header lines.
# memory NAME ARGS...: `$sbo memory ARGS --csv $out/memory_NAME.csv`, log in $logs; sets mem_rc=1 on failure.
parse_args() {
    local script=$1 help=$2
    mode=${3:-quick}
    dry_run=0
    case "$mode" in
        quick|full) ;;
        -h|--help) sed -n "${help}p" "$script" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "usage: $script [quick|full] [--dry-run]" >&2; exit 2 ;;
    esac
    case "${4:-}" in
        "") ;;
        --dry-run) dry_run=1 ;;
        *) echo "usage: $script [quick|full] [--dry-run]" >&2; exit 2 ;;
    esac
}

run_sweeps() {
    local label=$1 sw cfg full_tier kv
    local opts=(--out "$out" --jobs "$jobs") extra=() tier
    [ "${KEEP:-0}" = 1 ] || opts+=(--fresh)
    [ "${SLURM:-0}" = 1 ] && opts+=(--slurm)
    [ "$dry_run" = 1 ] && opts+=(--dry-run)
    for kv in ${SWEEP_SET:-}; do extra+=(--set "$kv"); done
    echo "$label: mode=$mode, ${#sweeps[@]} sweeps (configs/sweeps/), $jobs runs at a time, results in $out/"
    runs_rc=0
    if [ "$dry_run" = 1 ] || [ "${SLURM:-0}" = 1 ]; then   # plans and submissions: one sweep after the other
        for sw in "${sweeps[@]}"; do
            IFS='|' read -r cfg full_tier <<<"$sw"
            tier=()
            # shellcheck disable=SC2206
            [ "$mode" = full ] && tier=($full_tier)
            echo "  \$ $sbo sweep configs/sweeps/$cfg.ini ${opts[*]} ${tier[*]} ${extra[*]}"
            "$sbo" sweep "configs/sweeps/$cfg.ini" "${opts[@]}" "${tier[@]}" "${extra[@]}" || runs_rc=1
        done
    else
        # local runs: $jobs sweeps at a time, each running its runs one at a time (--jobs 1), so that both cores stay
        # busy across sweeps (one sweep after the other, a one-run sweep left a core idle); progress in the logs
        local running=0 done_pid st
        local -A name_of=()
        for sw in "${sweeps[@]}"; do
            IFS='|' read -r cfg full_tier <<<"$sw"
            tier=()
            # shellcheck disable=SC2206
            [ "$mode" = full ] && tier=($full_tier)
            if [ "$running" -ge "$jobs" ]; then
                wait -n -p done_pid; st=$?; running=$((running - 1))
                echo "  sweep ${name_of[$done_pid]}: exit $st"; [ "$st" -eq 0 ] || runs_rc=1
            fi
            opts[3]=1   # --jobs 1
            echo "  \$ $sbo sweep configs/sweeps/$cfg.ini ${opts[*]} ${tier[*]} ${extra[*]}   (log: $logs/sweep_$cfg.log)"
            "$sbo" sweep "configs/sweeps/$cfg.ini" "${opts[@]}" "${tier[@]}" "${extra[@]}" >"$logs/sweep_$cfg.log" 2>&1 &
            name_of[$!]=$cfg
            running=$((running + 1))
        done
        while [ "$running" -gt 0 ]; do
            wait -n -p done_pid; st=$?; running=$((running - 1))
            echo "  sweep ${name_of[$done_pid]}: exit $st"; [ "$st" -eq 0 ] || runs_rc=1
        done
    fi
    [ "$dry_run" = 1 ] && exit "$runs_rc"
    if [ "${SLURM:-0}" = 1 ]; then
        echo "$label: the sweeps are submitted (rc=$runs_rc); once their jobs are done (squeue -u \$USER), run the same"
        echo "  command with KEEP=1 (make reproduce-full KEEP=1): it skips the complete runs, measures memory, draws the"
        echo "  figures and checks here"
        exit "$runs_rc"
    fi
}

memory() {   # name, then sbo memory args
    local name=$1; shift
    if ! "$sbo" memory "$@" --csv "$out/memory_$name.csv" >"$logs/memory_$name.log" 2>&1; then
        echo "  memory $name: FAILED (log $logs/memory_$name.log)"; mem_rc=1
    else
        echo "  memory $name: $out/memory_$name.csv"
    fi
}
