#!/usr/bin/env python3
"""paper_figures/fig_counterexample.py: the 19/39 counterexample (PAPER.md claim 2; ALGORITHMS.md §5.3, TC-6).

Left: x_k averaged over seeds for naive, BROS and MA-SOBA, with each method's tail average (mean over seeds of the
per-seed average over the last `tail` iterations) drawn bold over the tail window, and reference lines at naive's
predicted stall (root attribute target_naive, -20/39) and at x* (root attribute x_star, -1).
Right: the per-seed tail averages minus the limit each method is predicted to reach (naive: target_naive; BROS and
MA-SOBA: x_star), with mean +- SE across seeds.

Input: the TC-6 results file (root attrs theory_check="TC-6" (or "tc6"), mode, target_naive, x_star, K, tail; groups
/tc6/{naive,bros,ma_soba} with datasets iteration, x, tail_mean and attrs mean, se, label).
Usage:  .venv/bin/python paper_figures/fig_counterexample.py results/quick/tc6_counterexample.h5 [--outdir DIR]
Writes DIR/tc6_counterexample_<mode>.png and .pdf.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (style, attributes, footer, saving)
from common import FigureInputError  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402

METHODS = ("naive", "bros", "ma_soba")


def read(path):
    with common.open_check(path, "tc6") as f:
        d = dict(
            mode=str(common.attr(f, "mode", path)),
            target_naive=common.attr_float(f, "target_naive", path),
            x_star=common.attr_float(f, "x_star", path),
            K=common.attr_int(f, "K", path),
            tail=common.attr_int(f, "tail", path),
            methods={},
        )
        for m in METHODS:
            g = common.group(f, f"tc6/{m}", path)
            it = common.dataset(f, f"tc6/{m}/iteration", path).ravel()
            x = common.dataset(f, f"tc6/{m}/x", path)
            if x.ndim == 1:  # one seed, or one point, stored 1-D
                x = x[None, :] if x.size == it.size else x[:, None]
            if x.ndim != 2 or x.shape[1] != it.size:
                raise FigureInputError(f"{path}: tc6/{m}/x has shape {x.shape}, expected (n_seeds, {it.size})")
            d["methods"][m] = dict(
                iteration=it,
                x=x,
                tail_mean=common.dataset(f, f"tc6/{m}/tail_mean", path).ravel(),
                mean=common.attr_float(g, "mean", path),
                se=common.attr_float(g, "se", path),
                label=common.method_label(g, m, path),
            )
        # The footer is drawn from a copy of the root attributes (the file closes here).
        d["root_attrs"] = common.root_attrs(f)
    return d



def predicted_limit(method, d):
    return d["target_naive"] if method == "naive" else d["x_star"]


def draw(path, args):
    d = read(path)
    K, tail = d["K"], d["tail"]
    n_seeds = next(iter(d["methods"].values()))["x"].shape[0]
    fig, (ax, axr) = plt.subplots(1, 2, figsize=(11, 4.4), gridspec_kw=dict(width_ratios=[1.6, 1]))

    # --- left: trajectories and tail averages ---
    tn = common.fraction_label(d["target_naive"])
    xs = common.fraction_label(d["x_star"])
    ax.axhline(d["target_naive"], color="0.3", ls="--", lw=0.9,
               label=f"{tn} = {d['target_naive']:.5f}, naive's predicted stall")
    ax.axhline(d["x_star"], color="0.3", ls=":", lw=0.9, label=f"x* = {xs}")
    for m in METHODS:
        r = d["methods"][m]
        st = common.METHOD_STYLE[m]
        # BROS on top: it shares its limit with MA-SOBA and would otherwise be hidden under it.
        z = 3 if m == "bros" else 2
        ax.plot(r["iteration"], r["x"].mean(axis=0), color=st["color"], lw=0.7, alpha=0.8, zorder=z,
                label=f"{r['label']}: x_k, mean over seeds")
        ax.plot([K - tail, K], [r["mean"], r["mean"]], color=st["color"], lw=3.2, solid_capstyle="butt", zorder=z,
                label=f"{r['label']}: tail average {r['mean']:.5f} \u00b1 {r['se']:.1e}")
    ax.axvspan(K - tail, K, color="0.9", zorder=0, lw=0)
    ax.set_xlim(0, K)
    ax.set_xlabel("iteration k")
    ax.set_ylabel("x_k")
    ax.set_title("iterates; bold: tail average over the shaded window")
    ax.legend(loc="upper right", frameon=True, framealpha=0.9)

    # --- right: per-seed tail averages against each method's predicted limit ---
    rng = np.random.default_rng(0)  # jitter only, for legibility
    axr.axhline(0.0, color="0.3", lw=0.9)
    for i, m in enumerate(METHODS):
        r = d["methods"][m]
        st = common.METHOD_STYLE[m]
        lim = predicted_limit(m, d)
        dev = r["tail_mean"] - lim
        jitter = rng.uniform(-0.12, 0.12, size=dev.size)
        axr.scatter(i + jitter, dev, s=9, color=st["color"], alpha=0.55, lw=0)
        axr.errorbar(i + 0.3, r["mean"] - lim, yerr=r["se"], color=st["color"], marker=st["marker"],
                     ms=5, capsize=4, lw=1.5)
        axr.annotate(f"{r['mean'] - lim:+.2e}\n\u00b1 {r['se']:.1e}", (i + 0.3, r["mean"] - lim),
                     xytext=(6, 0), textcoords="offset points", fontsize=7, va="center")
    axr.set_xticks(range(len(METHODS)))
    axr.set_xticklabels([f"{d['methods'][m]['label']}\n(vs {tn if m == 'naive' else 'x* = ' + xs})"
                         for m in METHODS])
    axr.set_xlim(-0.5, len(METHODS) - 0.3)
    axr.set_ylabel("tail average \u2212 predicted limit")
    axr.set_title("per-seed tail averages (dots), mean \u00b1 SE")
    axr.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))

    fig.suptitle(f"TC-6, the 19/39 counterexample: naive stalls at {tn}, BROS and MA-SOBA reach x* = {xs}   "
                 f"({d['mode']}: {n_seeds} seed{'s' if n_seeds != 1 else ''}, K = {K}, tail {tail})", fontsize=10)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    common.provenance_footer(fig, d["root_attrs"], path)
    common.save(fig, args.outdir, f"tc6_counterexample_{d['mode']}", args.dpi)


if __name__ == "__main__":
    sys.exit(common.run(draw, __doc__.splitlines()[0]))
