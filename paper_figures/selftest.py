"""paper_figures/selftest.py: what the figure self-tests share (test_figures.py, test_plot_runs.py): the working
directory (temporary, or --keep DIR) and the loop that runs named cases and prints one [PASS]/[FAIL] line each."""
import os
import tempfile


def work_dir(keep, prefix):
    """(path, handle): keep=DIR makes and keeps DIR; otherwise a temporary directory removed with the handle."""
    if keep:
        path = os.path.abspath(keep)
        os.makedirs(path, exist_ok=True)
        return path, None
    tmp = tempfile.TemporaryDirectory(prefix=prefix)
    return tmp.name, tmp


def run_cases(cases, title, keep, kept_what):
    """cases: (name, fn) with fn() -> None on success or a message. Prints a line per case and the summary
    '<title>: N passed, N failed'; returns the exit code (1 if any case failed)."""
    n_pass = n_fail = 0
    for name, fn in cases:
        err = fn()
        if err is None:
            n_pass += 1
            print(f"  [PASS] {name}")
        else:
            n_fail += 1
            print(f"  [FAIL] {name}: {err}")
    if keep:
        print(f"{kept_what} kept in {keep}")
    print(f"{title}: {n_pass} passed, {n_fail} failed")
    return 1 if n_fail else 0


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def check_figure_files(outdir, stem):
    """None when <outdir>/<stem>.png and .pdf exist with the right magic bytes and at least 10 kB; else a message."""
    for ext, magic in (("png", PNG_MAGIC), ("pdf", b"%PDF")):
        p = os.path.join(outdir, f"{stem}.{ext}")
        if not os.path.isfile(p):
            return f"{p} not written"
        size = os.path.getsize(p)
        with open(p, "rb") as fh:
            head = fh.read(len(magic))
        if head != magic or size < 10_000:
            return f"{p}: not a plausible {ext} ({size} bytes)"
    return None
