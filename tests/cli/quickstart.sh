#!/usr/bin/env bash
# `radclear quickstart` end to end at a tiny size: every step runs (the data
# in process, the rest as a one-trial sweep in the embedded mode), the AUROC
# table is printed, and a rerun resumes instead of starting over; with
# --ranks 2 the worker group runs under mpirun.
# usage: quickstart.sh RADCLEAR_BINARY WORK_DIR
set -euo pipefail
bin=$1
work=$2
rm -rf "$work"
tiny=(--patients 10 --slices 6 --size 64 --arch vit_tiny --image-size 32 --epochs 1 --batch-size 16 --quiet)

out=$("$bin" quickstart --out "$work/one" "${tiny[@]}" 2>&1) || { echo "$out"; exit 1; }
echo "$out" | tail -20
for want in "step 3/3" "one-trial sweep" "Out-of-fold AUROC per lesion location" "pelvis" "quickstart finished"; do
  grep -q "$want" <<< "$out" || { echo "missing in output: $want"; exit 1; }
done
for f in data/synth.yaml quickstart-sweep.yaml quickstart-report.csv quickstart-report.svg \
         pretrain/vit_tiny-moco-lecl-1-quickstart-checkpoint_0001.pth.tar features/extract.yaml crossval/stats.csv \
         crossval/crossval.resolved.yaml; do
  [ -f "$work/one/$f" ] || { echo "missing $f"; exit 1; }
done
[ "$(ls "$work"/one/features/*.h5 | wc -l)" = 20 ] || { echo "expected 20 feature files"; exit 1; }

# The sweep file is a real sweep: `radclear run` takes it.
grep -q "^name: quickstart" "$work/one/quickstart-sweep.yaml" || { cat "$work/one/quickstart-sweep.yaml"; exit 1; }
# A rerun finds every step done: the data exists, and every job of the sweep
# is DONE in the coordinator's DB, so nothing is submitted or run again.
before=$(stat -c %Y "$work"/one/features/*.h5 | sort | md5sum)
again=$("$bin" quickstart --out "$work/one" "${tiny[@]}" --log-level info 2>&1)
for want in "exists (delete it to generate again)" "0 new job(s)" "Out-of-fold AUROC per lesion location"; do
  grep -q "$want" <<< "$again" || { echo "rerun did not resume ($want):"; echo "$again"; exit 1; }
done
[ "$(stat -c %Y "$work"/one/features/*.h5 | sort | md5sum)" = "$before" ] || { echo "the rerun rewrote features"; exit 1; }

# The distributed path.
OMPI_MCA_btl_vader_single_copy_mechanism=none "$bin" quickstart --out "$work/two" --ranks 2 "${tiny[@]}" \
  > "$work/two.log" 2>&1 || { tail -30 "$work/two.log"; exit 1; }
grep -q "worker group: mpirun -np 2 .* worker" "$work/two.log" || { echo "--ranks 2 did not use mpirun"; exit 1; }
[ "$(ls "$work"/two/features/*.h5 | wc -l)" = 20 ] || { echo "expected 20 feature files (np 2)"; exit 1; }
echo "quickstart ok"
