#!/usr/bin/python3
"""The reference's feature-extraction loop in Python (python3-torch), for
`radclear bench extract` to compare against: one study at a time is one
batch (as CLEAR's extract script does), every slice read with PIL, windowed
under each CT window, put through torchvision's eval transform (Resize,
CenterCrop, ToTensor, Normalize), rows interleaved (slice k -> rows kW..kW+W-1),
the encoder's forward_features under no_grad, and one HDF5 file per study
(h5py). Prints slices/s (JSON with --json).

Backbones are the PyTorch definitions of scripts/golden/backbones.py with
random weights (speed does not depend on the values).

Run: /usr/bin/python3 scripts/bench/extract_ref.py --data demo --arch vit_small --image-size 224 --studies 8
"""
import argparse
import json
import os
import sys
import tempfile
import time

import h5py
import numpy as np
import torch
from PIL import Image
from torchvision import transforms

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "golden"))
import backbones  # noqa: E402

WINDOWS = {"abdomen": (400, 40), "lung": (1500, -600), "bone": (1800, 400), "mediastinum": (350, 50)}


def window(hu, width, level):
    lo = level - width / 2
    return np.round(np.clip((hu - lo) / width, 0, 1) * 255).astype(np.uint8)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="data root with Images_png/<study>/<n>.png (radclear synth)")
    p.add_argument("--arch", default="vit_small")
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--windows", default="abdomen,lung")
    p.add_argument("--studies", type=int, default=8, help="first N studies by name")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = backbones.MODELS[a.arch][0](a.image_size, 0).eval()
    tf = transforms.Compose([
        transforms.Resize(a.image_size),
        transforms.CenterCrop(a.image_size),
        transforms.ToTensor(),
        transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    ])
    wins = [WINDOWS[w] for w in a.windows.split(",")]
    root = os.path.join(a.data, "Images_png")
    studies = sorted(os.listdir(root))[: a.studies]
    out = tempfile.mkdtemp(prefix="extract_ref_")
    slices = 0
    t0 = time.perf_counter()
    with torch.no_grad():
        for s in studies:
            names = sorted(os.listdir(os.path.join(root, s)))
            rows = []
            for n in names:
                hu = np.asarray(Image.open(os.path.join(root, s, n)), dtype=np.int32) - 32768
                for w, l in wins:
                    rows.append(tf(Image.fromarray(window(hu, w, l)).convert("RGB")))
            feats = model.forward_features(torch.stack(rows)).numpy()
            with h5py.File(os.path.join(out, s + ".h5"), "w") as f:
                f["feats"] = feats
                f["coords"] = np.array([[i, w] for i in range(len(names)) for w in range(len(wins))], dtype=np.int32)
            slices += len(names)
    seconds = time.perf_counter() - t0
    for f in os.listdir(out):
        os.remove(os.path.join(out, f))
    os.rmdir(out)
    r = {"arch": a.arch, "image_size": a.image_size, "studies": len(studies), "slices": slices,
         "seconds": seconds, "slices_per_s": slices / seconds, "threads": torch.get_num_threads()}
    print(json.dumps(r) if a.json else f"python reference: {slices} slices in {seconds:.2f} s = "
          f"{r['slices_per_s']:.2f} slices/s ({a.arch}, {a.image_size} px, {len(wins)} windows)")


if __name__ == "__main__":
    main()
