#!/usr/bin/python3
"""The `radclear bench step` measurement in Python (python3-torch): one full
MoCo v3 / LeCL training step on random tensors (two views, base + momentum
encoders, predictor, LeCL loss with half the samples marked as lesions,
backward, AdamW), median seconds per step -> images/s.

Backbones are the PyTorch definitions of scripts/golden/backbones.py (timm /
MambaOut names, the same as radclear's), the MoCo wrapper and LeCL loss those
of scripts/golden/checkpoint.py and scripts/golden/moco_loss.py.

Run: /usr/bin/python3 scripts/bench/moco_step.py --arch vit_small --batch 16 --image-size 224 [--json]
"""
import argparse
import json
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "golden"))
import backbones  # noqa: E402
from checkpoint import MoCo  # noqa: E402
from moco_loss import lecl_loss  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="vit_small")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--moco-dim", type=int, default=256)
    p.add_argument("--mlp-dim", type=int, default=4096)
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    device = torch.device("cuda" if a.device in ("auto", "cuda") and torch.cuda.is_available() else "cpu")
    if a.arch not in backbones.MODELS:
        sys.exit(f"unknown arch {a.arch}; known: {', '.join(backbones.MODELS)}")
    build, _ = backbones.MODELS[a.arch]
    resnet = a.arch.startswith("resnet")
    torch.manual_seed(0)
    model = MoCo(dim=a.moco_dim, mlp_dim=a.mlp_dim, backbone=lambda: build(a.image_size, 1000),
                 head="fc" if resnet else "head", projector_layers=2 if resnet else 3,
                 predictor_last_bn=not resnet).to(device)
    model.train()
    trainable = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=1e-4, weight_decay=0.1)
    x1 = torch.randn(a.batch, 3, a.image_size, a.image_size, device=device)
    x2 = torch.randn(a.batch, 3, a.image_size, a.image_size, device=device)
    lesion = (torch.arange(a.batch, device=device) % 2 == 0).float()

    def step():
        q1, q2 = model.query(x1), model.query(x2)
        model.update_momentum(0.99)
        k1, k2 = model.key(x1), model.key(x2)
        loss = lecl_loss(q1, k2, lesion, 0, 0.2, 1.0) + lecl_loss(q2, k1, lesion, 0, 0.2, 1.0)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(a.warmup):
        step()
    sync()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    times.sort()
    sec = times[len(times) // 2]
    out = {"arch": a.arch, "device": str(device), "batch": a.batch, "image_size": a.image_size,
           "threads": torch.get_num_threads(), "seconds_per_step": sec, "images_per_s": a.batch / sec,
           "torch": torch.__version__}
    if a.json:
        print(json.dumps(out))
    else:
        print(f"Python MoCo/LeCL step: {a.arch} at {a.image_size}px, batch {a.batch}, {device} on "
              f"{out['threads']} thread(s): {sec:.3f} s/step = {out['images_per_s']:.2f} images/s")


if __name__ == "__main__":
    main()
