"""Small building blocks shared by the stage networks (written here; artzoo does not depend on torchvision)."""

from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F


class LayerNorm(nn.Module):
    """Normalise each sample over (C, H, W) with a per-channel affine: MUNIT's decoder norm.

    Unlike instance norm it keeps the colour/contrast differences between channels that AdaIN set.
    """

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(1)
        mean = flat.mean(1).view(-1, 1, 1, 1)
        std = flat.std(1).view(-1, 1, 1, 1)
        x = (x - mean) / (std + self.eps)
        return x * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class AdaIN(nn.Module):
    """Instance norm whose per-sample scale and bias are given at call time (from z, or optimised)."""

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.channels = channels
        self.eps = eps

    def forward(self, x: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        x = F.instance_norm(x, eps=self.eps)
        # "1 + scale" so that a zero AdaIN vector means plain instance norm: training starts stable.
        return x * (1 + scale[:, :, None, None]) + bias[:, :, None, None]


def conv(in_ch: int, out_ch: int, kernel: int, stride: int = 1) -> nn.Conv2d:
    # Reflection padding avoids the dark borders zero padding paints on generated images.
    return nn.Conv2d(in_ch, out_ch, kernel, stride, padding=(kernel - stride + 1) // 2, padding_mode="reflect")


def conv_in_relu(in_ch: int, out_ch: int, kernel: int, stride: int = 1) -> nn.Sequential:
    """Conv → instance norm (affine) → ReLU, the content encoder's unit."""
    return nn.Sequential(conv(in_ch, out_ch, kernel, stride), nn.InstanceNorm2d(out_ch, affine=True), nn.ReLU(inplace=True))


class ResBlock(nn.Module):
    """Two 3×3 convs with instance norm and an identity skip (content encoder)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            conv(channels, channels, 3), nn.InstanceNorm2d(channels, affine=True), nn.ReLU(inplace=True),
            conv(channels, channels, 3), nn.InstanceNorm2d(channels, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class AdaINResBlock(nn.Module):
    """Residual block whose two norms are AdaIN: this is where z (or the optimised vector) acts."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = conv(channels, channels, 3)
        self.conv2 = conv(channels, channels, 3)
        self.norm1 = AdaIN(channels)
        self.norm2 = AdaIN(channels)

    @property
    def num_adain_params(self) -> int:
        return 4 * self.norm1.channels  # (scale, bias) for each of two norms

    def forward(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        s1, b1, s2, b2 = params.chunk(4, dim=1)
        h = F.relu(self.norm1(self.conv1(x), s1, b1))
        h = self.norm2(self.conv2(h), s2, b2)
        return x + h
