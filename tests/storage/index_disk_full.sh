#!/usr/bin/env bash
# A slice index write that fails (file-size limit: EFBIG on RocksDB's
# write-ahead log, as on a full disk or quota) stops `radclear index` with
# an error naming the index and the cause, no abort and no temporary file;
# rerunning the same command completes the index with the same counts and
# records as an uninterrupted run.
# usage: index_disk_full.sh RADCLEAR_BINARY WORK_DIR SOURCE_DIR
set -euo pipefail
bin=$1
work=$2
src=$3
. "$src/tests/tiny_data.sh"
rm -rf "$work"
mkdir -p "$work"
# 2048 slices: the write-ahead log outgrows 40 KiB; RocksDB's OPTIONS file (~32 KB) does not.
tiny_data "$bin" "$work" --patients 4 --studies-per-patient 2 --slices 256 --size 32
args=(--data "$work/data" --dl-info "$work/data/DL_info.csv" --quiet --log-level warn)
stats() { "$bin" index-stats --db "$1" | tail -n +2; }

rc=0
with_file_limit 40 "$bin" index "${args[@]}" --db "$work/faulty" > "$work/full.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "index under a 40 KiB file-size limit exited with $rc, not 1" "$work/full.log"
grep -Eq "index $work/faulty: writing [0-9]+ operations: IO error: .*$work/faulty/[0-9]+\.log: File too large" \
  "$work/full.log" || fail "the error does not name the index and the cause:" "$work/full.log"
leftover=$(temp_files "$work")
[ -z "$leftover" ] || fail "temporary files left: $leftover"
echo "EFBIG: $(grep -o 'index .*File too large' "$work/full.log" | head -1)"

# The rerun completes it: the same counts as the uninterrupted index, and a
# third run finds every slice record equal to what ingest writes.
"$bin" index "${args[@]}" --db "$work/faulty" > "$work/rerun.log" 2>&1 || fail "the rerun failed" "$work/rerun.log"
[ "$(stats "$work/faulty")" = "$(stats "$work/idx")" ] ||
  fail "the rerun's index differs: $(diff <(stats "$work/faulty") <(stats "$work/idx"))"
"$bin" index "${args[@]}" --db "$work/faulty" --verify > "$work/again.log" 2>&1 || fail "the third run failed" "$work/again.log"
grep -q "slices new 0, updated 0, unchanged 2048" "$work/again.log" || fail "records differ from ingest's:" "$work/again.log"
grep -q "verify: 2048 files checked, 0 missing, 0 with another size" "$work/again.log" || fail "--verify:" "$work/again.log"
echo "rerun after EFBIG: $(stats "$work/faulty" | grep -c .) index-stats lines equal the uninterrupted index; 2048 slices unchanged"
