#!/usr/bin/env bash
# Worker groups against a standalone coordinator, with the real stages:
#  1. A single-process group is SIGKILLed in the middle of a sweep's
#     pretrain job, after a mid-epoch checkpoint (save_every). The lease
#     expires, the job is requeued, and a second group -- two MPI ranks --
#     resumes it from that checkpoint: the job ends DONE after 2 attempts,
#     and metrics.csv records the steps the checkpoint covers once.
#  2. Two single-process groups serving the coordinator at the same time
#     split the extraction shard jobs of one sweep (which shares the DONE
#     pretrain job), and the feature files are byte-identical to one plain
#     `radclear extract` of the same checkpoint and settings.
# usage: sweep_groups.sh RADCLEAR_BINARY WORK_DIR
set -euo pipefail
bin=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
cd "$work"
# Open MPI on a 2-core machine, possibly as root (as tests/CMakeLists.txt's MPI tests).
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
export OMPI_MCA_rmaps_base_oversubscribe=${OMPI_MCA_rmaps_base_oversubscribe:-1}
mpi=(mpiexec --allow-run-as-root --oversubscribe -np 2)
start_s=$SECONDS

# ---- helpers -------------------------------------------------------------------

pids=()  # running background processes this script started (an MPI group: its mpiexec)
forget() {  # drops a reaped pid, so that the exit trap never signals a reused one
  local p keep=()
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  pids=("${keep[@]}")
}
stop_pid() {  # SIGTERM (mpiexec forwards it to its ranks), up to 10 s to exit, then SIGKILL
  local p=$1
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  forget "$p"
}
cleanup() {
  local p
  for p in "${pids[@]}"; do stop_pid "$p"; done
}
trap cleanup EXIT

fail() {  # fail MESSAGE [LOG...]: the logs' tails, then the message, exit 1
  local msg=$1 log
  shift
  for log in "$@"; do
    echo "---- tail of $log"
    tail -n 40 "$log" 2>/dev/null || true
  done
  echo "FAIL: $msg"
  exit 1
}

# wait_until SECONDS WHAT PID LOG CONDITION...: runs CONDITION every 0.1 s
# until it succeeds; fails (with LOG's tail) after SECONDS or when PID (if
# not "-") has exited first.
wait_until() {
  local secs=$1 what=$2 pid=$3 log=$4
  shift 4
  local until=$((SECONDS + secs))
  while ! "$@"; do
    if [ "$pid" != - ] && ! kill -0 "$pid" 2>/dev/null; then
      "$@" && return 0
      fail "process $pid ended before: $what" "$log"
    fi
    [ "$SECONDS" -lt "$until" ] || fail "timed out after ${secs}s waiting for: $what" "$log"
    sleep 0.1
  done
}

# The coordinator's status of SWEEP/TRIAL as JSON (its jobs included).
status_json() { "$bin" status "$1" --coordinator "$endpoint" --json; }

# `jobs_summary SWEEP/TRIAL`: one line per job: "ID STAGE STATE ATTEMPTS".
jobs_summary() {
  status_json "$1" | python3 -c '
import json, sys
for j in json.load(sys.stdin)["jobs"]:
    print(j["id"], j["stage"], j["state"], j["attempts"])'
}

# True when every job of SWEEP/TRIAL is DONE; fails when one FAILED or was CANCELLED.
all_done() {
  local rows
  rows=$(jobs_summary "$1") || return 1
  if grep -qE " (FAILED|CANCELLED) " <<< "$rows"; then
    status_json "$1" || true
    fail "a job of $1 ended without success"
  fi
  [ -n "$rows" ] && ! grep -qv " DONE " <<< "$rows"
}

# ---- data and coordinator ------------------------------------------------------

"$bin" synth --out data --patients 8 --studies-per-patient 1 --slices 16 --size 64 --seed 1 --threads 1 \
  > synth.log 2>&1 || fail "synth failed" synth.log
"$bin" index --data data --db index --dl-info data/DL_info.csv > index.log 2>&1 || fail "index failed" index.log

# Pretraining: 8 x 16 slices in batches of 8 = 16 steps in one epoch, a
# mid-epoch checkpoint (checkpoint_0000) every 2 steps, a metrics row per step.
pretrain='{arch: vit_tiny, image_size: 32, epochs: 1, batch_size: 8, warmup_epochs: 0, moco_dim: 32, moco_mlp_dim: 64, workers: 1, print_freq: 1, save_every: 2}'
cat > resume.yaml <<YAML
name: resume
data: {index: index, root: data, clinical: data/clinical.csv, out: runs}
stages:
  pretrain: $pretrain
YAML
# The same pretrain stage (so the same, shared job) and its extraction in 4 shards.
cat > groups.yaml <<YAML
name: groups
data: {index: index, root: data, clinical: data/clinical.csv, out: runs}
stages:
  pretrain: $pretrain
  extract: {windows: [abdomen], batch_size: 16, workers: 1}
extract_shards: 4
YAML

