#!/usr/bin/env python3
"""paper_figures/fig_rate.py: the rate check (PAPER.md claim 4; ALGORITHMS.md §8, TC-7).

Left: G(K) = (1/K) sum_{k<K} ||grad Phi(x_k)||^2 against K, log-log, mean over seeds with a 20-80% band across seeds,
for SOBA, MA-SOBA, naive and BROS; a dashed line at naive's closed-form plateau (root attribute plateau) and a
K^(-1/2) reference line anchored at MA-SOBA's first point. Legend entries carry each method's fitted slope
(group attribute slope, computed by the C check).
Right: sqrt(K) * G(K), which stays flat for an O(K^-1/2) method and grows for a method that stalls.

Input: the TC-7 results file (root attrs theory_check="TC-7" (or "tc7"), mode, plateau, m, n, r, d; groups
/tc7/{soba,ma_soba,naive,bros} with datasets K (n_K) and G (n_K x n_seeds) and attrs slope, label).
Usage:  .venv/bin/python paper_figures/fig_rate.py results/quick/tc7_rate.h5 [--outdir DIR]
Writes DIR/tc7_rate_<mode>.png and .pdf.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (style, attributes, footer, saving)
from common import FigureInputError  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402

METHODS = ("soba", "ma_soba", "naive", "bros")
BAND = (20, 80)  # percentiles across seeds



def read(path):
    with common.open_check(path, "tc7") as f:
        d = dict(
            mode=str(common.attr(f, "mode", path)),
            plateau=common.attr_float(f, "plateau", path),
            dims={k: common.attr_int(f, k, path) for k in ("m", "n", "r", "d")},
            methods={},
            root_attrs=common.root_attrs(f),
        )
        for m in METHODS:
            g = common.group(f, f"tc7/{m}", path)
            K = common.dataset(f, f"tc7/{m}/K", path).ravel()
            G = common.dataset(f, f"tc7/{m}/G", path, ndim=2)
            if G.shape[0] != K.size and G.shape[1] == K.size:
                raise FigureInputError(f"{path}: tc7/{m}/G has shape {G.shape}; expected (n_K={K.size}, n_seeds)")
            if G.shape[0] != K.size:
                raise FigureInputError(f"{path}: tc7/{m}/G has {G.shape[0]} rows, K has {K.size} values")
            d["methods"][m] = dict(K=K, G=G, slope=common.attr_float(g, "slope", path),
                                   label=common.method_label(g, m, path))
    return d


def draw(path, args):
    d = read(path)
    fig, (ax, axs) = plt.subplots(1, 2, figsize=(11, 5.2), gridspec_kw=dict(width_ratios=[1.3, 1]))
    n_seeds = d["methods"]["ma_soba"]["G"].shape[1]

    for m in METHODS:
        r = d["methods"][m]
        st = common.METHOD_STYLE[m]
        mean = r["G"].mean(axis=1)
        lo, hi = np.percentile(r["G"], BAND, axis=1)
        lbl = f"{r['label']} (slope {r['slope']:+.3f})"
        ax.plot(r["K"], mean, color=st["color"], marker=st["marker"], ms=4, label=lbl)
        ax.fill_between(r["K"], lo, hi, color=st["color"], alpha=0.18, lw=0)
        sq = np.sqrt(r["K"])[:, None] * r["G"]
        slo, shi = np.percentile(sq, BAND, axis=1)
        axs.plot(r["K"], sq.mean(axis=1), color=st["color"], marker=st["marker"], ms=4, label=r["label"])
        axs.fill_between(r["K"], slo, shi, color=st["color"], alpha=0.18, lw=0)

    ax.axhline(d["plateau"], color=common.METHOD_STYLE["naive"]["color"], ls="--", lw=1.0,
               label=f"naive predicted plateau ({d['plateau']:.4g})")
    ma = d["methods"]["ma_soba"]
    K0, G0 = ma["K"][0], ma["G"][0].mean()
    Kref = np.array([ma["K"].min(), ma["K"].max()])
    ax.plot(Kref, G0 * np.sqrt(K0 / Kref), color="0.35", ls=":", lw=1.2,
            label="\u221d K$^{-1/2}$ (anchored at MA-SOBA's first point)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("K (iterations)")
    ax.set_ylabel("G(K) = (1/K) \u03a3$_{k<K}$ \u2016\u2207\u03a6(x$_k$)\u2016\u00b2")
    ax.set_title(f"mean over seeds, {BAND[0]}\u2013{BAND[1]}% band")

    axs.set_xscale("log")
    axs.set_yscale("log")
    axs.set_xlabel("K (iterations)")
    axs.set_ylabel("\u221aK \u00b7 G(K)")
    axs.set_title("\u221aK\u00b7G(K): flat for an O(K$^{-1/2}$) rate")

    dims = d["dims"]
    fig.suptitle(f"TC-7, rate on the noisy quadratic (m = {dims['m']}, n = {dims['n']}, r = {dims['r']}, "
                 f"d = {dims['d']}; {d['mode']}: {n_seeds} seed{'s' if n_seeds != 1 else ''})", fontsize=10)
    for a in (ax, axs):
        a.yaxis.set_minor_formatter(mticker.LogFormatterSciNotation(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
        a.tick_params(axis="y", which="minor", labelsize=7)
    # One legend for both panels, below them, so that no curve is hidden.
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False, bbox_to_anchor=(0.5, 0.035))
    fig.tight_layout(rect=(0, 0.17, 1, 1))
    common.provenance_footer(fig, d["root_attrs"], path)
    common.save(fig, args.outdir, f"tc7_rate_{d['mode']}", args.dpi)


if __name__ == "__main__":
    sys.exit(common.run(draw, __doc__.splitlines()[0]))
