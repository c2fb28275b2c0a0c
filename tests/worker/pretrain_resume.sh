#!/usr/bin/env bash
# A pretraining run killed with SIGKILL mid-epoch and resumed (--resume auto)
# ends with the same parameters and the same per-step losses as a run that
# was never interrupted. Python (Debian's torch) compares the checkpoints.
# Then a mid-epoch checkpoint must refuse a run whose epochs are longer.
# usage: pretrain_resume.sh RADCLEAR_BINARY WORK_DIR [PYTHON]
set -euo pipefail
bin=$1
work=$2
py=${3:-/usr/bin/python3}
rm -rf "$work"
mkdir -p "$work"
. "$(dirname "$0")/../tiny_data.sh"
tiny_data "$bin" "$work" --patients 4 --studies-per-patient 1 --slices 16 --size 64
args=(--db "$work/idx" --data "$work/data" --arch vit_tiny --image-size 32 --batch-size 8 --epochs 2
      --warmup-epochs 1 --lr 0.01 --moco-dim 32 --moco-mlp-dim 64 --print-freq 1 --save-every 3 --workers 1
      --quiet --log-level warn)

"$bin" pretrain "${args[@]}" --out "$work/straight"

# Data rows of metrics.csv (one per step with --print-freq 1; the first line is the header).
rows() { [ -f "$1" ] && echo $(( $(wc -l < "$1") - 1 )) || echo 0; }

# Kill the second run once it is inside epoch 2 (8 steps per epoch), wherever exactly.
"$bin" pretrain "${args[@]}" --out "$work/killed" &
pid=$!
for _ in $(seq 1 600); do
  [ "$(rows "$work/killed/metrics.csv")" -ge 12 ] && break
  sleep 0.05
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
[ "$(rows "$work/killed/metrics.csv")" -lt 16 ] || { echo "the run finished before it could be killed"; exit 1; }
"$bin" pretrain "${args[@]}" --out "$work/killed"

"$py" - "$work/straight" "$work/killed" <<'PY'
import csv, sys, torch
straight, killed = sys.argv[1:3]
name = '/vit_tiny-moco-lecl-1-run-checkpoint_0002.pth.tar'
a = torch.load(straight + name, map_location='cpu')
b = torch.load(killed + name, map_location='cpu')
assert a['epoch'] == b['epoch'] == 2
sa, sb = a['state_dict'], b['state_dict']
assert list(sa) == list(sb)
bad = [k for k in sa if not torch.allclose(sa[k].double(), sb[k].double(), rtol=1e-6, atol=1e-7)]
assert not bad, f'resumed run differs: {bad[:5]}'
# Per-step losses: the resumed run's last line for each (epoch, step) equals the straight run's.
# One header row, even in the resumed run's file (appends do not repeat it).
def losses(d):
    lines = open(d + '/metrics.csv').read().splitlines()
    assert lines[0].startswith('epoch,step,loss,') and lines.count(lines[0]) == 1, f'{d}: header {lines[:2]}'
    out = {}
    for row in csv.DictReader(lines):
        out[(int(row['epoch']), int(row['step']))] = float(row['loss'])
    return out
la, lb = losses(straight), losses(killed)
assert la.keys() == lb.keys(), (sorted(la), sorted(lb))
worst = max(abs(la[k] - lb[k]) for k in la)
assert worst < 1e-6, f'losses differ by {worst}'
print(f'resumed after SIGKILL: {len(sa)} tensors and {len(la)} step losses equal the uninterrupted run')
PY

# A mid-epoch checkpoint (step 6 of 8: --save-every 3) does not resume into an
# epoch of another length: showing each lesion slice 5 times lengthens it.
mid="$work/straight/vit_tiny-moco-lecl-1-run-checkpoint_0001.pth.tar"
if "$bin" pretrain "${args[@]}" --lesion-repeat 5 --resume "$mid" --out "$work/changed" > "$work/changed.log" 2>&1; then
  echo "a mid-epoch checkpoint resumed into an epoch of another length"; exit 1
fi
grep -q "was saved at step 6 of an epoch of 8 steps, but this run has" "$work/changed.log" || { cat "$work/changed.log"; exit 1; }
echo "a mid-epoch checkpoint refuses an epoch of another length: $(grep -o 'this run has [0-9]* steps' "$work/changed.log")"
