#!/usr/bin/env python3
"""paper_figures/test_figures.py: self-check of the figure scripts on synthetic HDF5 files (make_fake_inputs.py),
so they can be tested without the C code. Checks that each script writes a non-trivial PNG and PDF, accepts the
layout variants the C side may write, and refuses wrong inputs with a message naming what is wrong.

Usage:  make figures-selftest   (or .venv/bin/python paper_figures/test_figures.py [--keep DIR])
Prints one line per case and 'N passed, N failed'; exits 1 if any case failed.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_fake_inputs as fake  # noqa: E402
import selftest  # noqa: E402



def run_script(script, args):
    p = subprocess.run([sys.executable, os.path.join(HERE, script)] + args, capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def expect_figure(script, h5, outdir, stem):
    rc, out = run_script(script, [h5, "--outdir", outdir])
    if rc != 0:
        return f"exit {rc}: {out.strip()}"
    return selftest.check_figure_files(outdir, stem)


def expect_refusal(script, args, must_mention):
    rc, out = run_script(script, args)
    if rc == 0:
        return "accepted a bad input"
    if must_mention not in out:
        return f"message does not mention '{must_mention}': {out.strip()}"
    if "Traceback" in out:
        return f"crashed instead of a one-line message: {out.strip()[-300:]}"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", metavar="DIR", help="write inputs and figures here and keep them")
    a = ap.parse_args()
    work, tmp = selftest.work_dir(a.keep, "sbo_figtest_")
    figs = os.path.join(work, "figures")
    P = lambda name: os.path.join(work, name)  # noqa: E731

    fake.write_tc6(P("tc6.h5"))
    fake.write_tc7(P("tc7.h5"))
    fake.write_tc7(P("tc7_full_1seed.h5"), n_seeds=1, Ks=(1e3, 3e3, 1e4, 3e4, 1e5), g_one_dim=True)
    fake.write_tc6(P("tc6_no_target.h5"), drop_attr="target_naive")
    mode = fake.MODE

    cases = [
        ("tc6 figure", lambda: expect_figure("fig_counterexample.py", P("tc6.h5"), figs,
                                             f"tc6_counterexample_{mode}")),
        ("tc7 figure", lambda: expect_figure("fig_rate.py", P("tc7.h5"), figs, f"tc7_rate_{mode}")),
        ("tc7 figure, one seed stored 1-D, five K", lambda: expect_figure(
            "fig_rate.py", P("tc7_full_1seed.h5"), os.path.join(figs, "one_seed"), f"tc7_rate_{mode}")),
        ("tc6 script refuses a tc7 file", lambda: expect_refusal(
            "fig_counterexample.py", [P("tc7.h5"), "--outdir", figs], "theory_check")),
        ("tc7 script refuses a tc6 file", lambda: expect_refusal(
            "fig_rate.py", [P("tc6.h5"), "--outdir", figs], "theory_check")),
        ("tc6 script names a missing attribute", lambda: expect_refusal(
            "fig_counterexample.py", [P("tc6_no_target.h5"), "--outdir", figs], "target_naive")),
        ("missing input file", lambda: expect_refusal(
            "fig_rate.py", [P("nope.h5"), "--outdir", figs], "no such file")),
    ]
    return selftest.run_cases(cases, "figures-selftest", a.keep, "inputs and figures")


if __name__ == "__main__":
    sys.exit(main())
