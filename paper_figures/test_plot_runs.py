#!/usr/bin/env python3
"""paper_figures/test_plot_runs.py: self-check of plot_runs.py on real `sbo run` files.

Runs the sbo binary ($SBO_BIN, default build/sbo, relative to the repository root) into a temporary directory:
the counterexample task (configs/counterexample.ini, run.iters=3000, run.eval_every=30) with ma_soba,
naive_projected and bros, seeds 1-3; one diverged and one interrupted bros run; one quadratic run
(configs/quadratic_tc7.ini, run.iters=200). Then it checks that plot_runs.py writes a non-trivial PNG and PDF for
each --x choice and labels the groups as documented, and that it refuses bad inputs (unknown metric, mixed tasks,
missing, corrupt or non-run files) with exit code 2 and one line on stderr.

Usage:  SBO_BIN=build/sbo .venv/bin/python paper_figures/test_plot_runs.py [--keep DIR]
Prints one line per case and 'N passed, N failed'; exits 1 if any case failed, 2 if the runs could not be made.
"""
import argparse
import glob
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import selftest  # noqa: E402  (shared case loop and working directory)
ROOT = os.path.dirname(HERE)
SCRIPT = os.path.join(HERE, "plot_runs.py")
CX = ["--task", "counterexample", "--config", os.path.join(ROOT, "configs", "counterexample.ini"),
      "--set", "run.iters=3000", "--set", "run.eval_every=30"]
QUAD = ["--task", "quadratic", "--config", os.path.join(ROOT, "configs", "quadratic_tc7.ini"),
        "--set", "run.iters=200"]
ALGOS = ("ma_soba", "naive_projected", "bros")
SEEDS = (1, 2, 3)


def sbo_bin():
    b = os.environ.get("SBO_BIN", os.path.join("build", "sbo"))
    return b if os.path.isabs(b) else os.path.join(ROOT, b)


def sbo_run(args, out, expect_rc=0):
    cmd = [sbo_bin(), "run"] + args + ["--out", out]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != expect_rc or not os.path.isfile(out):
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode} (expected {expect_rc}): "
                           f"{(p.stderr or p.stdout).strip()[-400:]}")


def sbo_interrupted(args, out):
    """Starts a long run, waits for its first snapshot, sends SIGINT: status 'interrupted', exit 130."""
    cmd = [sbo_bin(), "run"] + args + ["--out", out]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while not os.path.isfile(out) and p.poll() is None and time.monotonic() - t0 < 30:
        time.sleep(0.02)
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    if p.returncode != 130:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode} after SIGINT (expected 130): {err.strip()[-400:]}")


def make_runs(work):
    runs = os.path.join(work, "runs")
    os.makedirs(runs, exist_ok=True)
    for a in ALGOS:
        for s in SEEDS:
            sbo_run(CX + ["--algo", a, "--seed", str(s)], os.path.join(runs, f"cx_{a}_{s}.h5"))
    extra = os.path.join(work, "extra")
    os.makedirs(extra, exist_ok=True)
    sbo_run(CX + ["--algo", "bros", "--seed", "1", "--set", "algo.beta=5"], os.path.join(extra, "cx_bros_div.h5"),
            expect_rc=3)
    sbo_interrupted(["--task", "counterexample", "--config", os.path.join(ROOT, "configs", "counterexample.ini"),
                     "--set", "run.iters=1000000000", "--set", "run.eval_every=30000", "--algo", "bros",
                     "--seed", "4"], os.path.join(extra, "cx_bros_int.h5"))
    sbo_run(QUAD + ["--algo", "bros", "--seed", "1"], os.path.join(extra, "q_bros_1.h5"))
    return sorted(glob.glob(os.path.join(runs, "cx_*.h5"))), extra


