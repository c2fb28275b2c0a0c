#!/usr/bin/python3
"""Golden outputs for radclear's MIL heads (models/mil/mil.cc).

Our own PyTorch definitions of ABMIL, gated ABMIL, PMA and the linear head,
with the same submodule names as the C++ modules. Weights are not stored:
both sides fill every state-dict entry from the same formula
(deterministic_fill), so the golden file stays a few KB.

Run: /usr/bin/python3 scripts/golden/mil.py  (writes tests/golden/mil/mil_forward.json)
"""
import json
import math
import os

import torch
from torch import nn

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden", "mil")


def masked_softmax(scores, mask):
    filled = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    return torch.softmax(filled, -1) * mask.to(scores.dtype)


def make_head(inp, hidden, n_labels, dropout):
    return nn.Sequential(nn.LayerNorm(inp), nn.Linear(inp, hidden), nn.Dropout(dropout), nn.SiLU(),
                         nn.Linear(hidden, n_labels))


class Abmil(nn.Module):
    def __init__(self, d, labels, hidden, att, dropout):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(d, hidden), nn.ReLU())
        self.attention = nn.Sequential(nn.Linear(hidden, att), nn.Tanh(), nn.Linear(att, 1))
        self.head = make_head(hidden, hidden, labels, dropout)

    def forward(self, x, mask):
        h = self.encoder(x)
        a = masked_softmax(self.attention(h).squeeze(-1), mask)
        return self.head((a.unsqueeze(-1) * h).sum(1)), a


class GatedAbmil(nn.Module):
    def __init__(self, d, labels, hidden, att, dropout):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(d, hidden), nn.ReLU())
        self.attention_v = nn.Linear(hidden, att)
        self.attention_u = nn.Linear(hidden, att)
        self.attention_w = nn.Linear(att, 1)
        self.head = make_head(hidden, hidden, labels, dropout)

    def forward(self, x, mask):
        h = self.encoder(x)
        g = torch.tanh(self.attention_v(h)) * torch.sigmoid(self.attention_u(h))
        a = masked_softmax(self.attention_w(g).squeeze(-1), mask)
        return self.head((a.unsqueeze(-1) * h).sum(1)), a


class Pma(nn.Module):
    def __init__(self, d, labels, hidden, heads, seeds, dropout):
        super().__init__()
        self.hidden, self.heads, self.k = hidden, heads, seeds
        self.encoder = nn.Sequential(nn.Linear(d, hidden), nn.ReLU())
        self.seeds = nn.Parameter(torch.empty(1, seeds, hidden))
        self.q_proj = nn.Linear(hidden, hidden)
        self.k_proj = nn.Linear(hidden, hidden)
        self.v_proj = nn.Linear(hidden, hidden)
        self.o_proj = nn.Linear(hidden, hidden)
        self.norm0 = nn.LayerNorm(hidden)
        self.ff = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU())
        self.norm1 = nn.LayerNorm(hidden)
        self.head = make_head(seeds * hidden, hidden, labels, dropout)

    def forward(self, x, mask):
        b, n, _ = x.shape
        dh = self.hidden // self.heads
        x = self.encoder(x)
        s = self.seeds.expand(b, -1, -1)

        def split(t):
            return t.reshape(b, t.shape[1], self.heads, dh).transpose(1, 2)

        q, k, v = split(self.q_proj(s)), split(self.k_proj(x)), split(self.v_proj(x))
        w = masked_softmax(q @ k.transpose(-2, -1) / math.sqrt(dh), mask[:, None, None, :])
        ctx = (w @ v).transpose(1, 2).reshape(b, self.k, self.hidden)
        h = self.norm0(s + self.o_proj(ctx))
        pooled = self.norm1(h + self.ff(h))
        return self.head(pooled.reshape(b, -1)), w.mean((1, 2))


class LinearHead(nn.Module):
    def __init__(self, d, labels, hidden, dropout):
        super().__init__()
        if hidden > 0:
            self.head = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, labels))
        else:
            self.head = nn.Sequential(nn.Linear(d, labels))

    def forward(self, x, mask):
        m = mask.to(x.dtype)
        a = m / m.sum(1, keepdim=True).clamp_min(1.0)
        return self.head((a.unsqueeze(-1) * x).sum(1)), a


def deterministic_fill(model):
    """value[i] = 0.3 * sin(0.61 i + 0.37 c) with c = sum of the name's bytes mod 97."""
    with torch.no_grad():
        for name, p in model.state_dict().items():
            c = sum(name.encode()) % 97
            idx = torch.arange(p.numel(), dtype=torch.float64)
            p.copy_((0.3 * torch.sin(0.61 * idx + 0.37 * c)).reshape(p.shape).to(p.dtype))


def main():
    torch.manual_seed(7)
    b, n, d, labels = 3, 6, 12, 3
    feats = torch.randn(b, n, d)
    lengths = [6, 3, 1]
    mask = torch.zeros(b, n, dtype=torch.bool)
    for i, l in enumerate(lengths):
        mask[i, :l] = True
    # Padded rows hold large non-zero values: masking must make them irrelevant.
    feats[~mask] = 50.0
    cfg = dict(hidden=16, attention_dim=8, pma_heads=4, pma_seeds=2, linear_hidden=8, dropout=0.5)
    models = {
        "abmil": Abmil(d, labels, cfg["hidden"], cfg["attention_dim"], cfg["dropout"]),
        "abmil_gated": GatedAbmil(d, labels, cfg["hidden"], cfg["attention_dim"], cfg["dropout"]),
        "pma": Pma(d, labels, cfg["hidden"], cfg["pma_heads"], cfg["pma_seeds"], cfg["dropout"]),
        "linear": LinearHead(d, labels, cfg["linear_hidden"], cfg["dropout"]),
        "linear0": LinearHead(d, labels, 0, cfg["dropout"]),
    }
    out = {"in_dim": d, "n_labels": labels, "shape": [b, n, d], "options": cfg,
           "feats": feats.flatten().tolist(),
           "mask": [int(v) for v in mask.flatten().tolist()], "models": {}}
    for name, m in models.items():
        deterministic_fill(m)
        m.eval()
        with torch.no_grad():
            logits, att = m(feats, mask)
        out["models"][name] = {"state_dict_keys": sorted(m.state_dict().keys()),
                               "logits": logits.flatten().tolist(), "attention": att.flatten().tolist()}
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "mil_forward.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
