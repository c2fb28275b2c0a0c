#!/usr/bin/env bash
# `radclear run sweep.yaml` end to end at a tiny size: a coordinator and a
# worker group in one process run a two-trial sweep whose trials differ only
# in the MIL head, so pretraining and extraction run once and are shared;
# every job ends DONE, the report has both trials' AUROCs; a second run
# finds everything done. Then, against a standalone coordinator, a worker
# group is SIGKILLed in the middle of extraction: a new group finishes every
# job, and the feature files are byte-identical to an uninterrupted
# extraction with the same encoder.
# usage: sweep_run.sh RADCLEAR_BINARY WORK_DIR
set -euo pipefail
bin=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
cd "$work"
"$bin" synth --out data --patients 8 --studies-per-patient 1 --slices 6 --size 64 --seed 1 --threads 1 > synth.log 2>&1
"$bin" index --data data --db index --dl-info data/DL_info.csv > index.log 2>&1

write_sweep() {  # name out
  cat > "$1.yaml" <<YAML
name: $1
data: {index: index, root: data, clinical: data/clinical.csv, out: $2}
stages:
  pretrain: {arch: vit_tiny, image_size: 32, epochs: 1, batch_size: 8, warmup_epochs: 0, moco_dim: 32, moco_mlp_dim: 64, workers: 1}
  extract: {windows: [abdomen], batch_size: 16, workers: 1}
  crossval: {labels: [soft tissue], folds: 2, epochs: 2, hidden: 16, batch_size: 4, bootstrap: 50, attention_plots: 0, progress: false, threads: 1}
grid:
  crossval.model: [abmil, pma]
extract_shards: 3
YAML
}

# 1. The embedded run.
write_sweep tiny runs
out=$("$bin" run tiny.yaml --quiet 2>&1) || { echo "$out" | tail -40; echo "radclear run failed"; exit 1; }
echo "$out" | tail -25
grep -q "10 distinct job(s)" <<< "$out" || { echo "expected 10 distinct jobs (pretrain, 3 shards, 2x2 folds, 2 reports)"; exit 1; }
for f in runs/pretrain-*/vit_tiny-moco-lecl-1-run-checkpoint_0001.pth.tar runs/tiny-report.csv; do
  [ -f "$f" ] || { echo "missing $f"; exit 1; }
done
[ "$(ls -d runs/pretrain-* | wc -l)" = 1 ] || { echo "pretraining ran more than once"; exit 1; }
[ "$(ls -d runs/extract-* | wc -l)" = 1 ] || { echo "extraction ran more than once"; exit 1; }
[ "$(ls -d runs/crossval-* | wc -l)" = 2 ] || { echo "expected one crossval directory per MIL head"; exit 1; }
[ "$(ls runs/extract-*/*.h5 | wc -l)" = 8 ] || { echo "expected 8 feature files"; exit 1; }
[ "$(grep -c "soft tissue" runs/tiny-report.csv)" = 2 ] || { cat runs/tiny-report.csv; echo "expected 2 report rows"; exit 1; }
grep -q "t000.*crossval.model=abmil" runs/tiny-report.csv || { cat runs/tiny-report.csv; exit 1; }
grep -q "t001.*crossval.model=pma" runs/tiny-report.csv || { cat runs/tiny-report.csv; exit 1; }
if grep -q ",no stats.csv" runs/tiny-report.csv; then cat runs/tiny-report.csv; exit 1; fi
# The comparison plot beside it: one marker per trial and label with an AUROC.
rows=$(tail -n +2 runs/tiny-report.csv | awk -F, '$6 ~ /^[0-9.]+$/' | wc -l)
[ "$rows" -gt 0 ] || { echo "no AUROC in runs/tiny-report.csv"; exit 1; }
[ "$(grep -o '<circle' runs/tiny-report.svg | wc -l)" = "$rows" ] || { echo "expected $rows markers in runs/tiny-report.svg"; exit 1; }

# Submitting again changes nothing: every job is shared and DONE.
again=$("$bin" run tiny.yaml --quiet 2>&1) || { echo "$again" | tail -20; echo "rerun failed"; exit 1; }
grep -q ": 0 new job(s)" <<< "$again" || { echo "$again" | tail -20; echo "rerun made new jobs"; exit 1; }

# 2. SIGKILL a worker group in the middle of extraction.
write_sweep killed killed
"$bin" coordinator --db coord.db --bind 'tcp://127.0.0.1:*' --lease-ttl 3 > coord.log 2>&1 &
coord=$!
trap 'kill $coord 2>/dev/null || true' EXIT
endpoint=""
for _ in $(seq 100); do
  endpoint=$(grep -o "tcp://127.0.0.1:[0-9]*" coord.log | head -1 || true)
  [ -n "$endpoint" ] && break
  sleep 0.1
done
[ -n "$endpoint" ] || { cat coord.log; echo "the coordinator did not say its endpoint"; exit 1; }
"$bin" submit killed.yaml --coordinator "$endpoint" > submit.log 2>&1 || { cat submit.log; exit 1; }
"$bin" worker --coordinator "$endpoint" --heartbeat 0.5 --quiet --log-level debug > worker1.log 2>&1 &
w1=$!
# Wait for the first extract job to start, then kill the group without warning.
for _ in $(seq 600); do
  grep -q "(extract), attempt" worker1.log && break
  kill -0 $w1 2>/dev/null || { tail -20 worker1.log; echo "worker 1 ended early"; exit 1; }
  sleep 0.1
done
grep -q "(extract), attempt" worker1.log || { tail -20 worker1.log; echo "no extract job started"; exit 1; }
sleep 0.5
kill -9 $w1
wait $w1 2>/dev/null || true
"$bin" worker --coordinator "$endpoint" --heartbeat 0.5 --exit-when-idle 8 --quiet > worker2.log 2>&1 \
  || { tail -30 worker2.log; echo "worker 2 failed"; exit 1; }
status=$("$bin" status killed --coordinator "$endpoint" --json)
"$bin" status killed --coordinator "$endpoint"
python3 - "$status" <<'PY'
import json, sys
counts = json.loads(sys.argv[1])["sweeps"][0]["states"]
print("sweep counts:", counts)
assert set(counts) == {"DONE"}, f"not every job is DONE: {counts}"
PY
kill $coord; wait $coord 2>/dev/null || true
trap - EXIT
# Every study recorded once, and the same bytes as an uninterrupted
# extraction with the same encoder.
[ "$(ls killed/extract-*/*.h5 | wc -l)" = 8 ] || { echo "expected 8 feature files after the kill"; exit 1; }
"$bin" features-stats --db index | tee features.txt
ckpt=$(ls killed/pretrain-*/vit_tiny-moco-lecl-1-run-checkpoint_0001.pth.tar)
"$bin" extract --db index --data data --checkpoint "$ckpt" --out fresh --windows abdomen --batch-size 16 \
  --workers 1 > fresh.log 2>&1 || { tail -20 fresh.log; exit 1; }
for f in fresh/*.h5; do
  g=$(ls killed/extract-*/"$(basename "$f")")
  cmp "$f" "$g" || { echo "$g differs from an uninterrupted extraction"; exit 1; }
done
echo "sweep run ok"
