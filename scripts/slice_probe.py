#!/usr/bin/python3
"""Linear probe of slice features: does a slice's feature say "lesion"?

Takes the feature row of every slice under one CT window (`coords[:, 1]`,
the window index; 0 = the first window extracted), labels it with the
slice's `lesion_present` from CLEAR's lesion table, and fits an
L2-regularised logistic regression with 5-fold cross-validation split by
patient, standardising on the training folds only. Prints the pooled
out-of-fold AUROC.

Why it exists: the quickstart's study-level AUROC mixes what the encoder
learned with what a MIL head can find in a few hundred bags; this measures
the encoder alone, at the level where LeCL's lesion views act.

`--position-only` replaces each feature by a one-hot of the slice's relative
position in its study (12 bins): the baseline that any encoder must beat,
since lesions are not spread evenly along the body (synth places key slices
away from the stack ends, and each lesion type has its body levels).

usage: /usr/bin/python3 scripts/slice_probe.py FEATURE_DIR LESION_CSV [--window 0] [--c 0.05] [--position-only]
LESION_CSV: image,lesion_present,patient_id with image = <study>/<slice file>
(radclear synth writes it as lesions.csv). Needs python3-h5py,
python3-numpy and python3-sklearn (Debian packages).
"""
import argparse
import csv
import os
import sys

import h5py
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import StandardScaler


POSITION_BINS = 12


def position_bin(index, n):
    """Bin of the index-th of n slices (in file order) among POSITION_BINS."""
    return min(POSITION_BINS - 1, index * POSITION_BINS // n)


def load(feature_dir, lesion_csv, window, position_only=False):
    if not os.path.isfile(lesion_csv):
        sys.exit(f"lesion table {lesion_csv} does not exist")
    with open(lesion_csv, newline="") as f:
        reader = csv.DictReader(f)
        missing = {"image", "lesion_present", "patient_id"} - set(reader.fieldnames or [])
        if missing:
            sys.exit(f"{lesion_csv}: missing column(s) {', '.join(sorted(missing))}")
        rows = list(reader)
    lesion = {r["image"]: int(r["lesion_present"]) for r in rows}
    patient = {r["image"].split("/")[0]: r["patient_id"] for r in rows}
    x, y, groups = [], [], []
    files = sorted(f for f in os.listdir(feature_dir) if f.endswith(".h5"))
    if not files:
        sys.exit(f"{feature_dir}: no .h5 feature files")
    for name in files:
        study = name[:-3]
        with h5py.File(os.path.join(feature_dir, name), "r") as h:
            feats, coords, slices = h["feats"][:], h["coords"][:], h["slice_names"][:]
        rows = np.flatnonzero(coords[:, 1] == window)
        order = {s: i for i, s in enumerate(sorted(slices[r].decode() for r in rows))}
        for row in rows:
            key = f"{study}/{slices[row].decode()}"
            if key not in lesion:
                sys.exit(f"{feature_dir}/{name}: slice {key} is not in {lesion_csv}")
            if position_only:
                one_hot = np.zeros(POSITION_BINS)
                one_hot[position_bin(order[slices[row].decode()], len(rows))] = 1
                x.append(one_hot)
            else:
                x.append(feats[row])
            y.append(lesion[key])
            groups.append(patient[study])
    if not x:
        sys.exit(f"{feature_dir}: no rows under window index {window}")
    return np.array(x), np.array(y), np.array(groups)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("feature_dir")
    ap.add_argument("lesion_csv")
    ap.add_argument("--window", type=int, default=0, help="window index (coords[:, 1]) of the rows to probe")
    ap.add_argument("--c", type=float, default=0.05, help="inverse L2 strength of the logistic regression")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--position-only", action="store_true", help="probe the slice position instead of the features")
    a = ap.parse_args()
    x, y, groups = load(a.feature_dir, a.lesion_csv, a.window, a.position_only)
    score = np.zeros(len(y))
    for tr, te in GroupKFold(a.folds).split(x, groups=groups):
        scaler = StandardScaler().fit(x[tr])
        model = LogisticRegression(C=a.c, max_iter=5000).fit(scaler.transform(x[tr]), y[tr])
        score[te] = model.decision_function(scaler.transform(x[te]))
    what = "slice position" if a.position_only else "slice probe"
    print(f"{what}: {len(y)} slices, {y.mean():.3f} with a lesion, out-of-fold AUROC {roc_auc_score(y, score):.3f}")


if __name__ == "__main__":
    main()
