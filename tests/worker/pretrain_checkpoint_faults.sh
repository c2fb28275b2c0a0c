#!/usr/bin/env bash
# Damaged checkpoints never train silently. After a 2-epoch run:
# - 4096 bytes flipped in the middle of the newest checkpoint: --resume auto
#   names the file and the record that fails its SHA-256 check and resumes
#   from the one before;
# - the same file given as --resume FILE: the run fails naming the file;
# - the newest checkpoint truncated to half: --resume auto falls back too.
# usage: pretrain_checkpoint_faults.sh RADCLEAR_BINARY WORK_DIR [PYTHON]
set -euo pipefail
bin=$1
work=$2
py=${3:-/usr/bin/python3}
rm -rf "$work"
mkdir -p "$work"
. "$(dirname "$0")/../tiny_data.sh"
tiny_data "$bin" "$work"
args=(--db "$work/idx" --data "$work/data" --arch vit_tiny --image-size 32 --batch-size 8 --epochs 2
      --warmup-epochs 1 --lr 0.01 --moco-dim 32 --moco-mlp-dim 64 --workers 1 --quiet --out "$work/run")
"$bin" pretrain "${args[@]}" --log-level warn
first="$work/run/vit_tiny-moco-lecl-1-run-checkpoint_0001.pth.tar"
newest="$work/run/vit_tiny-moco-lecl-1-run-checkpoint_0002.pth.tar"
good="$work/good.pth.tar"
cp "$newest" "$good"


# Flips 4096 bytes in the middle of a file.
"$py" - "$newest" <<'PY'
import sys
path = sys.argv[1]
data = bytearray(open(path, 'rb').read())
mid = len(data) // 2
data[mid:mid + 4096] = bytes(b ^ 0xFF for b in data[mid:mid + 4096])
open(path, 'wb').write(data)
PY

# --resume FILE: refused, naming the file and the damage.
if "$bin" pretrain "${args[@]}" --resume "$newest" > "$work/explicit.log" 2>&1; then
  fail "a damaged --resume FILE was trained from" "$work/explicit.log"
fi
grep -q "$newest: record data/[0-9]* fails its SHA-256 check" "$work/explicit.log" ||
  fail "the error does not name the file and the record:" "$work/explicit.log"
echo "--resume FILE refuses the damaged file: $(grep -o 'record data/[0-9]* fails its SHA-256 check' "$work/explicit.log")"

# --resume auto: warns and resumes from epoch 1, then writes a good epoch 2.
"$bin" pretrain "${args[@]}" > "$work/auto.log" 2>&1 || fail "--resume auto failed:" "$work/auto.log"
grep -q "skipping unreadable checkpoint $newest (.*fails its SHA-256 check" "$work/auto.log" ||
  fail "no warning naming the damaged checkpoint:" "$work/auto.log"
grep -q "resuming from $first at epoch 1 step 0" "$work/auto.log" || fail "did not fall back to epoch 1:" "$work/auto.log"
echo "--resume auto skipped the flipped checkpoint and resumed from epoch 1"

# Truncated to half: --resume auto falls back as well.
cp "$good" "$newest"
"$py" -c "import os,sys; p=sys.argv[1]; os.truncate(p, os.path.getsize(p)//2)" "$newest"
"$bin" pretrain "${args[@]}" > "$work/truncated.log" 2>&1 || fail "--resume auto failed:" "$work/truncated.log"
grep -q "skipping unreadable checkpoint $newest" "$work/truncated.log" ||
  fail "no warning naming the truncated checkpoint:" "$work/truncated.log"
grep -q "resuming from $first at epoch 1 step 0" "$work/truncated.log" ||
  fail "did not fall back to epoch 1:" "$work/truncated.log"
echo "--resume auto skipped the truncated checkpoint and resumed from epoch 1"

# The rewritten epoch-2 checkpoint is whole again, and Python reads it.
"$py" -c "import sys,torch; c=torch.load(sys.argv[1], map_location='cpu'); assert c['epoch']==2" "$newest"