# A coordinator on a free loopback port (picked here; another try if it was taken meanwhile).
endpoint=""
for try in 1 2 3; do
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$bin" coordinator --db coord.db --bind "tcp://127.0.0.1:$port" --lease-ttl 2 > coord.log 2>&1 &
  coord=$!
  pids+=("$coord")
  for _ in $(seq 300); do
    grep -qs "serving tcp://127.0.0.1:$port" coord.log && break
    kill -0 "$coord" 2>/dev/null || break
    sleep 0.1
  done
  if grep -q "serving tcp://127.0.0.1:$port" coord.log && kill -0 "$coord" 2>/dev/null; then
    endpoint="tcp://127.0.0.1:$port"
    break
  fi
  echo "coordinator try $try on port $port failed:"; tail -5 coord.log
  stop_pid "$coord"
done
[ -n "$endpoint" ] || fail "no coordinator started" coord.log
echo "coordinator at $endpoint"

# ---- 1. SIGKILL mid-pretrain; a 2-rank MPI group resumes -----------------------

"$bin" submit resume.yaml --coordinator "$endpoint" > submit1.log 2>&1 || fail "submit resume.yaml failed" submit1.log
grep -q "submitted sweep resume: 1 new job(s)" submit1.log || fail "expected one new (pretrain) job" submit1.log

"$bin" worker --coordinator "$endpoint" --group A --heartbeat 0.5 --quiet --log-level debug > workerA.log 2>&1 &
wa=$!
pids+=("$wa")
wait_until 60 "group A to start the pretrain job" "$wa" workerA.log grep -q "worker A: job .* (pretrain), attempt 1" workerA.log
job=$(grep -o "worker A: job [^ ]* (pretrain)" workerA.log | head -1 | awk '{print $4}')
# Kill the group without warning once a mid-epoch checkpoint is on disk.
mid_checkpoint() { compgen -G "runs/pretrain-*/vit_tiny-moco-lecl-1-run-checkpoint_0000.pth.tar" > /dev/null; }
wait_until 90 "a mid-epoch checkpoint (runs/pretrain-*/*checkpoint_0000.pth.tar)" "$wa" workerA.log mid_checkpoint
kill -9 "$wa"
wait "$wa" 2>/dev/null || true
forget "$wa"
dir=$(ls -d runs/pretrain-*)
[ "$(wc -w <<< "$dir")" = 1 ] || fail "expected one pretrain directory, got: $dir"
final="$dir/vit_tiny-moco-lecl-1-run-checkpoint_0001.pth.tar"
[ ! -f "$final" ] || fail "pretraining finished its epoch before group A was killed; make the epoch longer" workerA.log
cp "$dir/metrics.csv" metrics_at_kill.csv
echo "group A killed after $(($(wc -l < metrics_at_kill.csv) - 1)) metrics row(s) of job $job"

