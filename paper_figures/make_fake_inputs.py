#!/usr/bin/env python3
"""paper_figures/make_fake_inputs.py: synthetic TC-6 and TC-7 results files in the layout the C theory checks
write, for paper_figures/test_figures.py only. The numbers are made up to look plausible; they are no result.

Usage:  .venv/bin/python paper_figures/make_fake_inputs.py OUTDIR   (writes OUTDIR/tc6_fake.h5, OUTDIR/tc7_fake.h5)
"""
import os
import sys

import h5py
import numpy as np

MODE = "selftest"


def _provenance(f, check):
    # The C side writes strings as fixed-length or variable-length; exercise both decodings.
    # The C harness writes "TC-6"; the figures also accept "tc6".
    f.attrs["theory_check"] = np.bytes_(check)
    f.attrs["mode"] = MODE
    f.attrs["schema_version"] = np.int64(1)
    f.attrs["sbo_version"] = "0.1.0"
    f.attrs["git_commit"] = np.bytes_("0123456789ab-fake")
    f.attrs["build_flags"] = "GNU 12.2.0 RelWithDebInfo sanitize=OFF (fake)"
    f.attrs["blas_vendor"] = np.bytes_("OpenBLAS")
    f.attrs["blas_corename"] = "Prescott"
    f.attrs["hostname"] = "fake-host"
    f.attrs["start_time"] = "2026-01-01T00:00:00Z"


def write_tc6(path, n_seeds=16, K=6000, tail=3000, n_points=300, drop_attr=None, seed=1):
    rng = np.random.default_rng(seed)
    target_naive, x_star = -20.0 / 39.0, -1.0
    it = np.linspace(0, K - 1, n_points).round()
    with h5py.File(path, "w") as f:
        _provenance(f, "TC-6")
        f.attrs["target_naive"] = target_naive
        f.attrs["x_star"] = x_star
        f.attrs["K"] = np.int64(K)
        f.attrs["tail"] = np.int64(tail)
        for m, lim, sd, label in (("naive", target_naive, 0.004, "naive projected"),
                                  ("bros", x_star, 0.012, "BROS"),
                                  ("ma_soba", x_star, 0.0, "MA-SOBA")):
            x = lim + (2.0 - lim) * np.exp(-it / (K / 25.0))[None, :] + sd * rng.standard_normal((n_seeds, n_points))
            in_tail = it >= K - tail
            tail_mean = x[:, in_tail].mean(axis=1)
            g = f.create_group(f"tc6/{m}")
            g["iteration"] = it
            g["x"] = x
            g["tail_mean"] = tail_mean
            g.attrs["mean"] = tail_mean.mean()
            g.attrs["se"] = tail_mean.std(ddof=1) / np.sqrt(n_seeds) if n_seeds > 1 else 0.0
            g.attrs["label"] = label
        if drop_attr:
            del f.attrs[drop_attr]


def write_tc7(path, n_seeds=16, Ks=(1e3, 3e3, 1e4), g_one_dim=False, seed=2):
    rng = np.random.default_rng(seed)
    plateau = 0.263148
    K = np.asarray(Ks, dtype=np.float64)
    with h5py.File(path, "w") as f:
        _provenance(f, "tc7")
        f.attrs["plateau"] = plateau
        for k, v in (("m", 12), ("n", 3), ("r", 4), ("d", 5)):
            f.attrs[k] = np.int64(v)
        for m, c, label in (("soba", 1.8, "SOBA"), ("ma_soba", 2.2, "MA-SOBA"),
                            ("naive", None, "naive projected"), ("bros", 5.5, "BROS")):
            noise = np.exp(0.1 * rng.standard_normal((K.size, n_seeds)))
            if c is None:
                G = plateau * (1.0 + 4.0 / np.sqrt(K))[:, None] * noise
            else:
                G = c / np.sqrt(K)[:, None] * noise
            slope = np.polyfit(np.log(K), np.log(G.mean(axis=1)), 1)[0]
            g = f.create_group(f"tc7/{m}")
            g["K"] = K
            g["G"] = G[:, 0] if g_one_dim else G
            g.attrs["slope"] = slope
            g.attrs["label"] = label


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.splitlines()[-1].strip())
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    write_tc6(os.path.join(out, "tc6_fake.h5"))
    write_tc7(os.path.join(out, "tc7_fake.h5"))
    print(f"wrote {out}/tc6_fake.h5 and {out}/tc7_fake.h5")
