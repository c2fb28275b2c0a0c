#!/usr/bin/python3
"""Golden values for worker/crossval/metrics.cc from scikit-learn, with ties.

Run: /usr/bin/python3 scripts/golden/metrics.py  (writes tests/golden/mil/metrics.json)
"""
import json
import os

import numpy as np
from sklearn.metrics import average_precision_score, balanced_accuracy_score, roc_auc_score, roc_curve

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden", "mil")


def case(name, y, s):
    y = np.asarray(y, dtype=np.int64)
    s = np.asarray(s, dtype=np.float64)
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    return {"name": name, "y": y.tolist(), "score": s.tolist(),
            "auroc": float(roc_auc_score(y, s)),
            "auprc": float(average_precision_score(y, s)),
            "balanced_accuracy": float(balanced_accuracy_score(y, (s >= 0.5).astype(np.int64))),
            "roc_fpr": fpr.tolist(), "roc_tpr": tpr.tolist()}


def main():
    rng = np.random.default_rng(11)
    cases = [
        case("all_tied", [0, 1, 0, 1, 1], [0.5] * 5),
        case("separated", [0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]),
        case("inverted", [1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]),
        case("few_ties", [0, 1, 1, 0, 1, 0, 1], [0.2, 0.2, 0.7, 0.7, 0.9, 0.1, 0.5]),
    ]
    y = rng.integers(0, 2, 60)
    cases.append(case("quantised_5_levels", y, np.round(rng.random(60) * 4) / 4 * 0.5 + 0.5 * y * rng.random(60).round(1)))
    y = (rng.random(150) < 0.15).astype(int)
    cases.append(case("imbalanced_rounded", y, np.round(0.3 * y + rng.random(150), 1) / 1.3))
    y = rng.integers(0, 2, 200)
    cases.append(case("continuous", y, 1 / (1 + np.exp(-(y * 1.2 + rng.normal(size=200))))))
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "metrics.json"), "w") as f:
        json.dump({"cases": cases}, f)


if __name__ == "__main__":
    main()
