"""Perceptual distance for test-time fitting: L1 between feature maps of a fixed network.

Two backbones:
- ``VGG16Features``: the paper's choice (relu1_1, relu1_2, relu3_2, relu4_2 of ImageNet VGG-16). Its
  weights cannot be downloaded here, so it loads from a safetensors file the user supplies, with
  torchvision's key names (``features.0.weight`` ...): pass the path, or set ``ARTZOO_VGG16_WEIGHTS``.
- ``LaplacianPyramid`` (the default, ships with no weights at all): L1 between the band-pass levels of
  a Laplacian pyramid plus image gradients at each level. It compares edges and local contrast at
  several scales, which is what the perceptual term adds to plain L1 when fitting a reconstruction.
  It is *not* a learned perceptual metric; see the README for how it compared when fitting.
"""

from __future__ import annotations

import os

import torch
from torch import nn
import torch.nn.functional as F

from .errors import ArtzooError
from .tensorfile import read_tensors

VGG_ENV = "ARTZOO_VGG16_WEIGHTS"
# torchvision's vgg16().features indices of the conv layers up to conv4_2, and the ReLUs we read.
_VGG_CONVS = [(0, 3, 64), (2, 64, 64), (5, 64, 128), (7, 128, 128), (10, 128, 256), (12, 256, 256),
              (14, 256, 256), (17, 256, 512), (19, 512, 512)]
_VGG_POOLS_AFTER = {2, 7, 14}
_VGG_TAPS = {0: "relu1_1", 2: "relu1_2", 12: "relu3_2", 19: "relu4_2"}


def _to_rgb(x: torch.Tensor) -> torch.Tensor:
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


class VGG16Features(nn.Module):
    """VGG-16 up to relu4_2 with ImageNet normalisation; weights from a user-given safetensors file."""

    name = "vgg16"

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleDict({str(i): nn.Conv2d(cin, cout, 3, padding=1) for i, cin, cout in _VGG_CONVS})
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        self.requires_grad_(False)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "VGG16Features":
        state, _ = read_tensors(path, "safetensors file of VGG-16 weights", hint=f"set {VGG_ENV} or pass a safetensors file")
        model = cls()
        for i, cin, cout in _VGG_CONVS:
            for kind, shape in (("weight", (cout, cin, 3, 3)), ("bias", (cout,))):
                key = f"features.{i}.{kind}"
                if key not in state:
                    raise ArtzooError(f"{path} is not a VGG-16 checkpoint with torchvision key names (no {key})")
                if tuple(state[key].shape) != shape:
                    raise ArtzooError(f"{path}: {key} has shape {tuple(state[key].shape)}, expected {shape}")
                getattr(model.convs[str(i)], kind).data.copy_(state[key].float())
        return model

    @classmethod
    def random(cls, seed: int = 0) -> "VGG16Features":
        """VGG-16 with fixed random weights (He init from ``seed``): a weight-free baseline to compare."""
        model = cls()
        gen = torch.Generator().manual_seed(seed)
        for conv in model.convs.values():
            fan_in = conv.weight[0].numel()
            conv.weight.data = torch.randn(conv.weight.shape, generator=gen) * (2 / fan_in) ** 0.5
            conv.bias.data.zero_()
        model.name = f"random-vgg16-{seed}"
        return model

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = (_to_rgb(x) + 1) / 2
        h = (h - self.mean) / self.std
        taps = []
        for i, _, _ in _VGG_CONVS:
            h = F.relu(self.convs[str(i)](h))
            if i in _VGG_TAPS:
                taps.append(h)
            if i in _VGG_POOLS_AFTER:
                h = F.max_pool2d(h, 2)
        return taps


class LaplacianPyramid(nn.Module):
    """Band-pass levels and gradients of a Laplacian pyramid: a weight-free structural comparison."""

    name = "laplacian-pyramid"

    def __init__(self, levels: int = 4):
        super().__init__()
        self.levels = levels
        g = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
        kernel = torch.outer(g, g) / 256
        self.register_buffer("kernel", kernel.view(1, 1, 5, 5))

    def _blur(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), self.kernel.expand(c, 1, 5, 5), groups=c)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps = []
        h = x
        for _ in range(self.levels):
            if min(h.shape[-2:]) < 8:
                break
            low = self._blur(h)
            band = h - low
            taps += [band, h[..., 1:, :] - h[..., :-1, :], h[..., :, 1:] - h[..., :, :-1]]
            h = F.avg_pool2d(low, 2)
        return taps


class PerceptualLoss(nn.Module):
    """Per-sample mean L1 between backbone features of two image batches in [-1, 1]: shape (B,)."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone.eval().requires_grad_(False)

    @property
    def name(self) -> str:
        return self.backbone.name

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Features of a fixed target: compute once and pass to ``forward`` as ``target_features``."""
        with torch.no_grad():
            return self.backbone(x)

    def forward(self, x: torch.Tensor, target: torch.Tensor | None = None,
                target_features: list[torch.Tensor] | None = None) -> torch.Tensor:
        if target_features is None:
            target_features = self.features(target)
        feats = self.backbone(x)
        per_tap = [(a - b).abs().flatten(1).mean(1) for a, b in zip(feats, target_features)]
        return torch.stack(per_tap).mean(0)


def load_perceptual(backbone: str | os.PathLike | nn.Module | None = None) -> PerceptualLoss:
    """The perceptual loss to fit with: a module, a VGG-16 safetensors path, "vgg16" (path from
    ``ARTZOO_VGG16_WEIGHTS``), "laplacian-pyramid", "random-vgg16", or None (VGG-16 if the env var is
    set, else the pyramid)."""
    if isinstance(backbone, nn.Module):
        return PerceptualLoss(backbone)
    if backbone is None:
        backbone = "vgg16" if os.environ.get(VGG_ENV) else "laplacian-pyramid"
    if backbone == "laplacian-pyramid":
        return PerceptualLoss(LaplacianPyramid())
    if backbone == "random-vgg16":
        return PerceptualLoss(VGG16Features.random())
    if backbone == "vgg16":
        path = os.environ.get(VGG_ENV)
        if not path:
            raise ArtzooError(f"perceptual backbone 'vgg16' needs its weights: set {VGG_ENV} to a safetensors file")
        return PerceptualLoss(VGG16Features.from_file(path))
    return PerceptualLoss(VGG16Features.from_file(backbone))
