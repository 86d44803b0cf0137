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


RUN_COUNTERS = ("grad_lower", "grad_upper_Y", "grad_upper_x", "hvp", "reduced_hvp", "cross", "lower_samples",
                "upper_samples")


def write_run(path, algorithm, seed, iterations, calls_per_iter, step_s_per_iter, metrics, config,
              task="data_cleaning", status="done", variant="", rank=(784, 1), block_m=(784, 1)):
    """A synthetic `sbo run` file (docs/SCHEMA.md: the root attributes and /curves), for test_fig_neural.py.
    iterations: k of each row; calls_per_iter: {counter: calls per step} (missing counters stay 0; the sample
    counters default to one minibatch per step); step_s_per_iter: seconds per step; metrics: {name: one value per
    row}, in column order; config: {key: value}, written as the sorted 'key = value' text."""
    k = np.asarray(iterations, dtype=np.float64)
    calls = dict({"lower_samples": 1, "upper_samples": 1}, **calls_per_iter)
    cols = ["iteration", "step_time_s"] + list(RUN_COUNTERS) + list(metrics) + ["n_clips"]
    data = np.column_stack([k, step_s_per_iter * k] + [calls.get(c, 0) * k for c in RUN_COUNTERS]
                           + [np.asarray(v, dtype=np.float64) for v in metrics.values()] + [np.zeros_like(k)])
    exit_code = {"done": 0, "diverged": 3, "interrupted": 130}.get(status, 1)
    with h5py.File(path, "w") as f:
        _provenance(f, "none")
        del f.attrs["theory_check"], f.attrs["mode"]  # a run file has neither
        f.attrs["command_line"] = f"build/sbo run --task {task} --algo {algorithm} --seed {seed} (fake)"
        for name, v in (("status", status), ("exit_code", exit_code),
                        ("end_time", "2026-01-01T00:10:00Z"), ("task", task), ("task_description", "fake"),
                        ("algorithm", algorithm), ("algorithm_description", "fake"),
                        ("config", "\n".join(f"{a} = {b}" for a, b in sorted(config.items()))),
                        ("seed", seed), ("iterations_requested", int(k[-1])), ("iterations", int(k[-1])),
                        ("eval_every", int(k[1] - k[0]) if k.size > 1 else 1),
                        ("step_time_s", step_s_per_iter * k[-1]), ("wall_time_s", 1.1 * step_s_per_iter * k[-1]),
                        ("n_clips", 0), ("variant", variant), ("rank", np.asarray(rank, dtype=np.int64)),
                        ("block_m", np.asarray(block_m, dtype=np.int64)), ("block_n", np.full(len(block_m), 10))):
            f.attrs[name] = np.int64(v) if isinstance(v, int) else v
        ds = f.create_dataset("curves", data=data, maxshape=(None, len(cols)), chunks=(256, len(cols)),
                               shuffle=True, compression="gzip", compression_opts=4)
        ds.attrs["columns"] = ",".join(cols)
        ds.attrs["column_help"] = "\n".join(f"{c}: fake {c}" for c in cols)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.splitlines()[-1].strip())
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    write_tc6(os.path.join(out, "tc6_fake.h5"))
    write_tc7(os.path.join(out, "tc7_fake.h5"))
    print(f"wrote {out}/tc6_fake.h5 and {out}/tc7_fake.h5")
