#!/usr/bin/python3
"""The Python reference recipe of `radclear bench pretrain` (python3-torch):
MoCo v3 + the LeCL lesion loss trained as main_moco.py's train() does
(per-iteration lr and momentum, q = predictor(base(x)), EMA update, k =
momentum(x), loss L(q1, k2) + L(q2, k1), AdamW over model.parameters()),
fed by a torch DataLoader over the LeCL views built with PIL + torchvision
(scripts/bench/torchvision_pipeline.py: decode, CT window, lesion-centred or
RandomResizedCrop views, MoCo v3's augmentations).

Timing as main_moco.py's batch_time: wall time from the end of one step to
the end of the next, so waiting for the DataLoader counts; `--warmup` steps
first (worker start-up, allocator), then `--steps` timed ones.

Input: --list CSV path,lesion,x1,y1,x2,y2 (what `radclear bench pretrain
--python` writes from the index). Output: one JSON object on the last line.

Run: /usr/bin/python3 scripts/bench/pretrain_ref.py --list samples.csv --arch vit_tiny --batch-size 32 \
         --threads 2 --workers 2 --json
"""
import argparse
import csv
import json
import math
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "golden"))
sys.path.insert(0, HERE)
import backbones  # noqa: E402
from checkpoint import MoCo  # noqa: E402
from moco_loss import lecl_loss  # noqa: E402
from torchvision_pipeline import SliceViews  # noqa: E402


def read_list(path):
    rows = []
    with open(path) as f:
        for r in csv.DictReader(f):
            box = None if r["x1"] == "" else tuple(float(r[k]) for k in ("x1", "y1", "x2", "y2"))
            rows.append((r["path"], int(r["lesion"]), box))
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--list", required=True)
    p.add_argument("--arch", default="vit_small")
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--moco-dim", type=int, default=256)
    p.add_argument("--moco-mlp-dim", type=int, default=4096)
    p.add_argument("--window", default="abdomen")
    p.add_argument("--lr", type=float, default=1e-4, help="base lr (scaled by batch/256)")
    p.add_argument("--wd", type=float, default=1e-6)
    p.add_argument("--warmup-epochs", type=float, default=10)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--moco-m", type=float, default=0.99)
    p.add_argument("--moco-t", type=float, default=1.0)
    p.add_argument("--sample-weight", type=float, default=1.0)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    if a.arch not in backbones.MODELS:
        sys.exit(f"unknown arch {a.arch}; known: {', '.join(backbones.MODELS)}")
    torch.manual_seed(a.seed)

    rows = read_list(a.list)
    loader = torch.utils.data.DataLoader(SliceViews(rows, a.image_size, a.window), batch_size=a.batch_size,
                                         shuffle=True, num_workers=a.workers, pin_memory=False, drop_last=True,
                                         persistent_workers=a.workers > 0)
    total = a.warmup + a.steps
    if total > len(loader):
        sys.exit(f"{a.warmup} + {a.steps} steps need {total * a.batch_size} samples, the list has {len(rows)}")

    build, _ = backbones.MODELS[a.arch]
    resnet = a.arch.startswith("resnet")
    model = MoCo(dim=a.moco_dim, mlp_dim=a.moco_mlp_dim, backbone=lambda: build(a.image_size, 1000),
                 head="fc" if resnet else "head", projector_layers=2 if resnet else 3,
                 predictor_last_bn=not resnet)
    model.train()
    lr0 = a.lr * a.batch_size / 256
    optimizer = torch.optim.AdamW(model.parameters(), lr0, weight_decay=a.wd)
    iters = len(loader)

    times, waits = [], []
    end = time.perf_counter()
    for i, (x1, x2, lesion, _) in enumerate(loader):
        if i == total:
            break
        got = time.perf_counter()
        # main_moco.py: lr and momentum per iteration (epoch 0 here).
        ep = i / iters
        lr = lr0 * ep / a.warmup_epochs if ep < a.warmup_epochs else \
            lr0 * 0.5 * (1.0 + math.cos(math.pi * (ep - a.warmup_epochs) / (a.epochs - a.warmup_epochs)))
        for g in optimizer.param_groups:
            g["lr"] = lr
        q1, q2 = model.query(x1), model.query(x2)
        model.update_momentum(a.moco_m)
        k1, k2 = model.key(x1), model.key(x2)
        loss = lecl_loss(q1, k2, lesion, 0, a.moco_t, a.sample_weight) + \
            lecl_loss(q2, k1, lesion, 0, a.moco_t, a.sample_weight)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if not math.isfinite(loss.item()):
            sys.exit(f"loss is {loss.item()} at step {i}")
        now = time.perf_counter()
        if i >= a.warmup:
            times.append(now - end)
            waits.append(got - end)
        end = now

    mean = sum(times) / len(times)
    out = {"arch": a.arch, "image_size": a.image_size, "batch_size": a.batch_size, "threads": torch.get_num_threads(),
           "workers": a.workers, "steps": len(times), "s_per_step": mean,
           "median_s": sorted(times)[len(times) // 2], "data_wait_s": sum(waits) / len(waits),
           "images_per_s": a.batch_size / mean, "torch": torch.__version__}
    if not a.json:
        print(f"Python MoCo v3 + LeCL + torchvision DataLoader: {a.arch} at {a.image_size}px, batch {a.batch_size}, "
              f"{out['threads']} threads + {a.workers} workers: {mean:.3f} s/step = {out['images_per_s']:.2f} "
              f"images/s (waiting for data {out['data_wait_s']:.3f} s/step)")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
