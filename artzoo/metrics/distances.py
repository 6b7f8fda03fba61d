"""Distribution distances between two sets of feature vectors: Fréchet distance and KID.

Both work on (N, D) feature arrays (numpy or torch); all arithmetic is float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.numpy import save_file

from artzoo.errors import ArtzooError


def _as_features(feats, what: str = "features") -> np.ndarray:
    if isinstance(feats, torch.Tensor):
        feats = feats.detach().cpu().double().numpy()
    feats = np.asarray(feats, dtype=np.float64)
    if feats.ndim != 2:
        raise ArtzooError(f"{what} must be a 2-D (N, D) array, got shape {feats.shape}")
    if not np.isfinite(feats).all():
        raise ArtzooError(f"{what} contain NaN or infinite values")
    return feats


@dataclass(frozen=True)
class FeatureStats:
    """Mean and covariance of a feature set; enough for the Fréchet distance.

    `extractor` names the feature extractor that produced them, so that statistics from different
    extractors are never compared by accident. Save a reference set's statistics once (for example the
    training images') with `save` and reuse them with `load`.
    """

    mu: np.ndarray
    sigma: np.ndarray
    count: int
    extractor: str = ""

    def save(self, path: str | Path) -> None:
        save_file(
            {"mu": self.mu, "sigma": self.sigma},
            str(path),
            metadata={"count": str(self.count), "extractor": self.extractor},
        )

    @classmethod
    def load(cls, path: str | Path) -> FeatureStats:
        path = Path(path)
        if not path.is_file():
            raise ArtzooError(f"feature statistics file not found: {path}")
        try:
            with safe_open(str(path), framework="numpy") as f:
                meta = f.metadata() or {}
                tensors = {key: f.get_tensor(key) for key in f.keys()}
        except Exception as e:  # safetensors raises its own types for corrupt or foreign files
            raise ArtzooError(f"{path} is not a safetensors feature-statistics file ({e})") from None
        if set(tensors) != {"mu", "sigma"} or "count" not in meta:
            raise ArtzooError(f"{path} is not a feature-statistics file (needs mu, sigma and count)")
        return cls(tensors["mu"], tensors["sigma"], int(meta["count"]), meta.get("extractor", ""))


def feature_stats(feats, extractor: str = "") -> FeatureStats:
    """Mean and unbiased (N - 1) covariance of an (N, D) feature set, N >= 2."""
    feats = _as_features(feats)
    if len(feats) < 2:
        raise ArtzooError(f"need at least 2 feature vectors for a covariance, got {len(feats)}")
    return FeatureStats(feats.mean(0), np.cov(feats, rowvar=False).reshape(feats.shape[1], -1), len(feats), extractor)


def _psd_sqrt(sigma: np.ndarray) -> np.ndarray:
    # Symmetric square root through the eigen-decomposition; rounding can make null-space
    # eigenvalues slightly negative, which are exactly zero in the true (PSD) covariance.
    w, v = np.linalg.eigh(sigma)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(a, b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (the quantity behind FID).

    FD = |mu_a - mu_b|² + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^½).

    `a` and `b` are (N, D) feature arrays (numpy or torch) or `FeatureStats`. The trace of the matrix
    square root is computed as the sum of square roots of the eigenvalues of S_a^½ S_b S_a^½, which is
    symmetric positive semi-definite, so there is no complex arithmetic and no diagonal "eps" fudge:
    it stays exact when D exceeds the sample count (singular covariances). With few samples the value is
    still biased upwards (by roughly tr(S)/N per set) — compare only FDs computed from equal set sizes,
    or use `kid`, which is unbiased.
    """
    sa = a if isinstance(a, FeatureStats) else feature_stats(a)
    sb = b if isinstance(b, FeatureStats) else feature_stats(b)
    if sa.mu.shape != sb.mu.shape:
        raise ArtzooError(f"feature dimensions differ: {sa.mu.shape[0]} vs {sb.mu.shape[0]}")
    if sa.extractor and sb.extractor and sa.extractor != sb.extractor:
        raise ArtzooError(f"statistics come from different extractors: {sa.extractor!r} vs {sb.extractor!r}")
    root_a = _psd_sqrt(sa.sigma)
    inner = np.linalg.eigvalsh(root_a @ sb.sigma @ root_a)
    cross = np.sqrt(np.clip(inner, 0.0, None)).sum()
    diff = sa.mu - sb.mu
    fd = diff @ diff + np.trace(sa.sigma) + np.trace(sb.sigma) - 2.0 * cross
    return float(max(fd, 0.0))


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    kxx = (x @ x.T / d + 1.0) ** 3
    kyy = (y @ y.T / d + 1.0) ** 3
    kxy = (x @ y.T / d + 1.0) ** 3
    m, n = len(x), len(y)
    # Dropping the diagonal (k(x, x) terms) is what makes the estimate unbiased.
    xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    yy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(xx + yy - 2.0 * kxy.mean())


def kid(a, b, subsets: int = 100, subset_size: int | None = None, seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance: unbiased MMD² with the kernel k(x, y) = (x·y / D + 1)³.

    Averages over `subsets` random subsets of `subset_size` vectors drawn without replacement from
    each set (default min(1000, N_a, N_b)); returns (mean, std) over the subsets. The estimate is
    unbiased, so it fluctuates around 0 for two samples of one distribution (it can be negative) and
    is comparable across set sizes. `seed` fixes the subset draws.
    """
    a, b = _as_features(a, "features a"), _as_features(b, "features b")
    if a.shape[1] != b.shape[1]:
        raise ArtzooError(f"feature dimensions differ: {a.shape[1]} vs {b.shape[1]}")
    available = min(len(a), len(b))
    if subset_size is None:
        subset_size = min(1000, available)
    if subset_size < 2 or subset_size > available:
        raise ArtzooError(f"subset_size must be between 2 and {available} (the smaller set), got {subset_size}")
    if subsets < 1:
        raise ArtzooError(f"subsets must be at least 1, got {subsets}")
    rng = np.random.default_rng(seed)
    values = [
        _mmd2_unbiased(a[rng.choice(len(a), subset_size, replace=False)], b[rng.choice(len(b), subset_size, replace=False)])
        for _ in range(subsets)
    ]
    return float(np.mean(values)), float(np.std(values))
