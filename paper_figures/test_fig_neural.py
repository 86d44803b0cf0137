#!/usr/bin/env python3
"""paper_figures/test_fig_neural.py: self-check of fig_neural.py on synthetic data_cleaning run files.

Writes fake `sbo run` files (make_fake_inputs.write_run; 1000 iterations, a row every 100) for seeds 1-3 of
ma_soba, bros (rank 392), the uniform-weights and the clean-subset baselines, plus an interrupted bros run, and
runs fig_neural.py on them. Checks: the PNG and PDF are written (three panels with test_accuracy, two otherwise);
the Markdown table holds the numbers the files were made from (seeds, final median, max-min, std, F1, oracle
calls and seconds per iteration); the interrupted run is excluded; runs of one label with different configs are
split; --check data_cleaning passes on the good set (with the numbers of (a) and (c) as computed here) and fails,
exit 1, when BROS is 3 points below MA-SOBA, when the F1 of BROS is 0.5, when MA-SOBA's gain over the noisy
baseline is within the seeds' spread, and when no BROS run is given; an unknown metric exits 2.

Usage:  .venv/bin/python paper_figures/test_fig_neural.py [--keep DIR]
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

SCRIPT = os.path.join(HERE, "fig_neural.py")
K = np.arange(0, 1001, 100)
SEEDS = (1, 2, 3)
CONFIG = {"algo.rank": "half", "algo.memory_rule": "on", "algo.gamma_scaling": "inv_1pV", "run.iters": "1000",
          "run.eval_every": "100", "task.model": "linear", "task.weights": "learned"}
# task.data_seed is set to the seed: keys naming a seed must not split a label
FULL = {"grad_lower": 1, "grad_upper_Y": 1, "grad_upper_x": 1, "hvp": 1, "cross": 1}              # 5 calls / step
BROS = {"grad_lower": 1, "grad_upper_Y": 1, "grad_upper_x": 1, "reduced_hvp": 3, "cross": 1}      # 7 calls / step
# label -> (algorithm, config changes, calls per step, seconds per step, final accuracies, final F1s or None)
GOOD = {
    "ma_soba": ("ma_soba", {}, FULL, 0.010, (0.845, 0.850, 0.852), (0.90, 0.91, 0.92)),
    "bros r=392": ("bros", {"algo.rank": "392", "algo.memory_rule": "off"}, BROS, 0.006, (0.842, 0.848, 0.851),
                   (0.88, 0.89, 0.90)),
    "noisy (no weights)": ("ma_soba", {"task.weights": "uniform"}, FULL, 0.008, (0.770, 0.775, 0.778), None),
    "clean subset only": ("ma_soba", {"task.weights": "clean"}, FULL, 0.007, (0.800, 0.810, 0.812), None),
}
STEM = {"ma_soba": "ma_soba", "bros r=392": "bros_392", "noisy (no weights)": "uniform", "clean subset only": "clean"}


def curve(final, k=K, tau=100.0):
    """Rises from 0.1 at k = 0 to `final` at the last row."""
    return 0.1 + (final - 0.1) * (1 - np.exp(-k / tau)) / (1 - np.exp(-k[-1] / tau))


def write_set(d, spec, extra=()):
    """spec as GOOD; extra: (file name, algorithm, config changes, calls, s/step, accuracy, F1, status)."""
    os.makedirs(d, exist_ok=True)
    paths = []
    items = [(f"{STEM[lab]}_{s}.h5", algo, cfg, calls, sec * (1 + 0.1 * (s - 2)),
              acc[i], None if f1 is None else f1[i], "done", s)
             for lab, (algo, cfg, calls, sec, acc, f1) in spec.items() for i, s in enumerate(SEEDS)]
    items += list(extra)
    for name, algo, cfg, calls, sec, acc, f1, status, seed in items:
        f1c = np.full(K.size, np.nan) if f1 is None else np.r_[np.nan, curve(f1)[1:]]
        a = curve(acc)
        metrics = dict(test_accuracy=a, f1=f1c, precision=f1c, recall=f1c, flagged=np.full(K.size, 0.4),
                       upper_loss=2.3 - a, lower_loss=2.3 - a, val_accuracy=a - 0.01)
        p = os.path.join(d, name)
        config = dict(CONFIG, **cfg, **{"task.data_seed": str(seed)})
        make_fake_inputs.write_run(p, algo, seed, K, calls, sec, metrics, config, status=status,
                                   variant="basic" if algo == "bros" else "",
                                   rank=(392, 1) if algo == "bros" else (784, 1))
        paths.append(p)
    return paths


def fig(paths, outdir, name, *more):
    p = subprocess.run([sys.executable, SCRIPT] + paths + ["--outdir", outdir, "--name", name] + list(more),
                       capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def png_width(path):
    with open(path, "rb") as fh:
        return struct.unpack(">II", fh.read(24)[16:24])[0]


def table_rows(md_path):
    """{label: [cells]} from the Markdown table of a --summary file."""
    rows = {}
    for line in open(md_path):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0] != "label":
            rows[cells[0]] = cells
    return rows


def expect(cond, msg):
    return None if cond else msg


def case_table(paths, work):
    out = os.path.join(work, "good")
    rc, so, se = fig(paths, out, "good", "--summary", os.path.join(out, "good.md"))
    if rc != 0 or "Traceback" in se:
        return f"exit {rc}: {(so + se)[-500:]}"
    err = selftest.check_figure_files(out, "good")
    if err:
        return err
    rows = table_rows(os.path.join(out, "good.md"))
    if sorted(rows) != sorted(GOOD):
        return f"labels {sorted(rows)}, expected {sorted(GOOD)}"
    for lab, (algo, cfg, calls, sec, acc, f1) in GOOD.items():
        r = rows[lab]
        want = [3, np.median(acc), np.ptp(acc), np.std(acc, ddof=1), np.nan if f1 is None else np.median(f1),
                sum(calls.values()), sec]
        for got, w, what in zip(r[1:], want, ("seeds", "median", "max-min", "std", "F1", "calls/iter", "s/iter")):
            if np.isnan(w):
                if got != "–":
                    return f"{lab}: {what} = {got}, expected –"
            elif abs(float(got) - w) > (1e-3 * w if what in ("calls/iter", "s/iter") else 5.1e-5):  # as printed
                return f"{lab}: {what} = {got}, expected {w:.6g}"
    if "excluded:" not in so or "bros_interrupted_4.h5" not in so:
        return f"the interrupted run is not reported as excluded:\n{so}"
    return None


def case_panels(paths, work):
    out = os.path.join(work, "panels")
    rc3, o3, e3 = fig(paths, out, "three")
    rc2, o2, e2 = fig(paths, out, "two", "--metric", "val_accuracy")
    if rc3 or rc2:
        return f"exit {rc3}, {rc2}: {(e3 + e2)[-400:]}"
    w3, w2 = png_width(os.path.join(out, "three.png")), png_width(os.path.join(out, "two.png"))
    return selftest.check_figure_files(out, "two") or expect(w3 > 1.3 * w2, f"PNG widths {w3} (3 panels?) vs {w2}")


def at_calls(spec_entry, x0):
    algo, cfg, calls, sec, acc, f1 = spec_entry
    return np.median([np.interp(x0, sum(calls.values()) * K, curve(a)) for a in acc])


def case_check_pass(paths, work):
    rc, so, se = fig(paths, os.path.join(work, "check"), "pass", "--check", "data_cleaning")
    if rc != 0:
        return f"exit {rc}, expected 0:\n{so}{se[-300:]}"
    vb, vm = at_calls(GOOD["bros r=392"], 5000), at_calls(GOOD["ma_soba"], 5000)
    for s in ("PASS (a) ma_soba: final median test_accuracy 0.8500 - noisy (no weights) 0.7750 = +0.0750 > "
              "spread 0.0080", "PASS (a) bros r=392", "PASS (b) ma_soba: final median F1 0.9100",
              "PASS (b) bros r=392: final median F1 0.8900",
              "PASS (c) bros r=392 vs ma_soba at 5000 oracle calls", f"{vb:.4f} vs {vm:.4f}",
              "at iteration 1000: 0.8480 vs 0.8500", "runs: bros r=392: bros_392_1.h5, bros_392_2.h5, bros_392_3.h5",
              "5 PASS, 0 FAIL"):
        if s not in so:
            return f"output lacks '{s}':\n{so}"
    return None


def case_check_fail(paths, work, name, must):
    rc, so, se = fig(paths, os.path.join(work, "check"), name, "--check", "data_cleaning")
    if rc != 1:
        return f"exit {rc}, expected 1:\n{so}{se[-300:]}"
    for s in must:
        if s not in so:
            return f"output lacks '{s}':\n{so}"
    return None


def changed(label, field, value):
    """GOOD with one field (4: final accuracies, 5: final F1s) of one label replaced."""
    entry = list(GOOD[label])
    entry[field] = value
    return dict(GOOD, **{label: tuple(entry)})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", metavar="DIR", help="write the runs and figures here and keep them")
    a = ap.parse_args()
    work, tmp = selftest.work_dir(a.keep, "sbo_fig_neural_")
    interrupted = ("bros_interrupted_4.h5", "bros", GOOD["bros r=392"][1], BROS, 0.006, 0.3, 0.2, "interrupted", 4)
    good = write_set(os.path.join(work, "runs_good"), GOOD, [interrupted])
    bros_low = write_set(os.path.join(work, "runs_bros_low"), changed("bros r=392", 4, (0.812, 0.818, 0.821)))
    f1_low = write_set(os.path.join(work, "runs_f1_low"), changed("bros r=392", 5, (0.5, 0.5, 0.5)))
    no_gain = write_set(os.path.join(work, "runs_no_gain"), changed("ma_soba", 4, (0.76, 0.78, 0.84)))
    no_bros = [p for p in good if "bros" not in os.path.basename(p)]
    split = write_set(os.path.join(work, "runs_split"), {"bros r=392": GOOD["bros r=392"]}, [
        (f"bros_nogs_{s}.h5", "bros", dict(GOOD["bros r=392"][1], **{"algo.gamma_scaling": "none"}), BROS, 0.006,
         0.84, 0.88, "done", s) for s in SEEDS])

    def case_split():
        rc, so, se = fig(split, os.path.join(work, "split"), "split")
        return (f"exit {rc}: {se[-300:]}" if rc else
                expect("bros r=392 [algo.gamma_scaling=inv_1pV]" in so and "bros r=392 [algo.gamma_scaling=none]" in
                       so, f"labels not split by config:\n{so}"))

    def case_unknown_metric():
        rc, so, se = fig(good, os.path.join(work, "bad"), "bad", "--metric", "nope")
        return expect(rc == 2 and "unknown metric 'nope'" in se and "Traceback" not in se, f"exit {rc}: {se[-300:]}")

    cases = [
        ("figure and table from 3 seeds x {ma_soba, bros, 2 baselines}, interrupted run excluded",
         lambda: case_table(good, work)),
        ("third panel (F1) only with test_accuracy", lambda: case_panels(good, work)),
        ("runs of one label with different configs are split", case_split),
        ("--check passes on the good set, with the numbers", lambda: case_check_pass(good, work)),
        ("--check FAILs (exit 1): BROS 3 points below MA-SOBA", lambda: case_check_fail(
            bros_low, work, "bros_low", ("FAIL (c) bros r=392 vs ma_soba", "PASS (a) bros r=392"))),
        ("--check FAILs (exit 1): BROS F1 0.5", lambda: case_check_fail(
            f1_low, work, "f1_low", ("FAIL (b) bros r=392: final median F1 0.5000 < 0.8",))),
        ("--check FAILs (exit 1): MA-SOBA gain within the spread (and BROS 7 points above it fails (c): 'within one "
         "point' is two-sided)",
         lambda: case_check_fail(no_gain, work, "no_gain", (
             "FAIL (a) ma_soba: final median test_accuracy 0.7800 - noisy (no weights) 0.7750 = +0.0050 <= spread "
             "0.0800", "FAIL (c)"))),
        ("--check FAILs (exit 1): no bros runs", lambda: case_check_fail(
            no_bros, work, "no_bros", ("no finished 'bros' runs",))),
        ("unknown metric: exit 2, one line", case_unknown_metric),
    ]
    rc = selftest.run_cases(cases, "fig-neural-selftest", a.keep, "runs and figures")
    if tmp:
        tmp.cleanup()
    return rc


if __name__ == "__main__":
    sys.exit(main())