def plot(args):
    p = subprocess.run([sys.executable, SCRIPT] + args, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def check_outputs(outdir, stem):
    return selftest.check_figure_files(outdir, stem)


def expect_figure(args, outdir, stem, must_print=()):
    rc, out, err = plot(args + ["--out", outdir])
    if rc != 0:
        return f"exit {rc}: {(out + err).strip()[-400:]}"
    if "Traceback" in err:
        return f"traceback on stderr: {err.strip()[-300:]}"
    for s in must_print:
        if s not in out:
            return f"output does not mention '{s}':\n{out}"
    return check_outputs(outdir, stem)


def expect_refusal(args, must_mention):
    rc, out, err = plot(args)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if rc != 2:
        return f"exit {rc}, expected 2: {(out + err).strip()[-300:]}"
    if len(lines) != 1:
        return f"expected one line on stderr, got {len(lines)}: {err.strip()[-400:]}"
    for s in must_mention:
        if s not in lines[0]:
            return f"message does not mention '{s}': {lines[0]}"
    return None


def set_attr(src, dst, name, value):
    import h5py
    shutil.copyfile(src, dst)
    with h5py.File(dst, "r+") as f:
        f.attrs[name] = value


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", metavar="DIR", help="write runs and figures here and keep them")
    a = ap.parse_args()
    if not os.access(sbo_bin(), os.X_OK):
        print(f"test_plot_runs: {sbo_bin()} is not an executable; build it or set SBO_BIN", file=sys.stderr)
        return 2
    work, tmp = selftest.work_dir(a.keep, "sbo_plot_runs_")
    try:
        cx, extra = make_runs(work)
    except RuntimeError as e:
        print(f"test_plot_runs: could not make the runs: {e}", file=sys.stderr)
        return 2
    figs = os.path.join(work, "figures")
    E = lambda name: os.path.join(extra, name)  # noqa: E731
    M = ["--metric", "grad_phi_sq"]

    # Files with unusual provenance, made from real runs by changing one attribute.
    set_attr(cx[0], E("cx_bros_1_other_commit.h5"), "git_commit", "0123456789ab")
    with open(E("garbage.h5"), "wb") as fh:
        fh.write(b"this is not an HDF5 file\n" * 100)
    with open(cx[0], "rb") as fh:
        head = fh.read(1500)
    with open(E("truncated.h5"), "wb") as fh:
        fh.write(head)
    import h5py
    with h5py.File(E("not_a_run.h5"), "w") as f:
        f.attrs["schema_version"] = 1
        f.attrs["theory_check"] = "TC-6"

    labels = ("ma_soba, 3 seeds", "naive_projected (naive, r=[2]), 3 seeds", "bros (basic, r=[2]), 3 seeds")
    cases = []
    for x in ("iteration", "step_time_s", "oracle_calls"):
        cases.append((f"9 runs, --x {x}, --logy", lambda x=x: expect_figure(
            cx + M + ["--x", x, "--logy"], figs, f"counterexample_grad_phi_sq_vs_{x}", labels)))
    cases += [
        ("linear metric (phi, negative values), --name, --title", lambda: expect_figure(
            cx + ["--metric", "phi", "--name", "phi_custom", "--title", "custom title"], figs, "phi_custom")),
        ("one seed per algorithm: plain lines", lambda: expect_figure(
            [p for p in cx if p.endswith("_1.h5")] + M, os.path.join(figs, "one_seed"),
            "counterexample_grad_phi_sq_vs_iteration", ("bros (basic, r=[2]), 1 seed",))),
        ("diverged and interrupted runs are drawn and labelled", lambda: expect_figure(
            cx + [E("cx_bros_div.h5"), E("cx_bros_int.h5")] + M + ["--x", "oracle_calls"],
            os.path.join(figs, "status"), "counterexample_grad_phi_sq_vs_oracle_calls",
            ("(diverged)", "(interrupted)", "algo.beta=5", "run.iters=1000000000"))),
        ("files from two commits: footer says mixed commits", lambda: expect_figure(
            cx + [E("cx_bros_1_other_commit.h5")] + M, os.path.join(figs, "mixed"),
            "counterexample_grad_phi_sq_vs_iteration", ("mixed commits", "0123456789ab"))),
        ("unknown metric: exit 2, one line listing the metrics", lambda: expect_refusal(
            cx + ["--metric", "nope", "--out", figs], ("unknown metric 'nope'", "grad_phi_sq", "dist_x_star"))),
        ("mixing tasks is refused", lambda: expect_refusal(
            cx + [E("q_bros_1.h5")] + M + ["--out", figs], ("mix tasks", "counterexample", "quadratic"))),
        ("missing file", lambda: expect_refusal(
            [E("nope.h5")] + cx + M + ["--out", figs], ("nope.h5", "no such file"))),
        ("not an HDF5 file", lambda: expect_refusal(
            cx + [E("garbage.h5")] + M + ["--out", figs], ("garbage.h5", "cannot read"))),
        ("truncated HDF5 file", lambda: expect_refusal(
            cx + [E("truncated.h5")] + M + ["--out", figs], ("truncated.h5",))),
        ("a theory-check file is not a run", lambda: expect_refusal(
            cx + [E("not_a_run.h5")] + M + ["--out", figs], ("not_a_run.h5", "theory-check"))),
    ]
    return selftest.run_cases(cases, "plot-runs-selftest", a.keep, "runs and figures")


if __name__ == "__main__":
    sys.exit(main())
