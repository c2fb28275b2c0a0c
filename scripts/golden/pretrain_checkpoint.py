#!/usr/bin/python3
"""A MoCo v3 pretraining checkpoint written by PyTorch, for `radclear pretrain
--resume` to continue from (tests/worker/pretrain_python_resume.sh).

  pretrain_checkpoint.py write DIR [--arch vit_tiny --image-size 32 --moco-dim 32
        --mlp-dim 64 --epoch 1 --steps 2 --batch 8 --lr 3e-4 --wd 0.1 --name run]
      Builds the MoCo v3 model (ViT recipe: 3-layer projector, 2-layer
      predictor) on the backbone of scripts/golden/backbones.py, wraps it as
      DDP does (keys 'module.'), trains `--steps` AdamW steps on random views
      with the LeCL loss (scripts/golden/moco_loss.py), and saves what MoCo v3's
      main_moco.py saves after epoch `--epoch`:
        {'epoch', 'arch', 'state_dict', 'optimizer', 'scaler': None}
      (no 'radclear' entry) as DIR/{arch}-moco-lecl-1-{name}-checkpoint_{epoch:04d}.pth.tar.
      Prints the path.

  pretrain_checkpoint.py check PYTHON_CKPT RADCLEAR_CKPT --steps-run N --epoch E --lr LR
      RADCLEAR_CKPT continued PYTHON_CKPT: it is epoch E, every AdamW state
      counts the Python steps + N, and each base encoder weight is within a
      few steps of at most LR (the run's peak lr) of Python's (a fresh
      initialisation is not).

Run with /usr/bin/python3 (Debian's python3-torch).
"""
import argparse
import math
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import backbones  # noqa: E402
from checkpoint import MoCo  # noqa: E402
from moco_loss import lecl_loss  # noqa: E402


class DDPLike(nn.Module):
    """Holds the model as `module`, so state_dict() keys read 'module.…' as
    under DistributedDataParallel (what main_moco.py saves)."""

    def __init__(self, module):
        super().__init__()
        self.module = module


def write(a):
    if a.arch not in backbones.MODELS or not a.arch.startswith("vit"):
        sys.exit(f"write: arch must be one of the ViTs of backbones.py, got {a.arch}")
    build, _ = backbones.MODELS[a.arch]
    torch.manual_seed(a.seed)
    moco = MoCo(dim=a.moco_dim, mlp_dim=a.mlp_dim, backbone=lambda: build(a.image_size, 1000))
    model = DDPLike(moco)
    model.train()
    # main_moco.py: AdamW over model.parameters(), momentum encoder included.
    opt = torch.optim.AdamW(model.parameters(), a.lr, weight_decay=a.wd)
    for _ in range(a.steps):
        x1 = torch.randn(a.batch, 3, a.image_size, a.image_size)
        x2 = torch.randn(a.batch, 3, a.image_size, a.image_size)
        lesion = (torch.arange(a.batch) % 2 == 0).float()
        q1, q2 = moco.query(x1), moco.query(x2)
        moco.update_momentum(0.99)
        k1, k2 = moco.key(x1), moco.key(x2)
        loss = lecl_loss(q1, k2, lesion, 0, 1.0, 1.0) + lecl_loss(q2, k1, lesion, 0, 1.0, 1.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    os.makedirs(a.dir, exist_ok=True)
    path = os.path.join(a.dir, f"{a.arch}-moco-lecl-1-{a.name}-checkpoint_{a.epoch:04d}.pth.tar")
    torch.save({"epoch": a.epoch, "arch": a.arch, "state_dict": model.state_dict(),
                "optimizer": opt.state_dict(), "scaler": None}, path)
    print(path)


def check(a):
    py = torch.load(a.python, map_location="cpu")
    rc = torch.load(a.radclear, map_location="cpu")
    assert "radclear" not in py, "the Python checkpoint must not carry radclear's own state"
    assert rc["epoch"] == a.epoch, f"radclear checkpoint is epoch {rc['epoch']}, expected {a.epoch}"
    assert rc["arch"] == py["arch"], (rc["arch"], py["arch"])
    assert list(rc["state_dict"]) == list(py["state_dict"]), "state dict keys differ"

    # The optimizer continued: every AdamW state counts Python's steps and radclear's.
    py_steps = {float(s["step"]) for s in py["optimizer"]["state"].values()}
    rc_steps = {float(s["step"]) for s in rc["optimizer"]["state"].values()}
    assert len(py_steps) == 1, f"Python AdamW steps {py_steps}"
    want = py_steps.pop() + a.steps_run
    assert rc_steps == {want}, f"radclear AdamW steps {sorted(rc_steps)}, expected {want} (Python's + {a.steps_run})"
    assert set(rc["optimizer"]["state"]) == set(py["optimizer"]["state"]), "optimizer state indexes differ"

    # The weights started from Python's. AdamW moves a weight by about lr per
    # step (plus lr * wd * w), so after N steps every trainable weight lies
    # within a small multiple of N * lr of Python's; a fresh initialisation
    # is off by the weights' own scale.
    lr = a.lr
    bound = 5 * a.steps_run * lr + 1e-6
    ps, rs = py["state_dict"], rc["state_dict"]
    worst, compared = 0.0, 0
    for k in ps:
        if not k.startswith("module.base_encoder.") or not ps[k].is_floating_point() or "running_" in k:
            continue
        d = (rs[k].double() - ps[k].double()).abs().max().item()
        assert math.isfinite(d), f"{k}: not finite after resuming"
        worst, compared = max(worst, d), compared + 1
        assert d <= bound, (f"{k} is {d:.3g} from the Python checkpoint's value, more than {a.steps_run} steps "
                            f"of lr {lr:.3g} can move it (bound {bound:.3g}): training did not start from it")
    assert compared > 10, f"only {compared} base encoder tensors compared"
    assert worst > 0, "no base encoder weight changed: radclear did not train"
    print(f"radclear continued the Python checkpoint: epoch {rc['epoch']}, AdamW step {int(want)}, "
          f"{compared} base encoder tensors within {worst:.2e} of Python's (bound {bound:.2e})")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="mode", required=True)
    w = sub.add_parser("write")
    w.add_argument("dir")
    w.add_argument("--arch", default="vit_tiny")
    w.add_argument("--image-size", type=int, default=32)
    w.add_argument("--moco-dim", type=int, default=32)
    w.add_argument("--mlp-dim", type=int, default=64)
    w.add_argument("--epoch", type=int, default=1)
    w.add_argument("--steps", type=int, default=2)
    w.add_argument("--batch", type=int, default=8)
    w.add_argument("--lr", type=float, default=3e-4)
    w.add_argument("--wd", type=float, default=0.1)
    w.add_argument("--name", default="run")
    w.add_argument("--seed", type=int, default=7)
    c = sub.add_parser("check")
    c.add_argument("python")
    c.add_argument("radclear")
    c.add_argument("--steps-run", type=int, required=True)
    c.add_argument("--epoch", type=int, required=True)
    c.add_argument("--lr", type=float, required=True, help="peak learning rate of the radclear run")
    a = p.parse_args()
    write(a) if a.mode == "write" else check(a)


if __name__ == "__main__":
    main()
