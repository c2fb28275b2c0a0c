#!/usr/bin/env bash
# Sets up a Debian 12 (bookworm) machine for radclear and builds it.
# Idempotent: installs only missing packages, reconfigures and rebuilds
# incrementally. Usage: bash scripts/setup.sh   (env: RADCLEAR_BUILD_DIR,
# RADCLEAR_JOBS, RADCLEAR_CUDA_ROOT, RADCLEAR_TORCH_DIR)
#
# GPUs: Debian's LibTorch is CPU-only. RADCLEAR_TORCH_DIR=/path/to/libtorch
# (an unpacked LibTorch distribution, cxx11 ABI) or RADCLEAR_TORCH_DIR=pip
# (the CMake prefix of the PyTorch that `python3 -c "import torch"` finds)
# builds against a CUDA LibTorch instead; --device cuda then works.
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
  # scanner data: DICOM through GDCM, NIfTI through niftilib
  libgdcm-dev libnifti2-dev
  # helpers
  libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libssl-dev zlib1g-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # real DICOM/NIfTI test files and the tools that make the fixtures from them
  python3-pydicom python3-nibabel libgdcm-tools
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

# Which LibTorch: Debian's (default) or RADCLEAR_TORCH_DIR's.
TORCH_ARGS=()
TORCH_DIR="${RADCLEAR_TORCH_DIR:-}"
if [[ "$TORCH_DIR" == pip ]]; then
  PY="${PYTHON:-python3}"
  TORCH_DIR=$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)') ||
    { echo "setup: RADCLEAR_TORCH_DIR=pip but '$PY -c \"import torch\"' fails; install PyTorch or point RADCLEAR_TORCH_DIR at a LibTorch"; exit 2; }
  if [[ $("$PY" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))') != 1 ]]; then
    echo "setup: the pip PyTorch at $TORCH_DIR uses the pre-cxx11 C++ ABI and cannot link with Debian's libraries;"
    echo "       download the cxx11-ABI LibTorch (libtorch-cxx11-abi-shared-with-deps) and set RADCLEAR_TORCH_DIR to it"
    exit 2
  fi
fi
if [[ -n "$TORCH_DIR" ]]; then
  config=$(find "$TORCH_DIR" -maxdepth 4 -name TorchConfig.cmake -print -quit 2>/dev/null)
  [[ -n "$config" ]] || { echo "setup: no TorchConfig.cmake under RADCLEAR_TORCH_DIR=$TORCH_DIR (give the LibTorch folder, or 'pip')"; exit 2; }
  TORCH_ARGS=(-DCMAKE_PREFIX_PATH="$TORCH_DIR" -DTorch_DIR="$(dirname "$config")" -DCUDAToolkit_ROOT="$CUDA_ROOT")
  echo "setup: building against the LibTorch at $(dirname "$config")"
fi
# A build folder configured with another LibTorch would mix the two.
if [[ -f "$BUILD/CMakeCache.txt" ]]; then
  cached=$(sed -n 's/^Torch_DIR:PATH=//p' "$BUILD/CMakeCache.txt")
  want=$cached  # default: keep what it has
  [[ -n "$TORCH_DIR" ]] && want=${TORCH_ARGS[1]#-DTorch_DIR=}
  if [[ -n "$cached" && "$cached" != "$want" ]]; then
    echo "setup: $BUILD was configured with the LibTorch at $cached; use another RADCLEAR_BUILD_DIR or delete it"
    exit 2
  fi
fi

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DRADCLEAR_WITH_NCCL="$NCCL" -DRADCLEAR_CUDA_ROOT="$CUDA_ROOT" "${TORCH_ARGS[@]}"
cmake --build "$BUILD" -j "$JOBS"
echo "setup: built $BUILD/bin/radclear"
