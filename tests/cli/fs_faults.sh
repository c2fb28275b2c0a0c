#!/usr/bin/env bash
# Full and read-only filesystems, without privileges: a user and mount
# namespace (unshare -rm) mounts small tmpfs filesystems that only this test
# sees. Real writes fail with ENOSPC and EROFS; no call is mocked.
#   ENOSPC   the slice index on a 64 KiB tmpfs: `radclear index` stops with an
#            error naming the index and "No space left on device"; after the
#            filesystem grows the rerun completes it equal to an
#            uninterrupted index.
#   EROFS    outputs on a read-only tmpfs: index (exit 1) and synth (exit 2:
#            a bad --out, checked first) stop naming the directory and
#            "Read-only file system".
#   ENOTDIR  an output whose parent is a regular file: the error names it.
# Exits 77 (skipped) where unprivileged user namespaces are disabled.
# usage: fs_faults.sh RADCLEAR_BINARY WORK_DIR SOURCE_DIR [inner]
set -euo pipefail
bin=$1
work=$2
src=$3
. "$src/tests/tiny_data.sh"
if [ "${4:-}" != inner ]; then
  rm -rf "$work"
  mkdir -p "$work"
  if ! unshare -rm true 2> /dev/null; then
    echo "skipped: unshare -rm (an unprivileged user and mount namespace) is not allowed here"
    exit 77
  fi
  exec unshare -rm bash "$0" "$bin" "$work" "$src" inner
fi

tiny_data "$bin" "$work" --patients 2 --studies-per-patient 2 --slices 64 --size 32
args=(--data "$work/data" --dl-info "$work/data/DL_info.csv" --quiet --log-level warn)
stats() { "$bin" index-stats --db "$1" | tail -n +2; }
expect_error() {  # expect_error LOG PATTERN WHAT
  grep -Eq "$2" "$1" || fail "$3: the error does not name the path and the cause:" "$1"
}

# ENOSPC: the index on a 64 KiB filesystem (RocksDB's OPTIONS file alone is ~32 KB).
mkdir -p "$work/small"
mount -t tmpfs -o size=64k tmpfs "$work/small"
rc=0
"$bin" index "${args[@]}" --db "$work/small/idx" > "$work/enospc.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "index on a full filesystem exited with $rc, not 1" "$work/enospc.log"
expect_error "$work/enospc.log" "$work/small/idx.*No space left on device" "ENOSPC"
leftover=$(temp_files "$work/small")
[ -z "$leftover" ] || fail "temporary files left: $leftover"
echo "ENOSPC: $(grep -Eo "index .*No space left on device" "$work/enospc.log" | head -1)"
mount -o remount,size=16m "$work/small"
"$bin" index "${args[@]}" --db "$work/small/idx" > "$work/rerun.log" 2>&1 || fail "the rerun failed" "$work/rerun.log"
[ "$(stats "$work/small/idx")" = "$(stats "$work/idx")" ] || fail "the rerun's index differs from the uninterrupted one"
echo "rerun after ENOSPC: the index equals the uninterrupted one"

# EROFS: outputs on a read-only filesystem.
mkdir -p "$work/ro"
mount -t tmpfs -o ro,size=1m tmpfs "$work/ro"
rc=0
"$bin" index "${args[@]}" --db "$work/ro/idx" > "$work/erofs-index.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "index on a read-only filesystem exited with $rc, not 1" "$work/erofs-index.log"
expect_error "$work/erofs-index.log" "$work/ro/idx: Read-only file system" "EROFS index"
rc=0
"$bin" synth --out "$work/ro/data" --patients 1 --slices 4 --size 32 --quiet > "$work/erofs-synth.log" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "synth on a read-only filesystem exited with $rc, not 2 (bad --out)" "$work/erofs-synth.log"
expect_error "$work/erofs-synth.log" "cannot create --out $work/ro/data: $work/ro is not writable: Read-only file system" \
  "EROFS synth"
echo "EROFS: $(grep -Eo "[^ ]*$work/ro/idx: Read-only file system" "$work/erofs-index.log" | head -1)"

# ENOTDIR: the index directory's parent is a regular file.
echo "not a directory" > "$work/file"
rc=0
"$bin" index "${args[@]}" --db "$work/file/idx" > "$work/enotdir.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "index under a regular file exited with $rc, not 1" "$work/enotdir.log"
expect_error "$work/enotdir.log" "$work/file/idx: Not a directory" "ENOTDIR"
echo "ENOTDIR: $(grep -Eo "[^ ]*$work/file/idx: Not a directory" "$work/enotdir.log" | head -1)"
