#!/usr/bin/env python3
"""tests/check_sweep_grids.py: checks that scripts/reproduce_neural.sh and scripts/reproduce_transformers.sh, which run
their grids as `sbo sweep configs/sweeps/*.ini` (issue 10), plan exactly the runs of the shell arrays they replaced
(git revision OLD_REV, default 91c64cd, the last with "name|task|algo|seed|extra" arrays run by xargs): the same run
names and, per run, the same task, algorithm, seed and options (--config FILE then --set k=v, resolved in order, against
the sweep's --set list), for both tiers (quick, full). Runs nothing: the old arrays are printed by the old script cut
before its run loop, the new plans by `reproduce_*.sh MODE --dry-run`. The data-mixture runs (mix_*,
configs/sweeps/mix_*.ini) came after OLD_REV: they are listed apart (ADDED) and not compared.
With --slurm it also checks `SLURM=1 scripts/reproduce.sh MODE --dry-run` (make reproduce-full SLURM=1 without
submitting): one job array per config, as many tasks as runs, each task's `sbo sweep` line with the tier's --sets.
Usage (repository root, after make build): python3 tests/check_sweep_grids.py [--old-rev REV] [--slurm]
Exit status: 0 all equal, 1 a difference (each printed), 2 on bad usage, 77 (skip) when OLD_REV is not in the
checkout (a shallow clone). ctest: reproduce_sweep_grids."""
import argparse
import configparser
import os
import re
import shlex
import subprocess
import sys
import tempfile


# Sweeps added after OLD_REV: runs planned by SCRIPT whose names start with PREFIX have no old counterpart; they are
# listed (name, algorithm, seed, iterations), each must be of TASK, and at least one must be planned. Every other run
# is compared as before.
ADDED = {"reproduce_transformers.sh": dict(prefix="mix_", task="data_mixture")}


def ini_options(path):
    cp = configparser.ConfigParser(inline_comment_prefixes=(";", "#"), comment_prefixes=(";", "#"), interpolation=None)
    cp.optionxform = str
    with open(path) as f:
        cp.read_file(f)
    return {f"{sec}.{k}": v.strip() for sec in cp.sections() for k, v in cp.items(sec)}


def options_of(tokens):
    """task, algo, seed and the resolved {key: value} of an `sbo run` argument list (--config first, then --sets)."""
    task = algo = seed = None
    opts, sets = {}, []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t in ("--task", "--algo", "--seed", "--config", "--set", "--out", "--checkpoint-every"):
            v = tokens[i + 1]
            i += 2
            if t == "--task": task = v
            elif t == "--algo": algo = v
            elif t == "--seed": seed = v
            elif t == "--config": opts.update(ini_options(v))
            elif t == "--set": sets.append(v)
            continue
        i += 1
    for kv in sets:
        k, v = kv.split("=", 1)
        opts[k.strip()] = v.strip()
    return task, algo, seed, opts


def old_runs(rev, script, mode, build, raw=False):
    text = subprocess.run(["git", "show", f"{rev}:scripts/{script}"], capture_output=True, text=True, check=True).stdout
    cut = text.index("run_one() {")
    body = text[:cut] + '\nprintf "%s\\n" "${runs[@]}"\nexit 0\n'
    with tempfile.TemporaryDirectory() as tmp:   # the script cds to its own ../ and makes results/ there
        os.makedirs(f"{tmp}/scripts")
        with open(f"{tmp}/scripts/{script}", "w") as f:
            f.write(body)
        out = subprocess.run(["bash", f"{tmp}/scripts/{script}", mode], capture_output=True, text=True,
                             env={**os.environ, "BUILD_DIR": os.path.abspath(build)})
    if out.returncode:
        sys.exit(f"check_sweep_grids: the old {script} {mode} failed: {out.stderr}")
    runs = {}
    for line in out.stdout.splitlines():
        name, task, algo, seed, extra = line.split("|", 4)
        if raw:
            runs[name] = (task, algo, seed, extra)
            continue
        t2, a2, s2, opts = options_of(["--task", task, "--algo", algo, "--seed", seed] + extra.split())
        runs[name] = (t2, a2, s2, opts)
    return runs


def new_runs(script, mode, build):
    out = subprocess.run(["bash", f"scripts/{script}", mode, "--dry-run"], capture_output=True, text=True,
                         env={**os.environ, "BUILD_DIR": build})
    if out.returncode:
        sys.exit(f"check_sweep_grids: scripts/{script} {mode} --dry-run failed: {out.stdout}{out.stderr}")
    runs = {}
    for line in out.stdout.splitlines():
        m = re.match(r"^\d+\s+(\S+)\s+run\s+(\S+) run (.*)$", line)
        if not m:
            continue
        tokens = shlex.split(m.group(3))
        runs[m.group(1)] = options_of(tokens)
        outp = tokens[tokens.index("--out") + 1]
        if os.path.basename(outp) != m.group(1) + ".h5" or not outp.endswith(f"results/{mode}/{script_dir(script)}/{m.group(1)}.h5"):
            sys.exit(f"check_sweep_grids: run {m.group(1)} writes {outp}")
    return runs


