#!/usr/bin/env bash
# The quickstart's learning check: features of the LeCL-pretrained encoder
# must give a higher mean out-of-fold AUROC (8 lesion-location labels, ABMIL,
# 5 folds) than features of the same architecture with random weights, by
# more than the fold-to-fold spread. Fixed seeds throughout.
# usage: learning_check.sh RADCLEAR_BINARY WORK_DIR PYTHON SOURCE_DIR [quickstart flags...]
set -euo pipefail
bin=$1
work=$2
py=$3
src=$4
shift 4
mkdir -p "$work"
"$bin" quickstart --out "$work/lecl" --quiet "$@"
arch=$(sed -n 's/^arch: //p' "$work/lecl/pretrain/pretrain.yaml")
size=$(sed -n 's/^image_size: //p' "$work/lecl/pretrain/pretrain.yaml")

# Random init: PyTorch's default initialisation of the same architecture
# (scripts/golden/backbones.py has radclear's parameter names).
"$py" - "$src/scripts/golden" "$arch" "$size" "$work/random.pth" <<'PY'
import sys, torch
sys.path.insert(0, sys.argv[1])
import backbones
torch.manual_seed(0)
model = backbones.MODELS[sys.argv[2]][0](int(sys.argv[3]), 0)
torch.save({k: v for k, v in model.state_dict().items() if not k.startswith('head.')}, sys.argv[4])
PY
# The same windows as the LeCL features (a bare state dict records none).
windows=$("$py" -c 'import sys, yaml; print(",".join(yaml.safe_load(open(sys.argv[1]))["windows"]))' \
  "$work/lecl/features/extract.yaml")
"$bin" extract --db "$work/lecl/index" --data "$work/lecl/data" --checkpoint "$work/random.pth" --arch "$arch" \
  --image-size "$size" --windows "$windows" --out "$work/random-features" --quiet --log-level warn
"$bin" crossval --config "$work/lecl/crossval/crossval.resolved.yaml" --features "$work/random-features" \
  --out "$work/random-crossval" --no-progress --log-level warn > /dev/null

# Diagnostics only (the check below decides): linear probes of single slices
# (lesion or not) and of mean-pooled studies, which tell an encoder that
# learned nothing from an ABMIL head that lost what it learned.
# The baselines without image content: the slice's position in its study, and
# the study's body coverage (which alone predicts some lesion locations).
for f in lecl/features random-features; do
  echo "$f: $("$py" "$src/scripts/slice_probe.py" "$work/$f" "$work/lecl/data/lesions.csv")"
  echo "$f: $("$py" "$src/scripts/study_probe.py" "$work/$f" "$work/lecl/data/clinical.csv" | tail -1)"
done
echo "baseline: $("$py" "$src/scripts/slice_probe.py" "$work/lecl/features" "$work/lecl/data/lesions.csv" --position-only)"
"$py" "$src/scripts/coverage_check.py" "$work/lecl/data" "$work/lecl/crossval" "$work/random-crossval"

"$py" - "$work/lecl/crossval/stats.csv" "$work/random-crossval/stats.csv" <<'PY'
import csv, statistics as st, sys
def fold_means(path):
    rows = [r for r in csv.DictReader(open(path)) if r['metric'] == 'auroc']
    folds = [k for k in rows[0] if k.startswith('fold')]
    return [st.mean(float(r[f]) for r in rows if r[f] != 'NA') for f in folds]
lecl, rand = fold_means(sys.argv[1]), fold_means(sys.argv[2])
gap = st.mean(lecl) - st.mean(rand)
spread = max(st.stdev(lecl), st.stdev(rand))
print(f'mean AUROC over folds: LeCL {st.mean(lecl):.3f} (folds {[round(x, 3) for x in lecl]}), '
      f'random init {st.mean(rand):.3f} (folds {[round(x, 3) for x in rand]}); gap {gap:.3f}, spread {spread:.3f}')
sys.exit(0 if gap > spread else 1)
PY
