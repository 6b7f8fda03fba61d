"""Multi-scale PatchGAN discriminator (hinge loss): one patch critic per image scale."""

from __future__ import annotations

import dataclasses

import torch
from torch import nn
import torch.nn.functional as F

from .config import NetConfig


@dataclasses.dataclass
class DiscriminatorConfig(NetConfig):
    in_channels: int = 3
    image_size: int = 64
    base_channels: int = 32
    n_layers: int = 3
    n_scales: int = 2

    LIMITS = dict(in_channels=(1, 8), image_size=(8, 1024), base_channels=(1, 512), n_layers=(1, 8), n_scales=(1, 6))


def patch_critic(in_ch: int, base: int, n_layers: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    c = in_ch
    for i in range(n_layers):
        out = base * 2 ** i
        layers += [nn.Conv2d(c, out, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        c = out
    layers.append(nn.Conv2d(c, 1, 1))
    return nn.Sequential(*layers)


class MultiScaleDiscriminator(nn.Module):
    def __init__(self, config: DiscriminatorConfig):
        super().__init__()
        self.config = config
        self.critics = nn.ModuleList(
            [patch_critic(config.in_channels, config.base_channels, config.n_layers) for _ in range(config.n_scales)])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Patch logits at each scale (full, 1/2, 1/4, ...)."""
        outputs = []
        for i, critic in enumerate(self.critics):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            outputs.append(critic(x))
        return outputs
