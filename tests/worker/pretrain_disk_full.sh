#!/usr/bin/env bash
# A checkpoint write that fails (file-size limit: write() returns EFBIG, as
# on a full disk or quota) stops pretraining with an error naming the file
# and the cause; the previous checkpoint stays intact, no temporary file is
# left, and a rerun without the limit ends equal to an uninterrupted run.
# usage: pretrain_disk_full.sh RADCLEAR_BINARY WORK_DIR [PYTHON]
set -euo pipefail
bin=$1
work=$2
py=${3:-/usr/bin/python3}
rm -rf "$work"
mkdir -p "$work"
. "$(dirname "$0")/../tiny_data.sh"
tiny_data "$bin" "$work"
args=(--db "$work/idx" --data "$work/data" --arch vit_tiny --image-size 32 --batch-size 8 --warmup-epochs 1
      --lr 0.01 --moco-dim 32 --moco-mlp-dim 64 --workers 1 --quiet)

"$bin" pretrain "${args[@]}" --epochs 2 --out "$work/straight" --log-level warn
# The run to fail: the uninterrupted run's state after epoch 1.
mkdir -p "$work/full"
first="$work/full/vit_tiny-moco-lecl-1-run-checkpoint_0001.pth.tar"
cp "$work/straight/$(basename "$first")" "$first"
second="$work/full/vit_tiny-moco-lecl-1-run-checkpoint_0002.pth.tar"
before=$(sha256sum "$first" | cut -d' ' -f1)

# Epoch 2 under a file-size limit of half a checkpoint (ulimit -f counts KiB).
# SIGXFSZ ignored, so write() fails with EFBIG instead of killing the process.
limit=$(( $(stat -c %s "$first") / 2048 ))
if with_file_limit "$limit" "$bin" pretrain "${args[@]}" --epochs 2 --out "$work/full" > "$work/full.log" 2>&1; then
  fail "pretraining succeeded under a file-size limit of $limit KiB" "$work/full.log"
fi
grep -q "$second: writing the checkpoint failed: File too large" "$work/full.log" ||
  fail "the error does not name the checkpoint and the cause:" "$work/full.log"
[ ! -e "$second" ] || fail "a partial $second was left"
leftover=$(temp_files "$work/full")
[ -z "$leftover" ] || fail "temporary files left: $leftover"
[ "$(sha256sum "$first" | cut -d' ' -f1)" = "$before" ] || fail "$first changed"
echo "EFBIG: $(grep -o 'writing the checkpoint failed: File too large' "$work/full.log" | head -1); epoch 1 intact, no temporary file"

# The rerun without the limit resumes from epoch 1 and ends like the uninterrupted run.
"$bin" pretrain "${args[@]}" --epochs 2 --out "$work/full" > "$work/rerun.log" 2>&1 || fail "rerun failed" "$work/rerun.log"
"$py" - "$work/straight" "$work/full" <<'PY'
import sys, torch
name = '/vit_tiny-moco-lecl-1-run-checkpoint_0002.pth.tar'
a, b = (torch.load(d + name, map_location='cpu') for d in sys.argv[1:3])
assert a['epoch'] == b['epoch'] == 2
bad = [k for k in a['state_dict']
       if not torch.allclose(a['state_dict'][k].double(), b['state_dict'][k].double(), rtol=1e-6, atol=1e-7)]
assert not bad, f'the rerun differs from the uninterrupted run: {bad[:5]}'
print(f"rerun after EFBIG: {len(a['state_dict'])} tensors equal the uninterrupted run")
PY
