#!/usr/bin/env bash
# gpu_check.sh's `tree` phase: compiles (-fsyntax-only) every translation
# unit of the tree that uses LibTorch, as listed by scripts/gpu_check_deps.sh,
# against the LibTorch of this machine, with the other dependencies' headers
# from DEPS. Prints one RESULT|tree|PASS/FAIL|summary line; each unit's
# compiler output goes to LOG_DIR/<unit>.log.
#
# Usage: tree_check.sh ROOT DEPS LOG_DIR JOBS CXX_STD ABI "TORCH_INCLUDES;..." [EXTRA_INCLUDE...]
set -uo pipefail
root=$1 deps=$2 logs=$3 jobs=$4 std=$5 abi=$6 torch_includes=$7
shift 7
units="$deps/tree_units.tsv"
[[ -f "$units" ]] || { echo "RESULT|tree|FAIL|$units missing: run bash scripts/gpu_check_deps.sh on the build machine"; exit 1; }
mkdir -p "$logs"
common=(-fsyntax-only "-std=c++$std" "-D_GLIBCXX_USE_CXX11_ABI=$abi")
IFS=';' read -r -a tinc <<<"$torch_includes"
for d in "${tinc[@]}"; do [[ -n "$d" ]] && common+=(-isystem "$d"); done
for d in "$@"; do [[ -n "$d" ]] && common+=(-isystem "$d"); done
# Last, as /usr/include comes after the -isystem folders in a real build
# against a pip LibTorch: where LibTorch bundles a library (fmt), its copy wins there too.
common+=(-isystem "$deps/sys")
[[ -d "$deps/sys/x86_64-linux-gnu" ]] && common+=(-isystem "$deps/sys/x86_64-linux-gnu")
export root deps logs
export COMMON="${common[*]}"

compile_one() {  # FILE FLAGS...
  local f=$1
  shift
  local flags=() a log="$logs/${f//\//_}.log"
  for a in "$@"; do
    [[ $a == -std=* ]] && continue  # the check's standard wins
    a=${a//@ROOT@/$root}
    flags+=("${a//@DEPS@/$deps}")
  done
  # shellcheck disable=SC2086
  if ${CXX:-c++} $COMMON "${flags[@]}" "$root/$f" >"$log" 2>&1; then echo "ok $f"; else echo "FAILED $f"; fi
}
export -f compile_one

t0=$(date +%s)
results=$(while IFS=$'\t' read -r file flags; do
  printf '%s\0' "compile_one $(printf '%q' "$file") $flags"
done <"$units" | xargs -0 -P "$jobs" -I{} bash -c '{}')
total=$(grep -c . <<<"$results")
failed=$(grep '^FAILED ' <<<"$results" | cut -d' ' -f2 | sort)
n_failed=$(grep -c . <<<"$failed")
secs=$(($(date +%s) - t0))
if [[ -z "$failed" ]]; then
  echo "RESULT|tree|PASS|all $total LibTorch units of the tree compile (-fsyntax-only, C++$std) in ${secs} s"
  exit 0
fi
first=$(head -n 1 <<<"$failed")
err=$(grep -m 1 'error' "$logs/${first//\//_}.log" | cut -c1-300)
echo "RESULT|tree|FAIL|$n_failed of $total units fail: $(head -n 8 <<<"$failed" | tr '\n' ' ')-- first: $err"
exit 1
