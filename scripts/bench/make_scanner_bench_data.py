#!/usr/bin/python3
"""Scanner data for `radclear bench loader`: one CT series of SLICES axial
512x512 slices made from pydicom's CT_small.dcm (upsampled 4x, shifted per
slice), written as

    OUT/dicom_raw/    uncompressed DICOM (Explicit VR Little Endian)
    OUT/dicom_jpeg/   the same through gdcmconv --jpeg (JPEG lossless)
    OUT/dicom_j2k/    the same through gdcmconv --j2k (JPEG 2000 lossless)
    OUT/nifti_raw/ct.nii      one volume, int16, scl 1 / -1024
    OUT/nifti_gz/ct.nii.gz    the same, gzipped

    make_scanner_bench_data.py OUT [SLICES]
"""
import copy
import os
import subprocess
import sys

import nibabel as nib
import numpy as np
import pydicom

out = sys.argv[1]
slices = int(sys.argv[2]) if len(sys.argv) > 2 else 192
base = pydicom.dcmread(os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files", "CT_small.dcm"))
big = np.kron(base.pixel_array.astype(np.int32), np.ones((4, 4), dtype=np.int32))  # 512x512
x0, y0, z0 = (float(v) for v in base.ImagePositionPatient)
spacing = float(base.PixelSpacing[0]) / 4
volume = np.zeros((512, 512, slices), dtype=np.int16)  # (x, y, z) for NIfTI
os.makedirs(f"{out}/dicom_raw", exist_ok=True)
for k in range(slices):
    raw = np.roll(big, (k * 3) % 512, axis=1) + (k % 50)
    ds = copy.deepcopy(base)
    ds.Rows = ds.Columns = 512
    ds.PixelSpacing = [f"{spacing:.6f}", f"{spacing:.6f}"]
    ds.SeriesInstanceUID = "2.25.800010"
    ds.StudyInstanceUID = "2.25.800001"
    ds.SOPInstanceUID = f"2.25.800010.{k + 1}"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.InstanceNumber = k + 1
    ds.ImagePositionPatient = [f"{x0:.6f}", f"{y0:.6f}", f"{z0 + 1.25 * k:.6f}"]
    ds.SliceThickness = "1.25"
    ds.PixelData = raw.astype(np.int16).tobytes()
    ds.save_as(f"{out}/dicom_raw/{k:04d}.dcm", write_like_original=False)
    volume[:, :, k] = raw.T  # DICOM rows are y
for kind in ("jpeg", "j2k"):
    os.makedirs(f"{out}/dicom_{kind}", exist_ok=True)
    for k in range(slices):
        subprocess.run(["gdcmconv", f"--{kind}", f"{out}/dicom_raw/{k:04d}.dcm", f"{out}/dicom_{kind}/{k:04d}.dcm"],
                       check=True)
affine = np.diag([-spacing, -spacing, 1.25, 1.0])  # LPS storage, as DICOM
for folder, name in (("nifti_raw", "ct.nii"), ("nifti_gz", "ct.nii.gz")):
    os.makedirs(f"{out}/{folder}", exist_ok=True)
    img = nib.Nifti1Image(volume, affine)
    img.header.set_slope_inter(1.0, -1024.0)
    nib.save(img, f"{out}/{folder}/{name}")
print(f"{slices} slices of 512x512 in {out}")
