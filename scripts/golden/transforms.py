#!/usr/bin/python3
"""Golden outputs of torchvision 0.14 transforms for tests/data/transforms_golden_test.cc.

Runs torchvision's functional transforms on PIL images (what the reference
LeCL pipeline does) over small synthetic images and writes inputs, outputs
and a manifest to tests/golden/data/. Gray inputs are converted to RGB
before the transform, as the reference does, and the output's first channel
is stored (the script checks the three channels stay equal).

Run: /usr/bin/python3 scripts/golden/transforms.py [--out tests/golden/data]
"""
import argparse
import json
import os

import numpy as np
import torch
import torchvision
import torchvision.transforms.functional as F
from PIL import Image


def color_image(h, w, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / w * 3.1 + 0.3) * np.cos(y / h * 2.3)
    g = 40 + 200 * (x + y) / (w + h)
    b = 128 + 120 * np.cos((x - y) / 9.0)
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 6, size=(h, w, 3))
    # A few saturated and dark pixels exercise the clamps.
    img[h // 3, :] = 255
    img[:, w // 4] = 0
    return Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8), "RGB")


def gray_image(h, w, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    v = 30 + 190 * np.exp(-(((x - w * 0.55) / (w * 0.3)) ** 2 + ((y - h * 0.45) / (h * 0.35)) ** 2))
    v += 25 * np.sin(x / 3.0) + rng.normal(0, 5, size=(h, w))
    return Image.fromarray(np.clip(np.rint(v), 0, 255).astype(np.uint8), "L")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden", "data"))
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)

    inputs = {
        "color": color_image(41, 53, 1),
        "gray": gray_image(37, 46, 2),
        "big_gray": gray_image(150, 130, 3),
        "big_color": color_image(96, 120, 4),
    }
    for name, img in inputs.items():
        img.save(os.path.join(out, f"in_{name}.png"))

    cases = []

    def add(name, op, inp, fn, params, tol=1, max_frac=1.0):
        src = inputs[inp]
        res = fn(src.convert("RGB"))
        if isinstance(res, torch.Tensor):  # normalised float output
            arr = res.numpy().astype("<f4")
            arr.tofile(os.path.join(out, f"out_{name}.f32"))
            cases.append(dict(name=name, op=op, input=f"in_{inp}.png", output=f"out_{name}.f32",
                              shape=list(arr.shape), params=params, tolerance=tol, max_fraction=max_frac))
            return
        arr = np.array(res)
        if src.mode == "L":
            assert (arr[..., 0] == arr[..., 1]).all() and (arr[..., 0] == arr[..., 2]).all(), name
            Image.fromarray(arr[..., 0], "L").save(os.path.join(out, f"out_{name}.png"))
        else:
            res.save(os.path.join(out, f"out_{name}.png"))
        cases.append(dict(name=name, op=op, input=f"in_{inp}.png", output=f"out_{name}.png", params=params,
                          tolerance=tol, max_fraction=max_frac))

    bilinear = F.InterpolationMode.BILINEAR
    for inp in ("gray", "color", "big_gray", "big_color"):
        # Resize of the whole image, down and up (antialiased bilinear).
        add(f"resize_down_{inp}", "resize", inp, lambda im: F.resize(im, [17, 23], bilinear),
            dict(height=17, width=23), tol=1, max_frac=0.02)
        add(f"resize_up_{inp}", "resize", inp, lambda im: F.resize(im, [61, 70], bilinear),
            dict(height=61, width=70), tol=1, max_frac=0.02)
        add(f"resized_crop_{inp}", "resized_crop", inp, lambda im: F.resized_crop(im, 5, 7, 25, 30, [24, 24], bilinear),
            dict(top=5, left=7, height=25, width=30, size=24), tol=1, max_frac=0.02)
    # Point and colour operations on the small images only (keeps the files small).
    for inp in ("gray", "color"):
        for f in (0.55, 1.37):
            add(f"brightness_{f}_{inp}", "brightness", inp, lambda im, f=f: F.adjust_brightness(im, f),
                dict(factor=f), tol=1, max_frac=0.01)
            add(f"contrast_{f}_{inp}", "contrast", inp, lambda im, f=f: F.adjust_contrast(im, f),
                dict(factor=f), tol=1, max_frac=0.01)
            add(f"saturation_{f}_{inp}", "saturation", inp, lambda im, f=f: F.adjust_saturation(im, f),
                dict(factor=f), tol=1, max_frac=0.01)
        for f in (-0.1, 0.07):
            add(f"hue_{f}_{inp}", "hue", inp, lambda im, f=f: F.adjust_hue(im, f), dict(factor=f), tol=1,
                max_frac=0.01)
        add(f"grayscale_{inp}", "grayscale", inp, lambda im: F.rgb_to_grayscale(im, num_output_channels=3), {},
            tol=0)
        for sigma in (0.4, 1.3, 2.0):
            k = 2 * int(np.ceil(3 * sigma)) + 1
            add(f"blur_{sigma}_{inp}", "blur", inp, lambda im, k=k, s=sigma: F.gaussian_blur(im, [k, k], [s, s]),
                dict(sigma=sigma, ksize=k), tol=1, max_frac=0.02)
        add(f"solarize_{inp}", "solarize", inp, lambda im: F.solarize(im, 128), dict(threshold=128), tol=0)
        add(f"hflip_{inp}", "hflip", inp, lambda im: F.hflip(im), {}, tol=0)
        # A colour jitter in a fixed order with fixed factors (the random
        # part is tested by distribution in C++).
        order = [2, 1, 3, 0]
        factors = dict(brightness=1.21, contrast=0.74, saturation=1.13, hue=-0.04)

        def jitter(im, order=order, fa=factors):
            for op in order:
                im = [lambda x: F.adjust_brightness(x, fa["brightness"]),
                      lambda x: F.adjust_contrast(x, fa["contrast"]),
                      lambda x: F.adjust_saturation(x, fa["saturation"]),
                      lambda x: F.adjust_hue(x, fa["hue"])][op](im)
            return im

        add(f"jitter_{inp}", "jitter", inp, jitter, dict(order=order, **factors), tol=1, max_frac=0.02)
        norm = dict(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
        add(f"normalize_{inp}", "normalize", inp,
            lambda im: F.normalize(F.to_tensor(im), norm["mean"], norm["std"]), norm, tol=1e-6)
    for inp in ("big_gray", "big_color"):
        # Eval transform: Resize(size) on the shorter side then CenterCrop(size).
        for size in (64, 101):
            add(f"eval_{size}_{inp}", "eval", inp, lambda im, s=size: F.center_crop(F.resize(im, s, bilinear), s),
                dict(size=size), tol=1, max_frac=0.02)

    manifest = dict(torchvision=torchvision.__version__, torch=torch.__version__,
                    pillow=Image.__version__ if hasattr(Image, "__version__") else "?", cases=cases)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(f"{len(cases)} cases -> {out}")


if __name__ == "__main__":
    main()
