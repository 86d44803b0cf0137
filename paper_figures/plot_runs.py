#!/usr/bin/env python3
"""paper_figures/plot_runs.py: learning curves of `sbo run` results files (one HDF5 file per run, docs/SCHEMA.md).

Groups the files by run setup: the root attributes algorithm, variant, rank and the resolved config (seed and
run.eval_every excluded). Each group is one legend entry. It draws the median over its seeds and a 20-80% band
across seeds (benchopt style); a group with one seed is drawn as a plain line.
Files whose status is not "done" (diverged, interrupted, or "running" because the process was killed) form their
own groups. They are drawn dashed (in the colour of the finished runs of the same setup, if any), with an x on
their last point, and their label ends in "(diverged)", "(interrupted)", ...
When two groups of one algorithm differ in their config, the config keys that differ go into their labels.

x axis (--x):
  iteration     k, the number of steps completed
  step_time_s   cumulative wall time inside the algorithm's step calls (evaluation and I/O excluded); the x of
                a point is the median over seeds at that iteration
  oracle_calls  grad_lower + grad_upper_Y + grad_upper_x + hvp + reduced_hvp + cross, cumulative (a reduced
                Hessian action counts as one call, like a full one)

Column names come from the /curves attribute `columns`. Every file must be for the same task.
Usage:
  .venv/bin/python paper_figures/plot_runs.py results/runs/cx_*.h5 --metric grad_phi_sq [--x iteration]
      [--logy | --no-logy] [--out results/figures/runs] [--name STEM] [--title TEXT] [--dpi 150]
Writes OUT/<task>_<metric>_vs_<x>.png and .pdf (or OUT/STEM.png and .pdf). It prints one line per group and the
provenance footer. Exit 0 on success. On bad input (a missing or unreadable file, an unknown metric, mixed
tasks) it prints a one-line message and exits 2.
The y axis is logarithmic when --logy is given, and by default when every value is positive and the values span
at least two decades (grad_phi_sq, dist_x_star, ...).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (style, attribute decoding, saving)
from common import FigureInputError  # noqa: E402

import h5py  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

PROG = "plot_runs.py"
BAND = (20, 80)  # percentiles across seeds
X_CHOICES = ("iteration", "step_time_s", "oracle_calls")
ORACLE_COLUMNS = ("grad_lower", "grad_upper_Y", "grad_upper_x", "hvp", "reduced_hvp", "cross")
X_LABELS = {
    "iteration": "iteration k",
    "step_time_s": "algorithm step wall time (s, cumulative; evaluation excluded)",
    "oracle_calls": "oracle calls (cumulative grad_lower + grad_upper_Y + grad_upper_x\n"
                    "+ hvp + reduced_hvp + cross)",
}
# The file's algorithm name -> the key of common.METHOD_STYLE (one colour per method in every figure).
STYLE_KEY = {"naive_projected": "naive"}
ALGO_ORDER = ("soba", "ma_soba", "naive_projected", "bros")
EXTRA_COLORS = ("#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#1a55a5", "#aa3377")
EXTRA_MARKERS = ("^", "P", "X", "*", "h", "<", ">", "p")
STATUS_WORD = {"running": "killed: status running"}
# Config keys that do not change the run (only how often a row is written): not part of a group's identity.
CONFIG_IGNORED = ("run.eval_every",)
MAX_LABEL_KEYS = 4


class Usage(Exception):
    """A one-line error about the command line or the inputs: printed, then exit 2."""


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog=PROG, description=__doc__.splitlines()[0].split(": ", 1)[1],
        epilog="Example: .venv/bin/python paper_figures/plot_runs.py results/runs/cx_*.h5 --metric grad_phi_sq "
               "--x oracle_calls --logy")
    p.add_argument("inputs", nargs="+", metavar="RUN.h5", help="results files written by 'sbo run --out'")
    p.add_argument("--metric", required=True, help="a /curves column, for example grad_phi_sq")
    p.add_argument("--x", default="iteration", choices=X_CHOICES, help="x axis (default: %(default)s)")
    p.add_argument("--logy", action=argparse.BooleanOptionalAction, default=None,
                   help="logarithmic y axis (default: when all values are > 0 and span >= 2 decades)")
    p.add_argument("--out", default=os.path.join(common.DEFAULT_OUTDIR, "runs"), metavar="DIR",
                   help="output directory (default: %(default)s)")
    p.add_argument("--name", metavar="STEM", help="file name without extension (default: <task>_<metric>_vs_<x>)")
    p.add_argument("--title", help="figure title (default: task, metric, and what the band is)")
    p.add_argument("--dpi", type=int, default=150, help="PNG resolution (default: %(default)s)")
    return p.parse_args(argv)


def one_line(text):
    return " ".join(str(text).split())


def read_run(path):
    """Reads a run file: root attributes (decoded) and its curve as {column: array}. FigureInputError on bad input."""
    if not os.path.exists(path):
        raise FigureInputError(f"{path}: no such file")
    if not os.path.isfile(path):
        raise FigureInputError(f"{path}: not a regular file")
    try:
        with h5py.File(path, "r") as f:
            attrs = common.root_attrs(f)
            if "theory_check" in attrs:
                raise FigureInputError(f"{path}: a theory-check file ({attrs['theory_check']}), not an 'sbo run' "
                                       "file; use fig_counterexample.py / fig_rate.py")
            for name in ("task", "algorithm", "status", "seed"):
                if name not in attrs:
                    raise FigureInputError(f"{path}: root attribute '{name}' missing (not an 'sbo run' file?)")
            if "curves" not in f or not isinstance(f["curves"], h5py.Dataset):
                raise FigureInputError(f"{path}: dataset '/curves' missing (not an 'sbo run' file?)")
            ds = f["curves"]
            cols_attr = common.attr(ds, "columns", path)
            help_attr = str(common.attr(ds, "column_help", path, default="", required=False))
            data = np.asarray(ds[()], dtype=np.float64)
    except FigureInputError:
        raise
    except Exception as e:  # OSError (not HDF5, truncated), KeyError, ... : always one line
        raise FigureInputError(f"{path}: cannot read ({one_line(e)})") from None
    cols = [c.strip() for c in str(cols_attr).split(",")]
    if data.ndim != 2 or data.shape[1] != len(cols):
        raise FigureInputError(f"{path}: /curves has shape {data.shape} but its 'columns' attribute names "
                               f"{len(cols)} columns")
    if data.shape[0] == 0:
        raise FigureInputError(f"{path}: /curves has no rows (status '{attrs['status']}')")
    if "iteration" not in cols:
        raise FigureInputError(f"{path}: /curves has no 'iteration' column")
    col_help = {}
    for line in help_attr.splitlines():
        if ": " in line:
            k, v = line.split(": ", 1)
            col_help[k.strip()] = v.strip()
    return dict(path=path, attrs=attrs, curves={c: data[:, i] for i, c in enumerate(cols)}, columns=cols,
                help=col_help)


def x_values(run, xname):
    c = run["curves"]
    if xname == "oracle_calls":
        missing = [n for n in ORACLE_COLUMNS if n not in c]
        if missing:
            raise FigureInputError(f"{run['path']}: /curves lacks the oracle count column(s) {', '.join(missing)}")
        return sum(c[n] for n in ORACLE_COLUMNS)
    if xname not in c:
        raise FigureInputError(f"{run['path']}: /curves has no '{xname}' column")
    return c[xname]


def config_dict(attrs):
    """The resolved config (root attribute config) as {key: value}, without CONFIG_IGNORED."""
    out = {}
    for line in str(attrs.get("config", "")).splitlines():
        if " = " in line:
            k, v = line.split(" = ", 1)
            if k.strip() not in CONFIG_IGNORED:
                out[k.strip()] = v.strip()
    return out


def as_list(v):
    return [int(round(float(x))) for x in np.atleast_1d(np.asarray(v, dtype=np.float64))]


def setup_words(attrs):
    """'basic, r=[2]' for projected methods, '' for full-space ones (their rank equals m, SCHEMA.md)."""
    words = []
    variant = str(attrs.get("variant", "") or "")
    if variant:
        words.append(variant)
    if "rank" in attrs:
        rank = as_list(attrs["rank"])
        m = as_list(attrs["block_m"]) if "block_m" in attrs else None
        if m is None or len(m) != len(rank) or any(r < mm for r, mm in zip(rank, m)):
            words.append("r=[" + ",".join(str(r) for r in rank) + "]")
    return words


def status_of(attrs):
    return str(attrs.get("status", "?"))


def make_groups(runs):
    """Groups runs by (algorithm, variant, rank, config, status); returns a list of dicts in legend order."""
    groups = {}
    for r in runs:
        a = r["attrs"]
        setup = (str(a["algorithm"]), str(a.get("variant", "")), tuple(as_list(a["rank"])) if "rank" in a else (),
                 tuple(sorted(config_dict(a).items())))
        groups.setdefault((setup, status_of(a)), []).append(r)

    # Config keys that differ between groups of the same algorithm go into the labels.
    by_algo = {}
    for (setup, _), _rs in groups.items():
        by_algo.setdefault(setup[0], set()).add(setup)
    diff_keys = {}
    for algo, setups in by_algo.items():
        cfgs = [dict(s[3]) for s in setups]
        keys = sorted({k for c in cfgs for k in c})
        diff_keys[algo] = [k for k in keys if len({c.get(k, "(unset)") for c in cfgs}) > 1]

    def order(item):
        (setup, status), _ = item
        algo = setup[0]
        rank = ALGO_ORDER.index(algo) if algo in ALGO_ORDER else len(ALGO_ORDER)
        return (rank, algo, status != "done", status, setup[1], setup[2], setup[3])

    out = []
    for (setup, status), rs in sorted(groups.items(), key=order):
        a = rs[0]["attrs"]
        words = setup_words(a)
        cfg = config_dict(a)
        dk = diff_keys[setup[0]]
        kv = [f"{k}={cfg.get(k, '(unset)')}" for k in dk[:MAX_LABEL_KEYS]]
        if len(dk) > MAX_LABEL_KEYS:
            kv.append(f"+{len(dk) - MAX_LABEL_KEYS} more keys")
        words += kv
        label = setup[0] + (f" ({', '.join(words)})" if words else "")
        if status != "done":
            label += f" ({STATUS_WORD.get(status, status)})"
        seeds = sorted(int(r["attrs"]["seed"]) for r in rs)
        dup = sorted({s for s in seeds if seeds.count(s) > 1})
        if dup:
            print(f"{PROG}: warning: {label}: seed(s) {', '.join(map(str, dup))} appear more than once "
                  f"({', '.join(os.path.basename(r['path']) for r in rs)})", file=sys.stderr)
        out.append(dict(algorithm=setup[0], setup=setup, status=status, runs=rs, label=label, seeds=seeds))
    return out


def assign_styles(groups):
    """One colour per setup (the paper's colour for the first setup of a paper method), dashed when not done."""
    colors = {}
    extra = 0
    used_method_color = set()
    for g in groups:
        setup = g["setup"]
        if setup not in colors:
            key = STYLE_KEY.get(g["algorithm"], g["algorithm"])
            if key in common.METHOD_STYLE and key not in used_method_color:
                colors[setup] = dict(common.METHOD_STYLE[key])
                used_method_color.add(key)
            else:
                colors[setup] = dict(color=EXTRA_COLORS[extra % len(EXTRA_COLORS)],
                                     marker=EXTRA_MARKERS[extra % len(EXTRA_MARKERS)])
                extra += 1
        g["style"] = dict(colors[setup], ls="-" if g["status"] == "done" else "--")


def aggregate(group, metric, xname):
    """Per iteration value (union over seeds): median x, and the median and 20-80% band of the metric over the
    seeds that have a finite value there."""
    its = np.unique(np.concatenate([r["curves"]["iteration"] for r in group["runs"]]))
    n = len(group["runs"])
    X = np.full((its.size, n), np.nan)
    Y = np.full((its.size, n), np.nan)
    for j, r in enumerate(group["runs"]):
        idx = np.searchsorted(its, r["curves"]["iteration"])
        X[idx, j] = x_values(r, xname)
        Y[idx, j] = r["curves"][metric]
    Y[~np.isfinite(Y)] = np.nan
    X[~np.isfinite(X)] = np.nan
    keep = np.isfinite(Y).any(axis=1) & np.isfinite(X).any(axis=1)
    X, Y, its = X[keep], Y[keep], its[keep]
    x = np.nanmedian(X, axis=1)
    med = np.nanmedian(Y, axis=1)
    lo, hi = np.nanpercentile(Y, BAND, axis=1)
    last_it = max(float(r["curves"]["iteration"][-1]) for r in group["runs"])
    return dict(x=x, med=med, lo=lo, hi=hi, last_iteration=last_it)


def provenance_text(runs):
    def summary(name, what, plural=None):
        vals = {}
        for r in runs:
            a = r["attrs"]
            v = str(a.get(name, "?"))
            if name == "blas_vendor" and "blas_corename" in a:
                v += f" ({a['blas_corename']})"
            vals[v] = vals.get(v, 0) + 1
        if len(vals) == 1:
            return f"{what} {next(iter(vals))}"
        counts = ", ".join(f"{v} ({c} file{'s' if c != 1 else ''})" for v, c in vals.items())
        return f"mixed {plural or what + 's'}: {counts}"

    names = [os.path.basename(r["path"]) for r in runs]
    files = ", ".join(names[:3]) + (f", ... ({len(names)} files)" if len(names) > 3 else "")
    starts = sorted(str(r["attrs"].get("start_time", "?")) for r in runs)
    when = starts[0] if starts[0] == starts[-1] else f"{starts[0]} .. {starts[-1]}"
    parts = [files, summary("sbo_version", "sbo", "sbo versions"), summary("git_commit", "commit"),
             summary("blas_vendor", "BLAS", "BLAS libraries"), summary("hostname", "host"), when,
             summary("schema_version", "schema", "schema versions")]
    return "  |  ".join(parts)


def main(argv=None):
    args = parse_args(argv)
    common.apply_style()

    seen, runs = set(), []
    for path in args.inputs:
        real = os.path.realpath(path)
        if real in seen:
            print(f"{PROG}: warning: {path} given twice, used once", file=sys.stderr)
            continue
        seen.add(real)
        runs.append(read_run(path))

    tasks = {}
    for r in runs:
        tasks.setdefault(str(r["attrs"]["task"]), []).append(os.path.basename(r["path"]))
    if len(tasks) > 1:
        desc = "; ".join(f"{t}: {', '.join(v[:3])}{' ...' if len(v) > 3 else ''}" for t, v in tasks.items())
        raise Usage(f"the files mix tasks ({desc}); plot one task at a time")
    task = next(iter(tasks))

    available = [c for c in runs[0]["columns"] if all(c in r["curves"] for r in runs)]
    if args.metric not in available:
        raise Usage(f"unknown metric '{args.metric}'; available: {', '.join(available)}")

    groups = make_groups(runs)
    assign_styles(groups)
    for g in groups:
        g["agg"] = aggregate(g, args.metric, args.x)

    allv = np.concatenate([np.concatenate([g["agg"]["lo"], g["agg"]["hi"], g["agg"]["med"]]) for g in groups])
    allv = allv[np.isfinite(allv)]
    logy = args.logy
    if logy is None:
        logy = allv.size > 0 and allv.min() > 0 and allv.max() / allv.min() >= 100
    elif logy and allv.size and allv.min() <= 0:
        print(f"{PROG}: warning: {args.metric} has values <= 0; they are not shown on the log axis",
              file=sys.stderr)

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for i, g in enumerate(groups):
        d, st = g["agg"], g["style"]
        n = len(g["runs"])
        every = max(1, d["x"].size // 8)
        every = (i * every // len(groups), every)  # staggered, so that coinciding curves keep visible markers
        lbl = f"{g['label']}, {n} seed{'s' if n != 1 else ''}"
        ax.plot(d["x"], d["med"], color=st["color"], ls=st["ls"], marker=st["marker"], ms=4, markevery=every,
                label=lbl)
        if n > 1:
            ax.fill_between(d["x"], d["lo"], d["hi"], color=st["color"], alpha=0.18, lw=0)
        if g["status"] != "done" and d["x"].size:
            ax.plot(d["x"][-1:], d["med"][-1:], color=st["color"], marker="x", ms=8, mew=2, ls="none")
        print(f"  {lbl}: seeds {', '.join(map(str, g['seeds']))}; {d['x'].size} points, last iteration "
              f"{d['last_iteration']:.0f}; final median {args.metric} = {d['med'][-1]:.6g}")

    # A diverged run can reach 1e300 before it stops: the top of the axis follows the other runs, and the curve
    # leaves the axes at the top (its last point is marked x where it is visible).
    def values(gs):
        v = np.concatenate([np.concatenate([g["agg"]["lo"], g["agg"]["hi"], g["agg"]["med"]]) for g in gs])
        return v[np.isfinite(v) & ((v > 0) if logy else True)]
    div = [g for g in groups if g["status"] == "diverged"]
    rest = [g for g in groups if g["status"] != "diverged"]
    if div and rest:
        v, vall = values(rest), values(groups)
        if v.size and vall.size and vall.max() > v.max():
            lo, hi = vall.min(), v.max()
            if logy:
                ax.set_ylim(lo / 3, hi * 3)
            else:
                pad = 0.05 * (hi - lo if hi > lo else abs(hi) + 1)
                ax.set_ylim(lo - pad, hi + pad)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(X_LABELS[args.x])
    help_text = runs[0]["help"].get(args.metric, "")
    ax.set_ylabel(args.metric)
    if args.title:
        ax.set_title(args.title)
    else:
        t = f"{task}: {args.metric}" + (f" = {help_text}" if help_text and len(help_text) <= 60 else "")
        if all(len(g["runs"]) == 1 for g in groups):
            how = "one seed per curve"
        else:
            how = f"median over seeds, {BAND[0]}\u2013{BAND[1]}% band across seeds"
        ax.set_title(f"{t}\n{how}")
    ax.legend(loc="best", framealpha=0.9)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    footer = provenance_text(runs)
    fig.text(0.01, 0.005, footer, fontsize=6, color="0.45", ha="left", va="bottom", wrap=True)
    print(f"  provenance: {footer}")
    common.save(fig, args.out, args.name or f"{task}_{args.metric}_vs_{args.x}", args.dpi)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (Usage, FigureInputError) as e:
        print(f"{PROG}: {one_line(e)}", file=sys.stderr)
        sys.exit(2)