# Group B: two MPI ranks. The job returns to the queue when A's lease expires (2 s).
"${mpi[@]}" "$bin" worker --coordinator "$endpoint" --group B --heartbeat 0.5 --quiet > workerB.log 2>&1 &
wb=$!
pids+=("$wb")
wait_until 120 "job $job DONE (group B)" "$wb" workerB.log all_done resume/t000
stop_pid "$wb"
grep -q "worker group B (2 rank(s))" workerB.log || fail "group B is not one group of 2 ranks" workerB.log
grep -q "worker B: job $job (pretrain), attempt 2" workerB.log || fail "group B did not run attempt 2 of $job" workerB.log
grep -q "pretrain vit_tiny on .*: 2 rank(s)" workerB.log || fail "group B did not pretrain on 2 ranks" workerB.log
resumed=$(grep -o "resuming from .*checkpoint_0000.pth.tar at epoch 0 step [0-9]*" workerB.log || true)
[ -n "$resumed" ] || fail "group B did not resume from the mid-epoch checkpoint" workerB.log
step=${resumed##* }
[ "$step" -gt 0 ] || fail "group B resumed at step 0: $resumed" workerB.log
echo "group B: $resumed"
[ -f "$final" ] || fail "no end-of-epoch checkpoint $final after group B" workerB.log

rows=$(jobs_summary resume/t000)
echo "$rows"
[ "$(wc -l <<< "$rows")" = 1 ] || fail "expected one job in sweep resume: $rows"
[ "$rows" = "$job pretrain DONE 2" ] || fail "expected '$job pretrain DONE 2' (the kill cost one attempt), got '$rows'"

# metrics.csv: one header; the steps the checkpoint covers (< $step), all
# written before the kill, appear once; steps from $step on were redone by B
# (a row A wrote after its last checkpoint appears a second time); every
# step of the epoch is there.
python3 - "$dir/metrics.csv" metrics_at_kill.csv "$step" <<'PY' || fail "metrics.csv check failed"
import collections, csv, sys
path, at_kill, resumed = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = open(path).read().splitlines()
assert lines and lines[0].startswith("epoch,step,loss,"), f"{path}: header {lines[:1]}"
assert lines.count(lines[0]) == 1, f"{path}: the header appears {lines.count(lines[0])} times"
rows = [(int(r["epoch"]), int(r["step"])) for r in csv.DictReader(lines)]
count = collections.Counter(rows)
raw = open(at_kill).read()
if not raw.endswith("\n"):  # a row torn by the kill: the resumed run cuts it off
    raw = raw[: raw.rfind("\n") + 1]
before = [(int(r["epoch"]), int(r["step"])) for r in csv.DictReader(raw.splitlines())]
covered = [k for k in before if k[1] < resumed]
assert len(covered) == resumed, f"rows at the kill {before} do not cover the {resumed} checkpointed steps"
dup = [k for k in covered if count[k] != 1]
assert not dup, f"steps before the kill recorded more than once: {dup}"
steps = max(k[1] for k in rows) + 1
assert sorted(count) == [(0, s) for s in range(steps)], f"steps missing: {sorted(count)}"
redone = [k for k in count if count[k] > 1]
assert all(k[1] >= resumed and count[k] == 2 for k in redone), f"unexpected repeats: {redone}"
# The rows B wrote continue where the checkpoint left off.
tail = rows[len(before):]
assert tail and tail[0] == (0, resumed), f"B's first row is {tail[:1]}, expected (0, {resumed})"
print(f"metrics.csv: {steps} steps, {resumed} before the checkpoint once each; "
      f"{len(before)} row(s) at the kill, {len(redone)} redone after it")
PY

# ---- 2. Two groups share the extraction shards of one sweep --------------------

"$bin" worker --coordinator "$endpoint" --group C --heartbeat 0.5 --quiet > workerC.log 2>&1 &
wc_=$!
pids+=("$wc_")
"$bin" worker --coordinator "$endpoint" --group D --heartbeat 0.5 --quiet > workerD.log 2>&1 &
wd=$!
pids+=("$wd")
wait_until 60 "group C to serve" "$wc_" workerC.log grep -q "worker group C (1 rank(s)) serving" workerC.log
wait_until 60 "group D to serve" "$wd" workerD.log grep -q "worker group D (1 rank(s)) serving" workerD.log
"$bin" submit groups.yaml --coordinator "$endpoint" > submit2.log 2>&1 || fail "submit groups.yaml failed" submit2.log
grep -q "submitted sweep groups: 4 new job(s), 1 shared" submit2.log \
  || fail "expected 4 new extract jobs and the shared pretrain job" submit2.log
wait_until 120 "every job of sweep groups DONE" "$wc_" workerC.log all_done groups/t000
kill -0 "$wd" 2>/dev/null || fail "group D ended early" workerD.log
stop_pid "$wc_"
stop_pid "$wd"

rows=$(jobs_summary groups/t000)
echo "$rows"
[ "$(grep -c " extract DONE 1$" <<< "$rows")" = 4 ] || fail "expected 4 extract jobs DONE after one attempt each: $rows"
grep -q "^$job pretrain DONE 2$" <<< "$rows" || fail "the shared pretrain job ran again: $rows"
c_jobs=$( (grep -o "worker C: job [^ ]* (extract)" workerC.log || true) | awk '{print $4}' | sort)
d_jobs=$( (grep -o "worker D: job [^ ]* (extract)" workerD.log || true) | awk '{print $4}' | sort)
echo "group C ran $(wc -w <<< "$c_jobs") shard(s), group D $(wc -w <<< "$d_jobs")"
[ -n "$c_jobs" ] || fail "group C ran no shard" workerC.log workerD.log
[ -n "$d_jobs" ] || fail "group D ran no shard" workerC.log workerD.log
if grep -q "(pretrain), attempt" workerC.log workerD.log; then fail "a group ran the (DONE) pretrain job" workerC.log workerD.log; fi
want=$( (grep " extract " <<< "$rows" || true) | awk '{print $1}' | sort)
[ "$(printf '%s\n%s\n' "$c_jobs" "$d_jobs" | sort)" = "$want" ] \
  || fail "the groups' shard jobs are not the sweep's 4 extract jobs, each run once: C: $c_jobs D: $d_jobs"

# The same bytes as one plain extraction of the same checkpoint and settings.
fdir=$(ls -d runs/extract-* 2>/dev/null || true)
[ "$(wc -w <<< "$fdir")" = 1 ] || fail "expected one extract directory, got: $fdir"
[ "$(ls "$fdir"/*.h5 | wc -l)" = 8 ] || fail "expected 8 feature files in $fdir"
"$bin" extract --db index --data data --checkpoint "$final" --out fresh --windows abdomen --batch-size 16 \
  --workers 1 > fresh.log 2>&1 || fail "plain extract failed" fresh.log
[ "$(cd fresh && ls *.h5)" = "$(cd "$fdir" && ls *.h5)" ] || fail "the sweep and the plain run wrote different files"
for f in fresh/*.h5; do
  cmp "$f" "$fdir/$(basename "$f")" || fail "$fdir/$(basename "$f") differs from the plain extraction"
done

stop_pid "$coord"
echo "sweep groups ok ($((SECONDS - start_s)) s): pretrain resumed on another group after SIGKILL; two groups shared the shards, byte-identical"
