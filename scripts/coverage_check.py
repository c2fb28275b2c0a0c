#!/usr/bin/python3
"""Does a cross-validation on `radclear synth` data see lesions, or only coverage?

A synth study covers chest-abdomen-pelvis, chest and upper abdomen, or
abdomen and pelvis (data/phantom.cc). Coverage alone predicts some lesion
locations: a chest-only study has no pelvic lesion. This script prints

1. the coverage-only baseline: each label predicted by its prevalence per
   coverage in the training folds, on the same patient folds as the
   crossval (from its splits.json); fold means of the per-label AUROC;
2. for each crossval output directory, the mean per-label AUROC of its
   out-of-fold predictions within each coverage. Coverage-only scores 0.5
   there by construction, so a value above 0.5 is what the features add.

Why it exists: on the quickstart data every encoder, LeCL-pretrained or
random, scored about what the coverage-only baseline scores, and 0.5 or
less within each coverage (README, "Not there yet").

usage: /usr/bin/python3 scripts/coverage_check.py SYNTH_DIR CROSSVAL_DIR [CROSSVAL_DIR ...]
Needs python3-sklearn (Debian package).
"""
import csv
import json
import os
import statistics
import sys
from collections import Counter

from sklearn.metrics import roc_auc_score

# (t_first, t_last) of each coverage, body position 0 apex .. 1 pelvis;
# must match make_phantom_study().
COVERAGES = {"chest-abdomen-pelvis": (0.0, 1.0), "chest-upper-abdomen": (0.0, 0.65), "abdomen-pelvis": (0.35, 1.0)}


def study_coverage(synth_dir):
    """Study -> coverage, from each lesion's body position and key slice."""
    slices = Counter(row["image"].split("/")[0] for row in csv.DictReader(open(os.path.join(synth_dir, "lesions.csv"))))
    coverage = {}
    for row in csv.DictReader(open(os.path.join(synth_dir, "DL_info.csv"))):
        study = row["File_name"][:12]
        t = float(row["Normalized_lesion_location"].split(",")[2])
        k = int(row["Key_slice_index"]) - 1
        frac = k / max(1, slices[study] - 1)
        coverage[study] = min(COVERAGES, key=lambda c: abs(COVERAGES[c][0] + (COVERAGES[c][1] - COVERAGES[c][0]) * frac - t))
    return coverage


def auroc(y, p):
    return roc_auc_score(y, p) if 0 < sum(y) < len(y) else None


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    synth_dir, runs = sys.argv[1], sys.argv[2:]
    coverage = study_coverage(synth_dir)
    clinical = {r["image"]: r for r in csv.DictReader(open(os.path.join(synth_dir, "clinical.csv")))}
    splits = json.load(open(os.path.join(runs[0], "splits.json")))
    labels = splits["labels"]
    print("studies per coverage:", dict(Counter(coverage.values())))

    fold_means = []
    for test_patients in splits["test_patients"]:
        test_patients = set(test_patients)
        train = [s for s, r in clinical.items() if r["patient_id"] not in test_patients]
        test = [s for s, r in clinical.items() if r["patient_id"] in test_patients]
        values = []
        for label in labels:
            prevalence = {c: statistics.mean([int(clinical[s][label]) for s in train if coverage[s] == c] or [0])
                          for c in COVERAGES}
            a = auroc([int(clinical[s][label]) for s in test], [prevalence[coverage[s]] for s in test])
            if a is not None:
                values.append(a)
        fold_means.append(statistics.mean(values))
    print("coverage-only baseline: fold means [%s], mean %.3f, sd %.3f" % (
        ", ".join("%.3f" % m for m in fold_means), statistics.mean(fold_means), statistics.stdev(fold_means)))

    for run in runs:
        rows = list(csv.DictReader(open(os.path.join(run, "oof-preds.csv"))))
        parts = []
        for c in COVERAGES:
            stratum = [r for r in rows if coverage[r["study"]] == c]
            values = [a for a in (auroc([int(r[l + "_true"]) for r in stratum], [float(r[l + "_prob"]) for r in stratum])
                                  for l in labels) if a is not None]
            parts.append("%s %.3f" % (c, statistics.mean(values)) if values else "%s -" % c)
        print("%s: AUROC within coverage: %s" % (run, " | ".join(parts)))


if __name__ == "__main__":
    main()
