#!/usr/bin/python3
"""Golden data for radclear's backbones (models/backbones/).

Our own PyTorch definitions of the ViT family (timm's parameter names, MoCo
v3's variants: fixed 2D sin-cos position embedding, conv stem), of MambaOut
(names of MambaOut's models/mambaout.py) and of VMamba (the names and
semantics of VMamba's VSSM() defaults, selective scan as its reference
selective_scan_torch: one step per position); ResNet and Swin are
torchvision's own resnet50 and swin_t/s/b, the layouts radclear matches.

Weights are not stored. Every state-dict entry except `pos_embed` (the fixed
sin-cos table) and Swin's `relative_position_index` (each side computes its
own) is filled from the formula in
`recipe_fill`, which tests/models/backbones_golden_test.cc implements
bit-for-bit; the input image is filled the same way under the key "input".
For each model the manifest records every state-dict key with its shape (and
its dtype when not float32) so C++ loads the same names strictly, and a .bin file holds float32
little-endian outputs in eval mode: forward_features [B, D], then the head
output [B, classes], then (models with BatchNorm) the head output in train
mode (batch statistics).

Run: /usr/bin/python3 scripts/golden/backbones.py
Writes tests/golden/backbones/manifest.json and <arch>.bin.
"""
import json
import math
import os
import sys
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn
import torchvision

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden", "backbones")
BATCH = 2

# --------------------------------------------------------------------------
# Deterministic fill (mirrored in C++).


def fnv1a32(text):
    h = 0x811C9DC5
    for byte in text.encode("utf-8"):
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def hash_uniform(numel, seed):
    """u in [0, 1) per element: a 32-bit integer hash of (index, seed)."""
    m = 0xFFFFFFFF
    x = (torch.arange(numel, dtype=torch.int64) * 0x9E3779B1 + seed) & m
    x = x ^ (x >> 16)
    x = (x * 0x045D9F3B) & m
    x = x ^ (x >> 16)
    x = (x * 0x045D9F3B) & m
    x = x ^ (x >> 16)
    return x.double() / 4294967296.0


# VMamba's per-scan linear weights stacked as [K, out, in]: fan-in is the
# last dimension (the generic rule would make the scan's B, C and dt tiny).
STACKED_LINEARS = ("x_proj_weight", "dt_projs_weight")


def recipe_fill(name, shape):
    """The value of state-dict entry `name` with `shape` (float64 -> stored dtype later)."""
    numel = 1
    for s in shape:
        numel *= s
    u = hash_uniform(numel, fnv1a32(name))
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "num_batches_tracked":
        return torch.zeros(shape, dtype=torch.int64)
    if leaf == "running_var":
        v = 0.5 + u
    elif leaf == "running_mean":
        v = 0.2 * (2 * u - 1)
    elif leaf in STACKED_LINEARS:
        v = (2 * u - 1) * (math.sqrt(3.0) / math.sqrt(shape[-1]))
    elif len(shape) >= 2:
        fan_in = numel // shape[0]
        v = (2 * u - 1) * (math.sqrt(3.0) / math.sqrt(fan_in))
    elif leaf == "weight":
        v = 1 + 0.2 * (2 * u - 1)
    else:
        v = 0.1 * (2 * u - 1)
    return v.reshape(shape).float()


# --------------------------------------------------------------------------
# ViT (timm names, MoCo v3 variants)


