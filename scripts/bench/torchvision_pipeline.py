#!/usr/bin/python3
"""The LeCL two-view pipeline written the way the reference does it, with
PIL + torchvision + a torch DataLoader, for `radclear bench loader
--torchvision` to compare against on the same files.

Per sample: PIL decode of the 16-bit PNG, HU = value - 32768, CT window to
8 bits (numpy), gray -> RGB, then the views of reference.md section 2
(lesion slice: lesion crop centred on the box + whole slice; else two
RandomResizedCrop(scale=(0.08, 1))) and MoCo v3's augmentations
(ColorJitter(0.4, 0.4, 0.2, 0.1) p=0.8, RandomGrayscale p=0.2, PIL Gaussian
blur sigma U[0.1, 2] with p=1.0 / 0.1, Solarize p=0 / 0.2, flip p=0.5,
ToTensor, Normalize).

Input: --list CSV with path,lesion,x1,y1,x2,y2 (boxes empty when none).
Output: one JSON object on the last line of stdout.

Run: /usr/bin/python3 scripts/bench/torchvision_pipeline.py --list samples.csv --workers 2 --json
"""
import argparse
import csv
import json
import math
import random
import time

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image, ImageFilter, ImageOps

WINDOWS = {"abdomen": (400, 40), "lung": (1500, -600), "bone": (1800, 400), "mediastinum": (350, 50)}


def parse_window(name):
    if name in WINDOWS:
        return WINDOWS[name]
    w, l = name.split("/")
    return float(w), float(l)


class GaussianBlur:
    def __init__(self, sigma=(0.1, 2.0)):
        self.sigma = sigma

    def __call__(self, x):
        return x.filter(ImageFilter.GaussianBlur(radius=random.uniform(*self.sigma)))


class Solarize:
    def __call__(self, x):
        return ImageOps.solarize(x)


def augmentation(blur_p, solarize_p):
    normalize = T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    return T.Compose([
        T.RandomApply([T.ColorJitter(0.4, 0.4, 0.2, 0.1)], p=0.8),
        T.RandomGrayscale(p=0.2),
        T.RandomApply([GaussianBlur([0.1, 2.0])], p=blur_p),
        T.RandomApply([Solarize()], p=solarize_p),
        T.RandomHorizontalFlip(),
        T.ToTensor(),
        normalize,
    ])


class SliceViews(torch.utils.data.Dataset):
    def __init__(self, rows, size, window, crop_min=0.08):
        self.rows = rows
        self.size = size
        self.width, self.level = parse_window(window)
        self.crop_min = crop_min
        self.rrc = T.RandomResizedCrop(size, scale=(crop_min, 1.0))
        self.aug1 = augmentation(1.0, 0.0)
        self.aug2 = augmentation(0.1, 0.2)

    def __len__(self):
        return len(self.rows)

    def load(self, path):
        hu = np.asarray(Image.open(path), dtype=np.int32) - 32768
        lo = self.level - self.width / 2
        v = np.clip((hu - lo) / self.width, 0.0, 1.0) * 255.0
        air = int(round(min(max((-1024 - lo) / self.width, 0.0), 1.0) * 255))
        return Image.fromarray(np.rint(v).astype(np.uint8), "L").convert("RGB"), air

    def lesion_crop(self, img, box, air):
        w_img, h_img = img.size
        f = math.sqrt(self.crop_min)
        w = max(1, int(random.uniform(f * w_img, w_img)))
        h = max(1, int(random.uniform(f * h_img, h_img)))

        def origin(lo, hi, n):
            first, last = math.ceil(hi) - n, math.floor(lo)
            return random.randint(first, last) if first <= last else int(round((lo + hi) / 2 - n / 2))

        x0, y0 = origin(box[0], box[2], w), origin(box[1], box[3], h)
        canvas = Image.new("RGB", (w, h), (air, air, air))
        canvas.paste(img.crop((max(x0, 0), max(y0, 0), min(x0 + w, w_img), min(y0 + h, h_img))),
                     (max(-x0, 0), max(-y0, 0)))
        return canvas.resize((self.size, self.size), Image.BILINEAR)

    def __getitem__(self, i):
        path, lesion, box = self.rows[i]
        img, air = self.load(path)
        if box is not None:
            s = img.resize((self.size, self.size), Image.BILINEAR)
            t = self.lesion_crop(img, box, air)
        else:
            s, t = self.rrc(img), self.rrc(img)
        return self.aug1(s), self.aug2(t), torch.tensor(float(lesion)), i


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--list", required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--window", default="abdomen")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    rows = []
    with open(args.list) as f:
        for r in csv.DictReader(f):
            box = None if r["x1"] == "" else tuple(float(r[k]) for k in ("x1", "y1", "x2", "y2"))
            rows.append((r["path"], int(r["lesion"]), box))
    ds = SliceViews(rows, args.size, args.window)
    # One warm-up batch (worker start-up), then the measured ones, as the
    # C++ loader benchmark does.
    loader = torch.utils.data.DataLoader(ds, batch_size=args.batch_size, shuffle=False, drop_last=True,
                                         num_workers=args.workers, prefetch_factor=2,
                                         persistent_workers=False)
    it = iter(loader)
    next(it)
    t0 = time.perf_counter()
    n = 0
    for _ in range(args.batches - 1):
        v1, v2, lesion, idx = next(it)
        n += v1.shape[0]
    seconds = time.perf_counter() - t0
    out = dict(workers=args.workers, samples=n, seconds=seconds, samples_per_s=n / seconds,
               per_core=n / seconds / max(1, args.workers), torch=torch.__version__)
    if not args.json:
        print(f"torchvision/PIL: {n} samples in {seconds:.2f} s = {n / seconds:.1f}/s "
              f"({n / seconds / max(1, args.workers):.1f} per worker)")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
