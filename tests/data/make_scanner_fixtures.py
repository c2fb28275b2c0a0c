#!/usr/bin/python3
"""Builds the DICOM and NIfTI fixtures of radclear's scanner tests from real
files that Debian ships: pydicom's CT_small.dcm (a 128x128 CT slice) and
MR_small.dcm, nibabel's anatomical.nii and example4d.nii.gz. Nothing here is
committed; CTest runs this as the `scanner_fixtures` setup.

    make_scanner_fixtures.py OUT

OUT/dicom/good    one study, patient 1CT1: a 4-slice axial series whose
                  InstanceNumbers and file names run against the slice
                  positions, with three RescaleSlope/Intercept pairs; the same
                  series in JPEG lossless, RLE and JPEG 2000 (gdcmconv)
OUT/dicom/bad     what the index must leave out, one of each: localizer,
                  secondary capture, MR, unreadable file, missing
                  ImagePositionPatient, gantry tilt, non-uniform spacing,
                  coronal, mixed orientations
OUT/expected/<series>_<k>.hu   the HU of slice k (inferior first), int16
                  little-endian, computed here with pydicom (not GDCM)
OUT/nifti         ras.nii, lps.nii.gz, perm_qform.nii.gz (voxel value
                  i + 10 j + 100 k, scl 2 / -1000), pat01/anat.nii (nibabel's
                  anatomical.nii) and example4d.nii.gz (4-D: left out)
"""
import copy
import math
import os
import shutil
import subprocess
import sys

import nibabel as nib
import numpy as np
import pydicom

OUT = sys.argv[1]
PYDICOM_FILES = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
NIBABEL_FILES = os.path.join(os.path.dirname(nib.__file__), "tests", "data")
STUDY = "2.25.700001"
SERIES = {"axial": "2.25.700010", "jpeg": "2.25.700011", "rle": "2.25.700012", "j2k": "2.25.700013"}
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"

base = pydicom.dcmread(os.path.join(PYDICOM_FILES, "CT_small.dcm"))
raw0 = base.pixel_array.astype(np.int32)
x0, y0, z0 = (float(v) for v in base.ImagePositionPatient)


def ct_slice(series_uid, k, position, instance, raw, slope=1.0, intercept=-1024.0, orientation=None):
    ds = copy.deepcopy(base)
    ds.StudyInstanceUID = STUDY
    ds.SeriesInstanceUID = series_uid
    ds.SOPInstanceUID = f"{series_uid}.{k + 1}"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.InstanceNumber = instance
    ds.ImagePositionPatient = [f"{v:.6f}" for v in position]
    ds.SliceLocation = f"{position[2]:.6f}"
    if orientation is not None:
        ds.ImageOrientationPatient = [f"{v:.6f}" for v in orientation]
    ds.RescaleSlope = f"{slope:g}"
    ds.RescaleIntercept = f"{intercept:g}"
    ds.PixelData = raw.astype(np.int16).tobytes()
    return ds


