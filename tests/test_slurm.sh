#!/usr/bin/env bash
# tests/test_slurm.sh: `sbo sweep --slurm` on a real single-node Slurm cluster (docs/PLATFORM.md's recipe): munged,
# slurmctld and slurmd started with every file (key, sockets, state, spool, pid and log files, slurm.conf) in a
# temporary directory, on free ports; a 4-run counterexample sweep submitted as a job array with throttle 2 and
# a dependent summary job, with --fresh --set run.iters=2500 as make reproduce-full SLURM=1 passes them; waits (at
# most SBO_SLURM_WAIT_S, default 120 s) for squeue to empty and the summary to appear; checks every run file is
# complete (status done) with run.iters = 2500 (the --set reached the array tasks), the manifest says done for all 4,
# each array task left its Slurm log, and the summary job wrote its table. The daemons are stopped by the pids in
# their pid files (never by name), also on failure. Skips (exit 77, ctest SKIP_RETURN_CODE) with the reason when not root or when
# slurm-wlm / munge are not installed (scripts/setup.sh installs them).
# Run: ctest --test-dir build -R slurm_sweep --output-on-failure, or bash tests/test_slurm.sh build/sbo
set -uo pipefail

SBO=${1:-build/sbo}
WAIT_S=${SBO_SLURM_WAIT_S:-120}
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "not root: slurmd and munged need root here (PLATFORM.md); run as root or in CI"
for p in munged munge unmunge slurmctld slurmd sbatch squeue sinfo scancel h5dump; do
    command -v "$p" >/dev/null 2>&1 || skip "'$p' not found: install slurm-wlm munge hdf5-tools (scripts/setup.sh)"
done
[ -x "$SBO" ] || fail "sbo binary '$SBO' not found (build it first)"
SBO=$(cd "$(dirname "$SBO")" && pwd)/$(basename "$SBO")

T=$(mktemp -d /tmp/sbo_slurm_XXXXXX)
chmod 700 "$T"
t_start=$(date +%s)

