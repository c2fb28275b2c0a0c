#!/usr/bin/env bash
# The GPU check (issue 24 item 4), for a machine whose one C++ ML dependency
# is a pip-installed PyTorch 2.x with CUDA: builds scripts/gpu_check/ (models
# and the NCCL communicator only; no RocksDB, HDF5, OpenCV, MPI, gtest or
# yaml-cpp) and runs each phase of tests/gpu/gpu_check.cc and nccl_check
# under its own timeout, later phases also when an earlier one fails, then
# prints a summary table. CI never runs this.
#
# Usage: bash scripts/gpu_check.sh [OUT_DIR]      (default: $OUT, else ./gpu_check_out)
# Env:   PYTHON               python3 with torch (default: python3)
#        GPU_CHECK_DEPS       folder with fmt/, spdlog/, nlohmann/ headers
#                             (default: ./deps when present, else the system's);
#                             with scripts/gpu_check_deps.sh's tree_units.tsv and
#                             sys/ in it, the `tree` phase compiles every LibTorch
#                             unit of radclear against this LibTorch
#        GPU_CHECK_BUDGET_S   seconds for everything; phases that no longer fit
#                             are reported as skipped (default: 480)
#        GPU_CHECK_DEVICE=cpu run the device phases on the CPU at toy sizes
#                             (a dry run of the code paths on a machine without CUDA)
#        RADCLEAR_TORCH_DIR   LibTorch's CMake prefix (default: torch's cmake_prefix_path)
# Output: OUT_DIR/{env.log,build.log,phases.log,summary.md,tree/}; exit 1 if a phase failed.
set -uo pipefail  # no -e: every phase runs and is reported

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT_DIR="${1:-${OUT:-$ROOT/gpu_check_out}}"
PY="${PYTHON:-python3}"
BUDGET="${GPU_CHECK_BUDGET_S:-480}"
DEVICE="${GPU_CHECK_DEVICE:-cuda}"
JOBS="${GPU_CHECK_JOBS:-$(nproc)}"
BUILD="${GPU_CHECK_BUILD_DIR:-$ROOT/build-gpu-check}"
DEPS="${GPU_CHECK_DEPS:-}"
[[ -z "$DEPS" && -d "$ROOT/deps/fmt" ]] && DEPS="$ROOT/deps"
START=$(date +%s)
mkdir -p "$OUT_DIR"
ENV_LOG="$OUT_DIR/env.log" BUILD_LOG="$OUT_DIR/build.log" PHASE_LOG="$OUT_DIR/phases.log"
SUMMARY="$OUT_DIR/summary.md"
: >"$ENV_LOG"; : >"$BUILD_LOG"; : >"$PHASE_LOG"
RESULTS=()  # "label|status|seconds|summary"

elapsed() { echo $(($(date +%s) - START)); }
record() { RESULTS+=("$1|$2|$3|$4"); echo "gpu_check: $1: $2 ($3 s) $4"; }

# run_phase LABEL TIMEOUT_S COMMAND...: runs COMMAND under timeout, reads
# its RESULT| line; a crash, a timeout or a missing line is a failure.
run_phase() {
  local label=$1 limit=$2
  shift 2
  local left=$((BUDGET - $(elapsed)))
  if ((left < limit / 2)); then
    record "$label" SKIP 0 "not started: ${left} s of the ${BUDGET} s budget left"
    return
  fi
  ((limit > left)) && limit=$left
  local tmp t0 rc line
  tmp=$(mktemp)
  t0=$(date +%s)
  timeout -k 5 "$limit" "$@" >"$tmp" 2>&1
  rc=$?
  { echo "===== $label: $* (rc $rc, $(($(date +%s) - t0)) s)"; cat "$tmp"; } >>"$PHASE_LOG"
  line=$(grep '^RESULT|' "$tmp" | tail -n 1)
  if ((rc == 124 || rc == 137)); then
    record "$label" FAIL $(($(date +%s) - t0)) "timed out after ${limit} s"
  elif [[ -n "$line" ]]; then
    IFS='|' read -r _ _ status summary <<<"$line"
    record "$label" "$status" $(($(date +%s) - t0)) "$summary"
  else
    record "$label" FAIL $(($(date +%s) - t0)) "exited $rc without a RESULT line: $(tail -n 1 "$tmp")"
  fi
  rm -f "$tmp"
}

