#!/usr/bin/env bash
# End-to-end checks of `radclear extract`, one per mode:
#   layout   files read back with h5py: shapes, interleaved rows, coords,
#            attributes; float16 equals float32; features-stats; a second
#            feature set is refused in the same --out.
#   mpi      `mpirun -np 2` writes the same features and records as one process.
#   sigkill  a run killed with SIGKILL leaves no partial .h5, and the rerun
#            completes the set with the same features as an uninterrupted run.
# usage: extract_cli.sh RADCLEAR_BINARY WORK_DIR PYTHON MODE
set -euo pipefail
bin=$1
work=$2
py=${3:-/usr/bin/python3}
mode=$4
rm -rf "$work"
mkdir -p "$work"
q=(--log-level warn)

slices=16
[ "$mode" = sigkill ] && slices=48
"$bin" synth --out "$work/data" --patients 6 --studies-per-patient 2 --slices "$slices" --size 96 --quiet > /dev/null
"$bin" index --data "$work/data" --db "$work/idx" --dl-info "$work/data/DL_info.csv" "${q[@]}" > /dev/null 2>&1
"$bin" pretrain --db "$work/idx" --data "$work/data" --arch vit_tiny --image-size 32 --batch-size 8 --epochs 1 \
  --warmup-epochs 0 --moco-dim 32 --moco-mlp-dim 64 --workers 1 --quiet --out "$work/run" "${q[@]}"
ckpt=$work/run/vit_tiny-moco-lecl-1-run-checkpoint_0001.pth.tar
args=(--db "$work/idx" --data "$work/data" --checkpoint "$ckpt" --quiet)

# Compares the <study>.h5 files of two directories (same studies, features allclose).
compare() {
  "$py" - "$1" "$2" <<'PY'
import glob, os, sys, h5py, numpy as np
a, b = sys.argv[1:3]
fa = sorted(os.path.basename(p) for p in glob.glob(a + '/*.h5'))
fb = sorted(os.path.basename(p) for p in glob.glob(b + '/*.h5'))
assert fa == fb and fa, (fa, fb)
for n in fa:
    with h5py.File(f'{a}/{n}') as x, h5py.File(f'{b}/{n}') as y:
        assert np.array_equal(x['coords'][:], y['coords'][:]), n
        d = np.abs(x['feats'][:] - y['feats'][:]).max()
        assert np.allclose(x['feats'][:], y['feats'][:], rtol=1e-5, atol=1e-5), f'{n}: differs by {d}'
print(f'{len(fa)} study files equal')
PY
}

case "$mode" in
layout)
  "$bin" extract "${args[@]}" "${q[@]}" --out "$work/f32" --batch-size 7
  "$bin" extract "${args[@]}" "${q[@]}" --out "$work/f16" --dtype float16
  "$py" - "$work" "$ckpt" <<'PY'
import glob, hashlib, os, sys, h5py, numpy as np
work, ckpt = sys.argv[1:3]
sha = hashlib.sha256(open(ckpt, 'rb').read()).hexdigest()
studies = sorted(os.listdir(f'{work}/data/Images_png'))
files = sorted(glob.glob(f'{work}/f32/*.h5'))
assert [os.path.basename(f)[:-3] for f in files] == studies, (files, studies)
for s in studies:
    pngs = sorted(os.listdir(f'{work}/data/Images_png/{s}'))
    with h5py.File(f'{work}/f32/{s}.h5') as f, h5py.File(f'{work}/f16/{s}.h5') as h:
        feats, coords, names = f['feats'][:], f['coords'][:], [n.decode() for n in f['slice_names'][:]]
        assert feats.dtype == np.float32 and feats.shape == (2 * len(pngs), 192), feats.shape
        assert np.isfinite(feats).all()
        # Slice k -> rows 2k (abdomen), 2k+1 (lung).
        assert coords.shape == (2 * len(pngs), 2) and coords.dtype == np.int32
        assert (coords[:, 1] == np.tile([0, 1], len(pngs))).all(), coords[:4]
        assert (coords[:, 0] == np.repeat([int(p[:-4]) for p in pngs], 2)).all(), coords[:4]
        assert names == [p for p in pngs for _ in range(2)], names[:4]
        # Two windows give two different embeddings of the same slice.
        assert not np.allclose(feats[0], feats[1])
        a = f.attrs
        assert a['extractor'] == 'vit_tiny' and a['study_id'] == s and a['dtype'] == 'float32'
        assert a['checkpoint_sha256'] == sha and list(a['windows']) == ['abdomen', 'lung']
        assert a['feat_dim'] == 192 and a['radclear_version'].startswith('radclear ')
        half = h['feats'][:]
        assert half.dtype == np.float16 and h.attrs['dtype'] == 'float16'
        assert np.allclose(half.astype(np.float32), feats, rtol=2e-3, atol=2e-3)
