#!/usr/bin/env python3
"""paper_figures/test_fig_mixture.py: self-check of fig_mixture.py on synthetic data_mixture run files.

Writes fake `sbo run` files (make_fake_inputs.write_run, task data_mixture; 300 iterations, a row every 50; three
domains) for seeds 1-3 of ma_soba (learned weights), bros r=16 (learned) and the uniform-weights baseline, plus an
interrupted bros run, and runs fig_mixture.py on them. Checks: the PNG and PDF are written, with one weights panel per
learned-weights label (the PNG is wider with two learned labels than with one); the Markdown tables hold the numbers
the files were made from (seeds, final median target loss, max-min, test loss, test perplexity, final weights per
domain, final validation losses); the interrupted run is excluded; --check data_mixture passes on the good set (with
the numbers of (a) and (b)) and fails, exit 1, when the learned weights end 0.05 nats above the uniform baseline, when
BROS ends 0.05 nats above MA-SOBA, and when no BROS run is given; runs of another task and a missing file exit 2 with
one line.

Usage:  .venv/bin/python paper_figures/test_fig_mixture.py [--keep DIR]
Prints one line per case and 'N passed, N failed'; exits 1 if any case failed.
"""
import argparse
import os
import struct
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_fake_inputs  # noqa: E402
import selftest  # noqa: E402

SCRIPT = os.path.join(HERE, "fig_mixture.py")
K = np.arange(0, 301, 50)
SEEDS = (1, 2, 3)
DOMAINS = ("prose", "code", "dict")
CONFIG = {"algo.rank": "16", "run.iters": "300", "run.eval_every": "50", "task.weights": "learned",
          "task.target": "validation_mixture"}
FULL = {"grad_lower": 1, "grad_upper_Y": 1, "grad_upper_x": 1, "hvp": 1, "cross": 1}
BROS = {"grad_lower": 1, "grad_upper_Y": 1, "grad_upper_x": 1, "reduced_hvp": 3, "cross": 1}
# label -> (algorithm, config changes, calls per step, seconds per step, final target losses, final weights)
GOOD = {
    "ma_soba": ("ma_soba", {}, FULL, 0.8, (2.80, 2.85, 2.90), (0.5, 0.3, 0.2)),
    "bros r=16": ("bros", {"algo.beta_scaling": "none"}, BROS, 2.6, (2.84, 2.86, 2.92), (0.45, 0.35, 0.2)),
    "uniform weights": ("ma_soba", {"task.weights": "uniform"}, FULL, 0.7, (2.83, 2.86, 2.88), (1 / 3,) * 3),
}
STEM = {"ma_soba": "mix_ma_soba", "bros r=16": "mix_bros_r16", "uniform weights": "mix_uniform"}


def curve(final, start=5.6, k=K, tau=60.0):
    """Falls from `start` at k = 0 to `final` at the last row."""
    return final + (start - final) * (np.exp(-k / tau) - np.exp(-k[-1] / tau)) / (1 - np.exp(-k[-1] / tau))


def val_final(loss, i):
    """The final validation loss of domain i for a run of final target loss `loss` (their mean is `loss`)."""
    return loss + (0.3, 0.0, -0.3)[i]


def write_set(d, spec, extra=()):
    """spec as GOOD; extra: (file name, algorithm, config changes, calls, s/step, final loss, weights, status, seed)."""
    os.makedirs(d, exist_ok=True)
    items = [(f"{STEM[lab]}_s{s}.h5", algo, cfg, calls, sec, loss[i], w, "done", s)
             for lab, (algo, cfg, calls, sec, loss, w) in spec.items() for i, s in enumerate(SEEDS)]
    items += list(extra)
    paths = []
    for name, algo, cfg, calls, sec, loss, w, status, seed in items:
        t = curve(loss)
        metrics = dict(target_loss=t, target_ppl=np.exp(t), test_loss=t + 0.02, test_ppl=np.exp(t + 0.02),
                       lower_loss=t - 0.1)
        for i, dom in enumerate(DOMAINS):
            metrics["val_" + dom] = curve(val_final(loss, i))
        for i, dom in enumerate(DOMAINS):   # from 1/3 to the final weight
            metrics["w_" + dom] = curve(w[i], start=1 / 3)
        p = os.path.join(d, name)
        make_fake_inputs.write_run(p, algo, seed, K, calls, sec, metrics, dict(CONFIG, **cfg), task="data_mixture",
                                   status=status, variant="general" if algo == "bros" else "",
                                   rank=(16, 1) if algo == "bros" else (64, 1), block_m=(64, 1))
        paths.append(p)
    return paths