# ---- environment
{
  echo "date: $(date -u)"; echo "host: $(uname -srm), $(nproc) cores"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  command -v nvcc >/dev/null && nvcc --version | tail -n 2
  cmake --version | head -n 1; ninja --version 2>/dev/null | sed 's/^/ninja /'; c++ --version | head -n 1
} >>"$ENV_LOG" 2>&1
HAVE_GPU=0
command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q '^GPU' && HAVE_GPU=1

# Torch's folders, ABI and CUDA, and NCCL's header and library (pip's
# nvidia-nccl wheel or the CUDA toolkit), as shell assignments.
TORCH_INFO=$("$PY" - <<'PYEOF' 2>>"$ENV_LOG"
import os, sys, glob
import torch
d = os.path.dirname(torch.__file__)
prefix = getattr(getattr(torch, "utils", None), "cmake_prefix_path", "") or ""
print(f"TORCH_VERSION='{torch.__version__}'")
print(f"TORCH_PREFIX='{prefix}'")
print(f"TORCH_INCLUDE='{os.path.join(d, 'include')};{os.path.join(d, 'include', 'torch', 'csrc', 'api', 'include')}'")
print(f"TORCH_LIBDIR='{os.path.join(d, 'lib')}'")
print(f"TORCH_ABI={int(torch._C._GLIBCXX_USE_CXX11_ABI)}")
print(f"TORCH_CUDA='{torch.version.cuda}'")
cuda = torch.cuda.is_available()
print(f"TORCH_ARCHS='{' '.join(torch.cuda.get_arch_list()) if cuda else ''}'")
print(f"TORCH_GPU='{torch.cuda.get_device_name(0) if cuda else ''}'")
# pip's nvidia/<package>/{include,lib} first (the NCCL torch itself loads), then the toolkit's.
pip = [os.path.join(p, "nvidia") for p in sys.path if os.path.isdir(os.path.join(p, "nvidia"))]
places = [(os.path.join(n, "*", "include"), os.path.join(n, "*", "lib")) for n in pip]
places += [("/usr/local/cuda/include", "/usr/local/cuda/lib64"), ("/usr/include", "/usr/lib/x86_64-linux-gnu")]
header = lib = ""
for inc, libdir in places:
    h = sorted(glob.glob(os.path.join(inc, "nccl.h")))
    l = sorted(glob.glob(os.path.join(libdir, "libnccl.so*")))
    if h and l:
        header, lib = os.path.dirname(h[0]), l[0]
        break
for n in pip if not header else []:  # deeper layouts (nvidia/cu13/...): walk only pip's nvidia folders
    h = sorted(glob.glob(os.path.join(n, "**", "nccl.h"), recursive=True))
    l = sorted(glob.glob(os.path.join(n, "**", "libnccl.so*"), recursive=True))
    if h and l:
        header, lib = os.path.dirname(h[0]), l[0]
        break
print(f"NCCL_INCLUDE='{header}'")
print(f"NCCL_LIBRARY='{lib}'")
PYEOF
)
echo "$TORCH_INFO" >>"$ENV_LOG"
eval "$TORCH_INFO"
: "${TORCH_VERSION:=}" "${TORCH_PREFIX:=}" "${TORCH_INCLUDE:=}" "${TORCH_LIBDIR:=}" "${TORCH_ABI:=1}"
: "${NCCL_INCLUDE:=}" "${NCCL_LIBRARY:=}" "${TORCH_GPU:=}"
[[ -n "${RADCLEAR_TORCH_DIR:-}" ]] && TORCH_PREFIX="$RADCLEAR_TORCH_DIR"
cat "$ENV_LOG"
if [[ -z "$TORCH_VERSION" ]]; then
  record build FAIL "$(elapsed)" "$PY cannot import torch (see env.log)"
fi

# LibTorch 2.13 and later need C++20 (their headers say so); older ones take 17.
CXX_STD=17
if [[ "$TORCH_VERSION" =~ ^([0-9]+)\.([0-9]+) ]]; then
  major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]}
  ((major > 2 || (major == 2 && minor >= 13))) && CXX_STD=20
