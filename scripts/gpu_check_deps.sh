#!/usr/bin/env bash
# Packs what scripts/gpu_check.sh needs from this (Debian) machine for a GPU
# machine that has only a pip PyTorch: the headers of radclear's other
# dependencies (RocksDB, HDF5, OpenCV, Open MPI, ZeroMQ, yaml-cpp, spdlog,
# fmt, nlohmann/json, CLI11, GDCM, niftilib, GoogleTest, Google Benchmark)
# and the list of every translation unit that uses LibTorch, with its
# compile flags. gpu_check.sh's `tree` phase then compiles each of them
# (-fsyntax-only) against the GPU machine's LibTorch 2.x: the whole tree's
# LibTorch 2.x check, which the targets gpu_check builds and links do not
# cover. Headers only: nothing is linked there.
#
# Usage: bash scripts/gpu_check_deps.sh [BUILD_DIR] [OUT]   (defaults: build, deps)
# Then carry OUT to the GPU machine beside the working tree (the device tool:
# carry ["deps"]). Writes OUT/{fmt,spdlog,nlohmann} (gpu_check's own build
# takes these), OUT/sys/ (the copied headers, paths as under /usr/include),
# OUT/openmpi/ and OUT/tree_units.tsv (file, flags).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
OUT="${2:-$ROOT/deps}"
DB="$BUILD/compile_commands.json"
[[ -f "$DB" ]] || { echo "gpu_check_deps: $DB not found: configure the build first (bash scripts/setup.sh)" >&2; exit 2; }
mkdir -p "$OUT"

/usr/bin/python3 - "$ROOT" "$BUILD" "$OUT" <<'PY'
import json, os, re, shlex, shutil, subprocess, sys
from concurrent.futures import ThreadPoolExecutor

root, build, out = (os.path.abspath(p) for p in sys.argv[1:4])
units = json.load(open(os.path.join(build, "compile_commands.json")))
TORCH_INC = "/usr/include/torch/csrc/api/include"
MPI_INC = "/usr/lib/x86_64-linux-gnu/openmpi/include"
# Defines that come from Debian's TorchConfig: the GPU machine's LibTorch brings its own.
TORCH_DEFINES = {"USE_C10D_GLOO", "USE_DISTRIBUTED", "USE_RPC", "USE_TENSORPIPE", "_GLIBCXX_USE_CXX11_ABI"}
# Headers the GPU machine has itself: the C and C++ libraries, the compiler's,
# LibTorch's (pip), CUDA's and NCCL's.
OWN = re.compile(r"^/usr/(lib/gcc|include/(c\+\+|x86_64-linux-gnu|linux|asm|asm-generic|bits|sys|torch|ATen|c10|caffe2|"
                 r"THC?|pybind11|kineto)/)|^/usr/local/cuda")
LIBC = re.compile(r"^/usr/include/[^/]+\.h$")  # top-level glibc headers, kept unless a dependency owns them
DEP_TOP = re.compile(r"^/usr/include/(zmq|zmq_addon|zmq_utils|zlib|zconf|cblas|openblas_config|nifti\w*|znzlib|"
                     r"hdf5\w*|H5\w*|mpi\w*)\.(h|hpp)$")

torch_units = []
for u in units:
    cmd = shlex.split(u["command"]) if "command" in u else u["arguments"]
    if not any(TORCH_INC in a or "cmake_pch.hxx" in a for a in cmd):
        continue
    f = os.path.relpath(u["file"], root)
    if f.startswith("..") or os.path.abspath(u["file"]).startswith(build + "/"):  # generated, not the tree's
        continue
    torch_units.append((f, cmd, u["directory"]))

def flags_of(cmd):
    """The flags that matter on the GPU machine, paths mapped into OUT."""
    keep, pch, i = [], False, 1
    while i < len(cmd):
        a = cmd[i]
        nxt = cmd[i + 1] if i + 1 < len(cmd) else ""
        if a in ("-o", "-c", "-MF", "-MT", "-MQ"):
            i += 2
            continue
        if a == "-include":
            pch = pch or "cmake_pch.hxx" in nxt
            i += 2
            continue
        if a.startswith("-D"):
            name = a[2:].split("=")[0]
            if name not in TORCH_DEFINES:
                keep.append(a.replace(root, "@ROOT@"))
        elif a == "-isystem" or a == "-I":
            path = nxt
            if path == root:
                keep.append("-I@ROOT@")
            elif path.startswith(MPI_INC):
                keep += ["-isystem", "@DEPS@/openmpi" + path[len(MPI_INC):]]
            elif path.startswith("/usr/include/") and "/torch/" not in path and path != "/usr/include":
                keep += ["-isystem", "@DEPS@/sys/" + path[len("/usr/include/"):]]
            i += 2
            continue
        elif a.startswith("-I"):
            path = a[2:]
            if path == root:
                keep.append("-I@ROOT@")
        elif a.startswith("-std="):
            keep.append(a)
        i += 1
    if pch:
        keep += ["-include", "torch/torch.h"]
    return keep

def local(flags):
    """OUT's placeholders as the paths on this machine."""
    return [a.replace("@ROOT@", root).replace("@DEPS@/openmpi", MPI_INC).replace("@DEPS@/sys/", "/usr/include/")
            for a in flags]

def headers_of(unit):
    """Every header the unit reads (the preprocessor's -M list; torch/torch.h for the PCH)."""
    f, cmd, d = unit
    pre = [cmd[0]] + local(flags_of(cmd)) + ["-isystem", TORCH_INC, "-M", os.path.join(root, f)]
    r = subprocess.run(pre, cwd=d, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"gpu_check_deps: preprocessing {f} failed:\n{r.stderr[-2000:]}")
    return set(os.path.normpath(os.path.join(d, t)) for t in r.stdout.replace("\\\n", " ").split()[1:])

with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
    seen = set().union(*pool.map(headers_of, torch_units))
copied = 0
for h in sorted(seen):
    if h.startswith(root + "/") or OWN.match(h):
        continue
    if h.startswith(MPI_INC + "/"):
        dst = os.path.join(out, "openmpi", h[len(MPI_INC) + 1:])
    elif h.startswith("/usr/include/"):
        if LIBC.match(h) and not DEP_TOP.match(h):
            continue
        dst = os.path.join(out, "sys", h[len("/usr/include/"):])
    else:
        continue
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copyfile(h, dst)
    copied += 1
for lib in ("fmt", "spdlog", "nlohmann"):  # gpu_check's own build (GPU_CHECK_DEPS)
    src = os.path.join(out, "sys", lib)
    if os.path.isdir(src):
        shutil.rmtree(os.path.join(out, lib), ignore_errors=True)
        shutil.copytree(src, os.path.join(out, lib))
with open(os.path.join(out, "tree_units.tsv"), "w") as t:
    for f, cmd, _ in sorted(torch_units):
        t.write(f + "\t" + " ".join(shlex.quote(a) for a in flags_of(cmd)) + "\n")
size = sum(os.path.getsize(os.path.join(p, n)) for p, _, ns in os.walk(out) for n in ns)
print(f"gpu_check_deps: {len(torch_units)} LibTorch units, {copied} headers, {size / 1e6:.1f} MB in {out}")
PY
