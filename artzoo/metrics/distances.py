"""Distribution distances between two sets of feature vectors: Fréchet distance and KID.

Both work on (N, D) feature arrays (numpy or torch); all arithmetic is float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import save_file

from artzoo.errors import ArtzooError
from artzoo.tensorfile import read_tensors


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
        tensors, meta = read_tensors(path, "feature statistics file", framework="numpy")
        if set(tensors) != {"mu", "sigma"} or "count" not in meta:
            raise ArtzooError(f"{path} is not a feature-statistics file (needs mu, sigma and count)")
        return cls(tensors["mu"], tensors["sigma"], int(meta["count"]), meta.get("extractor", ""))


def feature_stats(feats, extractor: str = "") -> FeatureStats:
    """Mean and unbiased (N - 1) covariance of an (N, D) feature set, N >= 2."""
    feats = _as_features(feats)
    if len(feats) < 2:
        raise ArtzooError(f"need at least 2 feature vectors for a covariance, got {len(feats)}")
    x = feats - feats.mean(0)
    return FeatureStats(feats.mean(0), x.T @ x / (len(feats) - 1), len(feats), extractor)


def _psd_sqrt(sigma: np.ndarray) -> np.ndarray:
    # Symmetric square root through the eigen-decomposition; rounding can make null-space
    # eigenvalues slightly negative, which are exactly zero in the true (PSD) covariance.
    w, v = np.linalg.eigh(sigma)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def _summarise(s, what: str) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, str]:
    """(mean, covariance, factor, extractor) of a feature set or FeatureStats.

    A set with fewer vectors than dimensions keeps the factor X = centred features / sqrt(N - 1)
    (covariance = XᵀX) instead of the larger, singular covariance; the other one is then None.
    """
    if isinstance(s, FeatureStats):
        return s.mu, s.sigma, None, s.extractor
    feats = _as_features(s, what)
    if len(feats) < 2:
        raise ArtzooError(f"need at least 2 feature vectors for a covariance, got {len(feats)}")
    x = (feats - feats.mean(0)) / np.sqrt(len(feats) - 1)
    if len(feats) < feats.shape[1]:
        return feats.mean(0), None, x, ""
    return feats.mean(0), x.T @ x, None, ""


def frechet_distance(a, b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (the quantity behind FID).

    FD = |mu_a - mu_b|² + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^½).

    `a` and `b` are (N, D) feature arrays (numpy or torch) or `FeatureStats`. No complex arithmetic
    and no diagonal "eps" fudge: tr((S_a S_b)^½) is the sum of square roots of the eigenvalues of a
    symmetric PSD matrix — S_a^½ S_b S_a^½ in general, or, for a feature set with fewer vectors than
    dimensions (S = XᵀX, X the centred features / sqrt(N - 1)), the N x N matrix X S_other Xᵀ, or the
    singular values of X_a X_bᵀ when both are such sets. All are exact when D exceeds the sample
    count (singular covariances), and small sets are cheap. The estimate is still biased upwards with
    few samples (by roughly tr(S)/N per set): compare only FDs computed from equal set sizes, or use
    `kid`, which is unbiased.
    """
    mu_a, s_a, x_a, name_a = _summarise(a, "features a")
    mu_b, s_b, x_b, name_b = _summarise(b, "features b")
    if mu_a.shape != mu_b.shape:
        raise ArtzooError(f"feature dimensions differ: {mu_a.shape[0]} vs {mu_b.shape[0]}")
    if name_a and name_b and name_a != name_b:
        raise ArtzooError(f"statistics come from different extractors: {name_a!r} vs {name_b!r}")
    if x_a is not None and x_b is not None:
        cross = np.linalg.svd(x_a @ x_b.T, compute_uv=False).sum()
    else:
        if x_a is not None or x_b is not None:
            x, s = (x_a, s_b) if x_a is not None else (x_b, s_a)
            inner = x @ s @ x.T  # same non-zero eigenvalues as S_x S
        else:
            root = _psd_sqrt(s_a)
            inner = root @ s_b @ root
        cross = np.sqrt(np.clip(np.linalg.eigvalsh(inner), 0.0, None)).sum()
    traces = sum(np.trace(s) if s is not None else (x**2).sum() for s, x in ((s_a, x_a), (s_b, x_b)))
    diff = mu_a - mu_b
    # Rounding can leave a tiny negative value for (near-)identical sets; the true FD is >= 0.
    return float(max(diff @ diff + traces - 2.0 * cross, 0.0))


def kid_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """KID's polynomial kernel k(x, y) = (x·y / D + 1)³ between the rows of x and y."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    kxx, kyy, kxy = kid_kernel(x, x), kid_kernel(y, y), kid_kernel(x, y)
    m, n = len(x), len(y)
    # Dropping the diagonal (k(x, x) terms) is what makes the estimate unbiased.
    xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    yy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(xx + yy - 2.0 * kxy.mean())


def kid(a, b, subsets: int = 100, subset_size: int | None = None, seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance: unbiased MMD² with the kernel k(x, y) = (x·y / D + 1)³.

    Averages over `subsets` random subsets of `subset_size` vectors drawn without replacement from
    each set (default min(1000, N_a, N_b)); returns (mean, std) over the subsets. The estimate is
    unbiased, so it fluctuates around 0 for two independent samples of one distribution (it can be
    negative) and is comparable across set sizes. Passing the very same set twice gives a slightly
    negative value: its two subsets share points. `seed` fixes the subset draws.
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
        _mmd2_unbiased(
            a[rng.choice(len(a), subset_size, replace=False)], b[rng.choice(len(b), subset_size, replace=False)]
        )
        for _ in range(subsets)
    ]
    return float(np.mean(values)), float(np.std(values))
