"""Image-level scores: FID-style Fréchet distance between image sets, and diversity of variations."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from artzoo.errors import ArtzooError
from artzoo.metrics.distances import FeatureStats, feature_stats, frechet_distance
from artzoo.metrics.extractors import FeatureExtractor, Images, check_images, default_extractor


def image_stats(
    images: Images, extractor: FeatureExtractor | None = None, batch_size: int | None = None
) -> FeatureStats:
    """Feature statistics of an image set (tensor or iterable of batches), tagged with the extractor."""
    extractor = extractor or default_extractor()
    return feature_stats(extractor.extract(images, batch_size), extractor.name)


def fid(
    images_a: Images | FeatureStats,
    images_b: Images | FeatureStats,
    extractor: FeatureExtractor | None = None,
    batch_size: int | None = None,
) -> float:
    """Fréchet distance between two image sets in `extractor`'s feature space.

    Each set is an (N, C, H, W) tensor in [-1, 1], an iterable of such batches, or precomputed
    `FeatureStats` (e.g. `image_stats(train_images).save(...)`, then `FeatureStats.load`). The default
    extractor is the offline `RandomConvFeatures`: its values rank models but are not comparable to
    published FIDs; pass `InceptionV3Features.from_file(...)` for those.
    """
    extractor = extractor or default_extractor()
    for s in (images_a, images_b):
        if isinstance(s, FeatureStats) and s.extractor and s.extractor != extractor.name:
            raise ArtzooError(f"statistics were computed with {s.extractor!r}, not with {extractor.name!r}")
    # Raw features rather than statistics: frechet_distance is much cheaper on sets smaller than dim.
    sets = [s if isinstance(s, FeatureStats) else extractor.extract(s, batch_size) for s in (images_a, images_b)]
    return frechet_distance(*sets)


@dataclass(frozen=True)
class DiversityScore:
    """Mean pairwise L1 distance between variations of the same input, two ways.

    `pixel_l1`: mean absolute pixel difference in [-1, 1] units (0 … 2); sensitive to where things are.
    `feature_l1`: mean absolute difference of the extractor's feature vectors (per feature); sensitive
    to colour and texture statistics but not to placement. Both are ~0 under mode collapse.
    Only compare scores computed with the same extractor and image size.
    """

    pixel_l1: float
    feature_l1: float


def diversity(
    variations: torch.Tensor, extractor: FeatureExtractor | None = None, batch_size: int | None = None
) -> DiversityScore:
    """Diversity of generated variations: `variations` is (N, K, C, H, W) — K variations (e.g. different
    latents z) for each of N inputs — or (K, C, H, W) for one input; K >= 2. Distances are averaged
    over all K(K-1)/2 pairs within each input, then over inputs (pairs across inputs never count)."""
    if isinstance(variations, torch.Tensor) and variations.ndim == 4:
        variations = variations.unsqueeze(0)
    if not isinstance(variations, torch.Tensor) or variations.ndim != 5 or variations.shape[1] < 2:
        shape = tuple(variations.shape) if isinstance(variations, torch.Tensor) else type(variations).__name__
        raise ArtzooError(f"variations must be a (N, K, C, H, W) or (K, C, H, W) tensor with K >= 2, got {shape}")
    n, k = variations.shape[:2]
    flat = check_images(variations.flatten(0, 1))
    extractor = extractor or default_extractor()
    feats = torch.from_numpy(extractor.extract(flat, batch_size)).view(n, k, -1)
    pixels = flat.reshape(n, k, -1)
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    # One pair at a time: materialising all pairs at once would need K²/2 copies of the images.
    pixel_l1 = sum((pixels[:, i] - pixels[:, j]).abs().double().mean() for i, j in pairs) / len(pairs)
    feature_l1 = sum((feats[:, i] - feats[:, j]).abs().mean() for i, j in pairs) / len(pairs)
    return DiversityScore(float(pixel_l1), float(feature_l1))
