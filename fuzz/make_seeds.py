#!/usr/bin/env python3
"""fuzz/make_seeds.py: writes the seed corpora fuzz/corpus/{fuzz_idx,fuzz_cifar,fuzz_config,fuzz_cli}/seed_*
(committed; rerun after changing this file: python3 fuzz/make_seeds.py). Input formats: the header comments of
fuzz/fuzz_*.c. Seeds: IDX headers raw and gzipped with the edge cases of tests/test_idx.c; CIFAR batches of 1-2
records, valid and with the refusals of tests/test_cifar.c; configs/*.ini and the bad configs of docs/ERRORS.md;
command lines from README.md and docs/ERRORS.md. Files named crash-* (regressions) are kept."""
import glob, gzip, os, struct

root = os.path.dirname(os.path.abspath(__file__))


def write(harness, name, data):
    d = os.path.join(root, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed_" + name), "wb") as f:
        f.write(data)


def idx(dims, data=None, typ=8):
    n = 1
    for x in dims:
        n *= x
    body = bytes((i * 7) % 256 for i in range(n)) if data is None else data
    return bytes([0, 0, typ, len(dims)]) + b"".join(struct.pack(">I", x) for x in dims) + body


def gz(b):
    return gzip.compress(b, mtime=0)


# --- fuzz_idx: mode byte (0 raw file, 1 gzip it, 2 gzip and cut 1 + (m >> 2) % 16, 3 gzip and append) + payload
labels, images = idx([5], bytes([0, 1, 2, 9, 3])), idx([2, 3, 4])
for name, payload in [("labels", labels), ("images", images), ("images_28", idx([1, 28, 28]))]:
    write("fuzz_idx", name + "_raw", b"\x00" + payload)
    write("fuzz_idx", name + "_gz_file", b"\x00" + gz(payload))
    write("fuzz_idx", name + "_gzip_mode", b"\x01" + payload)
write("fuzz_idx", "gz_trailer_cut_1", b"\x02" + labels)
write("fuzz_idx", "gz_trailer_cut_9", b"\x22" + labels)
write("fuzz_idx", "gz_trailing_garbage", b"\x1b" + images)
write("fuzz_idx", "gz_cut_file", b"\x00" + gz(images)[:-4])
write("fuzz_idx", "bad_magic", b"\x00" + b"\x01\x00\x08\x01" + labels[4:])
write("fuzz_idx", "type_0x09", b"\x00" + idx([5], typ=9))
write("fuzz_idx", "ndim_0", b"\x00\x00\x00\x08\x00")
write("fuzz_idx", "ndim_4", b"\x00" + bytes([0, 0, 8, 4]) + struct.pack(">IIII", 1, 1, 1, 1) + b"\x00")
write("fuzz_idx", "short_header", b"\x00\x00\x00\x08")
write("fuzz_idx", "dims_cut", b"\x00" + idx([2, 3, 4])[:10])
write("fuzz_idx", "dim_zero", b"\x00" + idx([0]))
write("fuzz_idx", "dims_over_2g", b"\x00" + bytes([0, 0, 8, 2]) + struct.pack(">II", 65536, 32768))
write("fuzz_idx", "dim_ffffffff", b"\x00" + bytes([0, 0, 8, 1]) + struct.pack(">I", 0xFFFFFFFF))
write("fuzz_idx", "truncated_data", b"\x00" + images[:-5])
write("fuzz_idx", "trailing_raw", b"\x00" + images + b"xyz")
write("fuzz_idx", "empty", b"\x00")
write("fuzz_idx", "corrupt_gz", b"\x00" + gz(images)[:12] + b"\xff" * 8 + gz(images)[20:])

# --- fuzz_cifar: mode byte (bit 0: CIFAR-100 records, bit 1: append the file twice) + the batch file
def cifar(n, c100=False, lab=None):
    out = b""
    for i in range(n):
        head = bytes([i % 20, (7 * i) % 100]) if c100 else bytes([i % 10])
        if lab is not None and i == n - 1:
            head = head[:-1] + bytes([lab])
        out += head + bytes((i * 31 + k) % 256 for k in range(3072))
    return out


for name, mode, payload in [("c10_one", 0, cifar(1)), ("c10_two", 0, cifar(2)), ("c10_twice", 2, cifar(1)),
                            ("c100_one", 1, cifar(1, True)), ("c100_two_twice", 3, cifar(2, True)),
                            ("c10_label_10", 0, cifar(2, lab=10)), ("c100_fine_100", 1, cifar(1, True, lab=100)),
                            ("c100_coarse_20", 1, bytes([20, 5]) + bytes(3072)),
                            ("c10_record_cut", 0, cifar(1)[:-1]), ("c10_extra_byte", 0, cifar(1) + b"x"),
                            ("c100_as_c10", 0, cifar(1, True)), ("c10_as_c100", 1, cifar(2)[:3074]),
                            ("empty", 0, b""), ("one_byte", 1, b"\x03")]:
    write("fuzz_cifar", name, bytes([mode]) + payload)

# --- fuzz_config: byte 0 task, byte 1 algorithm (indices into the registries), then the INI text
tasks = {"counterexample": 0, "quadratic": 1, "data_cleaning": 2, "hyper_rep": 3}
algos = range(4)
for path in sorted(glob.glob(os.path.join(root, "..", "configs", "*.ini"))):
    name = os.path.basename(path)[:-4]
    text = open(path, "rb").read()
    t = next((i for k, i in tasks.items() if name.startswith(k)), 1)
    for a in algos:
        write("fuzz_config", f"{name}_algo{a}", bytes([t, a]) + text)
bad = {
    "nul_byte": b"[algo]\nalpha = 0.1\x00\n",
    "control_key": b"[algo]\n\x1b[31mred\x07 = 1\n",
    "long_line": b"[algo]\nalpha = " + b"1" * 200 + b"\n",
    "no_section": b"alpha = 0.1\n",
    "syntax": b"[algo\nalpha\n",
    "unknown_key": b"[algo]\nalpah = 0.1\n",
    "not_number": b"[algo]\nalpha = abc # comment\n",
    "inf": b"[algo]\nalpha = inf\nbeta = 1e999\ngamma = 1e-400\n",
    "rank_cap": b"[algo]\nrank = 2000000000\nranks = 1,2,3\n",
    "rank_half": b"[algo]\nrank = half\nvariant = general\nschedule = decay\n",
    "quadratic_cap": b"[task]\nd = 1000000000\np = 1e5\ninstance_seed = 1e20\n",
    "quadratic_hmax": b"[task]\nh_max = 1e308\n",
    "indented": b"[run]\n  iters = 10\n\teval_every = 1e5\n",
    "crlf": b"[run]\r\niters = 10\r\n",
    "set_lines": b"algo.alpha=0.01\nrun.iters = 5\n=x\nalgo.=1\n.x=1\nalgo.beta\n",
    "data_dir": b"[task]\ndata_dir = /nonexistent\nmodel = mlp\n",
}
for name, text in bad.items():
    write("fuzz_config", name, bytes([1 if "quadratic" in name else 0, 3]) + text)
write("fuzz_config", "data_cleaning_model", bytes([2, 2]) + b"[task]\nmodel = mlp\nhidden = 0\n")

# --- fuzz_cli: one argument per line after "sbo"; after a line "%%" the config text, "@cfg" its path
cli = {
    "help": ["--help"], "help_run": ["help", "run"], "help_bad": ["help", "nope"], "version": ["version"],
    "list": ["list"], "list_extra": ["list", "x"], "unknown_cmd": ["frobnicate"], "none": [],
    "run_cx": ["run", "--task", "counterexample", "--algo", "bros", "--seed", "1", "--out", "/tmp/x.h5"],
    "run_eq": ["run", "--task=quadratic", "--algo=soba", "--seed=18446744073709551616", "--out=x.h5", "--quiet"],
    "run_quiet_value": ["run", "--quiet=1"],
    "run_config": ["run", "--task", "counterexample", "--algo", "ma_soba", "--config", "@cfg", "--seed", "1",
                   "--out", "x.h5", "--set", "algo.alpha=0.01"],
    "run_sets": ["run", "--task", "quadratic", "--algo", "naive_projected", "--seed", "0", "--out", "x.h5",
                 "--set", "algo.rank=half", "--set", "task.d=1000000000", "--set", "alpha=1", "--set", "x"],
    "run_data_dir": ["run", "--task", "data_cleaning", "--algo", "bros", "--seed", "1", "--out", "x.h5",
                     "--data-dir", "/usr/share/datasets/fashion-mnist", "--set", "task.data_dir=/x"],
    "run_data_dir_no_data": ["run", "--task", "counterexample", "--data-dir", "d"],
    "run_cifar": ["run", "--task", "data_cleaning", "--algo", "bros", "--seed", "1", "--out", "x.h5",
                  "--data-dir", "data/cifar10", "--set", "task.dataset=cifar10", "--set", "task.model=mlp"],
    "run_dataset_bad": ["run", "--task", "hyper_rep", "--algo", "soba", "--seed", "1", "--out", "x.h5",
                        "--set", "task.dataset=cifar"],
    "run_missing": ["run", "--task", "hyper_rep"], "run_positional": ["run", "pos"],
    "run_needs_value": ["run", "--task"], "run_unknown_opt": ["run", "--steps", "3"],
    "memory": ["memory", "--task", "counterexample", "--steps", "3", "--algos", "bros,soba", "--csv", "m.csv"],
    "memory_steps_bad": ["memory", "--task", "quadratic", "--steps", "-1"],
    "oracle_dump": ["oracle-dump", "--task", "hyper_rep", "--seed", "1", "--out", "o.h5", "--set", "task.model=mlp"],
    "run_help": ["run", "--task", "x", "-h"],
    "summarize": ["summarize", "/tmp", "--csv", "s.csv", "--md=s.md"],
    "summarize_bad": ["summarize", "x.h5", "--html"],
    "sweep_flags": ["sweep", "x.ini", "--jobs", "0", "--run-index=3", "--slurm", "--dry-run=1"],
}
for name, args in cli.items():
    write("fuzz_cli", name, "\n".join(args).encode())
for path in sorted(glob.glob(os.path.join(root, "..", "configs", "*.ini")))[:2]:
    name = os.path.basename(path)[:-4]
    args = ["run", "--task", "counterexample" if name.startswith("counter") else "quadratic", "--algo", "bros",
            "--seed", "1", "--out", "x.h5", "--config=@cfg"]
    write("fuzz_cli", "config_" + name, "\n".join(args).encode() + b"\n%%\n" + open(path, "rb").read())
sweep_ini = os.path.join(root, "..", "configs", "sweep_example.ini")
write("fuzz_cli", "config_sweep_example", b"sweep\n@cfg\n--out\n/nonexistent/sweep\n--jobs\n2\n--dry-run\n%%\n" +
      open(sweep_ini, "rb").read())
write("fuzz_cli", "config_sweep_grid", b"sweep\n@cfg\n--slurm\n--rerun-failed\n%%\n[sweep]\ntask = quadratic\n"
      b"algorithms = soba, bros, naive_projected\nseeds = 1-3, 7\nalgo.rank = 1, half, \"2\"\ntask.d = 4, 8\n"
      b"slurm_mem = 4G\nslurm_time = 1:00:00\n[run]\niters = 10\n")
write("fuzz_cli", "config_nul", b"run\n--task\ncounterexample\n--algo\nsoba\n--seed\n1\n--out\nx.h5\n--config\n@cfg\n"
      b"%%\n[algo]\nalpha = 1\x00\n")
