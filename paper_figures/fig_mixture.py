#!/usr/bin/env python3
"""paper_figures/fig_mixture.py: figure, tables and claim check of data-mixture runs (`sbo run --task data_mixture`).

Groups the runs by label (fig_neural.make_groups): the algorithm name, "bros r=R" for projected methods (R from
algo.rank; "(memory rule on)" when the §9 rule may keep blocks full), and for the baselines (config task.weights)
"uniform weights" (x fixed at 0) and "target domain only" (target_only); runs of one label with different configs
are split. Runs whose
status is not "done" are listed and left out of everything. The domain names come from the /curves columns
w_<domain> (the mixture weight softmax(x)_k of each training domain) and val_<domain> (each domain's validation loss).

Figure OUTDIR/NAME.{png,pdf}, one row of panels:
  1. the target loss (column target_loss, nats per byte) against iterations per label, median over seeds with a
     20-80% band (plot_runs.aggregate);
  2. one panel per learned-weights label (task.weights = learned): the weights softmax(x_k) against iterations, one
     line per domain (median over seeds), the uniform weight 1/K dotted (as DoReMi and DoGE report their weights);
  3. the final validation loss of each domain per label (points: median over seeds; whiskers: min and max).
Tables (printed; written as Markdown with --summary): per label the seeds, final target loss (median, max-min), final
test loss and test perplexity (medians), seconds per step; per domain the final weights and the final validation loss
per label.
--check data_mixture: the claim criteria, one PASS/FAIL line each with its numbers (the losses compared at the largest
iteration every run of both labels reached, each run's target loss interpolated there, medians over seeds):
  (a) each learned-weights ma_soba* label against the "uniform weights" baseline: learned <= uniform + 0.01 nats
      (the paper's claim that learned mixtures help; equal to the baseline within 0.01 passes);
  (b) each bros* label against each learned ma_soba* label: BROS <= MA-SOBA + 0.02 nats (BROS matches MA-SOBA;
      lower than MA-SOBA passes).
Usage:
  .venv/bin/python paper_figures/fig_mixture.py RUN.h5 [RUN.h5 ...] --outdir DIR --name NAME
      [--check data_mixture] [--summary FILE.md] [--dpi 150]
Exit 0; 1 when a --check criterion FAILs; 2 with a one-line message on bad input (as plot_runs.py).
Exercised by: scripts/reproduce_transformers.sh, paper_figures/test_fig_mixture.py.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import fig_neural as fn  # noqa: E402  (last, fmt, files, seeds; the check report, the summary file, the exit codes)
import plot_runs as pr  # noqa: E402  (reading run files, styles, median and band, footer)
from common import FigureInputError  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402

PROG = "fig_mixture.py"
TASK = "data_mixture"
METRIC = "target_loss"
BASELINES = {"uniform": "uniform weights", "target_only": "target domain only"}
UNIFORM = BASELINES["uniform"]
LEARNED_TOL = 0.01  # criterion (a), nats per byte
BROS_TOL = 0.02     # criterion (b), nats per byte
DOMAIN_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf")


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0].split(": ", 1)[1])
    p.add_argument("inputs", nargs="+", metavar="RUN.h5", help="data_mixture results files written by 'sbo run --out'")
    p.add_argument("--outdir", required=True, metavar="DIR", help="where NAME.png and NAME.pdf go")
    p.add_argument("--name", required=True, help="file name of the figure, without extension")
    p.add_argument("--check", choices=("data_mixture",), help="evaluate the claim criteria (exit 1 on FAIL)")
    p.add_argument("--summary", metavar="FILE.md", help="also write the tables (and check results) as Markdown")
    p.add_argument("--dpi", type=int, default=150, help="PNG resolution (default: %(default)s)")
    return p.parse_args(argv)


# ---------------------------------------------------------------------------------------------------- domains
def domains(runs, prefix):
    """The domain names of the columns PREFIX<domain>, in column order; every run must have the same ones."""
    names = [c[len(prefix):] for c in runs[0]["columns"] if c.startswith(prefix)]
    for r in runs[1:]:
        other = [c[len(prefix):] for c in r["columns"] if c.startswith(prefix)]
        if other != names:
            raise FigureInputError(f"{r['path']}: /curves has the {prefix}* columns {other}, "
                                   f"{runs[0]['path']} has {names}; give runs of one domain set")
    return names


# ---------------------------------------------------------------------------------------------------- numbers

def nanmed(a):
    a = np.asarray(a, dtype=np.float64)
    return float(np.nanmedian(a)) if np.isfinite(a).any() else float("nan")


def summarize(g, wdoms, vdoms):
    rs = g["runs"]
    fin = np.array([fn.last(r, METRIC) for r in rs])
    ok = fin[np.isfinite(fin)]
    its = [fn.last(r, "iteration") for r in rs]
    g["final"] = dict(
        median=nanmed(fin), range=float(np.ptp(ok)) if ok.size else float("nan"),
        test_loss=nanmed([fn.last(r, "test_loss") for r in rs]),
        test_ppl=nanmed([fn.last(r, "test_ppl") for r in rs]),
        s_per_it=nanmed([fn.last(r, "step_time_s") / i if i > 0 else np.nan for r, i in zip(rs, its)]),
        iterations=nanmed(its),
        weights={d: nanmed([fn.last(r, "w_" + d) for r in rs]) for d in wdoms},
        val={d: np.array([fn.last(r, "val_" + d) for r in rs]) for d in vdoms})


def tables(groups, wdoms, vdoms):
    head = ["label", "seeds", "iterations", f"final {METRIC} (median)", "max-min", "test_loss (median)",
            "test_ppl (median)", "s / iter"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for g in groups:
        s = g["final"]
        lines.append("| " + " | ".join([g["label"], str(len(g["runs"])), fn.fmt(s["iterations"], ".0f"),
                                         fn.fmt(s["median"]), fn.fmt(s["range"]), fn.fmt(s["test_loss"]),
                                         fn.fmt(s["test_ppl"], ".3f"), fn.fmt(s["s_per_it"], ".3g")]) + " |")
    labels = [g["label"] for g in groups]
    lines += ["", "Final mixture weights softmax(x_k) (median over seeds):", "",
              "| domain | " + " | ".join(labels) + " |", "|" + "---|" * (len(labels) + 1)]
    for d in wdoms:
        lines.append(f"| {d} | " + " | ".join(fn.fmt(g["final"]["weights"][d]) for g in groups) + " |")
    lines += ["", "Final validation loss per domain, nats per byte (median over seeds):", "",
              "| domain | " + " | ".join(labels) + " |", "|" + "---|" * (len(labels) + 1)]
    for d in vdoms:
        lines.append(f"| {d} | " + " | ".join(fn.fmt(nanmed(g["final"]["val"][d])) for g in groups) + " |")
    return lines


# ---------------------------------------------------------------------------------------------------- check
def at(run, it0, col=METRIC):
    x, y = run["curves"]["iteration"], run["curves"][col]
    ok = np.isfinite(x) & np.isfinite(y)
    return float(np.interp(it0, x[ok], y[ok])) if ok.any() else float("nan")


def compare(a, b):
    """(iteration, median of a, median of b): the target loss at the largest iteration every run of both reached."""
    it0 = min(fn.last(r, "iteration") for r in a["runs"] + b["runs"])
    return (it0, float(np.median([at(r, it0) for r in a["runs"]])),
            float(np.median([at(r, it0) for r in b["runs"]])))


def learned(g):
    return pr.config_dict(g["runs"][0]["attrs"]).get("task.weights", "learned") == "learned"


def check_mixture(groups):
    """[(passed, text)]: one entry per criterion and pair of labels, each text naming its numbers and runs."""
    out = []
    ma = [g for g in groups if not g["baseline"] and g["algo"] == "ma_soba" and learned(g)]
    bros = [g for g in groups if not g["baseline"] and g["algo"] == "bros" and learned(g)]
    uni = [g for g in groups if g["label"] == UNIFORM]
    labels = ", ".join(g["label"] for g in groups)
    if not ma:
        out.append((False, f"(a,b) no finished learned-weights 'ma_soba' runs among the labels {labels}"))
    if not bros:
        out.append((False, f"(b) no finished learned-weights 'bros' runs among the labels {labels}"))
    if not uni:
        out.append((False, f"(a) no finished '{UNIFORM}' baseline runs (config task.weights = uniform)"))

    def criterion(tag, a, b, what_a, tol):   # a's median target loss <= b's + tol at equal iterations
        it0, va, vb = compare(a, b)
        ok = va <= vb + tol
        out.append((ok, f"({tag}) {a['label']}{what_a} vs {b['label']} at iteration {it0:.0f}: median {METRIC} "
                        f"{va:.4f} vs {vb:.4f}, difference {va - vb:+.4f} {'<=' if ok else '>'} {tol}\n"
                        f"      runs: {fn.files(a)}; {fn.files(b)}"))
    for m in ma:
        for u in uni:
            criterion("a", m, u, " (learned weights)", LEARNED_TOL)
    for b in bros:
        for m in ma:
            criterion("b", b, m, "", BROS_TOL)
    return out


# ---------------------------------------------------------------------------------------------------- figure
def draw(groups, wdoms, vdoms, title, footer):
    wgroups = [g for g in groups if learned(g) and not g["baseline"]]
    n = 2 + len(wgroups)
    fig, axes = plt.subplots(1, n, figsize=(4.4 * n, 4.6), squeeze=False)
    axes = axes[0]
    ax = axes[0]
    later = []
    for g in groups:
        d, st = pr.aggregate(g, METRIC, "iteration"), g["style"]
        ax.plot(d["x"], d["med"], color=st["color"], ls=st["ls"], marker=st["marker"], ms=4,
                markevery=max(1, d["x"].size // 8), label=f"{g['label']} ({fn.seeds(g)})")
        if len(g["runs"]) > 1:
            ax.fill_between(d["x"], d["lo"], d["hi"], color=st["color"], alpha=0.18, lw=0)
        band = np.concatenate([d["lo"][1:], d["hi"][1:]])
        later.append(band[np.isfinite(band)])
    later = np.concatenate(later) if later else np.array([])
    if later.size:   # the start (k = 0, about ln 256 nats) would squash the rest: it is left above the top
        lo, hi = later.min(), later.max()
        ax.set_ylim(lo - 0.05 * (hi - lo + 1e-9), hi + 0.05 * (hi - lo + 1e-9))
    ax.set_xlabel("iteration k")
    ax.set_ylabel(f"{METRIC} (nats per byte)")
    ax.set_title("target loss (upper objective f)", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    color = {d: DOMAIN_COLORS[i % len(DOMAIN_COLORS)] for i, d in enumerate(wdoms)}
    for ax, g in zip(axes[1:], wgroups):
        for dom in wdoms:
            d = pr.aggregate(g, "w_" + dom, "iteration")
            ax.plot(d["x"], d["med"], color=color[dom], label=dom)
            if len(g["runs"]) > 1:
                ax.fill_between(d["x"], d["lo"], d["hi"], color=color[dom], alpha=0.15, lw=0)
        if wdoms:
            ax.axhline(1.0 / len(wdoms), color="0.4", ls=":", lw=1, label=f"uniform 1/{len(wdoms)}")
        ax.set_xlabel("iteration k")
        ax.set_ylabel("mixture weight softmax(x_k)")
        ax.set_title(f"weights: {g['label']} ({fn.seeds(g)}, median)", fontsize=9)
        ax.legend(fontsize=6.5, frameon=False, ncol=2)
    ax = axes[-1]
    width = 0.7 / max(1, len(groups))
    pos = np.arange(len(vdoms))
    for i, g in enumerate(groups):   # points: median over seeds; whiskers: min and max
        v = g["final"]["val"]
        vals = np.array([nanmed(v[d]) for d in vdoms])
        lo, hi = (np.array([f(v[d]) if np.isfinite(v[d]).any() else np.nan for d in vdoms])
                  for f in (np.nanmin, np.nanmax))
        ax.errorbar(pos + (i - (len(groups) - 1) / 2) * width, vals, yerr=np.vstack([vals - lo, hi - vals]),
                    color=g["style"]["color"], marker=g["style"]["marker"], ms=5, ls="none", capsize=2,
                    mfc="white" if g["baseline"] else g["style"]["color"], label=g["label"])
    ax.set_xticks(pos)
    ax.set_xticklabels(vdoms, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("final validation loss (nats per byte)")
    ax.set_title("final per-domain validation loss", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.text(0.01, 0.005, footer, fontsize=6, color="0.45", ha="left", va="bottom", wrap=True)
    return fig


def main(argv=None):
    args = parse_args(argv)
    common.apply_style()
    runs, excluded = fn.read_done(args.inputs)
    tasks = sorted({str(r["attrs"]["task"]) for r in runs})
    if tasks != [TASK]:
        raise pr.Usage(f"the files are runs of {', '.join(tasks)}; {PROG} draws {TASK} runs only")
    for r in runs:
        for col in (METRIC, "test_loss", "test_ppl", "step_time_s"):
            if col not in r["curves"]:
                raise FigureInputError(f"{r['path']}: /curves has no '{col}' column")
    wdoms, vdoms = domains(runs, "w_"), domains(runs, "val_")
    if not wdoms:
        raise FigureInputError(f"{runs[0]['path']}: /curves has no w_<domain> columns (the mixture weights)")

    groups = fn.make_groups(runs, BASELINES)
    for g in groups:
        summarize(g, wdoms, vdoms)
    title = (f"{TASK}: {len(wdoms)} training domains; median over seeds, "
             f"{pr.BAND[0]}\u2013{pr.BAND[1]}% band across seeds")
    footer = pr.provenance_text(runs)
    common.save(draw(groups, wdoms, vdoms, title, footer), args.outdir, args.name, args.dpi)

    lines = tables(groups, wdoms, vdoms)
    print("\n".join(lines))
    md = [f"# {TASK}: {METRIC} (nats per byte)", ""] + lines + [""]
    if excluded:
        md += ["Excluded (status not done): " + ", ".join(
            f"{os.path.basename(r['path'])} ({pr.status_of(r['attrs'])})" for r in excluded), ""]
    rc = fn.report_checks(args.check, check_mixture(groups), md) if args.check else 0
    fn.write_summary(args.summary, md, footer)
    return rc


if __name__ == "__main__":
    fn.cli(main, PROG)
