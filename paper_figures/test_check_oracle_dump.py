#!/usr/bin/env python3
"""paper_figures/test_check_oracle_dump.py: self-test of check_oracle_dump.py on real `sbo oracle-dump` files.

Makes dumps with the sbo binary ($SBO_BIN, default build/sbo, relative to the repository root) into a temporary
directory, on small splits (task.hidden=16, n_train=300, n_val=200, n_test=100, batches of 64):
  * data_cleaning linear, data_cleaning mlp with relu, tanh and gelu, hyper_rep with relu and gelu, vit_reweight
    (a tiny 2-block ViT with gelu and with relu, batches of 16), each in float32 and float64:
    check_oracle_dump.py must pass (exit 0); the float64 gelu ones also with --selfcheck (the script's own H[V]
    and J[Z] against central differences);
  * power: copies of a dump with one output corrupted (hvp_V/W1 x 1.01, cross_Z sign flipped, one entry of
    reduced/hvp_X, grad_upper_x x 1.001, the loss attribute x 1.001, a float32 dump relabelled float64; for the
    ViT hvp_V/Wq0 x 1.01, grad_lower_Y/ln1_0_gain x 1.01 and cross_Z x 1.01) must FAIL (exit 1);
  * ReLU kinks: a float64 dump (data_cleaning mlp, and a ViT with relu) whose lower-batch outputs are rewritten as
    if the engine had put the pre-activation nearest 0 on the other side of the kink fails without the kink
    resolution and passes with it (--kink-band);
  * data_mixture (a 1-block byte LM, context 8, width 8) on three text domains generated under the work directory
    (task.text_dir; one gzipped, one with a dot file the reader skips): float64 rmsnorm + gelu (also --selfcheck)
    and float32 layernorm + swiglu with a held-out target pass; copies with hvp_V/l0.Wq x 1.01, cross_Z x 1.01,
    one entry of grad_lower_Y/l0.W3, or the upper sample ids shifted by one byte FAIL (exit 1); and, where the
    Debian text domains are installed (docs/DATA.md), a float32 dump on the default eight domains passes;
  * quadratic and counterexample dumps: "no network: skipped", exit 0.
The network cases are skipped (with a message) when /usr/share/datasets/fashion-mnist is missing, everything when
the binary is missing. Runtime: about 20-35 s on an idle machine (the ViT cases ~10 s of it, data_mixture ~3 s).

Usage:  .venv/bin/python paper_figures/test_check_oracle_dump.py [--keep DIR]
Prints one line per case and 'N passed, N failed'; exits 1 if any case failed, 2 if the dumps could not be made.
"""
import argparse
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import selftest  # noqa: E402  (shared case loop and working directory)

ROOT = os.path.dirname(HERE)
SCRIPT = os.path.join(HERE, "check_oracle_dump.py")
DATASET = "/usr/share/datasets/fashion-mnist"
SMALL = ["task.hidden=16", "task.n_train=300", "task.n_val=200", "task.n_test=100", "task.batch=64",
         "task.upper_batch=64"]
NETS = {  # name -> (task, settings)
    "dc_linear": ("data_cleaning", ["task.model=linear"]),
    "dc_mlp_relu": ("data_cleaning", ["task.model=mlp", "task.activation=relu"]),
    "dc_mlp_tanh": ("data_cleaning", ["task.model=mlp", "task.activation=tanh"]),
    "dc_mlp_gelu": ("data_cleaning", ["task.model=mlp", "task.activation=gelu"]),
    "hr_relu": ("hyper_rep", ["task.activation=relu"]),
    "hr_gelu": ("hyper_rep", ["task.activation=gelu"]),
    # a tiny ViT (16 tokens of 49 pixels, width 8, 2 heads, 2 blocks, feed-forward 16): about 1 s per check
    "vit_gelu": ("vit_reweight", ["task.width=8", "task.heads=2", "task.depth=2", "task.activation=gelu",
                                  "task.batch=16", "task.upper_batch=16"]),
    "vit_relu": ("vit_reweight", ["task.width=8", "task.heads=2", "task.depth=2", "task.activation=relu",
                                  "task.batch=16", "task.upper_batch=16"]),
}
PRECISIONS = ("float32", "float64")
# data_mixture on three generated text domains (task.text_dir; a, b gzipped, c with a dot file that is skipped):
# a 1-block byte LM, context 8, width 8, 2 heads, feed-forward 16; about 0.5 s per check
MIX = ["task.domains=a,b,c", "task.chunk_bytes=64", "task.domain_bytes=1024", "task.context=8", "task.width=8",
       "task.heads=2", "task.layers=1", "task.ffn_hidden=16", "task.batch_per_domain=3", "task.upper_batch=6"]
