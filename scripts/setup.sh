#!/usr/bin/env bash
# scripts/setup.sh: installs what sbo needs on a fresh Debian 12 / Ubuntu machine, then the Python virtual
# environment .venv for the figure scripts (paper_figures/requirements.txt, pinned).
# Exercised by: `make setup` (and so by make build / test / reproduce, and by .ci/run).
#
#   scripts/setup.sh              system packages (skipped when all are installed) + .venv
#   scripts/setup.sh --no-venv    system packages only
#   scripts/setup.sh --venv-only  .venv only
#
# Idempotent and fast on a second run: apt is not touched when dpkg-query reports every package installed,
# and .venv is rebuilt only when paper_figures/requirements.txt or the interpreter changes (stamp file).
# Environment: SBO_PYTHON=/path/to/python3 picks the interpreter for .venv (default: python3 on PATH).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

do_apt=1
do_venv=1
for arg in "$@"; do
    case "$arg" in
        --no-venv) do_venv=0 ;;
        --venv-only) do_apt=0 ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "setup.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
    esac
done

say() { echo "setup: $*"; }

# --- which Python builds .venv -------------------------------------------------------------------------
# Prefer python3 on PATH (here a pyenv 3.11 with pip); it must have the venv and ensurepip modules.
# Debian's /usr/bin/python3 has them only with python3-venv, which then joins the apt list.
python_ok() { "$1" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 11) else 3)' >/dev/null 2>&1; }
py="${SBO_PYTHON:-}"
need_python_venv_pkg=0
if [ "$do_venv" = 1 ]; then
    if [ -z "$py" ]; then
        py=$(command -v python3 || true)
    fi
    if [ -z "$py" ] || ! python_ok "$py"; then
        # Fall back to Debian's interpreter; python3-venv provides ensurepip for it.
        py=/usr/bin/python3
        if ! python_ok "$py"; then need_python_venv_pkg=1; fi
    fi
fi

# --- system packages --------------------------------------------------------------------------------
pkgs=(cmake gcc libc6-dev make pkg-config git clang libclang-rt-dev libomp-dev
      libhdf5-dev hdf5-tools zlib1g-dev libcriterion-dev
      libopenblas-dev libblis-dev libinih-dev dataset-fashion-mnist
      slurm-wlm munge \
      fortunes fortunes-de fortunes-es fortunes-it dict-jargon dict-foldoc libpython3-stdlib)   # slurm-wlm, munge: tests/test_slurm.sh; the rest: text domains (docs/DATA.md)
if [ "$need_python_venv_pkg" = 1 ]; then pkgs+=(python3 python3-venv); fi

if [ "$do_apt" = 1 ]; then
    if ! command -v dpkg-query >/dev/null 2>&1; then
        echo "setup: this is not a Debian/Ubuntu system (no dpkg-query)." >&2
        echo "setup: install the equivalents of: ${pkgs[*]}" >&2
        echo "setup: then run: scripts/setup.sh --venv-only" >&2
        exit 1
    fi
    missing=()
    for p in "${pkgs[@]}"; do
        status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
        case "$status" in ii*) ;; *) missing+=("$p") ;; esac
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        say "system packages: all ${#pkgs[@]} installed (apt skipped)"
    else
        say "system packages missing: ${missing[*]}"
        if [ "$(id -u)" -eq 0 ]; then
            sudo_cmd=()
        elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo_cmd=(sudo -n)
        else
            echo "setup: installing them needs root. Run this, then 'make setup' again:" >&2
            echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}" >&2
            exit 1
        fi
        export DEBIAN_FRONTEND=noninteractive
        "${sudo_cmd[@]}" apt-get update
        "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y --no-install-recommends "${missing[@]}"
        say "system packages installed"
    fi
fi

# --- Python virtual environment ---------------------------------------------------------------------
if [ "$do_venv" = 1 ]; then
    req=paper_figures/requirements.txt
    venv=.venv
    stamp=$venv/.sbo-requirements.stamp
    if [ ! -f "$req" ]; then
        echo "setup: $req is missing" >&2
        exit 1
    fi
    if ! python_ok "$py"; then
        echo "setup: no usable Python >= 3.11 with the venv module ('$py'); install python3-venv" >&2
        exit 1
    fi
    # The stamp binds the venv to the requirements file's content and to the interpreter that built it.
    want="$(sha256sum "$req" | cut -d' ' -f1) $("$py" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
       && "$venv/bin/python" -c 'import numpy, h5py, matplotlib' >/dev/null 2>&1; then
        say "python venv: $venv up to date"
    else
        say "python venv: building $venv with $py ($("$py" --version 2>&1))"
        rm -rf "$venv"
        "$py" -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$req"
        echo "$want" > "$stamp"
        say "python venv: ready ($("$venv/bin/python" -c 'import numpy, h5py, matplotlib as m; print("numpy", numpy.__version__, "h5py", h5py.__version__, "matplotlib", m.__version__)'))"
    fi
fi
