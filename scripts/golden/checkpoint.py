#!/usr/bin/python3
"""Golden data and checks for radclear's torch.save-compatible checkpoints.

  checkpoint.py generate            writes tests/golden/checkpoint/:
      types.pth      every value kind radclear reads (OrderedDict state dict
                     with _metadata, 1-element dict/list, big dict/list, ints of
                     every width, floats, str, None, bools, tensors of 8 dtypes,
                     non-contiguous views sharing one storage, 0-dim, empty)
      evil.pth       a pickle that names os.system (must be refused)
      moco.pth.tar   a MoCo v3 checkpoint of a tiny-backbone MoCo (DDP keys,
                     AdamW state) trained 3 steps in Python
      moco_io.pth    {'x', 'q', 'k'}: eval-mode outputs of that model
  checkpoint.py make-vit-moco DIR   writes DIR/moco.pth.tar and DIR/moco_io.pth for a
                                    vit_tiny MoCo (image 32; too big to commit)
  checkpoint.py verify-types FILE   FILE must equal types.pth's content
                                    (types, dtypes, strides, shared storages)
  checkpoint.py verify-moco FILE    FILE is a C++-written MoCo checkpoint: load
                                    it strictly into the Python MoCo and compare
                                    its outputs with radclear['x'|'q'|'k']
Run with /usr/bin/python3 (Debian's python3-torch).
"""
import collections
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "golden", "checkpoint")


# ---------------------------------------------------------------- value kinds

def expected_types():
    torch.manual_seed(0)
    lin = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    with torch.no_grad():
        lin[0].weight.copy_(torch.arange(6.0).reshape(2, 3))
        lin[0].bias.copy_(torch.tensor([-1.0, 1.0]))
    base = torch.arange(24.0).reshape(4, 6)
    return {
        "state": lin.state_dict(),
        "one_dict": {"a": 1},
        "one_list": [7],
        "tuple": (1, 2.5, "x", None, True, False),
        "ints": [0, 255, 256, 65535, 65536, -1, -129, 2**31 - 1, 2**31, -2**31 - 1, 2**62, -2**63],
        "float": -1.5e-7,
        "str": "l\u00e9sion \u2713",
        "nested": {"l": [[1, 2], [3]], 3: "int key", "t": ()},
        "many": {f"k{i}": i for i in range(1500)},
        "long_list": list(range(1200)),
        "t_f32": torch.arange(6, dtype=torch.float32).reshape(2, 3),
        "t_f64": torch.arange(6, dtype=torch.float64).reshape(3, 2) / 3,
        "t_f16": torch.tensor([0.5, -2.0, 65504.0], dtype=torch.float16),
        "t_bf16": torch.tensor([1.5, -3.0], dtype=torch.bfloat16),
        "t_i64": torch.tensor([2**40, -5], dtype=torch.int64),
        "t_i32": torch.tensor([[1, -2], [3, 4]], dtype=torch.int32),
        "t_u8": torch.tensor([0, 200, 255], dtype=torch.uint8),
        "t_bool": torch.tensor([True, False, True]),
        "base": base,
        "view_t": base.t(),
        "view_slice": base[1:3, 2:5],
        "view_step": base[:, ::2],
        "scalar": torch.tensor(3.25),
        "empty": torch.zeros(0, 5),
    }