def script_dir(script):
    return "neural" if "neural" in script else "transformers"


def check_slurm(build, mode):
    """SLURM=1 scripts/reproduce.sh MODE --dry-run: one job array per config, each task's `sbo sweep` line with the
    config's tier overrides (--set ...) and no --fresh, as many array tasks as the sweep has runs. Returns #problems."""
    out = subprocess.run(["bash", "scripts/reproduce.sh", mode, "--dry-run"], capture_output=True, text=True,
                         env={**os.environ, "BUILD_DIR": build, "SLURM": "1"})
    text = out.stdout + out.stderr
    bad = 0 if out.returncode == 0 else 1
    arrays = re.findall(r"^#SBATCH --array=(\S+)%\d+$", text, re.M)
    execs = re.findall(r"^exec \S+ sweep (\S+) --out (\S+)(.*) --run-index \"\$SLURM_ARRAY_TASK_ID\"$", text, re.M)
    plans = re.findall(r"^sbo sweep (\S+): (\d+) runs of task", text, re.M)
    if len(arrays) != len(execs) or len(execs) != len(plans):
        print(f"slurm {mode}: {len(plans)} sweeps, {len(arrays)} arrays, {len(execs)} task lines"); bad += 1
    for (cfg, n), arr, (cfg2, outdir, sets) in zip(plans, arrays, execs):
        count = sum(int(b) - int(a) + 1 if "-" in part else 1
                    for part in arr.split(",") for a, b in [part.split("-") if "-" in part else (part, part)])
        if cfg != cfg2 or count != int(n) or "--fresh" in sets:
            print(f"slurm {mode}: {cfg}: {n} runs, array {arr}, task line {cfg2} {sets}"); bad += 1
        if mode == "full":
            stem = os.path.basename(cfg)[:-4]
            script = "reproduce_neural.sh" if not stem.startswith(("vit", "mix")) else "reproduce_transformers.sh"
            tier = re.search(rf'"{stem}\|([^"]*)"', open(f"scripts/{script}").read()).group(1)
            if sets.strip() != tier.strip():
                print(f"slurm {mode}: {stem}: task line sets '{sets.strip()}', tier '{tier}'"); bad += 1
    print(f"slurm {mode}: {len(plans)} sweeps, {sum(int(n) for _, n in plans)} runs as {len(arrays)} job arrays"
          f"{'' if bad else ', each task line with its tier overrides'}")
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old-rev", default="91c64cd")
    ap.add_argument("--build", default=os.environ.get("BUILD_DIR", "build"))
    ap.add_argument("--slurm", action="store_true",
                    help="also check SLURM=1 scripts/reproduce.sh MODE --dry-run (slow: --mem/--time are measured)")
    a = ap.parse_args()
    if subprocess.run(["git", "cat-file", "-e", f"{a.old_rev}^{{commit}}"], capture_output=True).returncode:
        print(f"SKIP: git revision {a.old_rev} (the shell arrays compared against) is not in this checkout")
        return 77
    bad = 0
    if a.slurm:
        for mode in ("quick", "full"):
            bad += check_slurm(a.build, mode)
    for script in ("reproduce_neural.sh", "reproduce_transformers.sh"):
        for mode in ("quick", "full"):
            old = old_runs(a.old_rev, script, mode, a.build)
            new = new_runs(script, mode, a.build)
            added = {n: new.pop(n) for n in sorted(new) if n.startswith(ADDED.get(script, {}).get("prefix", "\0"))}
            if script in ADDED:
                want = ADDED[script]
                if not added:
                    print(f"{script} {mode}: no {want['prefix']}* runs planned (the {want['task']} sweeps)"); bad += 1
                for n, (task, algo, seed, opts) in added.items():
                    if task != want["task"]:
                        print(f"{script} {mode}: {n}: task {task}, expected {want['task']}"); bad += 1
                print(f"{script} {mode}: {len(added)} {want['task']} runs added after {a.old_rev} (no old "
                      f"counterpart, not compared): " + ", ".join(f"{n} ({v[1]}, seed {v[2]}, "
                                                                 f"{v[3].get('run.iters')} iterations)"
                                                                 for n, v in added.items()))
            for n in sorted(set(old) - set(new)):
                print(f"{script} {mode}: {n} is in the old array only"); bad += 1
            for n in sorted(set(new) - set(old)):
                print(f"{script} {mode}: {n} is planned by the sweeps only"); bad += 1
            for n in sorted(set(old) & set(new)):
                if old[n] != new[n]:
                    o, w = old[n], new[n]
                    diff = {k: (o[3].get(k), w[3].get(k)) for k in set(o[3]) | set(w[3]) if o[3].get(k) != w[3].get(k)}
                    print(f"{script} {mode}: {n}: old {o[:3]} new {w[:3]}; options differing (old, new): {diff}")
                    bad += 1
            print(f"{script} {mode}: {len(old)} old runs, {len(new)} sweep runs, "
                  f"{sum(1 for n in old if n in new and old[n] == new[n])} equal")
    print("check_sweep_grids:", "ALL EQUAL" if not bad else f"{bad} differences")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