print(f'layout ok: {len(studies)} studies, float16 matches float32')
PY
  stats=$("$bin" features-stats --db "$work/idx")
  echo "$stats"
  [ "$(grep -c ' 12/12 ' <<< "$stats")" = 2 ] || { echo "features-stats does not show two complete sets"; exit 1; }
  # A different set in a directory that holds one is refused, naming both.
  if out=$("$bin" extract "${args[@]}" "${q[@]}" --out "$work/f32" --windows bone 2>&1); then
    echo "a second feature set was written into the same --out"; exit 1
  fi
  grep -q "already holds feature set" <<< "$out" || { echo "unexpected error: $out"; exit 1; }
  # Without --windows, extraction embeds in the windows the checkpoint was pretrained in.
  "$bin" pretrain --db "$work/idx" --data "$work/data" --arch vit_tiny --image-size 32 --batch-size 8 --epochs 1 \
    --moco-dim 32 --moco-mlp-dim 64 --workers 1 --windows lung,bone --quiet --out "$work/run_lb" "${q[@]}"
  "$bin" extract --db "$work/idx" --data "$work/data" --quiet "${q[@]}" --out "$work/f_lb" \
    --checkpoint "$work/run_lb/vit_tiny-moco-lecl-1-run-checkpoint_0001.pth.tar"
  "$py" - "$work/f_lb" <<'PY'
import glob, sys, h5py
for p in glob.glob(sys.argv[1] + '/*.h5'):
    with h5py.File(p) as f:
        assert list(f.attrs['windows']) == ['lung', 'bone'], (p, list(f.attrs['windows']))
print('extraction defaults to the checkpoint\'s windows: lung, bone')
PY
  ;;
mpi)
  "$bin" extract "${args[@]}" "${q[@]}" --out "$work/np1"
  mpiexec --allow-run-as-root --oversubscribe -np 2 "$bin" extract "${args[@]}" "${q[@]}" --out "$work/np2"
  compare "$work/np1" "$work/np2"
  stats=$("$bin" features-stats --db "$work/idx")
  [ "$(grep -c ' 12/12 ' <<< "$stats")" = 1 ] || { echo "features-stats: $stats"; exit 1; }
  ;;
sigkill)
  "$bin" extract "${args[@]}" "${q[@]}" --out "$work/straight" --workers 1
  "$bin" extract "${args[@]}" "${q[@]}" --out "$work/killed" --workers 1 --batch-size 8 &
  pid=$!
  lines() { cat "$work"/killed/.journal/*.jsonl 2>/dev/null | wc -l; }
  for _ in $(seq 1 1000); do
    [ "$(lines)" -ge 2 ] && break
    sleep 0.02
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  done_before=$(lines)
  [ "$done_before" -lt 12 ] && [ ! -f "$work/killed/extract.yaml" ] || { echo "the run finished before the kill"; exit 1; }
  # Whatever is there is whole: every .h5 opens and has its rows.
  "$py" - "$work/killed" <<'PY'
import glob, sys, h5py
for p in glob.glob(sys.argv[1] + '/*.h5'):
    with h5py.File(p) as f:
        assert f['feats'].shape[0] == f['coords'].shape[0] > 0, p
PY
  out=$("$bin" extract "${args[@]}" --out "$work/killed" --workers 1 2>&1)
  echo "$out" | tail -3
  grep -q "recovered $done_before finished studies" <<< "$out" || { echo "journal not recovered"; exit 1; }
  grep -q "12 of 12 studies finished" <<< "$out" || { echo "set incomplete after rerun"; exit 1; }
  compare "$work/straight" "$work/killed"
  ;;
*) echo "unknown mode $mode"; exit 2 ;;
esac