fi

# ---- build: TorchConfig first, torch's folders by hand when that fails
CMAKE_COMMON=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DGPU_CHECK_CXX_STANDARD="$CXX_STD"
  -DGPU_CHECK_DEPS="$DEPS" -DGPU_CHECK_NCCL_INCLUDE="$NCCL_INCLUDE" -DGPU_CHECK_NCCL_LIBRARY="$NCCL_LIBRARY"
  -DCMAKE_CUDA_ARCHITECTURES=90)
command -v nvcc >/dev/null && CMAKE_COMMON+=(-DCMAKE_CUDA_COMPILER="$(command -v nvcc)")
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
configure() {  # configure MODE: TorchConfig or manual (into a fresh $BUILD: no cached Torch_DIR)
  if [[ $1 == TorchConfig ]]; then
    timeout 120 cmake -S "$ROOT/scripts/gpu_check" -B "$BUILD" "${CMAKE_COMMON[@]}" -DGPU_CHECK_TORCH_MANUAL=OFF \
      ${TORCH_PREFIX:+-DCMAKE_PREFIX_PATH="$TORCH_PREFIX"} >>"$BUILD_LOG" 2>&1
  else
    rm -rf "$BUILD"
    timeout 120 cmake -S "$ROOT/scripts/gpu_check" -B "$BUILD" "${CMAKE_COMMON[@]}" -DGPU_CHECK_TORCH_MANUAL=ON \
      -DGPU_CHECK_TORCH_INCLUDE="$TORCH_INCLUDE" -DGPU_CHECK_TORCH_LIBDIR="$TORCH_LIBDIR" \
      -DGPU_CHECK_TORCH_ABI="$TORCH_ABI" >>"$BUILD_LOG" 2>&1
  fi
}
compile() {  # -k 0: build every target that can be built, so one broken file does not take all
  timeout "${GPU_CHECK_BUILD_TIMEOUT_S:-300}" cmake --build "$BUILD" -j "$JOBS" -- -k 0 >>"$BUILD_LOG" 2>&1
}
build_ok=0
if [[ -n "$TORCH_VERSION" ]]; then
  t0=$(date +%s)
  mode=TorchConfig
  if ! configure TorchConfig; then
    echo "gpu_check: configuring with TorchConfig failed; taking torch's folders by hand" | tee -a "$BUILD_LOG"
    mode=manual
    configure manual || mode=failed
  fi
  if [[ "$mode" != failed ]]; then
    compile
    rc=$?
    # TorchConfig configured but its link line did not work (no compiler
    # error in our sources): link against torch's folders by hand instead.
    if [[ "$mode" == TorchConfig && ! -x "$BUILD/gpu_check" ]] && ! grep -q '\.cc:[0-9]*:[0-9]*: error' "$BUILD_LOG"; then
      echo "gpu_check: no gpu_check from the TorchConfig build; taking torch's folders by hand" | tee -a "$BUILD_LOG"
      mode=manual
      configure manual && compile
      rc=$?
    fi
    [[ -x "$BUILD/gpu_check" ]] && build_ok=1
    status=PASS
    ((rc != 0)) && status=FAIL
    built=$(cd "$BUILD" && ls gpu_check nccl_check 2>/dev/null | tr '\n' ' ')
    errors=$(grep -c 'error:' "$BUILD_LOG")
    record build "$status" $(($(date +%s) - t0)) "LibTorch $TORCH_VERSION via $mode, C++$CXX_STD, rc $rc, built: ${built:-nothing}, $errors compiler errors"
  else
    record build FAIL $(($(date +%s) - t0)) "cmake configure failed both ways (see build.log)"
  fi
fi
grep -m 20 'error' "$BUILD_LOG" || true

# ---- phases
GC="$BUILD/gpu_check"
if [[ "$DEVICE" == cpu ]]; then
  # Toy sizes: the code paths, not the figures.
  DEV=(--device cpu --image-size 32 --mlp-dim 64)
  STEP=(--batch 4)
  TPUT=(--batch 4 --steps 2 --warmup 1 --gemm-size 256)
  GEMM=(--gemm-size 256)
  ARCHS=(vit_tiny mambaout_femto)
