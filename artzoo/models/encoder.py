"""Latent encoder E: an image of the next stage → (mu, logvar) of the z that generates it."""

from __future__ import annotations

import dataclasses

import torch
from torch import nn
import torch.nn.functional as F

from .config import NetConfig


@dataclasses.dataclass
class LatentEncoderConfig(NetConfig):
    in_channels: int = 3
    image_size: int = 64
    base_channels: int = 32
    n_blocks: int = 4
    max_channels: int = 128
    nz: int = 8

    LIMITS = dict(in_channels=(1, 4), image_size=(8, 1024), base_channels=(1, 512), n_blocks=(0, 10),
                  max_channels=(1, 4096), nz=(1, 512))


class DownResBlock(nn.Module):
    """Pre-activation residual block that halves the resolution by mean pooling."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.LeakyReLU(0.2), nn.Conv2d(in_ch, in_ch, 3, padding=1),
            nn.LeakyReLU(0.2), nn.Conv2d(in_ch, out_ch, 3, padding=1), nn.AvgPool2d(2),
        )
        self.shortcut = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(in_ch, out_ch, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)


class LatentEncoder(nn.Module):
    def __init__(self, config: LatentEncoderConfig):
        super().__init__()
        self.config = config
        c = config.base_channels
        layers: list[nn.Module] = [nn.Conv2d(config.in_channels, c, 3, padding=1)]
        for i in range(config.n_blocks):
            out = min(config.base_channels * 2 ** (i + 1), config.max_channels)
            layers.append(DownResBlock(c, out))
            c = out
        layers.append(nn.LeakyReLU(0.2))
        self.body = nn.Sequential(*layers)
        self.mu = nn.Linear(c, config.nz)
        self.logvar = nn.Linear(c, config.nz)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.adaptive_avg_pool2d(self.body(x), 1).flatten(1)
        return self.mu(h), self.logvar(h)
