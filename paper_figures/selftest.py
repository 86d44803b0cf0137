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
