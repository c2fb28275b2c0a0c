#!/usr/bin/env bash
# `radclear pretrain --resume FILE` continues a checkpoint that PyTorch wrote
# as MoCo v3's main_moco.py does ('module.' keys, AdamW state, scaler None,
# no 'radclear' entry): it logs resuming at the checkpoint's epoch, trains
# the remaining epoch with finite losses, and its checkpoint holds Python's
# weights moved by a few steps and the AdamW step count continued.
# usage: pretrain_python_resume.sh RADCLEAR_BINARY WORK_DIR SOURCE_DIR [PYTHON]
set -euo pipefail
bin=$1
work=$2
src=$3
py=${4:-/usr/bin/python3}
script=$src/scripts/golden/pretrain_checkpoint.py
rm -rf "$work"
mkdir -p "$work"
"$bin" synth --out "$work/data" --patients 4 --studies-per-patient 1 --slices 16 --size 64 --quiet > /dev/null
"$bin" index --data "$work/data" --db "$work/idx" --dl-info "$work/data/DL_info.csv" --log-level warn > /dev/null 2>&1

# Python: 2 AdamW steps, saved as the checkpoint after epoch 1.
ckpt=$("$py" "$script" write "$work/python" --arch vit_tiny --image-size 32 --moco-dim 32 --mlp-dim 64 --epoch 1 --steps 2)
[ -f "$ckpt" ] || { echo "the Python script wrote no checkpoint ($ckpt)"; exit 1; }

# radclear: epoch 2 of 2 from it; 64 slices / batch 8 = 8 steps; lr 1e-3 * 8/256.
"$bin" pretrain --db "$work/idx" --data "$work/data" --arch vit_tiny --image-size 32 --batch-size 8 --epochs 2 \
  --warmup-epochs 1 --lr 1e-3 --moco-dim 32 --moco-mlp-dim 64 --print-freq 1 --workers 1 --quiet \
  --resume "$ckpt" --out "$work/out" > "$work/log.txt" 2>&1 || { cat "$work/log.txt"; exit 1; }

grep -q "resuming from $ckpt at epoch 1 step 0" "$work/log.txt" || {
  echo "radclear did not log resuming from $ckpt at epoch 1:"; cat "$work/log.txt"; exit 1; }
# PyTorch writes no record digest: the log says the file was read unverified.
grep -q "$ckpt: no radclear record digest" "$work/log.txt" || {
  echo "radclear did not log that $ckpt was read unverified:"; cat "$work/log.txt"; exit 1; }
[ ! -e "$work/out/vit_tiny-moco-lecl-1-run-checkpoint_0001.pth.tar" ] || { echo "epoch 1 was trained again"; exit 1; }

"$py" - "$work/out/metrics.csv" <<'PY'
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert [(int(r['epoch']), int(r['step'])) for r in rows] == [(1, s) for s in range(8)], \
    f"expected steps 0..7 of epoch index 1 only, got {[(r['epoch'], r['step']) for r in rows]}"
losses = [float(r['loss']) for r in rows]
assert all(math.isfinite(l) and l > 0 for l in losses), f'losses {losses}'
print(f'resumed epoch: {len(losses)} finite losses, first {losses[0]:.4f}, last {losses[-1]:.4f}')
PY
"$py" "$script" check "$ckpt" "$work/out/vit_tiny-moco-lecl-1-run-checkpoint_0002.pth.tar" \
  --steps-run 8 --epoch 2 --lr 3.125e-5
