"""Feature extractors for FID/KID/diversity, and the offline default one.

Every extractor takes images as float tensors in [-1, 1] of shape (N, 3, H, W) or (N, 1, H, W) (grey
images are repeated to 3 channels), any H and W (each extractor resizes to its own input size), and
returns one feature vector per image.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F

from artzoo.errors import ArtzooError

Images = torch.Tensor | Iterable[torch.Tensor]


class FeatureExtractor(torch.nn.Module):
    """Common interface: `extractor(images)` -> (N, dim) float32 tensor; `extract` for whole data sets.

    Subclasses set `name` (identifies the feature space; stored with saved statistics so that statistics
    of different extractors are never compared) and `dim`, and implement `_features` on checked
    (N, 3, H, W) float32 tensors in [-1, 1].
    """

    name: str
    dim: int
    # Big batches amortise per-call thread synchronisation, which dominates small batches on busy CPUs.
    batch_size: int = 512

    def _features(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self._features(check_images(images))

    @torch.inference_mode()
    def extract(self, images: Images, batch_size: int | None = None) -> np.ndarray:
        """Features of a whole set as a float64 (N, dim) array.

        `images` is one (N, C, H, W) tensor, or an iterable of such batches (for example a data loader
        yielding tensors), so that large sets need not fit in memory at once. A tensor is fed in chunks
        of `batch_size` (default: the extractor's `batch_size`).
        """
        batch_size = self.batch_size if batch_size is None else batch_size
        if batch_size < 1:
            raise ArtzooError(f"batch_size must be at least 1, got {batch_size}")
        self.eval()
        batches = images.split(batch_size) if isinstance(images, torch.Tensor) else images
        feats = [self(batch).double().numpy() for batch in batches]
        if not feats or sum(len(f) for f in feats) == 0:
            raise ArtzooError("no images given")
        return np.concatenate(feats)


def check_images(images) -> torch.Tensor:
    """Validated float32 CPU copy of (N, 3|1, H, W) images in [-1, 1], grey repeated to 3 channels."""
    if not isinstance(images, torch.Tensor):
        raise ArtzooError(f"images must be a torch tensor, got {type(images).__name__}")
    if not images.is_floating_point():
        raise ArtzooError(f"images must be float tensors in [-1, 1], got dtype {images.dtype}")
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ArtzooError(f"images must have shape (N, 3, H, W) or (N, 1, H, W), got {tuple(images.shape)}")
    images = images.detach().to("cpu", torch.float32)
    if not torch.isfinite(images).all():
        raise ArtzooError("images contain NaN or infinite values")
    # 1e-3 slack for rounding; anything far outside is almost surely [0, 255] or unnormalised data.
    if images.numel() and (images.min() < -1.001 or images.max() > 1.001):
        raise ArtzooError(
            f"images must lie in [-1, 1], got values in [{images.min():.3g}, {images.max():.3g}]"
        )
    images = images.clamp(-1, 1)
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear resize to size x size; antialiased when shrinking so fine detail is averaged, not aliased."""
    if images.shape[-2:] == (size, size):
        return images
    shrink = images.shape[-1] > size or images.shape[-2] > size
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink)


def hashed_uniform(seed: int, count: int) -> np.ndarray:
    """`count` numbers in [-1, 1) from the splitmix64 hash of (seed, index).

    Pure 64-bit integer arithmetic plus an exact conversion to float64, so the numbers are bit-identical
    on every machine and every numpy/torch version (library random generators promise less).
    """
    with np.errstate(over="ignore"):
        z = np.uint64(seed) * np.uint64(0xD1B54A32D192ED03) + np.arange(1, count + 1, dtype=np.uint64) * np.uint64(
            0x9E3779B97F4A7C15
        )
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-52 - 1.0