else
  DEV=(--device cuda)
  ((HAVE_GPU)) && DEV+=(--require-cuda)
  STEP=(--batch 8)
  TPUT=(--batch 128 --steps 10 --warmup 3 --gemm-size 8192)
  GEMM=(--gemm-size 8192)
  ARCHS=(vit_small mambaout_femto)
fi
if ((build_ok)); then
  run_phase env 60 "$GC" env "${DEV[@]}"
  run_phase gemm 60 "$GC" gemm "${DEV[@]}" "${GEMM[@]}"
fi
if [[ -x "$BUILD/nccl_check" ]]; then
  run_phase nccl 60 "$BUILD/nccl_check" $( ((HAVE_GPU)) && echo --require-cuda)
elif [[ "$DEVICE" == cuda ]]; then
  record nccl "$( ((HAVE_GPU)) && echo FAIL || echo SKIP)" 0 "nccl_check not built (nccl.h: '${NCCL_INCLUDE}', lib: '${NCCL_LIBRARY}')"
fi
if ((build_ok)); then
  run_phase syncbn 60 "$GC" syncbn "${DEV[@]}"
  a=${ARCHS[0]} b=${ARCHS[1]}
  run_phase "cpu_vs_$DEVICE:$a" 120 "$GC" cpu_vs_device "${DEV[@]}" "${STEP[@]}" --arch "$a" --label "cpu_vs_$DEVICE:$a"
  run_phase "autocast:$a" 100 "$GC" autocast "${DEV[@]}" "${STEP[@]}" --arch "$a" --label "autocast:$a"
  run_phase "throughput:$a:bf16" 90 "$GC" throughput "${DEV[@]}" "${TPUT[@]}" --arch "$a" --precision bf16 \
    --label "throughput:$a:bf16"
  run_phase "throughput:$b:bf16" 90 "$GC" throughput "${DEV[@]}" "${TPUT[@]}" --arch "$b" --precision bf16 \
    --label "throughput:$b:bf16"
  run_phase "cpu_vs_$DEVICE:$b" 120 "$GC" cpu_vs_device "${DEV[@]}" "${STEP[@]}" --arch "$b" --label "cpu_vs_$DEVICE:$b"
  run_phase "autocast:$b" 100 "$GC" autocast "${DEV[@]}" "${STEP[@]}" --arch "$b" --label "autocast:$b"
  run_phase "throughput:$a:fp32" 90 "$GC" throughput "${DEV[@]}" "${TPUT[@]}" --arch "$a" --precision fp32 \
    --label "throughput:$a:fp32"
fi

# ---- tree: every LibTorch unit of radclear against this LibTorch (syntax
# only; the other dependencies' headers come from deps/, packed on a Debian
# machine by scripts/gpu_check_deps.sh). Last: the figures above come first.
if [[ -n "$DEPS" && -f "$DEPS/tree_units.tsv" && -n "$TORCH_VERSION" ]]; then
  run_phase tree "${GPU_CHECK_TREE_TIMEOUT_S:-240}" bash "$ROOT/scripts/gpu_check/tree_check.sh" "$ROOT" "$DEPS" \
    "$OUT_DIR/tree" "$JOBS" "$CXX_STD" "$TORCH_ABI" "$TORCH_INCLUDE" /usr/local/cuda/include "$NCCL_INCLUDE"
else
  record tree SKIP 0 "no deps/tree_units.tsv: run bash scripts/gpu_check_deps.sh where the Debian build is, and carry deps/"
fi

# ---- summary
{
  echo "radclear gpu_check: LibTorch ${TORCH_VERSION:-?}, device ${TORCH_GPU:-none} ($DEVICE), $(elapsed) s"
  echo
  echo "| phase | status | s | figures |"
  echo "| --- | --- | --- | --- |"
  for r in "${RESULTS[@]}"; do
    IFS='|' read -r label status secs summary <<<"$r"
    echo "| $label | $status | $secs | $summary |"
  done
} >"$SUMMARY"
echo
cat "$SUMMARY"
failed=0
for r in "${RESULTS[@]}"; do [[ "$r" == *"|FAIL|"* ]] && failed=1; done
exit $failed