def sincos_pos_embed(grid, dim, temperature=10000.0):
    pos_dim = dim // 4
    omega = torch.arange(pos_dim, dtype=torch.float32) / pos_dim
    omega = 1.0 / (temperature ** omega)
    coord = torch.arange(grid, dtype=torch.float32)
    slow, fast = torch.meshgrid(coord, coord, indexing="ij")
    out_s = slow.flatten()[:, None] * omega[None, :]
    out_f = fast.flatten()[:, None] * omega[None, :]
    emb = torch.cat([out_s.sin(), out_s.cos(), out_f.sin(), out_f.cos()], dim=1)
    return torch.cat([torch.zeros(1, dim), emb], dim=0)[None]


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        a = (q @ k.transpose(-2, -1)) * (c // self.heads) ** -0.5
        return self.proj((a.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, hidden):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, hidden)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, dim, patch, conv_stem):
        super().__init__()
        if not conv_stem:
            self.proj = nn.Conv2d(3, dim, patch, stride=patch)
        else:
            layers, cin, cout = [], 3, dim // 8
            for _ in range(4):
                layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout),
                           nn.ReLU()]
                cin, cout = cout, cout * 2
            layers.append(nn.Conv2d(cin, dim, 1))
            self.proj = nn.Sequential(*layers)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class ViT(nn.Module):
    def __init__(self, dim, depth, heads, conv_stem, image_size, num_classes, patch=16):
        super().__init__()
        self.patch_embed = PatchEmbed(dim, patch, conv_stem)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(sincos_pos_embed(image_size // patch, dim), requires_grad=False)
        self.blocks = nn.ModuleList([Block(dim, heads, 4 * dim) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, num_classes)

    def forward_features(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)[:, 0]

    def forward(self, x):
        return self.head(self.forward_features(x))


# --------------------------------------------------------------------------
# MambaOut (names of models/mambaout.py); tensors channels-last inside.


class Stem(nn.Module):
    def __init__(self, out):
        super().__init__()
        self.conv1 = nn.Conv2d(3, out // 2, 3, stride=2, padding=1)
        self.norm1 = nn.LayerNorm(out // 2, eps=1e-6)
        self.conv2 = nn.Conv2d(out // 2, out, 3, stride=2, padding=1)
        self.norm2 = nn.LayerNorm(out, eps=1e-6)

    def forward(self, x):
        x = self.norm1(self.conv1(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.norm2(self.conv2(F.gelu(x)).permute(0, 2, 3, 1))


class Downsample(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=2, padding=1)
        self.norm = nn.LayerNorm(cout, eps=1e-6)

    def forward(self, x):
        return self.norm(self.conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1))


class GatedCNNBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        hidden = int(8 / 3 * dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, 2 * hidden)
        self.split = (hidden, hidden - dim, dim)
        self.conv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        g, i, c = torch.split(self.fc1(self.norm(x)), self.split, dim=-1)
        c = self.conv(c.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return self.fc2(F.gelu(g) * torch.cat((i, c), dim=-1)) + x


class MlpHead(nn.Module):
    def __init__(self, dim, num_classes):
        super().__init__()
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.norm = nn.LayerNorm(4 * dim, eps=1e-6)
        self.fc2 = nn.Linear(4 * dim, num_classes)

    def forward(self, x):
        return self.fc2(self.norm(F.gelu(self.fc1(x))))


class MambaOut(nn.Module):
    def __init__(self, dims, depths, num_classes):
        super().__init__()
        self.downsample_layers = nn.ModuleList(
            [Stem(dims[0])] + [Downsample(dims[i - 1], dims[i]) for i in range(1, 4)])
        self.stages = nn.ModuleList([nn.Sequential(*[GatedCNNBlock(dims[s]) for _ in range(depths[s])])
                                     for s in range(4)])
        self.norm = nn.LayerNorm(dims[3], eps=1e-6)
        self.head = MlpHead(dims[3], num_classes)

    def forward_features(self, x):
        for down, stage in zip(self.downsample_layers, self.stages):
            x = stage(down(x))
        return self.norm(x.mean([1, 2]))

    def forward(self, x):
        return self.head(self.forward_features(x))


# --------------------------------------------------------------------------
# VMamba: VSSM() defaults (patch embed v1, downsample v2, forward_type v2,
# channels-last LN), names of VMamba's classification/models/vmamba.py.


def selective_scan_ref(u, delta, A, B, C, D, delta_bias):
    """u, delta [b, K*c, L]; A [K*c, N]; B, C [b, K, N, L]; D, delta_bias [K*c] -> [b, K*c, L]."""
    b, k, n, length = B.shape
    kc = u.shape[1]
    delta = F.softplus(delta + delta_bias[:, None])
    B = B[:, :, None].expand(b, k, kc // k, n, length).reshape(b, kc, n, length)
    C = C[:, :, None].expand(b, k, kc // k, n, length).reshape(b, kc, n, length)
    h = u.new_zeros(b, kc, n)
    ys = []
    for t in range(length):
        h = torch.exp(delta[:, :, t, None] * A) * h + (delta[:, :, t] * u[:, :, t])[:, :, None] * B[:, :, :, t]
        ys.append((h * C[:, :, :, t]).sum(-1))
    return torch.stack(ys, dim=2) + u * D[:, None]


class SS2D(nn.Module):
    def __init__(self, dim, d_state=16, ssm_ratio=2.0, d_conv=3):
        super().__init__()
        inner, rank, k = int(ssm_ratio * dim), math.ceil(dim / 16), 4
        self.inner, self.rank, self.d_state = inner, rank, d_state
        # Registration order as the official module (state-dict order).
        self.x_proj_weight = nn.Parameter(torch.zeros(k, rank + 2 * d_state, inner))
        self.A_logs = nn.Parameter(torch.log(torch.arange(1, d_state + 1.0)).repeat(k * inner, 1))
        self.Ds = nn.Parameter(torch.ones(k * inner))
        self.dt_projs_weight = nn.Parameter(torch.zeros(k, inner, rank))
        self.dt_projs_bias = nn.Parameter(torch.zeros(k, inner))
        self.out_norm = nn.LayerNorm(inner)
        self.in_proj = nn.Linear(dim, 2 * inner, bias=False)
        self.conv2d = nn.Conv2d(inner, inner, d_conv, padding=(d_conv - 1) // 2, groups=inner)
        self.out_proj = nn.Linear(inner, dim, bias=False)

    def forward(self, x):
        b, h, w, _ = x.shape
        length, n = h * w, self.d_state
        x, z = self.in_proj(x).chunk(2, dim=-1)
        x = F.silu(self.conv2d(x.permute(0, 3, 1, 2)))
        xs = torch.stack([x.flatten(2), x.transpose(2, 3).flatten(2)], dim=1)
        xs = torch.cat([xs, xs.flip(-1)], dim=1)  # [b, 4, inner, L]
        x_dbl = torch.einsum("bkdl,kcd->bkcl", xs, self.x_proj_weight)
        dts, Bs, Cs = torch.split(x_dbl, [self.rank, n, n], dim=2)
        dts = torch.einsum("bkrl,kdr->bkdl", dts, self.dt_projs_weight)
        ys = selective_scan_ref(xs.reshape(b, -1, length), dts.reshape(b, -1, length), -torch.exp(self.A_logs),
                                Bs.contiguous(), Cs.contiguous(), self.Ds, self.dt_projs_bias.reshape(-1))
        ys = ys.view(b, 4, -1, length)
        ys = ys[:, 0:2] + ys[:, 2:4].flip(-1)
        y = ys[:, 0] + ys[:, 1].view(b, -1, w, h).transpose(2, 3).reshape(b, -1, length)
        y = self.out_norm(y.transpose(1, 2).reshape(b, h, w, -1))
        return self.out_proj(y * F.silu(z))


class VSSBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.op = SS2D(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, 4 * dim)  # the ViT MLP: fc1, GELU, fc2

    def forward(self, x):
        x = x + self.op(self.norm(x))
        return x + self.mlp(self.norm2(x))


class Permute(nn.Module):
    def __init__(self, *order):
        super().__init__()
        self.order = order

    def forward(self, x):
        return x.permute(*self.order)


class VSSM(nn.Module):
    def __init__(self, dims, depths, num_classes, patch=4):
        super().__init__()
        self.patch_embed = nn.Sequential(nn.Conv2d(3, dims[0], patch, stride=patch), Permute(0, 2, 3, 1),
                                         nn.LayerNorm(dims[0]))
        self.layers = nn.ModuleList()
        for i in range(4):
            down = nn.Sequential(Permute(0, 3, 1, 2), nn.Conv2d(dims[i], dims[i + 1], 2, stride=2),
                                 Permute(0, 2, 3, 1), nn.LayerNorm(dims[i + 1])) if i < 3 else nn.Identity()
            self.layers.append(nn.Sequential(OrderedDict(
                blocks=nn.Sequential(*[VSSBlock(dims[i]) for _ in range(depths[i])]), downsample=down)))
        self.classifier = nn.Sequential(OrderedDict(
            norm=nn.LayerNorm(dims[3]), permute=Permute(0, 3, 1, 2), avgpool=nn.AdaptiveAvgPool2d(1),
            flatten=nn.Flatten(1), head=nn.Linear(dims[3], num_classes)))

    def forward_features(self, x):
        x = self.patch_embed(x)
        for layer in self.layers:
            x = layer(x)
        return self.classifier.norm(x).mean([1, 2])

    def forward(self, x):
        return self.classifier.head(self.forward_features(x))


class TorchvisionSwin(nn.Module):
    """torchvision's Swin itself (stochastic depth is off in eval), forward_features = pooled features."""

    def __init__(self, name, num_classes, **config):
        super().__init__()
        if config:  # a variant torchvision has no builder for (window 8 at 256 px)
            self.net = torchvision.models.swin_transformer.SwinTransformer(
                patch_size=[4, 4], num_classes=num_classes, stochastic_depth_prob=0.2, **config)
        else:
            self.net = getattr(torchvision.models, name)(num_classes=num_classes)

    def forward_features(self, x):
        n = self.net
        return torch.flatten(n.avgpool(n.permute(n.norm(n.features(x)))), 1)

    def forward(self, x):
        return self.net(x)


class TorchvisionResNet(nn.Module):
    """torchvision's model itself, with forward_features = everything before fc."""

    def __init__(self, name, num_classes):
        super().__init__()
        self.net = getattr(torchvision.models, name)(num_classes=num_classes, zero_init_residual=True)

    def forward_features(self, x):
        n = self.net
        x = n.maxpool(n.relu(n.bn1(n.conv1(x))))
        x = n.layer4(n.layer3(n.layer2(n.layer1(x))))
        return torch.flatten(n.avgpool(x), 1)

    def forward(self, x):
        return self.net(x)


# --------------------------------------------------------------------------

NARROW, MID, WIDE = [48, 96, 192, 288], [96, 192, 384, 576], [128, 256, 512, 768]
VM_NARROW, VM_WIDE = [96, 192, 384, 768], [128, 256, 512, 1024]
# arch -> (builder(image_size, num_classes), golden image size)
MODELS = {
    "vit_tiny": (lambda s, n: ViT(192, 12, 3, False, s, n), 32),
    "vit_small": (lambda s, n: ViT(384, 12, 12, False, s, n), 32),
    "vit_base": (lambda s, n: ViT(768, 12, 12, False, s, n), 32),
    "vit_conv_small": (lambda s, n: ViT(384, 11, 12, True, s, n), 32),
    "vit_conv_base": (lambda s, n: ViT(768, 11, 12, True, s, n), 32),
    "mambaout_femto": (lambda s, n: MambaOut(NARROW, [3, 3, 9, 3], n), 64),
    "mambaout_kobe": (lambda s, n: MambaOut(NARROW, [3, 3, 15, 3], n), 64),
    "mambaout_tiny": (lambda s, n: MambaOut(MID, [3, 3, 9, 3], n), 64),
    "mambaout_small": (lambda s, n: MambaOut(MID, [3, 4, 27, 3], n), 64),
    "mambaout_base": (lambda s, n: MambaOut(WIDE, [3, 4, 27, 3], n), 64),
    "resnet50": (lambda s, n: TorchvisionResNet("resnet50", n), 64),
    # 64 px: 16x16 and 8x8 maps are padded to the window and shifted.
    "swin_tiny": (lambda s, n: TorchvisionSwin("swin_t", n), 64),
    "swin_small": (lambda s, n: TorchvisionSwin("swin_s", n), 64),
    "swin_base": (lambda s, n: TorchvisionSwin("swin_b", n), 64),
    # CLEAR's swin_*_256: window 8; at 64 px the 16x16 map holds 2x2 windows.
    "swin_tiny_256": (lambda s, n: TorchvisionSwin(None, n, embed_dim=96, depths=[2, 2, 6, 2],
                                                   num_heads=[3, 6, 12, 24], window_size=[8, 8]), 64),
    "swin_small_256": (lambda s, n: TorchvisionSwin(None, n, embed_dim=96, depths=[2, 2, 18, 2],
                                                    num_heads=[3, 6, 12, 24], window_size=[8, 8]), 64),
    # 64 px: scans of 256, 64, 16 and 4 positions.
    "vmamba_tiny": (lambda s, n: VSSM(VM_NARROW, [2, 2, 9, 2], n), 64),
    "vmamba_small": (lambda s, n: VSSM(VM_NARROW, [2, 2, 27, 2], n), 64),
    "vmamba_base": (lambda s, n: VSSM(VM_WIDE, [2, 2, 27, 2], n), 64),
}


def state_key(model, key):
    # The torchvision wrapper's keys lose their "net." prefix: radclear's
    # ResNet keys are torchvision's own.
    return key[4:] if isinstance(model, (TorchvisionResNet, TorchvisionSwin)) else key


# Computed in float64 on both sides: the 27-block stage amplifies float32
# rounding to ~1e-4 relative in PyTorch itself (vmamba_small: 1.05e-4 from
# float64), the golden tolerance; float64 leaves the semantics to compare.
FLOAT64 = ("vmamba_tiny", "vmamba_small", "vmamba_base")

# Entries each side computes itself rather than filling from the recipe.
OWN_VALUE = ("pos_embed", "relative_position_index")


def main():
    torch.manual_seed(0)
    num_classes = 1000
    manifest = {"batch": BATCH, "num_classes": num_classes, "models": []}
    for arch, (build, size) in MODELS.items():
        model = build(size, num_classes)
        state = model.state_dict()
        entries, filled = [], {}
        for key, tensor in state.items():
            name = state_key(model, key)
            dtype = str(tensor.dtype).replace("torch.", "")
            entries.append([name, list(tensor.shape)] + ([] if dtype == "float32" else [dtype]))
            own = name.rsplit(".", 1)[-1] in OWN_VALUE
            filled[key] = tensor if own else recipe_fill(name, list(tensor.shape))
        model.load_state_dict(filled, strict=True)
        params_224 = sum(p.numel() for p in build(224, num_classes).parameters())
        x = recipe_fill("input", [BATCH, 3, size, size])
        has_bn = any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
        float64 = arch in FLOAT64
        if float64:
            model, x = model.double(), x.double()
        with torch.no_grad():
            model.eval()
            outs = [model.forward_features(x), model(x)]
            if has_bn:
                model.train()
                outs.append(model(x))
        blob = torch.cat([o.reshape(-1).float() for o in outs]).numpy().astype("<f4").tobytes()
        with open(os.path.join(OUT, f"{arch}.bin"), "wb") as f:
            f.write(blob)
        manifest["models"].append({
            "arch": arch, "image_size": size, "params_224": params_224,
            "feature_dim": outs[0].shape[1], "train_mode_output": has_bn,
            "outputs": f"{arch}.bin", "state": entries, **({"float64": True} if float64 else {})})
        print(f"{arch}: {len(entries)} keys, {params_224} params at 224, |logits| max "
              f"{outs[1].abs().max().item():.3g}", file=sys.stderr)
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
