"""Inception-v3 up to the 2048-d pool3 layer: the network behind published FID numbers.

Written in plain torch with torchvision's parameter names, so either of these, converted to
safetensors by the user, loads:

* pytorch-fid's FID weights (`pt_inception-2015-12-05-*.pth`, a port of the TensorFlow graph used by
  the original FID code): gives FIDs comparable to published ones;
* torchvision's `inception_v3` ImageNet weights: close to, but not exactly, the published FID network.

Conversion, on a machine that has the file (keys are kept as they are)::

    import torch, safetensors.torch
    sd = torch.load("pt_inception-2015-12-05-6726825d.pth", map_location="cpu", weights_only=True)
    safetensors.torch.save_file({k: v.contiguous() for k, v in sd.items()}, "inception_fid.safetensors")
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from artzoo.errors import ArtzooError
from artzoo.tensorfile import read_tensors
from artzoo.metrics.extractors import FeatureExtractor

WEIGHTS_ENV = "ARTZOO_INCEPTION_WEIGHTS"


class BasicConv2d(nn.Module):
    def __init__(self, cin: int, cout: int, kernel_size, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def _avg_pool(x, fid: bool):
    # The TensorFlow graph behind FID excludes padding from the 3x3 average; torchvision includes it.
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=not fid)


class InceptionA(nn.Module):
    def __init__(self, cin: int, pool_features: int, fid: bool):
        super().__init__()
        self.fid = fid
        self.branch1x1 = BasicConv2d(cin, 64, 1)
        self.branch5x5_1 = BasicConv2d(cin, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, 1)

    def forward(self, x):
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch5x5_2(self.branch5x5_1(x)),
                self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                self.branch_pool(_avg_pool(x, self.fid)),
            ],
            1,
        )


class InceptionB(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x):
        return torch.cat(
            [
                self.branch3x3(x),
                self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                F.max_pool2d(x, 3, stride=2),
            ],
            1,
        )


class InceptionC(nn.Module):
    def __init__(self, cin: int, c7: int, fid: bool):
        super().__init__()
        self.fid = fid
        self.branch1x1 = BasicConv2d(cin, 192, 1)
        self.branch7x7_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x):
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = x
        for i in range(1, 6):
            bd = getattr(self, f"branch7x7dbl_{i}")(bd)
        return torch.cat([self.branch1x1(x), b7, bd, self.branch_pool(_avg_pool(x, self.fid))], 1)


class InceptionD(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x):
        b7 = x
        for i in range(1, 5):
            b7 = getattr(self, f"branch7x7x3_{i}")(b7)
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), b7, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionE(nn.Module):
    def __init__(self, cin: int, pool: str):
        super().__init__()
        self.pool = pool  # "avg" (torchvision), "avg_fid" (excludes padding) or "max" (FID's last block)
        self.branch1x1 = BasicConv2d(cin, 320, 1)
        self.branch3x3_1 = BasicConv2d(cin, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x):
        b3 = self.branch3x3_1(x)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        if self.pool == "max":
            pooled = F.max_pool2d(x, 3, stride=1, padding=1)
        else:
            pooled = _avg_pool(x, self.pool == "avg_fid")
        return torch.cat(
            [
                self.branch1x1(x),
                torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1),
                torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1),
                self.branch_pool(pooled),
            ],
            1,
        )


# Keys a converted file may carry that the pool3 features do not use.
_UNUSED_PREFIXES = ("fc.", "AuxLogits.")


class InceptionV3Features(FeatureExtractor):
    """Inception-v3 pool3 features (2048-d): the standard FID/KID network.

    Images are resized to 299x299 (bilinear, no antialiasing, as pytorch-fid does) and fed in [-1, 1]
    (the scaling both weight sets expect; no ImageNet normalisation). With pytorch-fid's FID weights
    (`variant="fid"`) FID values are comparable to published FIDs; with torchvision's ImageNet weights
    (`variant="torchvision"`) they are close but not identical. Build it with `from_file`: random
    weights (the plain constructor) give meaningless features.
    """

    dim = 2048
    batch_size = 32  # activations at 299 x 299 are large

    def __init__(self, variant: str = "fid"):
        super().__init__()
        if variant not in ("fid", "torchvision"):
            raise ArtzooError(f"variant must be 'fid' or 'torchvision', got {variant!r}")
        fid = variant == "fid"
        self.variant = variant
        self.name = f"inception-v3-pool3-{variant}"
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = InceptionA(192, 32, fid)
        self.Mixed_5c = InceptionA(256, 64, fid)
        self.Mixed_5d = InceptionA(288, 64, fid)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, 128, fid)
        self.Mixed_6c = InceptionC(768, 160, fid)
        self.Mixed_6d = InceptionC(768, 160, fid)
        self.Mixed_6e = InceptionC(768, 192, fid)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, "avg_fid" if fid else "avg")
        self.Mixed_7c = InceptionE(2048, "max" if fid else "avg")
        self.eval()

    def _features(self, images: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(images, size=(299, 299), mode="bilinear", align_corners=False)
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, stride=2)
        for block in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, f"Mixed_{block}")(x)
        return x.mean(dim=(2, 3))

    @classmethod
    def from_file(cls, path: str | Path | None = None, variant: str | None = None) -> InceptionV3Features:
        """Load converted weights from a safetensors file (`path`, else $ARTZOO_INCEPTION_WEIGHTS).

        `variant` defaults to what the file looks like: "fid" for pytorch-fid's weights (1008-class
        `fc`), "torchvision" for torchvision's (1000-class `fc`); a file without `fc` needs it given.
        """
        if path is None:
            path = os.environ.get(WEIGHTS_ENV)
            if not path:
                raise ArtzooError(
                    f"no Inception weights: pass a path or set {WEIGHTS_ENV} to a safetensors conversion of "
                    "pytorch-fid's pt_inception weights (see artzoo.metrics.inception)"
                )
        path = Path(path)
        state, _ = read_tensors(path, "Inception weights file", hint="convert .pth weights to safetensors first")
        if variant is None:
            classes = state["fc.weight"].shape[0] if "fc.weight" in state else None
            if classes not in (1008, 1000):
                raise ArtzooError(f"cannot tell the Inception variant of {path}; pass variant='fid' or 'torchvision'")
            variant = "fid" if classes == 1008 else "torchvision"
        model = cls(variant)
        model._load(state, path)
        return model

    def _load(self, state: dict[str, torch.Tensor], path: Path) -> None:
        expected = {k: v for k, v in self.state_dict().items() if not k.endswith("num_batches_tracked")}
        missing = sorted(set(expected) - set(state))
        unknown = sorted(
            k
            for k in set(state) - set(expected)
            if not k.startswith(_UNUSED_PREFIXES) and not k.endswith("num_batches_tracked")
        )
        if missing or unknown:
            raise ArtzooError(
                f"{path} does not hold Inception-v3 weights with torchvision key names "
                f"({len(missing)} keys missing, e.g. {missing[:3]}; {len(unknown)} unknown, e.g. {unknown[:3]})"
            )
        wrong = [k for k, v in expected.items() if state[k].shape != v.shape]
        if wrong:
            raise ArtzooError(f"{path}: wrong shapes for {len(wrong)} Inception tensors, e.g. {wrong[0]}")
        self.load_state_dict({k: state[k].float() for k in expected}, strict=False)
        self.eval()
