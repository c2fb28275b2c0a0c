#!/usr/bin/env bash
# Ctrl-C on the CLI: SIGINT mid-run stops pretraining after the current step
# with a mid-epoch checkpoint and exit code 3, and the rerun resumes from it
# (that the resumed weights equal an uninterrupted run's is checked in
# process by RunnerTest.CancelledPretrainingResumesToTheUninterruptedWeights).
# usage: cancel.sh RADCLEAR_BINARY WORK_DIR
set -euo pipefail
bin=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
"$bin" synth --out "$work/data" --patients 4 --studies-per-patient 1 --slices 16 --size 64 --quiet > /dev/null
"$bin" index --data "$work/data" --db "$work/idx" --dl-info "$work/data/DL_info.csv" --quiet > /dev/null
args=(--db "$work/idx" --data "$work/data" --arch vit_tiny --image-size 32 --batch-size 8 --epochs 2
      --warmup-epochs 1 --lr 0.01 --moco-dim 32 --moco-mlp-dim 64 --print-freq 1 --workers 1 --quiet
      --out "$work/run")

rows() { [ -f "$1" ] && echo $(( $(wc -l < "$1") - 1 )) || echo 0; }
"$bin" pretrain "${args[@]}" > "$work/cancelled.log" 2>&1 &
pid=$!
for _ in $(seq 1 1200); do
  [ "$(rows "$work/run/metrics.csv")" -ge 3 ] && break
  sleep 0.05
done
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 3 ] || { echo "SIGINT: exit code $rc, expected 3"; cat "$work/cancelled.log"; exit 1; }
grep -q "cancelled at epoch 1 step" "$work/cancelled.log" || { cat "$work/cancelled.log"; exit 1; }
[ -f "$work/run/vit_tiny-moco-lecl-1-run-checkpoint_0000.pth.tar" ] || { echo "no mid-epoch checkpoint"; exit 1; }

"$bin" pretrain "${args[@]}" --log-level info > "$work/resumed.log" 2>&1 || { cat "$work/resumed.log"; exit 1; }
grep -q "resuming from .*checkpoint_0000.pth.tar at epoch 0 step" "$work/resumed.log" || { cat "$work/resumed.log"; exit 1; }
[ -f "$work/run/vit_tiny-moco-lecl-1-run-checkpoint_0002.pth.tar" ] || { echo "the resumed run did not finish"; exit 1; }
echo "SIGINT: exit 3 with a mid-epoch checkpoint; the rerun resumed from it and finished"
