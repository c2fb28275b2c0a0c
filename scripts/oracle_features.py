#!/usr/bin/python3
"""Feature sets that know the answer, to measure what the quickstart task asks of an encoder.

Writes one HDF5 file per study of a `radclear synth` set, in the layout
`radclear extract` writes (`feats`; `coords` = slice number and window index;
`slice_names`; two window rows per slice), so `radclear crossval` runs on it unchanged.
Each row holds, by `--grade`:

- `position`: a one-hot of the slice's position in its study (12 bins) and
  of the study's body coverage (scripts/coverage_check.py). No pixel.
- `presence`: as `position`, plus one number, `shift * lesion + N(0, 1)`,
  where lesion is 1 on a lesion's key slice (lesions.csv). `--shift` sets how
  well it separates lesion slices (3: almost perfectly), with independent
  noise per window row. This is an encoder that sees that a slice holds a
  lesion but not in which organ.
- `type`: as `position`, plus a noiseless one-hot of the lesion types on the
  slice (DL_info.csv): the oracle.

Why it exists: the quickstart's labels are lesion locations (organs), and
several organs share each body level. The ABMIL cross-validation of these
sets gives the ceiling for an encoder of each kind (README, "Not there yet").

usage: /usr/bin/python3 scripts/oracle_features.py SYNTH_DIR OUT_DIR --grade position|presence|type [--shift 1.0] [--seed 0]
Needs python3-h5py, python3-numpy and python3-sklearn (Debian packages).
"""
import argparse
import csv
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coverage_check import COVERAGES, study_coverage  # noqa: E402
from slice_probe import POSITION_BINS, position_bin  # noqa: E402

N_TYPES = 8  # DeepLesion's coarse lesion types 1..8


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("synth_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--grade", choices=["position", "presence", "type"], required=True)
    ap.add_argument("--shift", type=float, default=1.0, help="separation of lesion slices for --grade presence")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    coverage = study_coverage(args.synth_dir)
    names = list(COVERAGES)
    slices = {}  # study -> [(slice number, file name, lesion on it)]
    for row in csv.DictReader(open(os.path.join(args.synth_dir, "lesions.csv"))):
        study, name = row["image"].split("/")
        slices.setdefault(study, []).append((int(os.path.splitext(name)[0]), name, int(row["lesion_present"])))
    types = {}  # (study, slice number) -> set of coarse types
    for row in csv.DictReader(open(os.path.join(args.synth_dir, "DL_info.csv"))):
        key = (row["File_name"][:12], int(row["Key_slice_index"]))
        types.setdefault(key, set()).add(int(row["Coarse_lesion_type"]))

    extra = {"position": 0, "presence": 1, "type": N_TYPES}[args.grade]
    width = POSITION_BINS + len(names) + extra
    os.makedirs(args.out_dir, exist_ok=True)
    for study, rows in sorted(slices.items()):
        if study not in coverage:
            sys.exit(f"{args.synth_dir}/DL_info.csv: study {study} has no lesion row, so its coverage is unknown")
        rows.sort()
        n = len(rows)
        feats = np.zeros((2 * n, width), np.float32)
        coords = np.zeros((2 * n, 2), np.int64)
        names_of_rows = []
        for k, (number, name, lesion) in enumerate(rows):
            for window in (0, 1):
                r = 2 * k + window
                feats[r, position_bin(k, n)] = 1
                feats[r, POSITION_BINS + names.index(coverage[study])] = 1
                if args.grade == "presence":
                    feats[r, -1] = args.shift * lesion + rng.normal()
                elif args.grade == "type":
                    for t in types.get((study, number), ()):
                        feats[r, POSITION_BINS + len(names) + t - 1] = 1
                coords[r] = (number, window)
                names_of_rows.append(name)
        tmp = os.path.join(args.out_dir, study + ".h5.tmp")
        with h5py.File(tmp, "w") as f:
            f["feats"] = feats
            f["coords"] = coords
            f["slice_names"] = np.array(names_of_rows, dtype=h5py.string_dtype())
        os.replace(tmp, os.path.join(args.out_dir, study + ".h5"))
    print(f"{len(slices)} studies, {width} features per row ({args.grade}) in {args.out_dir}")


if __name__ == "__main__":
    main()