MIX_NETS = {  # name -> (settings, precision)
    "mix_rms_gelu": (["task.norm=rmsnorm", "task.ffn=gelu"], "float64"),
    "mix_ln_swiglu_heldout": (["task.norm=layernorm", "task.ffn=swiglu", "task.target=c"], "float32"),
}
# the installed Debian text domains (docs/DATA.md), used when every default domain is there
MIX_INSTALLED = ["/usr/share/games/fortunes/de", "/usr/share/games/fortunes/es", "/usr/share/games/fortunes/it",
                 "/usr/share/dictd/jargon.dict.dz", "/usr/share/dictd/foldoc.dict.dz", "/usr/include/stdio.h"]


def make_text_domains(root):
    """Three small domains of distinct letter statistics under root/{a,b,c} (> 1024 bytes each)."""
    import gzip
    rng = np.random.default_rng(7)
    for name, alphabet in (("a", b"abcde fgh\n"), ("b", b"XYZ xyz 0123\n"), ("c", b"the quick brown fox\n")):
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for j in range(2):
            text = bytes(rng.choice(list(alphabet), size=700).astype(np.uint8))
            path = os.path.join(root, name, f"{name}{j}.txt")
            if name == "b":
                with gzip.open(path + ".gz", "wb") as fh:
                    fh.write(text)
            else:
                with open(path, "wb") as fh:
                    fh.write(text)
    with open(os.path.join(root, "c", ".skipped"), "wb") as fh:
        fh.write(b"\0" * 100)


def sbo_bin():
    b = os.environ.get("SBO_BIN", os.path.join("build", "sbo"))
    return b if os.path.isabs(b) else os.path.join(ROOT, b)


def make_dump(task, sets, out, seed=1, config=None):
    cmd = [sbo_bin(), "oracle-dump", "--task", task, "--seed", str(seed), "--out", out]
    if config:   # a task's own config, [algo] section included: oracle-dump reads its task keys
        cmd += ["--config", os.path.join(ROOT, config)]
    for s in sets:
        cmd += ["--set", s]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if p.returncode != 0 or not os.path.isfile(out):
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {(p.stderr or p.stdout).strip()[-400:]}")


def run_check(path, *extra):
    p = subprocess.run([sys.executable, SCRIPT, path] + list(extra), capture_output=True, text=True, cwd=ROOT)
    return p.returncode, p.stdout + p.stderr


def expect(path, rc_want, *extra, contains=None):
    """None when check_oracle_dump.py exits rc_want (and prints `contains`); else a message with the output."""
    rc, text = run_check(path, *extra)
    if rc != rc_want:
        return f"exit {rc}, expected {rc_want}:\n" + text
    if contains and contains not in text:
        return f"output lacks '{contains}':\n" + text
    return None


def corrupted(src, dst, edit):
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        edit(f)
    return dst


def scale_ds(name, factor):
    def edit(f):
        f[name][...] = f[name][()] * factor
    return edit


