#!/usr/bin/env bash
# The stage-spec layer must link neither LibTorch nor OpenCV (nor HDF5,
# RocksDB, MPI): the coordinator builds, checks and sends jobs with it.
# Reads the link command CMake generated for a program that links only
# radclear_stages (Ninja: build.ninja; Makefiles: link.txt).
# Usage: link_check.sh BUILD_DIR TARGET
set -euo pipefail
build=$1 target=$2
if [[ -f "$build/build.ninja" ]]; then
  line=$(awk -v t="$target" '$1 == "build" && $2 ~ ("(^|/)" t ":?$") { found = 1; next }
                              found && /LINK_LIBRARIES/ { print; exit }' "$build/build.ninja")
else
  line=$(cat "$(find "$build" -path "*CMakeFiles/$target.dir/link.txt" | head -1)")
fi
[[ -n "$line" ]] || { echo "no link command for $target under $build"; exit 1; }
if grep -Eio 'lib(torch|c10|opencv|hdf5|rocksdb|mpi)[a-z0-9_]*' <<< "$line" | sort -u | grep .; then
  echo "$target links the libraries above; stages/ must stay torch- and OpenCV-free"
  exit 1
fi
echo "$target: no LibTorch, OpenCV, HDF5, RocksDB or MPI on its link line"