def write(ds, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ds.save_as(path, write_like_original=False)


def axial_series(series_uid, folder):
    """4 slices 5 mm apart; InstanceNumber and file names run against z."""
    names = ["ct_c", "ct_a", "ct_d", "ct_b"]
    for k in range(4):
        hu = raw0 + 100 * k - 1024
        if k == 2:   # slope 0.5: stored values doubled
            raw, slope, intercept = 2 * (hu + 1024), 0.5, -1024.0
        elif k == 3:  # another intercept
            raw, slope, intercept = hu + 1000, 1.0, -1000.0
        else:
            raw, slope, intercept = hu + 1024, 1.0, -1024.0
        ds = ct_slice(series_uid, k, (x0, y0, z0 + 5.0 * k), 4 - k, raw, slope, intercept)
        write(ds, os.path.join(folder, names[k] + ".dcm"))
        expected = os.path.join(OUT, "expected", f"{folder_name(folder)}_{k}.hu")
        os.makedirs(os.path.dirname(expected), exist_ok=True)
        # Independent of GDCM: pydicom's own reading of what was written.
        check = pydicom.dcmread(os.path.join(folder, names[k] + ".dcm"))
        got = check.pixel_array.astype(np.float64) * float(check.RescaleSlope) + float(check.RescaleIntercept)
        assert np.array_equal(got, hu), "fixture HU mismatch"
        got.astype("<i2").tofile(expected)


def folder_name(folder):
    return os.path.basename(folder.rstrip("/"))


def gdcmconv(flag, src_folder, dst_folder, series_uid):
    os.makedirs(dst_folder, exist_ok=True)
    for name in sorted(os.listdir(src_folder)):
        tmp = os.path.join(dst_folder, name + ".tmp")
        ds = pydicom.dcmread(os.path.join(src_folder, name))
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = series_uid + ds.SOPInstanceUID[ds.SOPInstanceUID.rfind("."):]
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.save_as(tmp, write_like_original=False)
        subprocess.run(["gdcmconv", flag, tmp, os.path.join(dst_folder, name)], check=True)
        os.remove(tmp)


def make_dicom():
    good = os.path.join(OUT, "dicom", "good")
    axial_series(SERIES["axial"], os.path.join(good, "axial"))
    for kind, flag in (("jpeg", "--jpeg"), ("rle", "--rle"), ("j2k", "--j2k")):
        gdcmconv(flag, os.path.join(good, "axial"), os.path.join(good, kind), SERIES[kind])
        for k in range(4):
            shutil.copy(os.path.join(OUT, "expected", f"axial_{k}.hu"), os.path.join(OUT, "expected", f"{kind}_{k}.hu"))

    bad = os.path.join(OUT, "dicom", "bad")
    hu = raw0 + 1024 - 1024
    loc = ct_slice("2.25.700020", 0, (x0, y0, z0), 1, hu + 1024)
    loc.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    write(loc, os.path.join(bad, "localizer.dcm"))
    sc = ct_slice("2.25.700021", 0, (x0, y0, z0), 1, hu + 1024)
    sc.SOPClassUID = SECONDARY_CAPTURE
    sc.file_meta.MediaStorageSOPClassUID = SECONDARY_CAPTURE
    write(sc, os.path.join(bad, "secondary_capture.dcm"))
    shutil.copy(os.path.join(PYDICOM_FILES, "MR_small.dcm"), os.path.join(bad, "mr.dcm"))
    with open(os.path.join(bad, "notes.txt"), "w") as f:
        f.write("not a DICOM file\n")
    nopos = ct_slice("2.25.700022", 0, (x0, y0, z0), 1, hu + 1024)
    del nopos.ImagePositionPatient
    write(nopos, os.path.join(bad, "no_position.dcm"))
    t = math.radians(20)
    for k in range(3):  # gantry tilt: tilted planes stacked along z
        write(ct_slice("2.25.700023", k, (x0, y0, z0 + 5.0 * k), k + 1, hu + 1024,
                       orientation=(1, 0, 0, 0, math.cos(t), math.sin(t))), os.path.join(bad, "tilt", f"{k}.dcm"))
    for k, z in enumerate((0.0, 5.0, 15.0)):  # a missing slice
        write(ct_slice("2.25.700024", k, (x0, y0, z0 + z), k + 1, hu + 1024), os.path.join(bad, "gap", f"{k}.dcm"))
    for k in range(2):  # coronal reformat
        write(ct_slice("2.25.700025", k, (x0, y0 + 5.0 * k, z0), k + 1, hu + 1024, orientation=(1, 0, 0, 0, 0, -1)),
              os.path.join(bad, "coronal", f"{k}.dcm"))
    for k, o in enumerate(((1, 0, 0, 0, 1, 0), (0, 1, 0, 1, 0, 0))):
        write(ct_slice("2.25.700026", k, (x0, y0, z0 + 5.0 * k), k + 1, hu + 1024, orientation=o),
              os.path.join(bad, "mixed", f"{k}.dcm"))


def make_nifti():
    folder = os.path.join(OUT, "nifti")
    os.makedirs(os.path.join(folder, "pat01"), exist_ok=True)
    i, j, k = np.meshgrid(np.arange(5), np.arange(4), np.arange(3), indexing="ij")
    values = (i + 10 * j + 100 * k).astype(np.int16)  # shape (5, 4, 3)

    def save(data, affine, path, sform=True):
        img = nib.Nifti1Image(data, affine)
        img.header.set_slope_inter(2.0, -1000.0)
        img.set_qform(affine, code=1)
        if sform:
            img.set_sform(affine, code=1)
        else:
            img.set_sform(None, code=0)
        nib.save(img, path)

    # i -> right, j -> anterior, k -> superior (RAS): shown flipped in x and y.
    save(values, np.diag([2.0, 3.0, 4.0, 1.0]), os.path.join(folder, "ras.nii"))
    # i -> left, j -> posterior (DICOM's order): shown as stored.
    save(values, np.diag([-2.0, -3.0, 4.0, 1.0]), os.path.join(folder, "lps.nii.gz"))
    # Storage axes (k, i, j): axis 0 runs superior, 1 left, 2 posterior; qform only.
    perm = np.ascontiguousarray(np.transpose(values, (2, 0, 1)))
    affine = np.array([[0, -2.0, 0, 0], [0, 0, -3.0, 0], [4.0, 0, 0, 0], [0, 0, 0, 1]])
    save(perm, affine, os.path.join(folder, "perm_qform.nii.gz"), sform=False)
    shutil.copy(os.path.join(NIBABEL_FILES, "anatomical.nii"), os.path.join(folder, "pat01", "anat.nii"))
    shutil.copy(os.path.join(NIBABEL_FILES, "example4d.nii.gz"), os.path.join(folder, "example4d.nii.gz"))


if os.path.isdir(OUT):
    shutil.rmtree(OUT)
make_dicom()
make_nifti()
print(f"scanner fixtures in {OUT}")
