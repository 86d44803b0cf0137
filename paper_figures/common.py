"""paper_figures/common.py: what every figure script shares: argument parsing, HDF5 attribute access with clear
errors, one style and one colour per method, the provenance footer, and saving PNG + PDF.

Figures read only the HDF5 files named on their command line (layouts: docs/SCHEMA.md); every number they draw
or print comes from those files. Exercised by: make figures, make figures-selftest (paper_figures/test_figures.py).
"""
import argparse
import os
import sys
from fractions import Fraction

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402

DEFAULT_OUTDIR = os.path.join("results", "figures")

# One colour and marker per method in every figure (the paper's four methods).
METHOD_STYLE = {
    "soba": dict(color="#1f77b4", marker="o"),
    "ma_soba": dict(color="#2ca02c", marker="s"),
    "naive": dict(color="#d62728", marker="v"),
    "bros": dict(color="#9467bd", marker="D"),
}


class FigureInputError(Exception):
    """An input file does not have the layout the figure needs; the message names the file and the item."""


def parse_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("inputs", nargs="+", metavar="FILE.h5", help="results file(s) written by the theory check")
    p.add_argument("--outdir", default=DEFAULT_OUTDIR, help="where PNG and PDF go (default: %(default)s)")
    p.add_argument("--dpi", type=int, default=150, help="PNG resolution (default: %(default)s)")
    return p.parse_args()


def apply_style():
    plt.rcParams.update({
        "figure.dpi": 100,
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.labelsize": 9,
        "legend.fontsize": 8,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "grid.linewidth": 0.5,
        "lines.linewidth": 1.2,
        "savefig.bbox": "tight",
        "pdf.fonttype": 42,  # embed TrueType so the PDF text stays text
    })


def decode(v):
    """HDF5 attribute value as Python: fixed-length byte strings -> str, size-1 arrays -> scalar."""
    if isinstance(v, (bytes, np.bytes_)):
        return v.decode("utf-8", "replace").rstrip("\x00")
    if isinstance(v, np.ndarray) and v.size == 1:
        return decode(v.reshape(-1)[0])
    return v


def root_attrs(f):
    """All root attributes of an open file, decoded (kept for the footer after the file is closed)."""
    return {k: decode(v) for k, v in f.attrs.items()}


def attr(obj, name, path, default=None, required=True):
    """Attribute `name` of an HDF5 group/file, decoded (bytes -> str, size-1 arrays -> scalars)."""
    if name in obj.attrs:
        return decode(obj.attrs[name])
    if required:
        where = obj.name if obj.name != "/" else "root"
        raise FigureInputError(f"{path}: attribute '{name}' missing on {where}")
    return default


def attr_float(obj, name, path):
    v = attr(obj, name, path)
    try:
        return float(v)
    except (TypeError, ValueError):
        raise FigureInputError(f"{path}: attribute '{name}' = {v!r} is not a number") from None


def attr_int(obj, name, path):
    return int(round(attr_float(obj, name, path)))


def dataset(f, name, path, ndim=None):
    """A dataset as a float64 array; ndim=2 turns a 1-D dataset (one column written as 1-D) into a column."""
    if name not in f:
        raise FigureInputError(f"{path}: dataset '{name}' missing")
    a = np.asarray(f[name][()], dtype=np.float64)
    if ndim == 2 and a.ndim == 1:
        a = a[:, None]
    if ndim is not None and a.ndim != ndim:
        raise FigureInputError(f"{path}: dataset '{name}' has shape {a.shape}, expected {ndim}-D")
    return a


def group(f, name, path):
    if name not in f or not isinstance(f[name], h5py.Group):
        raise FigureInputError(f"{path}: group '{name}' missing")
    return f[name]


def _check_id(name):
    """'TC-6', 'tc6' and 'TC6' name the same check."""
    return str(name).lower().replace("-", "").replace("_", "")


def open_check(path, theory_check):
    """Opens a results file and checks its root attribute theory_check ('TC-6' or 'tc6')."""
    if not os.path.isfile(path):
        raise FigureInputError(f"{path}: no such file (run 'make reproduce' first)")
    f = h5py.File(path, "r")
    got = attr(f, "theory_check", path)
    if _check_id(got) != _check_id(theory_check):
        f.close()
        raise FigureInputError(f"{path}: theory_check = '{got}', this figure needs '{theory_check}'")
    return f


def fraction_label(value, max_den=1000):
    """'-20/39' when value is that rational to double precision, else the decimal (no target is hard-coded)."""
    fr = Fraction(value).limit_denominator(max_den)
    if abs(float(fr) - value) <= 1e-12 * max(1.0, abs(value)):
        s = str(fr)
    else:
        s = f"{value:.6g}"
    return s.replace("-", "\u2212")


def method_label(g, method, path):
    return str(attr(g, "label", path, default=method, required=False))


def provenance_footer(fig, attrs, path):
    """Small grey footer: where the numbers came from. attrs: root_attrs() of the file (written by the C side's
    sbo_h5_write_provenance: git_commit, blas_vendor, blas_corename, hostname, start_time, ...)."""
    def a(name):
        return str(attrs.get(name, "?"))
    blas = a("blas_vendor")
    core = a("blas_corename")
    if core != "?":
        blas += f" ({core})"
    parts = [
        f"{os.path.basename(path)}",
        f"{a('theory_check')} mode={a('mode')}",
        f"sbo {a('sbo_version')} commit {a('git_commit')}",
        f"BLAS {blas}",
        f"host {a('hostname')}",
        f"{a('start_time')}",
        f"schema v{a('schema_version')}",
    ]
    fig.text(0.01, 0.005, "  |  ".join(parts), fontsize=6, color="0.45", ha="left", va="bottom")


def save(fig, outdir, stem, dpi):
    """Writes outdir/stem.png and outdir/stem.pdf; returns the two paths."""
    os.makedirs(outdir, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        p = os.path.join(outdir, f"{stem}.{ext}")
        fig.savefig(p, dpi=dpi, metadata={"Creator": "sbo paper_figures"} if ext == "pdf" else None)
        paths.append(p)
    plt.close(fig)
    for p in paths:
        print(f"wrote {p}")
    return paths


def run(main_for_file, description):
    """Common driver: parse arguments, draw one figure per input file, exit 1 with a one-line message on bad input."""
    args = parse_args(description)
    apply_style()
    status = 0
    for path in args.inputs:
        try:
            main_for_file(path, args)
        except FigureInputError as e:
            print(f"{os.path.basename(sys.argv[0])}: {e}", file=sys.stderr)
            status = 1
        except OSError as e:  # unreadable or not HDF5
            print(f"{os.path.basename(sys.argv[0])}: {path}: cannot read ({e})", file=sys.stderr)
            status = 1
    return status
