#!/usr/bin/env python3
"""paper_figures/fig_neural.py: learning curves, summary table and "done" check for the neural tasks' `sbo run` files.

Groups the runs by label: the algorithm name; for the data-cleaning baselines (config task.weights) "noisy (no
weights)" (uniform) and "clean subset only" (clean); for projected methods the rank from the config (algo.ranks, or
algo.rank), e.g. "bros r=392", with "memory rule on" when the §9 rule may keep blocks full. Runs of one label that
differ in their config (keys naming a seed excluded) are split, and the keys that differ go into the labels.
Runs whose status is not "done" are listed and left out of everything.

Figure OUTDIR/NAME.{png,pdf}: the metric against iterations, against cumulative oracle calls (grad_lower +
grad_upper_Y + grad_upper_x + hvp + reduced_hvp + cross) and against step wall time (step_time_s), median over
seeds with a 20-80% band (plot_runs.aggregate); a third panel with F1 against iterations when the metric is
test_accuracy and the runs have an f1 column.
Table (printed; written as Markdown with --summary): per label, seeds, final metric (median, max-min, std over
seeds), final F1 median, oracle calls per iteration (grad_lower + grad_upper_Y + grad_upper_x + hvp + reduced_hvp
+ cross at the last row, over its iteration) and step seconds per iteration (medians over seeds).
--check data_cleaning | vit_reweight: the issue's "done" criteria, one PASS/FAIL line each with its numbers
(vit_reweight: (a) and (c); F1 is in the table, not a criterion, since the paper makes no F1 claim there):
  (a) each ma_soba* and bros* label: final median test accuracy minus the "noisy (no weights)" median is larger
      than the spread over seeds, max(range of the method, range of the baseline);
  (b) final median F1 >= 0.8 for ma_soba* and bros*;
  (c) each bros* label against each ma_soba* label at equal oracle calls (each run's test accuracy interpolated
      against its cumulative oracle calls, at the largest count every run of both reached): median BROS >= median
      MA-SOBA - 0.01. BROS better than MA-SOBA passes. The same comparison at equal iterations is printed too.
Usage:
  .venv/bin/python paper_figures/fig_neural.py RUN.h5 [RUN.h5 ...] --outdir DIR --name NAME [--metric test_accuracy]
      [--check data_cleaning|vit_reweight] [--summary FILE.md] [--dpi 150]
Exit 0; 1 when a --check criterion FAILs; 2 with a one-line message on bad input (as plot_runs.py).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import plot_runs as pr  # noqa: E402  (reading run files, grouping helpers, median and band, footer)
from common import FigureInputError  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402

PROG = "fig_neural.py"
BASELINES = {"uniform": "noisy (no weights)", "clean": "clean subset only"}
NOISY = BASELINES["uniform"]
PROJECTED = ("naive_projected", "bros")  # for files without the root attribute 'variant'
F1_MIN = 0.8      # criterion (b)
ONE_POINT = 0.01  # criterion (c), absolute test accuracy


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0].split(": ", 1)[1])
    p.add_argument("inputs", nargs="+", metavar="RUN.h5", help="results files written by 'sbo run --out'")
    p.add_argument("--outdir", required=True, metavar="DIR", help="where NAME.png and NAME.pdf go")
    p.add_argument("--name", required=True, help="file name of the figure, without extension")
    p.add_argument("--metric", default="test_accuracy", help="a /curves column (default: %(default)s)")
    p.add_argument("--check", choices=("data_cleaning", "vit_reweight"),
                   help="evaluate the task's 'done' criteria (exit 1 on FAIL)")
    p.add_argument("--summary", metavar="FILE.md", help="also write the table (and check results) as Markdown")
    p.add_argument("--dpi", type=int, default=150, help="PNG resolution (default: %(default)s)")
    return p.parse_args(argv)


# ---------------------------------------------------------------------------------------------------- grouping
def base_label(attrs, baselines=BASELINES):
    cfg = pr.config_dict(attrs)
    if cfg.get("task.weights") in baselines:
        return baselines[cfg["task.weights"]]
    algo = str(attrs["algorithm"])
    if str(attrs.get("variant", "") or "") or ("variant" not in attrs and algo in PROJECTED):
        label = f"{algo} r={cfg.get('algo.ranks') or cfg.get('algo.rank', '?')}"
        return label + (" (memory rule on)" if cfg.get("algo.memory_rule") == "on" else "")
    return algo


def identity(run):
    """What must agree between the seeds of one curve: the algorithm and the config, seed keys excluded."""
    cfg = {k: v for k, v in pr.config_dict(run["attrs"]).items() if "seed" not in k}
    return dict(cfg, algorithm=str(run["attrs"]["algorithm"]))


def make_groups(runs, baselines=BASELINES):
    """Groups by label (baselines: {task.weights value: label}; fig_mixture.py passes its own)."""
    by_label = {}
    for r in runs:
        by_label.setdefault(base_label(r["attrs"], baselines), []).append(r)
    groups = []
    for label, rs in by_label.items():
        ids = [identity(r) for r in rs]
        diff = [k for k in sorted({k for d in ids for k in d}) if len({d.get(k) for d in ids}) > 1]
        split = {}
        for r, d in zip(rs, ids):
            split.setdefault(tuple(d.get(k, "(unset)") for k in diff), []).append(r)
        for vals, members in split.items():
            words = ", ".join(f"{k}={v}" for k, v in zip(diff, vals))
            algo = str(members[0]["attrs"]["algorithm"])
            base = label in baselines.values()
            groups.append(dict(label=label + (f" [{words}]" if words else ""), runs=members, baseline=base,
                               algo=algo, status="done", setup=(label, vals),
                               algorithm=label if base else algo))  # 'algorithm', 'setup': for assign_styles
    order = lambda g: (g["baseline"], pr.ALGO_ORDER.index(g["algo"]) if g["algo"] in pr.ALGO_ORDER else 99,  # noqa
                       g["label"])
    groups.sort(key=order)
    pr.assign_styles(groups)
    for g in groups:
        g["seeds"] = sorted(int(r["attrs"]["seed"]) for r in g["runs"])
        if g["baseline"]:
            g["style"]["ls"] = "--"
    return groups


# ---------------------------------------------------------------------------------------------------- numbers
def last(run, col):
    c = run["curves"]
    return float(c[col][-1]) if col in c else float("nan")


def per_iteration(run, total):
    it = last(run, "iteration")
    return total / it if it > 0 else float("nan")


def summarize(g, metric):
    rs = g["runs"]
    fin = np.array([last(r, metric) for r in rs])
    ok = fin[np.isfinite(fin)]
    f1 = np.array([last(r, "f1") for r in rs])
    calls = [per_iteration(r, float(pr.x_values(r, "oracle_calls")[-1])) for r in rs]
    secs = [per_iteration(r, last(r, "step_time_s")) for r in rs]
    nanmed = lambda a: float(np.nanmedian(a)) if np.isfinite(a).any() else float("nan")  # noqa: E731
    g["final"] = dict(values=fin, median=nanmed(fin), range=float(np.ptp(ok)) if ok.size else float("nan"),
                      std=float(np.std(ok, ddof=1)) if ok.size > 1 else 0.0, f1=nanmed(f1),
                      calls_per_it=nanmed(np.array(calls)), s_per_it=nanmed(np.array(secs)))


def fmt(v, spec=".4f"):
    return "–" if v is None or not np.isfinite(v) else format(v, spec)


def table(groups, metric, with_f1):
    head = ["label", "seeds", f"final {metric} (median)", "max-min", "std (n-1)", "oracle calls / iter", "s / iter"]
    if with_f1:
        head.insert(5, "final F1 (median)")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for g in groups:
        s = g["final"]
        row = [g["label"], str(len(g["runs"])), fmt(s["median"]), fmt(s["range"]), fmt(s["std"]),
               fmt(s["calls_per_it"], ".3g"), fmt(s["s_per_it"], ".4g")]
        if with_f1:
            row.insert(5, fmt(s["f1"]))
        lines.append("| " + " | ".join(row) + " |")
    return lines


# ---------------------------------------------------------------------------------------------------- check
def at(run, xname, x0, col="test_accuracy"):
    x, y = pr.x_values(run, xname), run["curves"][col]
    ok = np.isfinite(x) & np.isfinite(y)
    return float(np.interp(x0, x[ok], y[ok])) if ok.any() else float("nan")


def compare(a, b, xname):
    """(x0, median of a, median of b): test accuracy at the largest x (iteration or oracle calls) every run reached."""
    x0 = min(float(pr.x_values(r, xname)[-1]) for r in a["runs"] + b["runs"])
    return (x0, float(np.median([at(r, xname, x0) for r in a["runs"]])),
            float(np.median([at(r, xname, x0) for r in b["runs"]])))


def files(g):
    return f"{g['label']}: " + ", ".join(os.path.basename(r["path"]) for r in g["runs"])


def check_reweight(groups, with_f1_criterion):
    """[(passed, text)]: one entry per criterion and label, each text naming its numbers and the runs used.
    with_f1_criterion: criterion (b) (data_cleaning); vit_reweight checks (a) and (c)."""
    for col in ("test_accuracy", "f1"):
        for g in groups:
            if col not in g["runs"][0]["curves"]:
                raise FigureInputError(f"{g['runs'][0]['path']}: /curves has no '{col}' column (needed by --check)")
    out = []
    methods = {p: [g for g in groups if not g["baseline"] and g["label"].startswith(p)] for p in ("ma_soba", "bros")}
    for p, gs in methods.items():
        if not gs:
            out.append((False, f"(a,b,c) no finished '{p}' runs among the labels "
                               f"{', '.join(g['label'] for g in groups)}"))
    noisy = [g for g in groups if g["label"].startswith(NOISY)]
    if not noisy:
        out.append((False, f"(a) no finished '{NOISY}' baseline runs (config task.weights = uniform)"))
    for g in methods["ma_soba"] + methods["bros"]:
        s = g["final"]
        for b in noisy:
            sb = b["final"]
            gain, spread = s["median"] - sb["median"], max(s["range"], sb["range"])
            out.append((gain > spread,
                        f"(a) {g['label']}: final median test_accuracy {s['median']:.4f} - {b['label']} "
                        f"{sb['median']:.4f} = {gain:+.4f} {'>' if gain > spread else '<='} spread {spread:.4f} "
                        f"(max of the max-min over seeds: {g['label']} {s['range']:.4f}, baseline "
                        f"{sb['range']:.4f})\n      runs: {files(g)}; {files(b)}"))
        if with_f1_criterion:
            out.append((s["f1"] >= F1_MIN,
                        f"(b) {g['label']}: final median F1 {fmt(s['f1'])} {'>=' if s['f1'] >= F1_MIN else '<'} "
                        f"{F1_MIN}\n      runs: {files(g)}"))
    for b in methods["bros"]:
        for m in methods["ma_soba"]:
            x0, vb, vm = compare(b, m, "oracle_calls")
            it0, ib, im = compare(b, m, "iteration")
            ok = abs(vb - vm) <= ONE_POINT
            out.append((ok, f"(c) {b['label']} vs {m['label']} at {x0:.0f} oracle calls (the most every run of both "
                            f"reached): median test_accuracy {vb:.4f} vs {vm:.4f}, difference {vb - vm:+.4f} "
                            f"|difference| {'<=' if ok else '>'} {ONE_POINT}\n"
                            f"      for information, at iteration {it0:.0f}: {ib:.4f} vs {im:.4f}, difference "
                            f"{ib - im:+.4f}\n      runs: {files(b)}; {files(m)}"))
    return out


# ---------------------------------------------------------------------------------------------------- figure
def seeds(g):
    n = len(g["runs"])
    return f"{n} seed{'s' if n != 1 else ''}"


def draw(groups, metric, panels, title, footer):
    ncol = min(3, len(groups))
    rows = -(-len(groups) // ncol)
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4.0 + 0.25 * rows), squeeze=False)
    for ax, (col, xname) in zip(axes[0], panels):
        lows = []
        for g in groups:
            if not any(np.isfinite(r["curves"][col]).any() for r in g["runs"]):
                continue  # e.g. F1 of the baselines, which flag no samples
            d, st = pr.aggregate(g, col, xname), g["style"]
            ax.plot(d["x"], d["med"], color=st["color"], ls=st["ls"], marker=st["marker"], ms=4,
                    markevery=max(1, d["x"].size // 8), label=f"{g['label']} ({seeds(g)})")
            if len(g["runs"]) > 1:
                ax.fill_between(d["x"], d["lo"], d["hi"], color=st["color"], alpha=0.18, lw=0)
            later = d["lo"][1:][np.isfinite(d["lo"][1:])]   # the start (k = 0, chance level) would squash the rest
            if later.size:
                lows.append(later.min())
        if lows:
            top = ax.get_ylim()[1]
            lo = min(lows)
            ax.set_ylim(lo - 0.05 * (top - lo), top)
        ax.set_xlabel({"iteration": "iteration k", "oracle_calls": "oracle calls (cumulative, every kind)",
                       "step_time_s": "step wall time (s, evaluation excluded)"}[xname])
        ax.set_ylabel(col)
        if col == "f1":
            ax.set_title("F1 of flagging corrupted samples (baselines: none)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    bottom = (0.06 + 0.055 * rows) * 4.3 / (4.0 + 0.25 * rows)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 0.035))
    fig.suptitle(title)
    fig.tight_layout(rect=(0, bottom, 1, 1))
    fig.text(0.01, 0.005, footer, fontsize=6, color="0.45", ha="left", va="bottom", wrap=True)
    return fig


def read_done(inputs):
    """(runs with status done, the others) of the files, each file once; the others are printed; Usage when no run
    is done (fig_mixture.py too)."""
    runs, excluded = [], []
    for path in dict.fromkeys(inputs):
        r = pr.read_run(path)
        (runs if pr.status_of(r["attrs"]) == "done" else excluded).append(r)
    for r in excluded:
        print(f"excluded: {r['path']} ({r['attrs']['algorithm']}, status {pr.status_of(r['attrs'])}, "
              f"last iteration {last(r, 'iteration'):.0f})")
    if not runs:
        raise pr.Usage("no run with status 'done' among the inputs")
    return runs, excluded


def main(argv=None):
    args = parse_args(argv)
    common.apply_style()
    runs, excluded = read_done(args.inputs)
    tasks = sorted({str(r["attrs"]["task"]) for r in runs})
    if len(tasks) > 1:
        raise pr.Usage(f"the files mix tasks ({', '.join(tasks)}); give one task at a time")
    task = tasks[0]
    if args.check and args.check != task:
        raise pr.Usage(f"--check {args.check} needs {args.check} runs, these are {task}")
    available = [c for c in runs[0]["columns"] if all(c in r["curves"] for r in runs)]
    if args.metric not in available:
        raise pr.Usage(f"unknown metric '{args.metric}'; available: {', '.join(available)}")

    groups = make_groups(runs)
    for g in groups:
        summarize(g, args.metric)
    with_f1 = "f1" in available
    models = sorted({pr.config_dict(r["attrs"]).get("task.model", "") for r in runs} - {""})
    model_txt = f", model {' / '.join(models)}" if models else ""
    panels = [(args.metric, "iteration"), (args.metric, "oracle_calls"), (args.metric, "step_time_s")]
    if args.metric == "test_accuracy" and with_f1:
        panels.append(("f1", "iteration"))
    title = (f"{task}{model_txt}: median over seeds, "
             f"{pr.BAND[0]}\u2013{pr.BAND[1]}% band across seeds")
    footer = pr.provenance_text(runs)
    common.save(draw(groups, args.metric, panels, title, footer), args.outdir, args.name, args.dpi)

    lines = table(groups, args.metric, with_f1)
    print("\n".join(lines))
    md = [f"# {task}{model_txt}: {args.metric}", ""] + lines + [""]
    if excluded:
        md += ["Excluded (status not done): " + ", ".join(
            f"{os.path.basename(r['path'])} ({pr.status_of(r['attrs'])})" for r in excluded), ""]
    rc = report_checks(args.check, check_reweight(groups, args.check == "data_cleaning"), md) if args.check else 0
    write_summary(args.summary, md, footer)
    return rc


def report_checks(name, results, md):
    """Prints the PASS/FAIL lines [(passed, text)] of --check NAME and the verdict, appends them to the Markdown lines
    md; returns 1 when one FAILed, else 0 (fig_mixture.py too)."""
    print(f"check {name}:")
    md += [f"## check {name}", ""]
    for ok, text in results:
        line = f"{'PASS' if ok else 'FAIL'} {text}"
        print("  " + line)
        md.append("    " + line.replace("\n", "\n    "))
    n_fail = sum(not ok for ok, _ in results)
    verdict = f"check {name}: {len(results) - n_fail} PASS, {n_fail} FAIL"
    print(verdict)
    md += ["", verdict, ""]
    return 1 if n_fail else 0


def write_summary(path, md, footer):
    """Appends the provenance line to md and writes it to path (--summary; nothing when path is None)."""
    md.append(f"Provenance: {footer}")
    if path:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as fh:
            fh.write("\n".join(md) + "\n")
        print(f"wrote {path}")


def cli(main_fn, prog):
    """Runs main_fn; bad input (pr.Usage, FigureInputError) exits 2 with one line on stderr."""
    try:
        sys.exit(main_fn())
    except (pr.Usage, FigureInputError) as e:
        print(f"{prog}: {pr.one_line(e)}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    cli(main, PROG)
