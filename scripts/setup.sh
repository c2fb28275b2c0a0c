#!/usr/bin/env bash
# Sets up a Debian 12 (bookworm) machine for radclear and builds it.
# Idempotent: installs only missing packages, reconfigures and rebuilds
# incrementally. Usage: bash scripts/setup.sh   (env: RADCLEAR_BUILD_DIR,
# RADCLEAR_JOBS, RADCLEAR_CUDA_ROOT)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${RADCLEAR_BUILD_DIR:-$ROOT/build}"
JOBS="${RADCLEAR_JOBS:-$(nproc)}"
CUDA_ROOT="${RADCLEAR_CUDA_ROOT:-/usr/local/cuda}"

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # LibTorch (CPU) + the gloo headers its headers include, and a fast BLAS:
  # Debian's torch links the generic libblas.so.3, and OpenBLAS makes GEMM ~15x faster.
  libtorch-dev libgloo-dev libopenblas0-pthread
  # cluster, storage, images
  libopenmpi-dev openmpi-bin libzmq3-dev cppzmq-dev librocksdb-dev libhdf5-dev libopencv-dev
  # helpers
  libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libssl-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # golden data and output checks: Debian's PyTorch 1.13 / torchvision 0.14
  python3-torch python3-torchvision python3-h5py python3-sklearn python3-numpy python3-pil
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "setup: all ${#PACKAGES[@]} Debian packages present"
fi

# The NCCL communicator compiles wherever the CUDA toolkit with NCCL is
# installed (even without a GPU), so the GPU path cannot rot.
NCCL=OFF
[[ -f "$CUDA_ROOT/include/nccl.h" ]] && NCCL=ON

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DRADCLEAR_WITH_NCCL="$NCCL" -DRADCLEAR_CUDA_ROOT="$CUDA_ROOT"
cmake --build "$BUILD" -j "$JOBS"
echo "setup: built $BUILD/bin/radclear"
