"""Workflow-inference net I: a later stage → the stage before it (pix2pix U-Net, unimodal)."""

from __future__ import annotations

import dataclasses

import torch
from torch import nn
import torch.nn.functional as F

from .config import NetConfig


@dataclasses.dataclass
class InferenceNetConfig(NetConfig):
    in_channels: int = 3
    out_channels: int = 1
    image_size: int = 64
    base_channels: int = 32
    n_downsample: int = 5
    max_channels: int = 256

    LIMITS = dict(in_channels=(1, 4), out_channels=(1, 4), image_size=(8, 1024), base_channels=(1, 512),
                  n_downsample=(1, 10), max_channels=(1, 4096))


class InferenceNet(nn.Module):
    def __init__(self, config: InferenceNetConfig):
        super().__init__()
        self.config = config
        widths = [min(config.base_channels * 2 ** i, config.max_channels) for i in range(config.n_downsample)]
        self.downs = nn.ModuleList()
        c = config.in_channels
        for i, w in enumerate(widths):
            norm = nn.InstanceNorm2d(w, affine=True) if i > 0 else nn.Identity()
            self.downs.append(nn.Sequential(nn.Conv2d(c, w, 4, 2, 1), norm, nn.LeakyReLU(0.2, inplace=True)))
            c = w
        self.ups = nn.ModuleList()
        for i in reversed(range(config.n_downsample)):
            skip = widths[i - 1] if i > 0 else 0
            out = widths[i - 1] if i > 0 else config.base_channels
            self.ups.append(nn.Sequential(
                nn.Conv2d(c, out, 3, padding=1), nn.InstanceNorm2d(out, affine=True), nn.ReLU(inplace=True)))
            c = out + skip
        self.head = nn.Conv2d(c, config.out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = []
        h = x
        for down in self.downs:
            h = down(h)
            features.append(h)
        features.pop()  # the bottleneck is not a skip
        for up in self.ups:
            # Nearest upsample + conv instead of transposed conv: no checkerboard on thin sketch lines.
            h = up(F.interpolate(h, scale_factor=2, mode="nearest"))
            if features:
                h = torch.cat([h, features.pop()], 1)
        return torch.tanh(self.head(h))
