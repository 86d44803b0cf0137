#!/usr/bin/env bash
# scripts/gpu_deps.sh: fetches, on a Debian 12 machine with apt and a network, the .deb files of the libraries and
# data that scripts/gpu_check.sh needs, into .gpu-deps/ (git-ignored), for a GPU machine that has the CUDA toolkit
# but neither network nor these packages (gpu_check.sh unpacks them into a prefix with dpkg -x; nothing is
# installed). A GPU machine with apt needs none of this: scripts/setup.sh installs the same packages.
#
# The list is the project's build dependencies (scripts/setup.sh: HDF5, OpenBLAS, inih, Criterion) with the
# runtime libraries they link that a CUDA image may lack, and the Fashion-MNIST data set; apt-get download takes
# no dependencies, so a library the GPU machine still lacks shows up as a configure or link error in
# gpu_check's build.log: add it to PKGS. Prints the total size (a device call carries at most 64 MiB).
# Not yet used on a GPU machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS=(libhdf5-dev libhdf5-103-1 libhdf5-hl-100 libhdf5-cpp-103-1 hdf5-helpers libsz2 libaec0 libaec-dev
      libopenblas-dev libopenblas-pthread-dev libopenblas0 libopenblas0-pthread libgfortran5
      libinih-dev libinih1 libinireader0
      libcriterion-dev libcriterion3 libboxfort-dev libnanomsg5 libgit2-1.5 libhttp-parser2.9 libmbedtls14
      libmbedx509-1 libmbedcrypto7 libssh2-1
      dataset-fashion-mnist)
mkdir -p .gpu-deps
cd .gpu-deps
apt-get download "${PKGS[@]}"
echo "gpu_deps: ${#PKGS[@]} packages in .gpu-deps/, $(du -sh . | cut -f1) in all; carry .gpu-deps with the device" \
     "call and run scripts/gpu_check.sh there"
