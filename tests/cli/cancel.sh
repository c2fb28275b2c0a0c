#!/usr/bin/env bash
# Ctrl-C on the CLI: SIGINT mid-run stops pretraining after the current step
# with a checkpoint and exit code 3; the rerun resumes and ends with the
# weights of a run that was never interrupted.
# usage: cancel.sh RADCLEAR_BINARY WORK_DIR [PYTHON]
set -euo pipefail
bin=$1
work=$2
py=${3:-/usr/bin/python3}
rm -rf "$work"
mkdir -p "$work"
"$bin" synth --out "$work/data" --patients 4 --studies-per-patient 1 --slices 16 --size 64 --quiet > /dev/null
"$bin" index --data "$work/data" --db "$work/idx" --dl-info "$work/data/DL_info.csv" --quiet > /dev/null
args=(--db "$work/idx" --data "$work/data" --arch vit_tiny --image-size 32 --batch-size 8 --epochs 2
      --warmup-epochs 1 --lr 0.01 --moco-dim 32 --moco-mlp-dim 64 --print-freq 1 --workers 1 --quiet)
"$bin" pretrain "${args[@]}" --out "$work/straight" > /dev/null 2>&1

rows() { [ -f "$1" ] && echo $(( $(wc -l < "$1") - 1 )) || echo 0; }
"$bin" pretrain "${args[@]}" --out "$work/cancelled" > "$work/cancelled.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  [ "$(rows "$work/cancelled/metrics.csv")" -ge 3 ] && break
  sleep 0.05
done
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 3 ] || { echo "SIGINT: exit code $rc, expected 3"; cat "$work/cancelled.log"; exit 1; }
grep -q "cancelled at epoch" "$work/cancelled.log" || { cat "$work/cancelled.log"; exit 1; }
[ "$(rows "$work/cancelled/metrics.csv")" -lt 16 ] || { echo "the run finished before SIGINT"; exit 1; }
"$bin" pretrain "${args[@]}" --out "$work/cancelled" > "$work/resumed.log" 2>&1 || { cat "$work/resumed.log"; exit 1; }

"$py" - "$work/straight" "$work/cancelled" <<'PY'
import sys, torch
name = '/vit_tiny-moco-lecl-1-run-checkpoint_0002.pth.tar'
a = torch.load(sys.argv[1] + name, map_location='cpu')['state_dict']
b = torch.load(sys.argv[2] + name, map_location='cpu')['state_dict']
assert list(a) == list(b)
bad = [k for k in a if not torch.allclose(a[k].double(), b[k].double(), rtol=1e-6, atol=1e-7)]
assert not bad, f'resumed run differs: {bad[:5]}'
print(f'cancelled with SIGINT and resumed: {len(a)} tensors equal the uninterrupted run')
PY

echo "SIGINT: exit 3, a resumable checkpoint, and the resumed run equals the uninterrupted one"
