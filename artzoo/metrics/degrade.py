"""Graded image degradations, used to check that a metric worsens as images get worse.

All take and return float tensors in [-1, 1] of shape (N, C, H, W); strength 0 returns the input.
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur with standard deviation `sigma` in pixels (separable, reflect padding)."""
    if sigma <= 0:
        return images
    radius = max(1, math.ceil(3 * sigma))
    radius = min(radius, images.shape[-1] - 1, images.shape[-2] - 1)  # reflect padding needs radius < size
    t = torch.arange(-radius, radius + 1, dtype=images.dtype)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    c = images.shape[1]
    x = F.pad(images, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def noise(images: torch.Tensor, std: float, seed: int = 0) -> torch.Tensor:
    """Additive Gaussian noise of standard deviation `std` (in [-1, 1] units), clipped to the range."""
    if std <= 0:
        return images
    g = torch.Generator().manual_seed(seed)
    return (images + std * torch.randn(images.shape, generator=g, dtype=images.dtype)).clamp(-1, 1)


def color_shift(images: torch.Tensor, degrees: float) -> torch.Tensor:
    """Hue rotation by `degrees`: rotates the chroma plane of YIQ space, keeping luma; clipped to range.

    1-channel images have no hue and are returned unchanged.
    """
    if degrees == 0 or images.shape[1] == 1:
        return images
    to_yiq = torch.tensor(
        [[0.299, 0.587, 0.114], [0.5959, -0.2746, -0.3213], [0.2115, -0.5227, 0.3112]], dtype=torch.float64
    )
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    rot = torch.tensor([[1, 0, 0], [0, c, -s], [0, s, c]], dtype=torch.float64)
    m = (torch.linalg.inv(to_yiq) @ rot @ to_yiq).to(images.dtype)
    # Rotate in [0, 1] space so the luma axis (grey) stays fixed.
    x = (images + 1) / 2
    x = torch.einsum("ij,njhw->nihw", m, x)
    return (x * 2 - 1).clamp(-1, 1)


def jpeg(images: torch.Tensor, quality: int) -> torch.Tensor:
    """JPEG round trip through Pillow at `quality` (1-95; 100 or more returns the input)."""
    if quality >= 100:
        return images
    out = []
    for img in images:
        arr = ((img.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
        pil = Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr)
        buf = io.BytesIO()
        pil.save(buf, format="JPEG", quality=int(quality))
        back = np.asarray(Image.open(buf), dtype=np.float32).reshape(arr.shape)
        out.append(torch.from_numpy(back).permute(2, 0, 1) / 127.5 - 1)
    return torch.stack(out).to(images.dtype)


# name -> (function, graded strengths from none to severe); the validation uses these.
DEGRADATIONS = {
    "blur": (blur, (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)),
    "noise": (noise, (0.0, 0.03, 0.05, 0.1, 0.2, 0.3)),
    "color_shift": (color_shift, (0.0, 10.0, 20.0, 40.0, 60.0, 90.0)),
    "jpeg": (jpeg, (100, 80, 50, 30, 15, 5)),
}