def same(a, b, path="root"):
    if type(a) is not type(b):
        raise AssertionError(f"{path}: {type(a).__name__} vs {type(b).__name__}")
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype, f"{path}: dtype {a.dtype} vs {b.dtype}"
        assert a.shape == b.shape, f"{path}: shape {a.shape} vs {b.shape}"
        assert a.stride() == b.stride(), f"{path}: stride {a.stride()} vs {b.stride()}"
        assert a.storage_offset() == b.storage_offset(), f"{path}: offset"
        assert torch.equal(a, b), f"{path}: values {a} vs {b}"
    elif isinstance(a, dict):
        assert list(a.keys()) == list(b.keys()), f"{path}: keys {list(a)[:5]} vs {list(b)[:5]}"
        for k in a:
            same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: length {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"


def check_shared(d):
    ptr = d["base"].storage().data_ptr()
    for k in ("view_t", "view_slice", "view_step"):
        assert d[k].storage().data_ptr() == ptr, f"{k} does not share storage with base"


class Evil:
    def __reduce__(self):
        return (os.system, ("echo this must never run",))


# ---------------------------------------------------------------- tiny MoCo

class TinyBackbone(nn.Module):
    """Mirrors tests/models/tiny_backbone.h."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 4, stride=4)
        self.head = nn.Linear(8, num_classes)

    def forward(self, x):
        return self.head(self.stem(x).mean((2, 3)))


def build_mlp(num_layers, input_dim, mlp_dim, output_dim, last_bn=True):
    layers = []
    for l in range(num_layers):
        dim1 = input_dim if l == 0 else mlp_dim
        dim2 = output_dim if l == num_layers - 1 else mlp_dim
        layers.append(nn.Linear(dim1, dim2, bias=False))
        if l < num_layers - 1:
            layers.append(nn.BatchNorm1d(dim2))
            layers.append(nn.ReLU(inplace=True))
        elif last_bn:
            layers.append(nn.BatchNorm1d(dim2, affine=False))
    return nn.Sequential(*layers)


class MoCo(nn.Module):
    """MoCo v3 with the ViT head recipe (default: TinyBackbone, dim 16, mlp_dim 32)."""

    def __init__(self, dim=16, mlp_dim=32, backbone=TinyBackbone, head="head", projector_layers=3,
                 predictor_last_bn=True):
        super().__init__()
        self.base_encoder = backbone()
        self.momentum_encoder = backbone()
        old = getattr(self.base_encoder, head)
        hidden = old.weight.shape[1] if hasattr(old, "weight") else old.fc1.in_features  # MambaOut MlpHead
        delattr(self.base_encoder, head)
        delattr(self.momentum_encoder, head)
        setattr(self.base_encoder, head, build_mlp(projector_layers, hidden, mlp_dim, dim))
        setattr(self.momentum_encoder, head, build_mlp(projector_layers, hidden, mlp_dim, dim))
        self.predictor = build_mlp(2, dim, mlp_dim, dim, predictor_last_bn)
        for pb, pm in zip(self.base_encoder.parameters(), self.momentum_encoder.parameters()):
            pm.data.copy_(pb.data)
            pm.requires_grad = False

    @torch.no_grad()
    def update_momentum(self, m):
        for pb, pm in zip(self.base_encoder.parameters(), self.momentum_encoder.parameters()):
            pm.data = pm.data * m + pb.data * (1.0 - m)

    def query(self, x):
        return self.predictor(self.base_encoder(x))

    @torch.no_grad()
    def key(self, x):
        return self.momentum_encoder(x)


def contrastive(q, k, T=1.0):
    q, k = F.normalize(q, dim=1), F.normalize(k, dim=1)
    logits = q @ k.t() / T
    return F.cross_entropy(logits, torch.arange(q.shape[0])) * 2 * T


def generate():
    os.makedirs(OUT, exist_ok=True)
    torch.save(expected_types(), os.path.join(OUT, "types.pth"))
    torch.save({"x": Evil()}, os.path.join(OUT, "evil.pth"))

    torch.manual_seed(42)
    model = MoCo()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    model.train()
    for _ in range(3):
        x1, x2 = torch.randn(6, 3, 16, 16), torch.randn(6, 3, 16, 16)
        q1, q2 = model.query(x1), model.query(x2)
        model.update_momentum(0.9)
        k1, k2 = model.key(x1), model.key(x2)
        loss = contrastive(q1, k2) + contrastive(q2, k1)
        opt.zero_grad()
        loss.backward()
        opt.step()
    state = collections.OrderedDict(("module." + k, v) for k, v in model.state_dict().items())
    state._metadata = collections.OrderedDict(("module." + k, v) for k, v in model.state_dict()._metadata.items())
    torch.save({"epoch": 3, "arch": "tiny_vit", "state_dict": state, "optimizer": opt.state_dict(),
                "scaler": None}, os.path.join(OUT, "moco.pth.tar"))
    model.eval()
    x = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        torch.save({"x": x, "q": model.query(x), "k": model.key(x)}, os.path.join(OUT, "moco_io.pth"))
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)))


def make_vit_moco(out_dir):
    """A vit_tiny MoCo (image 32, dim 16, mlp_dim 32) after two training-mode
    forwards (BN statistics move), saved as moco.pth.tar + moco_io.pth."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from backbones import ViT  # the backbones golden script's timm-named ViT

    torch.manual_seed(5)
    model = MoCo(backbone=lambda: ViT(192, 12, 3, False, 32, 10))
    model.train()
    with torch.no_grad():
        for _ in range(2):
            x = torch.randn(4, 3, 32, 32)
            model.query(x)
            model.key(x)
    state = collections.OrderedDict(("module." + k, v) for k, v in model.state_dict().items())
    torch.save({"epoch": 1, "arch": "vit_tiny", "state_dict": state, "optimizer": {"state": {}, "param_groups": []},
                "scaler": None}, os.path.join(out_dir, "moco.pth.tar"))
    model.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.save({"x": x, "q": model.query(x), "k": model.key(x)}, os.path.join(out_dir, "moco_io.pth"))
    print("OK vit moco")


def verify_types(path):
    want = expected_types()
    # (torch 1.13's weights_only unpickler has no BINFLOAT, so not that one.)
    got = torch.load(path)
    same(want, got)
    check_shared(got)
    print("OK types")


def verify_moco(path):
    ckpt = torch.load(path)
    assert set(ckpt) >= {"epoch", "arch", "state_dict", "optimizer", "scaler", "radclear"}, list(ckpt)
    keys = list(ckpt["state_dict"])
    for prefix in ("module.base_encoder.", "module.momentum_encoder.", "module.predictor."):
        assert any(k.startswith(prefix) for k in keys), f"no key starts with {prefix}"
    assert "module.base_encoder.head.0.weight" in keys
    model = MoCo()
    model.load_state_dict(collections.OrderedDict((k[len("module."):], v) for k, v in ckpt["state_dict"].items()),
                          strict=True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    opt.load_state_dict(ckpt["optimizer"])
    steps = {float(s["step"]) for s in ckpt["optimizer"]["state"].values()}
    assert steps == {4.0}, f"AdamW steps {steps}, expected 3 Python + 1 C++"
    model.eval()
    extra = ckpt["radclear"]
    with torch.no_grad():
        q, k = model.query(extra["x"]), model.key(extra["x"])
    torch.testing.assert_close(q, extra["q"], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(k, extra["k"], rtol=1e-5, atol=1e-5)
    print(f"OK moco epoch={ckpt['epoch']} arch={ckpt['arch']} keys={len(keys)}")


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "generate"
    if mode == "generate":
        generate()
    elif mode == "verify-types":
        verify_types(sys.argv[2])
    elif mode == "make-vit-moco":
        make_vit_moco(sys.argv[2])
    elif mode == "verify-moco":
        verify_moco(sys.argv[2])
    else:
        sys.exit(f"unknown mode {mode}")