def fig(paths, outdir, name, *more):
    p = subprocess.run([sys.executable, SCRIPT] + paths + ["--outdir", outdir, "--name", name] + list(more),
                       capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def png_width(path):
    with open(path, "rb") as fh:
        return struct.unpack(">II", fh.read(24)[16:24])[0]


def md_tables(md_path):
    """[{first cell: [cells]}] per Markdown table of a --summary file."""
    tables, cur = [], None
    for line in open(md_path):
        if line.startswith("| "):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cur is None:
                cur = {}
                tables.append(cur)
            cur[cells[0]] = cells
        elif not line.startswith("|---"):
            cur = None
    return tables


def close(got, want, tol):
    try:
        return abs(float(got) - want) <= tol
    except ValueError:
        return False


def case_table(paths, work):
    out = os.path.join(work, "good")
    rc, so, se = fig(paths, out, "good", "--summary", os.path.join(out, "good.md"))
    if rc != 0 or "Traceback" in se:
        return f"exit {rc}: {(so + se)[-500:]}"
    err = selftest.check_figure_files(out, "good")
    if err:
        return err
    tabs = md_tables(os.path.join(out, "good.md"))
    if len(tabs) != 3:
        return f"{len(tabs)} tables in the summary, expected 3"
    main, weights, vals = tabs
    labels = [lab for lab in main if lab != "label"]
    if sorted(labels) != sorted(GOOD):
        return f"labels {labels}, expected {sorted(GOOD)}"
    order = weights["domain"][1:]
    for lab, (algo, cfg, calls, sec, loss, w) in GOOD.items():
        r = main[lab]
        med = float(np.median(loss))
        want = [(r[1], 3, 0), (r[2], 300, 0), (r[3], med, 5.1e-5), (r[4], np.ptp(loss), 5.1e-5),
                (r[5], med + 0.02, 5.1e-5), (r[6], np.exp(med + 0.02), 5.1e-4), (r[7], sec, 1e-3 * sec)]
        for got, wv, tol in want:
            if not close(got, wv, tol):
                return f"{lab}: table row {r}, expected {[x[1] for x in want]}"
        j = order.index(lab) + 1
        for i, dom in enumerate(DOMAINS):
            if not close(weights[dom][j], w[i], 5.1e-5):
                return f"{lab}: final weight of {dom} = {weights[dom][j]}, expected {w[i]:.4f}"
            if not close(vals[dom][j], val_final(med, i), 5.1e-5):
                return f"{lab}: final validation loss of {dom} = {vals[dom][j]}, expected {val_final(med, i):.4f}"
    if "excluded:" not in so or "mix_bros_interrupted_s4.h5" not in so:
        return f"the interrupted run is not reported as excluded:\n{so}"
    return None


def case_panels(paths, work):
    """Two learned-weights labels: 4 panels; without BROS: 3 panels (narrower)."""
    out = os.path.join(work, "panels")
    rc4, _, e4 = fig(paths, out, "four")
    rc3, _, e3 = fig([p for p in paths if "bros" not in os.path.basename(p)], out, "three")
    if rc4 or rc3:
        return f"exit {rc4}, {rc3}: {(e4 + e3)[-400:]}"
    w4, w3 = png_width(os.path.join(out, "four.png")), png_width(os.path.join(out, "three.png"))
    return selftest.check_figure_files(out, "three") or (None if w4 > 1.2 * w3 else f"PNG widths {w4} vs {w3}")


def case_check(paths, work, name, want_rc, must):
    rc, so, se = fig(paths, os.path.join(work, "check"), name, "--check", "data_mixture")
    if rc != want_rc:
        return f"exit {rc}, expected {want_rc}:\n{so}{se[-300:]}"
    for s in must:
        if s not in so:
            return f"output lacks '{s}':\n{so}"
    return None


def changed(label, value):
    """GOOD with the final target losses of one label replaced."""
    entry = list(GOOD[label])
    entry[4] = value
    return dict(GOOD, **{label: tuple(entry)})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", metavar="DIR", help="write the runs and figures here and keep them")
    a = ap.parse_args()
    work, tmp = selftest.work_dir(a.keep, "sbo_fig_mixture_")
    interrupted = ("mix_bros_interrupted_s4.h5", "bros", GOOD["bros r=16"][1], BROS, 2.6, 4.0, (0.4, 0.3, 0.3),
                   "interrupted", 4)
    good = write_set(os.path.join(work, "runs_good"), GOOD, [interrupted])
    worse = write_set(os.path.join(work, "runs_worse"), changed("ma_soba", (2.88, 2.91, 2.95)))
    bros_high = write_set(os.path.join(work, "runs_bros_high"), changed("bros r=16", (2.88, 2.90, 2.95)))
    no_bros = [p for p in good if "bros" not in os.path.basename(p)]
    other = os.path.join(work, "other", "dc.h5")
    os.makedirs(os.path.dirname(other), exist_ok=True)
    make_fake_inputs.write_run(other, "ma_soba", 1, K, FULL, 0.1, {"test_accuracy": np.linspace(0.1, 0.8, K.size)},
                               CONFIG)

    def case_bad(paths, must):
        rc, so, se = fig(paths, os.path.join(work, "bad"), "bad")
        ok = rc == 2 and must in se and "Traceback" not in se and len(se.strip().splitlines()) == 1
        return None if ok else f"exit {rc}: {se[-300:]}"

    cases = [
        ("figure and tables from 3 seeds x {ma_soba, bros r=16, uniform}, interrupted run excluded",
         lambda: case_table(good, work)),
        ("one weights panel per learned-weights label", lambda: case_panels(good, work)),
        ("--check passes on the good set, with the numbers", lambda: case_check(good, work, "pass", 0, (
            "PASS (a) ma_soba (learned weights) vs uniform weights at iteration 300: median target_loss 2.8500 vs "
            "2.8600, difference -0.0100 <= 0.01",
            "PASS (b) bros r=16 vs ma_soba at iteration 300: median target_loss 2.8600 vs 2.8500, difference "
            "+0.0100 <= 0.02", "runs: bros r=16: mix_bros_r16_s1.h5, mix_bros_r16_s2.h5, mix_bros_r16_s3.h5",
            "check data_mixture: 2 PASS, 0 FAIL"))),
        ("--check FAILs (exit 1): learned weights 0.05 nats above uniform", lambda: case_check(
            worse, work, "worse", 1, ("FAIL (a) ma_soba (learned weights) vs uniform weights", "+0.0500 > 0.01",
                                      "PASS (b) bros r=16 vs ma_soba"))),
        ("--check FAILs (exit 1): BROS 0.05 nats above MA-SOBA", lambda: case_check(
            bros_high, work, "bros_high", 1, ("PASS (a)", "FAIL (b) bros r=16 vs ma_soba", "+0.0500 > 0.02"))),
        ("--check FAILs (exit 1): no bros runs", lambda: case_check(
            no_bros, work, "no_bros", 1, ("no finished learned-weights 'bros' runs",))),
        ("runs of another task: exit 2, one line", lambda: case_bad([other], "draws data_mixture runs only")),
        ("a missing file: exit 2, one line", lambda: case_bad([os.path.join(work, "nope.h5")], "no such file")),
    ]
    rc = selftest.run_cases(cases, "fig-mixture-selftest", a.keep, "runs and figures")
    if tmp:
        tmp.cleanup()
    return rc


if __name__ == "__main__":
    sys.exit(main())
