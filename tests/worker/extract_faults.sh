#!/usr/bin/env bash
# Storage faults of `radclear extract`, one per mode:
#   disk_full  a feature file write that fails (file-size limit: EFBIG, as on
#              a full disk or quota) stops extract with an error naming the
#              file and the cause; the studies finished before stay byte for
#              byte, no temporary file is left, and a rerun without the limit
#              writes the same bytes as an uninterrupted run.
#   verify     `features-stats --verify` passes on untouched files, names a
#              file with 4 flipped bytes and exits 1; a rerun of extract
#              redoes that study and --verify passes again.
# usage: extract_faults.sh RADCLEAR_BINARY WORK_DIR PYTHON SOURCE_DIR MODE
set -euo pipefail
bin=$1
work=$2
py=$3
src=$4
mode=$5
. "$src/tests/tiny_data.sh"
rm -rf "$work"
mkdir -p "$work"
tiny_encoder "$py" "$src" "$work/enc.pth"
args=(--data "$work/data" --checkpoint "$work/enc.pth" --arch vit_tiny --image-size 32 --quiet --log-level warn)

if [ "$mode" = verify ]; then
  tiny_data "$bin" "$work" --patients 2 --studies-per-patient 1 --slices 8 --size 32
  "$bin" extract "${args[@]}" --db "$work/idx" --out "$work/feats" > /dev/null
  "$bin" features-stats --db "$work/idx" --verify > "$work/clean.log" || fail "--verify fails untouched files" "$work/clean.log"
  grep -q "verify: 2 feature files checked (size and SHA-256 against the index), 0 failed" "$work/clean.log" ||
    fail "--verify does not say how many files it checked" "$work/clean.log"
  victim=$(ls "$work/feats/"*.h5 | head -1)
  printf '\xff\xfe\xfd\xfc' | dd of="$victim" bs=1 seek=4096 conv=notrunc 2> /dev/null
  rc=0
  "$bin" features-stats --db "$work/idx" --verify > "$work/flipped.log" 2>&1 || rc=$?
  [ "$rc" = 1 ] || fail "--verify exited with $rc on a file with flipped bytes, not 1" "$work/flipped.log"
  grep -q "^$victim has changed since it was written (SHA-256 differs)" "$work/flipped.log" ||
    fail "--verify does not name the damaged file" "$work/flipped.log"
  grep -q "1 failed" "$work/flipped.log" && grep -q "rerun the same \`radclear extract\` command" "$work/flipped.log" ||
    fail "--verify does not count the failure or say how to fix it" "$work/flipped.log"
  "$bin" extract "${args[@]}" --db "$work/idx" --out "$work/feats" > /dev/null 2>&1
  "$bin" features-stats --db "$work/idx" --verify > /dev/null || fail "--verify still fails after extract redid the study"
  echo "features-stats --verify: $(grep -o '^verify: .*' "$work/flipped.log"); names $(basename "$victim"); extract redid it"
  exit 0
fi

# 32 slices x 2 windows x 192 floats: each feature file is ~57 KB.
tiny_data "$bin" "$work" --patients 2 --studies-per-patient 2 --slices 32 --size 32
cp -r "$work/idx" "$work/idx-straight"
"$bin" extract "${args[@]}" --db "$work/idx-straight" --out "$work/straight" > /dev/null

# Two studies finish, then the rest run under a 48 KiB limit: above the
# index's own files (RocksDB's OPTIONS file is ~41 KB), below a feature file.
studies=($(ls "$work/data/Images_png"))
"$bin" extract "${args[@]}" --db "$work/idx" --out "$work/feats" --studies "${studies[0]},${studies[1]}" > /dev/null
before=$(cd "$work/feats" && sha256sum ./*.h5)
rc=0
with_file_limit 48 "$bin" extract "${args[@]}" --db "$work/idx" --out "$work/feats" > "$work/full.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "extract under a 48 KiB file-size limit exited with $rc, not 1" "$work/full.log"
grep -Eq "writing $work/feats/[0-9_]+\.h5 failed: File too large" "$work/full.log" ||
  fail "the error does not name the feature file and the cause:" "$work/full.log"
! grep -q "HDF5-DIAG" "$work/full.log" || fail "HDF5 printed its error stack:" "$work/full.log"
[ "$(cd "$work/feats" && ls ./*.h5)" = "$(cd "$work/feats" && ls "./${studies[0]}.h5" "./${studies[1]}.h5")" ] ||
  fail "a partial feature file was left: $(ls "$work/feats")"
[ "$(cd "$work/feats" && sha256sum ./*.h5)" = "$before" ] || fail "a finished feature file changed"
leftover=$(temp_files "$work")
[ -z "$leftover" ] || fail "temporary files left: $leftover"
echo "EFBIG: $(grep -Eo 'writing .*File too large' "$work/full.log" | head -1); finished studies intact"

# The rerun without the limit completes the set with the uninterrupted run's bytes.
"$bin" extract "${args[@]}" --db "$work/idx" --out "$work/feats" > "$work/rerun.log" 2>&1 ||
  fail "the rerun failed" "$work/rerun.log"
for s in "${studies[@]}"; do
  cmp "$work/straight/$s.h5" "$work/feats/$s.h5" || fail "$s.h5 differs from the uninterrupted run's"
done
"$bin" features-stats --db "$work/idx" | grep -q " 4/4 " || fail "the index does not record 4 of 4 studies"
echo "rerun after EFBIG: ${#studies[@]} feature files byte-identical to the uninterrupted run's, 4/4 recorded"
