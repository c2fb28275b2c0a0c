#!/usr/bin/env bash
# DICOM and NIfTI through the CLI, on the fixtures of
# tests/data/make_scanner_fixtures.py (real pydicom/nibabel test files):
#   index --dicom / --nifti (glob): counts, reasons left out, --strict fatal;
#   convert --to deeplesion: PNG = HU + 32768 of pydicom's reading, and the
#     PNG copy indexes as DeepLesion;
#   pretrain + extract read the DICOM slices in place, and extract's features
#     of the DICOM study equal those of its DeepLesion PNG copy.
# usage: scanner_cli.sh RADCLEAR_BINARY WORK_DIR FIXTURES PYTHON
set -euo pipefail
bin=$1
work=$2
fx=$3
py=${4:-/usr/bin/python3}
rm -rf "$work"
mkdir -p "$work"
q=(--log-level warn)
fail() { echo "FAIL: $*"; exit 1; }

out=$("$bin" index --dicom "$fx/dicom" --db "$work/dicom.idx" --quiet 2>&1)
echo "$out"
grep -q "slices new 16" <<< "$out" || fail "index --dicom: expected 16 new slices"
for reason in "localizer 1" "secondary capture 1" "gantry tilt 1" "non-uniform spacing 1" "not axial 1" "unreadable 1"; do
  grep -q "$reason" <<< "$out" || fail "index --dicom: no count '$reason'"
done
grep -q "CompressedSamples" <<< "$out" && fail "the log carries the patient's name"
set +e
strict=$("$bin" index --dicom "$fx/dicom" --db "$work/strict.idx" --strict --quiet 2>&1)
rc=$?
set -e
[ $rc -ne 0 ] || fail "index --dicom --strict over bad input exited 0"
grep -q -- "--strict" <<< "$strict" || fail "the --strict failure does not say so: $strict"

out=$("$bin" index --nifti "$fx/nifti/*.nii.gz" --db "$work/nifti.idx" --quiet 2>&1)
echo "$out"
grep -q "slices new 6" <<< "$out" || fail "index --nifti glob: expected 6 new slices (lps, perm_qform)"
grep -q "not 3-D 1" <<< "$out" || fail "index --nifti: example4d.nii.gz not counted as not 3-D"

"$bin" index --dicom "$fx/dicom/good" --db "$work/good.idx" --quiet "${q[@]}" > /dev/null
"$bin" convert --to deeplesion --db "$work/good.idx" --data "$fx/dicom/good" --out "$work/png" "${q[@]}"
"$py" - "$work/png" "$fx" <<'PY'
import csv, os, sys
import numpy as np
from PIL import Image
png, fx = sys.argv[1:3]
rows = list(csv.DictReader(open(f'{png}/ids.csv')))
assert [r['folder'] for r in rows] == ['000001_01_01', '000001_01_02', '000001_01_03', '000001_01_04'], rows
assert {r['patient_id'] for r in rows} == {'1CT1'} and rows[0]['series'] == '2.25.700010', rows
for series, folder in zip(['axial', 'jpeg', 'rle', 'j2k'], [r['folder'] for r in rows]):
    for k in range(4):
        hu = np.asarray(Image.open(f'{png}/Images_png/{folder}/{k + 1:03d}.png'), dtype=np.int32) - 32768
        want = np.fromfile(f'{fx}/expected/{series}_{k}.hu', dtype='<i2').reshape(128, 128)
        assert np.array_equal(hu, want), (series, k)
print('convert: 16 PNGs equal pydicom\'s HU')
PY
"$bin" index --data "$work/png" --db "$work/png.idx" --dl-info "$work/png/DL_info.csv" --quiet "${q[@]}" > /dev/null

# Pretrain on the DICOM index, then extract the DICOM study and its PNG copy.
"$bin" pretrain --db "$work/good.idx" --data "$fx/dicom/good" --arch vit_tiny --image-size 32 --batch-size 8 \
  --epochs 1 --warmup-epochs 0 --moco-dim 32 --moco-mlp-dim 64 --workers 1 --quiet --out "$work/run" "${q[@]}"
ckpt=$work/run/vit_tiny-moco-lecl-1-run-checkpoint_0001.pth.tar
[ -f "$ckpt" ] || fail "pretrain on DICOM slices wrote no checkpoint"
"$bin" extract --db "$work/good.idx" --data "$fx/dicom/good" --checkpoint "$ckpt" --out "$work/feat_dicom" --quiet "${q[@]}"
"$bin" extract --db "$work/png.idx" --data "$work/png" --checkpoint "$ckpt" --out "$work/feat_png" --quiet "${q[@]}"
"$py" - "$work" <<'PY'
import glob, sys, h5py, numpy as np
work = sys.argv[1]
with h5py.File(f'{work}/feat_dicom/2.25.700001.h5') as f:
    dicom = f['feats'][:]
png = np.concatenate([h5py.File(p)['feats'][:] for p in sorted(glob.glob(f'{work}/feat_png/*.h5'))])
assert dicom.shape == png.shape and dicom.shape[0] == 32, (dicom.shape, png.shape)  # 16 slices x 2 windows
assert np.allclose(dicom, png, rtol=1e-5, atol=1e-5), np.abs(dicom - png).max()
print('extract: DICOM features equal the PNG copy\'s')
PY
echo "scanner cli ok"
