#!/usr/bin/env python3
"""tests/check_sweep_bitident.py: runs one data_cleaning MLP BROS run (mlp_bros_r64_s1) and one vit_reweight run
(vit_bros_r8_s1) both ways, shortened to ITERS iterations (a row every 10): the old path (`sbo run` with the old shell array's arguments,
git revision OLD_REV, then --set run.iters=ITERS) and the new one (`sbo sweep configs/sweeps/<cfg>.ini --fresh --set
run.iters=ITERS`, checkpoints every 20 iterations, the grid narrowed to that run with --set sweep.*), and checks that the two files' /curves are equal
bit for bit in every column but the time columns. Needs .venv/bin/python (h5py) and the Fashion-MNIST data.
Usage (repository root, after make build): .venv/bin/python tests/check_sweep_bitident.py [--iters 50] [--old-rev REV]
Exit status: 0 equal, 1 a difference."""
import argparse
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_sweep_grids import old_runs  # noqa: E402

CASES = [  # old script, run name, sweep config, --sets narrowing the grid to that run
    ("reproduce_neural.sh", "mlp_bros_r64_s1", "rank_mlp", ["sweep.algorithms=bros", "sweep.algo.rank=64"]),
    ("reproduce_transformers.sh", "vit_bros_r8_s1", "vit_claim", ["sweep.algorithms=bros", "sweep.seeds=1"]),
]


def curves(path):
    with h5py.File(path, "r") as f:
        d = f["/curves"]
        c = d.attrs["columns"]
        cols = (c.decode() if isinstance(c, bytes) else str(c)).split(",")
        return cols, np.asarray(d[...]), f["/"].attrs["config"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--old-rev", default="4ec9d65")
    ap.add_argument("--build", default=os.environ.get("BUILD_DIR", "build"))
    a = ap.parse_args()
    sbo = os.path.abspath(os.path.join(a.build, "sbo"))
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for script, name, cfg, narrow in CASES:
            raw = old_runs(a.old_rev, script, "quick", a.build, raw=True)[name]
            task, algo, seed, extra = raw
            old_f = f"{tmp}/old_{name}.h5"
            cmd = [sbo, "run", "--task", task, "--algo", algo, "--seed", seed, "--out", old_f, *extra.split(),
                   "--set", f"run.iters={a.iters}", "--set", "run.eval_every=10", "--quiet"]
            env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
            subprocess.run(cmd, check=True, env=env)
            sets = [x for kv in narrow + [f"run.iters={a.iters}", "run.eval_every=10", "sweep.checkpoint_every=20"] for x in ("--set", kv)]
            subprocess.run([sbo, "sweep", f"configs/sweeps/{cfg}.ini", "--out", f"{tmp}/new", "--fresh", *sets],
                           check=True, env=env)
            cols_o, c_o, cfg_o = curves(old_f)
            cols_n, c_n, cfg_n = curves(f"{tmp}/new/{name}.h5")
            if cols_o != cols_n or c_o.shape != c_n.shape:
                print(f"{name}: columns or shape differ: {cols_o} {c_o.shape} / {cols_n} {c_n.shape}"); bad += 1
                continue
            timecols = [i for i, c in enumerate(cols_o) if "time" in c]
            keep = [i for i in range(len(cols_o)) if i not in timecols]
            same = np.array_equal(c_o[:, keep].view(np.uint64) if c_o.dtype == np.float64 else c_o[:, keep],
                                  c_n[:, keep].view(np.uint64) if c_n.dtype == np.float64 else c_n[:, keep])
            print(f"{name}: {c_o.shape[0]} rows x {len(keep)} columns compared ({', '.join(cols_o[i] for i in keep)}; "
                  f"time columns left out: {', '.join(cols_o[i] for i in timecols)}): "
                  f"{'bit-identical' if same else 'DIFFERENT'}; config attribute {'equal' if cfg_o == cfg_n else 'DIFFERENT'}")
            bad += (not same) + (cfg_o != cfg_n)
    print("check_sweep_bitident:", "ALL EQUAL" if not bad else f"{bad} differences")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
