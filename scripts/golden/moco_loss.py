#!/usr/bin/python3
"""Golden data for radclear's MoCo v3 / LeCL losses (reference.md section 2).

Writes tests/golden/moco/loss.json: inputs (q1, q2 local [n, d]; k1, k2
gathered [n*W, d]; a partial lesion mask) and, for every case (rank, mask
empty/some/all, sample weight, temperature), the total loss
L(q1, k2) + L(q2, k1) and its gradients with respect to q1 and q2.

The LeCL loss is written here in its literal sum-of-exponentials form (the
C++ side uses a logsumexp), so the two are independent implementations of
the same formula. Run: /usr/bin/python3 scripts/golden/moco_loss.py
"""
import json
import os

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "golden", "moco", "loss.json")


def plain_loss(q, k, rank, T):
    q = F.normalize(q, dim=1)
    k = F.normalize(k, dim=1)
    logits = q @ k.t() / T
    n = q.shape[0]
    labels = torch.arange(n) + n * rank
    return F.cross_entropy(logits, labels) * (2 * T)


def lecl_loss(q, k, mask, rank, T, w):
    if w <= 0 or mask.sum() == 0:
        return plain_loss(q, k, rank, T)
    q = F.normalize(q, dim=1)
    k = F.normalize(k, dim=1)
    s = (q @ k.t() / T).double()
    n, N = s.shape
    labels = torch.arange(n) + n * rank
    positive = s[torch.arange(n), labels]
    extra = mask.bool().unsqueeze(0).expand(n, N).clone()
    extra[torch.arange(n), labels] = False
    denominator = torch.exp(s).sum(1) + (torch.exp(w * s) * extra.double()).sum(1)
    per_query = -positive + torch.log(denominator)
    return (2 * T * per_query.mean()).float()


def flat(t, digits=8):
    return [float(f"{x:.{digits}g}") for x in t.detach().reshape(-1).tolist()]


def randn(*shape):
    # Three decimals, so C++ parses exactly the float32 values used here.
    return torch.round(torch.randn(*shape) * 1000) / 1000


def main():
    torch.manual_seed(1234)
    d = 6
    inputs, cases = [], []
    for n in (1, 3, 5):
        for world in (1, 2, 4):
            N = n * world
            q1, q2 = randn(n, d), randn(n, d)
            k1, k2 = randn(N, d), randn(N, d)
            some = torch.tensor([1.0 if j % 3 == 0 else 0.0 for j in range(N)])
            masks = {"empty": torch.zeros(N), "some": some, "all": torch.ones(N)}
            idx = len(inputs)
            inputs.append({"n": n, "world": world, "d": d, "q1": flat(q1), "q2": flat(q2),
                           "k1": flat(k1), "k2": flat(k2), "some": flat(some)})
            for rank in range(world):
                for mask_name, mask in masks.items():
                    for w in (0.0, 1.0, 5.0):
                        for T in (0.2, 1.0):
                            a = q1.clone().requires_grad_(True)
                            b = q2.clone().requires_grad_(True)
                            loss = lecl_loss(a, k2, mask, rank, T, w) + lecl_loss(b, k1, mask, rank, T, w)
                            loss.backward()
                            cases.append({"input": idx, "rank": rank, "mask": mask_name, "w": w, "T": T,
                                          "loss": float(f"{float(loss):.9g}"), "grad_q1": flat(a.grad, 6),
                                          "grad_q2": flat(b.grad, 6)})
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"inputs": inputs, "cases": cases}, f, separators=(",", ":"))
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