class RandomConvFeatures(FeatureExtractor):
    """The offline default: fixed colour statistics plus features of a random, untrained conv net.

    This is NOT Inception and its Fréchet distances are NOT comparable to published FIDs; they are only
    comparable with each other (same extractor name). It depends on no trained model, downloads nothing
    and ships no weights. What it computes, after resizing to `size` x `size` (default 64):

    * colour statistics of an average-pooled pyramid (size, size/2, size/4, size/8):
      the 4x4 grid of mean colours (layout), per-level per-channel standard deviation (contrast per
      scale), per-channel log energy of the three detail bands between levels (sharpness, noise) and
      an 8-bin soft histogram per channel (colour distribution);
    * a random conv net: 3x3 stride-2 convolutions (reflect padding) with ReLU, widths `widths`, the
      first layer's filters made zero-mean; each stage contributes the spatial mean and standard
      deviation of every channel (texture statistics at four scales). Weights are uniform with He
      scaling, drawn by `hashed_uniform(seed, ...)`, so they are identical on every machine.

    Validated on real images in benchmarks/validate_fd.py (FD rises with blur, noise, hue shift and
    JPEG strength). Features agree across machines to float32 rounding.
    """

    HIST_BINS = 8
    # The band log-energies are scaled down: at full weight their (real) test-vs-train offset on
    # fluent-emoji outweighed everything else and slight noise or hue shifts *lowered* the FD.
    BANDS_WEIGHT = 0.25

    def __init__(self, size: int = 64, widths: tuple[int, ...] = (32, 64, 128, 256), seed: int = 0):
        super().__init__()
        if size < 16 or size % 8:
            raise ArtzooError(f"size must be a multiple of 8 and at least 16, got {size}")
        self.size, self.widths, self.seed = size, tuple(widths), seed
        shapes = [(w, c, 3, 3) for c, w in zip((3, *widths[:-1]), widths)]
        values = hashed_uniform(seed, sum(int(np.prod(s)) for s in shapes))
        self.weights = []
        start = 0
        for i, shape in enumerate(shapes):
            n, fan_in = int(np.prod(shape)), shape[1] * 9
            # Uniform[-1, 1) has variance 1/3; sqrt(6 / fan_in) gives He (ReLU) scaling.
            w = values[start : start + n].reshape(shape) * np.sqrt(6.0 / fan_in)
            if i == 0:
                # Zero-mean first filters see edges and texture, not flat colour (the colour statistics
                # cover that); this makes the conv features far more sensitive to blur, noise and JPEG.
                w = w - w.mean(axis=(2, 3), keepdims=True)
            w = torch.from_numpy(w).float()
            self.register_buffer(f"conv{i}", w, persistent=False)
            self.weights.append(f"conv{i}")
            start += n
        self.name = f"randconv-v1-size{size}-widths{'x'.join(map(str, widths))}-seed{seed}"
        self.dim = 48 + 12 + 9 + 3 * self.HIST_BINS + 2 * sum(widths)

    def _colour_stats(self, x: torch.Tensor) -> list[torch.Tensor]:
        levels = [x]
        for _ in range(3):
            levels.append(F.avg_pool2d(levels[-1], 2))
        layout = F.adaptive_avg_pool2d(x, 4).flatten(1)
        energy = [(lv**2).mean(dim=(2, 3)) for lv in levels]
        mean = levels[-1].mean(dim=(2, 3))  # the same at every level
        contrast = torch.cat([(e - mean**2).clamp(min=0).sqrt() for e in energy], 1)
        # Energy of each detail band (a level minus its 2x2 block means): average pooling makes block
        # means and deviations orthogonal, so it is mean(fine²) - mean(coarse²).
        bands = torch.cat([(fine - coarse).clamp(min=0).add(1e-6).log() for fine, coarse in zip(energy, energy[1:])], 1)
        # Soft histogram: each value splits its count linearly between the two nearest of the evenly
        # spaced bin centres on [-1, 1], so counts change smoothly with colour rather than in jumps.
        pos = (x.flatten(2) + 1) * ((self.HIST_BINS - 1) / 2)
        low = pos.floor().clamp(max=self.HIST_BINS - 2)
        frac = pos - low
        low = low.long()
        hist = torch.zeros(*x.shape[:2], self.HIST_BINS).scatter_add_(2, low, 1 - frac).scatter_add_(2, low + 1, frac)
        hist = (hist / pos.shape[2]).flatten(1)
        return [layout, contrast, bands * self.BANDS_WEIGHT, hist]

    def _conv_stats(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        x = x.contiguous(memory_format=torch.channels_last)  # markedly faster CPU convolutions
        for name in self.weights:
            x = F.relu(F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), getattr(self, name), stride=2))
            std, mean = torch.std_mean(x, dim=(2, 3))
            out += [mean, std]
        return out

    def _features(self, images: torch.Tensor) -> torch.Tensor:
        x = resize(images, self.size)
        return torch.cat(self._colour_stats(x) + self._conv_stats(x), 1)


def default_extractor() -> RandomConvFeatures:
    """The offline default extractor (`RandomConvFeatures` with its default settings)."""
    return RandomConvFeatures()