stop_pidfile() {   # stop the daemon whose pid is in $1, waiting up to 10 s, then SIGKILL
    local f=$1 pid
    [ -s "$f" ] || return 0
    pid=$(cat "$f")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
}
cleanup() {
    local rc=$?
    if [ -n "${SLURM_CONF:-}" ] && [ -s "$T/slurmctld.pid" ]; then
        [ -n "${jobs_to_cancel:-}" ] && scancel $jobs_to_cancel >/dev/null 2>&1
    fi
    stop_pidfile "$T/slurmd.pid"
    stop_pidfile "$T/slurmctld.pid"
    stop_pidfile "$T/munged.pid"
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
        echo "--- logs of the failed test ($T)"
        for f in "$T"/*.log "$T"/sweep/logs/*; do [ -f "$f" ] && { echo "== $f"; tail -n 20 "$f"; }; done
    fi
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- MUNGE: its own key, socket, pid, log and seed files ---------------------------------------------------
head -c 1024 /dev/urandom > "$T/munge.key"
chmod 400 "$T/munge.key"
munged --socket="$T/munge.socket" --key-file="$T/munge.key" --pid-file="$T/munged.pid" \
       --log-file="$T/munged.log" --seed-file="$T/munged.seed" --force 2>"$T/munged.start.log" ||
    fail "munged did not start: $(cat "$T/munged.start.log")"
for _ in $(seq 50); do [ -S "$T/munge.socket" ] && break; sleep 0.1; done
munge -n --socket="$T/munge.socket" | unmunge --socket="$T/munge.socket" | grep -q 'STATUS: *Success' ||
    fail "munge -n | unmunge does not print STATUS: Success"

# --- slurm.conf: free ports, this machine's CPUs and memory ---------------------------------------------------
port_free() {   # no socket of this machine uses port $1 (local or remote side: conservative)
    local h
    h=$(printf '%04X' "$1")
    ! grep -qi ":$h " /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
free_port() {
    local p
    for _ in $(seq 100); do
        p=$((20000 + RANDOM % 40000))
        [ "$p" != "${P1:-}" ] && port_free "$p" && { echo "$p"; return; }
    done
}
P1=$(free_port)
P2=$(free_port)
[ -n "$P1" ] && [ -n "$P2" ] || fail "no free TCP port found for slurmctld / slurmd"
CPUS=$(nproc)
MEM=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.8}' /proc/meminfo)
mkdir -p "$T/state" "$T/spool"
cat > "$T/slurm.conf" <<EOF
ClusterName=sbotest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$P1
SlurmdPort=$P2
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge.socket
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
NodeName=localhost CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$T/slurm.conf
slurmctld -c >"$T/slurmctld.start.log" 2>&1 || fail "slurmctld did not start: $(cat "$T/slurmctld.start.log")"
slurmd -N localhost >"$T/slurmd.start.log" 2>&1 || fail "slurmd did not start: $(cat "$T/slurmd.start.log")"
idle=0
for _ in $(seq 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -q '^idle'; then idle=1; break; fi
    sleep 0.5
done
[ "$idle" = 1 ] || fail "the node never became idle (sinfo: $(sinfo 2>&1 | tr '\n' ' '))"
echo "cluster up in $(( $(date +%s) - t_start )) s (ports $P1, $P2; $CPUS CPUs, $MEM MiB)"

# --- the sweep: 4 runs of the counterexample, at most 2 at a time ---------------------------------------------
cat > "$T/sweep.ini" <<'EOF'
[sweep]
task = counterexample
algorithms = soba, bros
seeds = 1-2
checkpoint_every = 500
slurm_throttle = 2

[run]
iters = 3000
eval_every = 100

[algo]
memory_rule = off
EOF
# --fresh and --set as make reproduce-full SLURM=1 passes them: the array tasks must get the same --set
out=$("$SBO" sweep "$T/sweep.ini" --out "$T/sweep" --slurm --fresh --set run.iters=2500 2>&1) || fail "sbo sweep --slurm: $out"
echo "$out"
grep -q '^#SBATCH --array=0-3%2$' "$T/sweep/sweep.sbatch" || fail "sweep.sbatch has no --array=0-3%2 line"
array=$(awk -F'\t' '$2 == "array" {print $3}' "$T/sweep/slurm_jobs.tsv" | tail -n 1)
summary=$(awk -F'\t' '$2 == "summary" {print $3}' "$T/sweep/slurm_jobs.tsv" | tail -n 1)
[ -n "$array" ] && [ -n "$summary" ] || fail "no job ids in slurm_jobs.tsv"
jobs_to_cancel="$array $summary"
deadline=$(( $(date +%s) + WAIT_S ))
max_running=0
while :; do
    q=$(squeue -h -o '%i %T' 2>/dev/null)
    running=$(echo "$q" | grep -c ' RUNNING$' || true)
    [ "$running" -gt "$max_running" ] && max_running=$running
    if [ -z "$q" ] && [ -s "$T/sweep/summary.md" ]; then break; fi
    [ "$(date +%s)" -lt "$deadline" ] || fail "not finished after $WAIT_S s; squeue: $(echo "$q" | tr '\n' ';')"
    sleep 0.5
done
jobs_to_cancel=""
echo "jobs finished $(( $(date +%s) - t_start )) s after the start; at most $max_running jobs running at once"

# --- checks --------------------------------------------------------------------------------------------------
n=0
for f in "$T"/sweep/*.h5; do
    h5dump -a /status "$f" | grep -q '"done"' || fail "$f: status is not done"
    h5dump -a /config "$f" | grep -q 'run.iters = 2500' || fail "$f: the array task did not get --set run.iters=2500"
    n=$((n + 1))
done
[ "$n" -eq 4 ] || fail "$n run files, expected 4"
done_rows=$(awk -F'\t' 'NR > 1 && $7 == "done"' "$T/sweep/manifest.tsv" | wc -l)
[ "$done_rows" -eq 4 ] || fail "manifest: $done_rows rows done, expected 4: $(cat "$T/sweep/manifest.tsv")"
logs=$(ls "$T"/sweep/logs/slurm-"$array"_*.out 2>/dev/null | wc -l)
[ "$logs" -eq 4 ] || fail "$logs Slurm logs of array tasks, expected 4"
grep -q '^## counterexample (4 runs, 2 rows)' "$T/sweep/summary.md" || fail "summary.md has no table of the 4 runs"
grep -q '^| bros |' "$T/sweep/summary.md" && grep -q '^| soba |' "$T/sweep/summary.md" ||
    fail "summary.md lacks the bros or soba row"
grep -q '^counterexample,soba,' "$T/sweep/summary.csv" || fail "summary.csv has no soba rows"
[ "$max_running" -le 2 ] || fail "$max_running jobs ran at once, the throttle is 2"
# the same sweep again: nothing left to submit
again=$("$SBO" sweep "$T/sweep.ini" --out "$T/sweep" --slurm --set run.iters=2500 2>&1) || fail "second sbo sweep --slurm: $again"
echo "$again" | grep -q 'nothing to submit' || fail "the second --slurm submitted again: $again"
echo "PASS: 4 runs done through Slurm (array $array, summary $summary) in $(( $(date +%s) - t_start )) s"
