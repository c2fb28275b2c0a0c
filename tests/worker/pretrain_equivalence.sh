#!/usr/bin/env bash
# The proof that distributed pretraining is exact: `mpirun -np 2` with batch b
# per rank and one process with batch 2b give the same per-step losses and
# the same parameters (to float tolerance), for LeCL on a small ViT and plain
# MoCo on MambaOut-femto. Python (Debian's torch) reads both checkpoints.
# LARS, not AdamW: Adam divides by sqrt(v), which turns the float noise of
# gradients that are exactly zero in theory (the key bias of attention)
# into lr-sized steps, so AdamW replicas agree on losses but not to float
# tolerance on those parameters.
# usage: pretrain_equivalence.sh RADCLEAR_BINARY WORK_DIR [PYTHON]
set -euo pipefail
bin=$1
work=$2
py=${3:-/usr/bin/python3}
rm -rf "$work"
mkdir -p "$work"
. "$(dirname "$0")/../tiny_data.sh"
tiny_data "$bin" "$work" --patients 4 --studies-per-patient 1 --slices 16 --size 64

for setup in "vit_tiny Lesion" "mambaout_femto None"; do
  read -r arch sampling <<< "$setup"
  args=(--db "$work/idx" --data "$work/data" --arch "$arch" --sampling "$sampling" --image-size 32 --batch-size 8
        --epochs 1 --warmup-epochs 1 --optimizer lars --lr 0.5 --moco-dim 32 --moco-mlp-dim 64 --print-freq 1 --workers 1 --quiet
        --log-level warn)
  "$bin" pretrain "${args[@]}" --out "$work/$arch-np1"
  mpiexec --allow-run-as-root --oversubscribe -np 2 "$bin" pretrain "${args[@]}" --out "$work/$arch-np2"
  "$py" - "$work/$arch-np1" "$work/$arch-np2" "$arch" <<'PY'
import csv, sys, glob, torch
one, two, arch = sys.argv[1:4]
def losses(d):
    return [float(row['loss']) for row in csv.DictReader(open(d + '/metrics.csv'))]
l1, l2 = losses(one), losses(two)
assert len(l1) == len(l2) >= 4, (len(l1), len(l2))
worst = max(abs(a - b) / max(abs(a), 1e-6) for a, b in zip(l1, l2))
assert worst < 1e-4, f'{arch}: per-step losses differ by {worst:.2e} (relative)\n{l1}\n{l2}'
c1 = torch.load(glob.glob(one + '/*checkpoint_0001.pth.tar')[0], map_location='cpu')
c2 = torch.load(glob.glob(two + '/*checkpoint_0001.pth.tar')[0], map_location='cpu')
s1, s2 = c1['state_dict'], c2['state_dict']
assert list(s1) == list(s2), 'checkpoint keys differ'
bad = [k for k in s1 if s1[k].is_floating_point() and not torch.allclose(s1[k], s2[k], rtol=1e-4, atol=1e-5)]
assert not bad, f'{arch}: parameters differ after {len(l1)} steps: {bad[:5]}'
print(f'{arch}: {len(l1)} steps, losses within {worst:.1e}, {len(s1)} tensors equal')
PY
done
