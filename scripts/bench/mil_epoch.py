#!/usr/bin/python3
"""One ABMIL training epoch in PyTorch, the same loop as radclear's
worker/crossval/train.cc, for bench/crossval_bench.cc to compare against.

Synthetic features held in memory as float16 (DeepLesion-sized by default:
10,594 studies, 64..512 rows of 768, 8 labels); bags zero-padded to 512 with
a mask; Adam lr 1e-4, batch 64, BCE-with-logits with pos_weight. Rows,
targets and features come from a generator seeded 1 in the order the C++
benchmark draws them (randint rows, rand targets, randn per study), so both
sides train on the same bags; the benchmark checks rows/positives/params.
Prints one JSON line: {"epoch_s", "cpu_s" (process CPU time of the epoch),
"studies", "rows", "positives", "params", "threads"}.
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "golden"))
from mil import Abmil  # noqa: E402  (our own definition, also used for golden files)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--studies", type=int, default=10594)
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--min-rows", type=int, default=64)
    ap.add_argument("--max-rows", type=int, default=512)
    ap.add_argument("--labels", type=int, default=8)
    ap.add_argument("--bag-size", type=int, default=512)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(1)
    rows = torch.randint(args.min_rows, args.max_rows + 1, (args.studies,), generator=g)
    targets = (torch.rand(args.studies, args.labels, generator=g) < 0.3).float()
    feats = [torch.randn(int(r), args.dim, generator=g).half() for r in rows]
    pos = targets.sum(0).clamp_min(1)
    pos_weight = (args.studies - pos) / pos
    model = Abmil(args.dim, args.labels, 256, 256, 0.5)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    model.train()
    start = time.perf_counter()
    cpu_start = time.process_time()
    order = torch.randperm(args.studies, generator=g).tolist()
    for b in range(0, len(order), args.batch_size):
        idx = order[b:b + args.batch_size]
        x = torch.zeros(len(idx), args.bag_size, args.dim)
        mask = torch.zeros(len(idx), args.bag_size, dtype=torch.bool)
        for i, s in enumerate(idx):
            f = feats[s]
            if f.shape[0] > args.bag_size:
                f = f[torch.randperm(f.shape[0], generator=g)[:args.bag_size].sort().values]
            x[i, :f.shape[0]] = f.float()
            mask[i, :f.shape[0]] = True
        opt.zero_grad()
        logits, _ = model(x, mask)
        loss = loss_fn(logits, targets[idx])
        loss.backward()
        opt.step()
    epoch_s = time.perf_counter() - start
    cpu_s = time.process_time() - cpu_start
    print(json.dumps({"epoch_s": epoch_s, "cpu_s": cpu_s, "studies": args.studies, "rows": int(rows.sum()),
                      "positives": int(targets.sum()), "params": sum(p.numel() for p in model.parameters()),
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
