#!/usr/bin/env bash
# data_fetch/fetch_mnist.sh: downloads MNIST's four IDX files into data/mnist (or the directory given as $1) and
# checks each against the SHA-256 hard-coded below (sha256sum -c). The image-set loader reads them from there:
# sbo_image_set_load("mnist", ...) in core/sbo_idx.c, default directory data/mnist relative to the repository root.
# Exercised by: hand only; nothing downloads at build or test time (the tests generate their own IDX files).
#
#   data_fetch/fetch_mnist.sh            -> <repo>/data/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
#   data_fetch/fetch_mnist.sh DIR        -> DIR/...
#
# Mirrors, tried in order for each file: torchvision's (ossci-datasets S3), TensorFlow Datasets' (cvdf-datasets
# on Google Cloud Storage), and the original yann.lecun.com (which often refuses). SBO_MNIST_MIRRORS="URL ..."
# replaces the list (base URLs ending in /; file:// works, for testing the failure paths offline).
# A file already present with the right hash is kept. A download with a wrong hash is deleted; when no mirror
# gives the right bytes, or there is no network, the script says so and exits 1.
#
# The hashes: tensorflow/datasets, tensorflow_datasets/url_checksums/mnist.txt (size and SHA-256 of each file),
# cross-checked against several unrelated projects that hard-code the same four SHA-256 values, one of which
# also lists MD5 ec29112dd5afa0611ce80d1b7f02629c for t10k-labels, the MD5 torchvision checks for that file on
# both of its mirrors. They could not be recomputed from a download when this script was written (that machine
# had no network); the first run with a network checks them.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest="${1:-$repo/data/mnist}"
default_mirrors="https://ossci-datasets.s3.amazonaws.com/mnist/ https://storage.googleapis.com/cvdf-datasets/mnist/
http://yann.lecun.com/exdb/mnist/"
read -r -d '' -a mirrors <<< "${SBO_MNIST_MIRRORS:-$default_mirrors}" || true

# sha256  file  (bytes: 9912422, 28881, 1648877, 4542)
sums='440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609  train-images-idx3-ubyte.gz
3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c  train-labels-idx1-ubyte.gz
8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6  t10k-images-idx3-ubyte.gz
f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6  t10k-labels-idx1-ubyte.gz'

say() { echo "fetch_mnist: $*"; }
die() { echo "fetch_mnist: $*" >&2; exit 1; }

command -v curl >/dev/null 2>&1 || die "curl is not installed; install it with: sudo apt-get install curl"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum is not installed; install it with: sudo apt-get install coreutils"
mkdir -p "$dest" || die "cannot create the directory '$dest'; pass a writable directory as the first argument"
cd "$dest"

# hash_ok FILE HASH: does FILE have SHA-256 HASH? (sha256sum -c on a one-line list)
hash_ok() { printf '%s  %s\n' "$2" "$1" | sha256sum -c --status - 2>/dev/null; }

while read -r hash name; do
    if [ -f "$name" ] && hash_ok "$name" "$hash"; then
        say "$dest/$name: present, SHA-256 ok"
        continue
    fi
    got=0
    why=""
    for base in "${mirrors[@]}"; do
        url="$base$name"
        say "downloading $url"
        if ! err=$(curl -fsSL --retry 2 --connect-timeout 20 -o "$name.part" "$url" 2>&1 | tail -n 1); then
            rm -f "$name.part"
            why="$why; $url: ${err:-curl failed}"
            continue
        fi
        if hash_ok "$name.part" "$hash"; then
            mv -f "$name.part" "$name"
            got=1
            break
        fi
        actual=$(sha256sum "$name.part" | cut -d' ' -f1)
        rm -f "$name.part"
        why="$why; $url: SHA-256 $actual, expected $hash (bad file deleted)"
    done
    if [ "$got" = 0 ]; then
        rm -f "$name"   # a stale file with a wrong hash must not be mistaken for the data
        die "could not get $name with the right SHA-256 from any mirror${why}. Offline, use Fashion-MNIST" \
            "(sudo apt-get install dataset-fashion-mnist) or copy the four files into $dest by hand."
    fi
    say "$dest/$name: SHA-256 ok"
done <<< "$sums"

# Final check of all four together, as the README documents it.
printf '%s\n' "$sums" | sha256sum -c --quiet - || die "SHA-256 check of $dest failed; delete the files and run again"
say "MNIST ready in $dest (sha256sum -c: 4 files OK)"