def bump_entry(name):
    def edit(f):   # one entry moved by 1% of the block's largest magnitude
        a = f[name][()]
        flat = a.reshape(-1)
        flat[flat.size // 2] += 0.01 * np.max(np.abs(flat))
        f[name][...] = a
    return edit


def scale_attr(name, factor):
    def edit(f):
        f.attrs[name] = float(f.attrs[name]) * factor
    return edit


def relabel_float64(f):
    f.attrs["precision"] = np.int64(64)


def flip_relu_mask(src, dst):
    """Simulates an engine whose rounding put the lower-batch ReLU pre-activation nearest 0 on the other side of the
    kink: rewrites every lower-batch output of a copy of a float64 dump with that one (sample, unit) mask flipped
    (computed with check_oracle_dump's own functions). Returns (path, that pair's |h| / (|a||W1| + |b1|))."""
    import check_oracle_dump as C
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        attrs = dict(f.attrs)
        t = C.make_task(f, attrs, C.parse_config(attrs["config"]))
        names = t.names
        x = np.asarray(f["point/x"][()], dtype=float).ravel()
        Y, V, Z = (C.read_tuple(f, g, names) for g in ("point/Y", "directions/V", "directions/Z"))
        X = C.read_tuple(f, "reduced/X", names)
        P = {k: f["reduced/P"][k][()] for k in f["reduced/P"]}
        h, scale = C.relu_preacts(t, t.lower, x, Y)
        r = np.abs(h) / scale
        s, j = np.unravel_index(np.argmin(r), r.shape)
        t.lower["override"] = (np.array([s]), np.array([j]), np.array([0.0 if h[s, j] > 0 else 1.0]))
        gl = t.grad_lower_Y(x, Y)
        outs = {"oracles/grad_lower_Y": gl, "oracles/hvp_V": t.hvp(x, Y, V),
                "reduced/grad_lower_Y": C.blocks_PtA(P, gl),
                "reduced/hvp_X": C.blocks_PtA(P, t.hvp(x, Y, C.blocks_PA(P, X)))}
        for grp, blocks in outs.items():
            for k in names:
                f[f"{grp}/{k}"][...] = blocks[k].reshape(f[f"{grp}/{k}"].shape)
        f["oracles/cross_Z"][...] = t.cross(x, Y, Z).reshape(f["oracles/cross_Z"].shape)
    return dst, float(r[s, j])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", metavar="DIR", help="keep the dumps in DIR (default: a temporary directory)")
    a = ap.parse_args()
    if not os.path.isfile(sbo_bin()):
        print(f"check-oracle-dump-selftest: skipped: {sbo_bin()} is missing (build it with `make`)")
        return 0
    have_data = os.path.isdir(DATASET)
    work, tmp = selftest.work_dir(a.keep, "sbo_oracle_dump_")
    jobs = []
    if have_data:
        for name, (task, sets) in NETS.items():
            for prec in PRECISIONS:
                jobs.append((task, SMALL + sets + [f"task.precision={prec}"], os.path.join(work, f"{name}_{prec}.h5")))
        jobs.append(("vit_reweight", SMALL + NETS["vit_gelu"][1] + ["task.precision=float64"],
                     os.path.join(work, "vit_config.h5"), 1, "configs/vit_reweight.ini"))
    for task in ("quadratic", "counterexample"):
        jobs.append((task, [], os.path.join(work, f"{task}.h5")))
    text_dir = os.path.join(work, "text")
    make_text_domains(text_dir)
    for name, (sets, prec) in MIX_NETS.items():
        jobs.append(("data_mixture", MIX + sets + [f"task.text_dir={text_dir}", f"task.precision={prec}"],
                     os.path.join(work, f"{name}.h5")))
    have_text = all(os.path.exists(p) for p in MIX_INSTALLED)
    if have_text:
        jobs.append(("data_mixture", MIX[3:] + ["task.precision=float32", "task.batch_per_domain=1"],
                     os.path.join(work, "mix_installed.h5")))
    try:
        with ThreadPoolExecutor(max_workers=4) as ex:
            list(ex.map(lambda j: make_dump(*j), jobs))
    except RuntimeError as e:
        print(f"check-oracle-dump-selftest: could not make the dumps: {e}")
        return 2

    cases = []
    for task in ("quadratic", "counterexample"):
        cases.append((f"{task}: no network: skipped, exit 0",
                      lambda p=os.path.join(work, f"{task}.h5"): expect(p, 0, contains="no network: skipped")))
    m = lambda name: os.path.join(work, f"{name}.h5")  # noqa: E731
    for name, (_, prec) in MIX_NETS.items():
        cases.append((f"data_mixture {name} {prec}: passes", lambda p=m(name): expect(p, 0, contains="\nPASS")))
    cases.append(("data_mixture mix_rms_gelu float64 --selfcheck: the script's own H[V], J[Z] agree with central "
                  "differences", lambda: expect(m("mix_rms_gelu"), 0, "--selfcheck", contains="self-check")))
    if have_text:
        cases.append(("data_mixture on the installed Debian domains float32: passes",
                      lambda: expect(m("mix_installed"), 0, contains="\nPASS")))
    else:
        print("check-oracle-dump-selftest: data_mixture on the installed domains skipped (docs/DATA.md packages)")

    def shift_upper_ids(f):   # every upper sequence one byte later: other tokens, other targets
        f["batch/upper/sample_ids"][...] = f["batch/upper/sample_ids"][()] + 1
    mix_power = [
        ("mix_rms_gelu", "hvp_V/l0.Wq x 1.01", scale_ds("oracles/hvp_V/l0.Wq", 1.01), "hvp_V/l0.Wq"),
        ("mix_ln_swiglu_heldout", "cross_Z x 1.01", scale_ds("oracles/cross_Z", 1.01), "cross_Z"),
        ("mix_ln_swiglu_heldout", "one entry of grad_lower_Y/l0.W3", bump_entry("oracles/grad_lower_Y/l0.W3"),
         "grad_lower_Y/l0.W3"),
        ("mix_rms_gelu", "upper sample ids shifted by one byte", shift_upper_ids, "grad_upper_Y/E"),
    ]
    for i, (name, what, edit, row) in enumerate(mix_power):
        cases.append((f"power: data_mixture {name} with {what}: FAILS on {row}",
                      lambda name=name, edit=edit, row=row, i=i:
                      expect(corrupted(m(name), os.path.join(work, f"mixpower{i}.h5"), edit), 1, contains=row)))
    if not have_data:
        print(f"check-oracle-dump-selftest: network cases skipped: {DATASET} is missing "
              "(Debian package dataset-fashion-mnist)")
    else:
        d = lambda name, prec: os.path.join(work, f"{name}_{prec}.h5")  # noqa: E731
        for name in NETS:
            for prec in PRECISIONS:
                cases.append((f"{name} {prec}: passes", lambda p=d(name, prec): expect(p, 0, contains="\nPASS")))
        cases.append(("vit_reweight dumped with --config configs/vit_reweight.ini ([algo] section ignored): passes",
                      lambda: expect(os.path.join(work, "vit_config.h5"), 0, contains="\nPASS")))
        for name in ("dc_mlp_gelu", "hr_gelu", "vit_gelu"):
            cases.append((f"{name} float64 --selfcheck: the script's own H[V], J[Z] agree with central differences",
                          lambda p=d(name, "float64"): expect(p, 0, "--selfcheck", contains="self-check")))
        w = lambda stem: os.path.join(work, stem + ".h5")  # noqa: E731
        power = [
            ("dc_mlp_relu", "float32", "hvp_V/W1 x 1.01", scale_ds("oracles/hvp_V/W1", 1.01), "hvp_V/W1"),
            ("dc_mlp_tanh", "float64", "hvp_V/W1 x 1.01", scale_ds("oracles/hvp_V/W1", 1.01), "hvp_V/W1"),
            ("dc_mlp_gelu", "float32", "cross_Z sign flipped", scale_ds("oracles/cross_Z", -1.0), "cross_Z"),
            ("hr_gelu", "float32", "cross_Z sign flipped", scale_ds("oracles/cross_Z", -1.0), "cross_Z"),
            ("hr_relu", "float32", "hvp_V/W_head x 1.01", scale_ds("oracles/hvp_V/W_head", 1.01), "hvp_V/W_head"),
            ("hr_relu", "float32", "grad_upper_x x 1.001", scale_ds("oracles/grad_upper_x", 1.001), "grad_upper_x"),
            ("dc_linear", "float32", "one entry of reduced/hvp_X/W", bump_entry("reduced/hvp_X/W"), "reduced/hvp_X/W"),
            ("dc_mlp_gelu", "float32", "one entry of grad_lower_Y/b1", bump_entry("oracles/grad_lower_Y/b1"),
             "grad_lower_Y/b1"),
            ("dc_linear", "float32", "loss_upper_batch x 1.001", scale_attr("loss_upper_batch", 1.001),
             "loss_upper_batch"),
            ("hr_gelu", "float32", "a float32 dump labelled precision 64", relabel_float64, "FAIL"),
            ("vit_gelu", "float32", "hvp_V/Wq0 x 1.01", scale_ds("oracles/hvp_V/Wq0", 1.01), "hvp_V/Wq0"),
            ("vit_gelu", "float64", "grad_lower_Y/ln1_0_gain x 1.01", scale_ds("oracles/grad_lower_Y/ln1_0_gain", 1.01),
             "grad_lower_Y/ln1_0_gain"),
            ("vit_gelu", "float32", "cross_Z x 1.01", scale_ds("oracles/cross_Z", 1.01), "cross_Z"),
        ]
        for i, (name, prec, what, edit, row) in enumerate(power):
            cases.append((f"power: {name} {prec} with {what}: FAILS on {row}",
                          lambda name=name, prec=prec, edit=edit, row=row, i=i:
                          expect(corrupted(d(name, prec), w(f"power{i}"), edit), 1, contains=row)))
        def kink_case(name, band_factor, rc_want, contains=None):
            path, r = flip_relu_mask(d(name, "float64"), w(f"kink_{name}_{band_factor}"))
            return expect(path, rc_want, "--kink-band", f"{band_factor * r:.6g}", contains=contains)
        for name, row in (("dc_mlp_relu", "FAIL: grad_lower_Y/W1"), ("vit_relu", "FAIL: grad_lower_Y/W_patch")):
            cases.append((f"{name}: relu mask flipped at the pre-activation nearest 0 (float64): FAILS without kink "
                          "resolution", lambda name=name, row=row: kink_case(name, 0, 1, contains=row)))
            cases.append((f"{name}: relu mask flipped at the pre-activation nearest 0 (float64): passes with "
                          "--kink-band over it",
                          lambda name=name: kink_case(name, 2, 0, contains="chosen to match sbo there: 1 differ")))
    with ThreadPoolExecutor(max_workers=4) as ex:   # the checks run as subprocesses
        results = list(ex.map(lambda c: c[1](), cases))
    rc = selftest.run_cases([(name, lambda r=r: r) for (name, _), r in zip(cases, results)],
                            "check-oracle-dump-selftest", a.keep, "dumps")
    if tmp:
        tmp.cleanup()
    return rc


if __name__ == "__main__":
    sys.exit(main())
