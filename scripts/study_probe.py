#!/usr/bin/python3
"""Linear probe of study features: a diagnostic beside ABMIL.

Mean-pools every study's slice features (all rows of `feats` in its HDF5
file), then fits one L2-regularised logistic regression per label with
5-fold cross-validation split by patient, standardising on the training
folds only. Prints the out-of-fold AUROC per label and the per-fold mean
AUROC over labels.

Why it exists: on the quickstart data a linear probe separates LeCL from
random-init features while ABMIL (256 training bags) does not, so this
tells "the encoder learned nothing" apart from "the MIL head lost it".

usage: /usr/bin/python3 scripts/study_probe.py FEATURE_DIR CLINICAL_CSV [--c 0.05]
Needs python3-h5py, python3-numpy and python3-sklearn (Debian packages).
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

NOT_LABELS = {"image", "all", "patient_id"}


def load(feature_dir, clinical_csv):
    if not os.path.isfile(clinical_csv):
        sys.exit(f"clinical CSV {clinical_csv} does not exist")
    with open(clinical_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "patient_id" not in rows[0]:
        sys.exit(f"{clinical_csv}: needs an image column, label columns and patient_id")
    labels = [k for k in rows[0] if k not in NOT_LABELS]
    x, y, groups = [], [], []
    for line, r in enumerate(rows, start=2):
        path = os.path.join(feature_dir, r["image"] + ".h5")
        if not os.path.exists(path):
            sys.exit(f"{clinical_csv} row {line}: no feature file {path}")
        with h5py.File(path, "r") as h:
            x.append(h["feats"][:].mean(axis=0))
        y.append([int(r[label]) for label in labels])
        groups.append(r["patient_id"])
    return labels, np.array(x), np.array(y), np.array(groups)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("feature_dir")
    ap.add_argument("clinical_csv")
    ap.add_argument("--c", type=float, default=0.05, help="inverse L2 strength of the logistic regression")
    ap.add_argument("--folds", type=int, default=5)
    a = ap.parse_args()
    labels, x, y, groups = load(a.feature_dir, a.clinical_csv)
    splits = list(GroupKFold(a.folds).split(x, groups=groups))
    pooled, per_fold = [], np.zeros((len(labels), a.folds))
    for li, label in enumerate(labels):
        score = np.zeros(len(y))
        for fi, (tr, te) in enumerate(splits):
            scaler = StandardScaler().fit(x[tr])
            model = LogisticRegression(C=a.c, max_iter=5000).fit(scaler.transform(x[tr]), y[tr, li])
            score[te] = model.decision_function(scaler.transform(x[te]))
            per_fold[li, fi] = roc_auc_score(y[te, li], score[te]) if len(set(y[te, li])) == 2 else np.nan
        pooled.append(roc_auc_score(y[:, li], score))
    fold_means = np.nanmean(per_fold, axis=0)
    print("linear probe, out-of-fold AUROC: " + ", ".join(f"{l} {p:.3f}" for l, p in zip(labels, pooled)))
    print(f"linear probe, mean over labels per fold: {np.round(fold_means, 3).tolist()}; "
          f"mean {fold_means.mean():.3f}, sd {fold_means.std(ddof=1):.3f}")


if __name__ == "__main__":
    main()
