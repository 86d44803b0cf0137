#!/usr/bin/env bash
# data_fetch/fetch_cifar.sh: downloads the binary version of CIFAR-10 or CIFAR-100 from its authors' page
# (https://www.cs.toronto.edu/~kriz/cifar.html), checks the archive against the SHA-256 and MD5 hard-coded below,
# and extracts it into data/<set> (or the directory given as $2). The image-set loader reads it from there:
# sbo_image_set_load("cifar10" | "cifar100", ...) in core/sbo_cifar.c, default directory data/cifar10 or
# data/cifar100 relative to the repository root, where it finds the extracted cifar-10-batches-bin/ or
# cifar-100-binary/.
# Exercised by: hand only; nothing downloads at build or test time (tests/test_cifar.c generates its own batches).
#
#   data_fetch/fetch_cifar.sh cifar10        -> <repo>/data/cifar10/cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin
#   data_fetch/fetch_cifar.sh cifar100 DIR   -> DIR/cifar-100-binary/{train,test}.bin
#
# SBO_CIFAR_BASE_URL="URL/" replaces https://www.cs.toronto.edu/~kriz/ (file:// works, for testing the failure paths
# offline). An archive already present with the right hash is not downloaded again; a download with a wrong hash is
# deleted. Without a network, or with a wrong hash, the script says so in one line and exits 1.
#
# The hashes (cifar-10-binary.tar.gz: 170,052,171 bytes; cifar-100-binary.tar.gz: 168,513,733 bytes):
#   the MD5s are the ones the authors' page lists for the binary versions, and torchvision-like loaders check them;
#   the SHA-256 values are hard-coded alike by several unrelated public projects (Julia's MLDatasets, a Go and a Ruby
#   loader, and write-ups that report verifying a download), found through this project's code search. The brief
#   that asked for this script gave CIFAR-100's SHA-256 ending in ...a40d8dd; every source found ends it in
#   ...a40d8ec, and the value ending in dd appears nowhere, so the script uses ...8ec. The machine that wrote the
#   script had no network, so neither hash was recomputed from a download; the first run with a network checks them
#   (and both must agree before anything is extracted).
set -euo pipefail

usage="usage: data_fetch/fetch_cifar.sh cifar10|cifar100 [DIR]"
say() { echo "fetch_cifar: $*"; }
die() { echo "fetch_cifar: $*" >&2; exit 1; }

set_name="${1:-}"
case "$set_name" in
    cifar10)
        archive=cifar-10-binary.tar.gz
        sha256=c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd
        md5=c32a1d4ab5d03f1284b67883e8d87530
        subdir=cifar-10-batches-bin
        # name bytes: 10,000 records of 3073 bytes each
        files="data_batch_1.bin 30730000
data_batch_2.bin 30730000
data_batch_3.bin 30730000
data_batch_4.bin 30730000
data_batch_5.bin 30730000
test_batch.bin 30730000" ;;
    cifar100)
        archive=cifar-100-binary.tar.gz
        sha256=58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec
        md5=03b5dce01913d631647c71ecec9e9cb8
        subdir=cifar-100-binary
        # 50,000 and 10,000 records of 3074 bytes
        files="train.bin 153700000
test.bin 30740000" ;;
    -h|--help) echo "$usage"; exit 0 ;;
    *) echo "fetch_cifar: unknown or missing set '$set_name'; $usage" >&2; exit 2 ;;
esac

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest="${2:-$repo/data/$set_name}"
base="${SBO_CIFAR_BASE_URL:-https://www.cs.toronto.edu/~kriz/}"
url="$base$archive"

command -v curl >/dev/null 2>&1 || die "curl is not installed; install it with: sudo apt-get install curl"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum is not installed; install it with: sudo apt-get install coreutils"
command -v tar >/dev/null 2>&1 || die "tar is not installed; install it with: sudo apt-get install tar"
mkdir -p "$dest" || die "cannot create the directory '$dest'; pass a writable directory as the second argument"
cd "$dest"

# hash_ok FILE: does FILE have the SHA-256 and the MD5 above? (sha256sum -c / md5sum -c on one-line lists)
hash_ok() {
    printf '%s  %s\n' "$sha256" "$1" | sha256sum -c --status - 2>/dev/null &&
        printf '%s  %s\n' "$md5" "$1" | md5sum -c --status - 2>/dev/null
}

# extracted_ok: every batch file present with its size (what the loader needs; the archive's hash vouches for bytes)
extracted_ok() {
    while read -r name bytes; do
        [ -f "$subdir/$name" ] && [ "$(stat -c %s "$subdir/$name")" = "$bytes" ] || return 1
    done <<< "$files"
}

if extracted_ok; then
    if [ -f "$archive" ] && hash_ok "$archive"; then
        say "$dest/$subdir: present, archive SHA-256 and MD5 ok"
    else
        say "$dest/$subdir: present with the expected file sizes (no archive with the right hash beside it to check)"
    fi
    exit 0
fi

if [ -f "$archive" ] && hash_ok "$archive"; then
    say "$dest/$archive: present, SHA-256 and MD5 ok"
else
    rm -f "$archive"   # a stale archive with a wrong hash must not be mistaken for the data
    say "downloading $url"
    if ! err=$(curl -fsSL --retry 2 --connect-timeout 20 -o "$archive.part" "$url" 2>&1 | tail -n 1); then
        rm -f "$archive.part"
        die "could not download $url (${err:-curl failed}): no network? Offline, use Fashion-MNIST (sudo apt-get" \
            "install dataset-fashion-mnist), or copy $archive (or its extracted $subdir/) into $dest by hand."
    fi
    if ! hash_ok "$archive.part"; then
        actual=$(sha256sum "$archive.part" | cut -d' ' -f1)
        rm -f "$archive.part"
        die "$url: SHA-256 $actual, expected $sha256 (MD5 $md5); bad file deleted. Retry later, or check the" \
            "archive's hashes on https://www.cs.toronto.edu/~kriz/cifar.html."
    fi
    mv -f "$archive.part" "$archive"
    say "$dest/$archive: SHA-256 and MD5 ok"
fi

tar -xzf "$archive" || die "cannot extract $dest/$archive (tar failed; disk full?); delete it and run again"
extracted_ok || die "$dest/$archive did not extract to the expected $subdir/ files and sizes; delete it and run again"
say "$set_name ready in $dest/$subdir (the loader finds it with --data-dir $dest or the default data/$set_name)"
