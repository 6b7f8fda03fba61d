"""Bootstrap intervals for the evaluation tables, computed on cached per-picture values and features.

A resample is a vector of multiplicities: how often each held-out picture (or each edit draw) is
drawn, with replacement, into a set of the same size. Every statistic here takes such counts, so one
set of resamples serves every method (the paired comparison needs exactly that: the same pictures for
both methods) and no network runs again.

- `mean_replicates`: a per-picture value's mean (reconstruction L1).
- `FrechetResampler`: the Fréchet distance of the resampled feature set to fixed reference statistics,
  equal to `artzoo.metrics.frechet_distance` on the full set, from N × N Gram matrices computed once
  (a resample costs one eigen-decomposition of the size of its distinct pictures).
- `KidResampler`: the unbiased polynomial-kernel MMD² (KID) against the whole reference set; pairs of
  copies of one picture are left out, so the resampled estimate stays unbiased.
- `interval`: the percentile interval of the replicates, moved by the bootstrap's estimate of the
  statistic's bias (see its docstring: FD of a resample with repeated pictures is biased upwards).
"""

from __future__ import annotations

import numpy as np

from ..errors import ArtzooError
from ..metrics import FeatureStats
from ..metrics.distances import kid_kernel

RESAMPLES = 1000
LEVEL = 0.95


def resample_counts(groups, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(resamples, N) multiplicities: each resample draws, within each group, as many members as the
    group has, with replacement. ``groups``: an int N (one group: all N items) or one label per item
    (e.g. the resampled stage of each edit draw, so every stage keeps its share of draws)."""
    labels = np.zeros(groups, np.int64) if np.isscalar(groups) else np.asarray(groups)
    n = len(labels)
    if n == 0 or resamples < 1:
        raise ArtzooError(f"need ≥ 1 item and ≥ 1 resample, got {n} and {resamples}")
    counts = np.zeros((resamples, n), np.int64)
    rows = np.arange(resamples)[:, None]
    for g in np.unique(labels):
        members = np.flatnonzero(labels == g)
        picks = members[rng.integers(0, len(members), size=(resamples, len(members)))]
        np.add.at(counts, (np.broadcast_to(rows, picks.shape), picks), 1)
    return counts


def mean_replicates(values, counts: np.ndarray) -> np.ndarray:
    """The mean of per-item ``values`` in each resample."""
    values = np.asarray(values, np.float64)
    return counts @ values / counts.sum(1)


def interval(replicates, point: float, level: float = LEVEL) -> tuple[float, float]:
    """Bias-corrected percentile interval: the ``level`` percentile interval of the replicates, moved
    by (point - mean of the replicates).

    The plain percentile interval assumes the replicates scatter around the point estimate. For FD
    they do not: a resample repeats about a third of its pictures, which inflates FD's small-sample
    bias (the mean term alone gains ≈ tr(Σ)/N), so every replicate can lie above the estimate. Moving
    the replicates by the bootstrap's estimate of that bias (the usual bootstrap bias correction)
    removes it; for statistics without such bias (means, differences of paired methods) the move is
    ~0. A statistic that is constant over the resamples (a method compared with itself) gets
    [point, point]. NaN replicates (a resample too degenerate for the statistic) are ignored.
    """
    reps = np.asarray(replicates, np.float64)
    reps = reps[np.isfinite(reps)]
    if len(reps) == 0:
        return float("nan"), float("nan")
    shifted = reps + (point - reps.mean())
    lo, hi = np.percentile(shifted, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


class _Resampler:
    """A statistic of ``n`` items, called with per-item multiplicities (one resample)."""

    n: int

    def __call__(self, counts) -> float:
        raise NotImplementedError

    def point(self) -> float:
        """The statistic on the full set (every item once)."""
        return self(np.ones(self.n, np.int64))

    def replicates(self, counts: np.ndarray) -> np.ndarray:
        """The statistic per resample, one row of ``counts`` each."""
        return np.array([self(c) for c in counts])


class FrechetResampler(_Resampler):
    """FD of a feature set, and of its resamples, to fixed reference statistics (e.g. training finals).

    With F the (N, D) features, Σ_r the reference covariance: the mean, trace and cross terms of
    FD = |μ - μ_r|² + tr Σ + tr Σ_r - 2 tr((Σ Σ_r)^½) come from F Fᵀ, F Σ_r Fᵀ and F μ_r: tr((Σ Σ_r)^½)
    is the sum of square roots of the eigenvalues of X Σ_r Xᵀ, X the centred features / √(N - 1),
    which for a resample is the (distinct pictures)² matrix of centred F Σ_r Fᵀ entries weighted by
    √(multiplicity) on both sides.
    """

    def __init__(self, feats, reference: FeatureStats):
        f = np.asarray(feats, np.float64)
        if f.ndim != 2 or len(f) < 2 or f.shape[1] != reference.mu.shape[0]:
            raise ArtzooError(f"features of shape {f.shape} do not fit reference statistics of dimension "
                              f"{reference.mu.shape[0]} (need ≥ 2 vectors)")
        self.n = len(f)
        self.gram = f @ f.T
        self.proj = f @ reference.sigma @ f.T
        self.dot_mu = f @ reference.mu
        self.mu2 = float(reference.mu @ reference.mu)
        self.trace_ref = float(np.trace(reference.sigma))

    def __call__(self, counts) -> float:
        counts = np.asarray(counts)
        u = np.flatnonzero(counts)
        m = counts[u].astype(np.float64)
        n = m.sum()
        if n < 2:
            return float("nan")
        w = m / n
        sq_norm = (m @ np.diag(self.gram)[u]) / n  # mean |f|²
        mean_sq = w @ self.gram[np.ix_(u, u)] @ w  # |mean f|²
        mean_term = mean_sq - 2 * (w @ self.dot_mu[u]) + self.mu2
        trace = n * (sq_norm - mean_sq) / (n - 1)
        p = self.proj[np.ix_(u, u)]
        pw = p @ w
        centred = p - pw[:, None] - pw[None, :] + w @ pw
        root_m = np.sqrt(m)
        inner = root_m[:, None] * centred * root_m[None, :] / (n - 1)
        cross = np.sqrt(np.clip(np.linalg.eigvalsh(inner), 0.0, None)).sum()
        return float(max(mean_term + trace + self.trace_ref - 2 * cross, 0.0))


class KidReference:
    """A reference set for `KidResampler`: its features and its own kernel term, computed once."""

    def __init__(self, feats, chunk: int = 1024):
        self.feats = np.asarray(feats, np.float64)
        m = len(self.feats)
        if m < 2:
            raise ArtzooError("a KID reference needs ≥ 2 feature vectors")
        total = 0.0
        for i in range(0, m, chunk):
            block = kid_kernel(self.feats[i:i + chunk], self.feats)
            total += block.sum() - np.trace(block[:, i:i + chunk])
        self.within = total / (m * (m - 1))


class KidResampler(_Resampler):
    """KID (unbiased MMD², kernel (x·y / D + 1)³) of a feature set against a whole reference set.

    Unlike `artzoo.metrics.kid` it does not average over random subsets: every reference vector is
    used (the subsets' average tends to this). In a resample, pairs of copies of the same picture are
    left out of the within-set term, as the diagonal is in the unbiased estimate.
    """

    def __init__(self, feats, reference: KidReference):
        f = np.asarray(feats, np.float64)
        self.n = len(f)
        self.kernel = kid_kernel(f, f)
        self.cross = kid_kernel(f, reference.feats).mean(1)
        self.within_ref = reference.within

    def __call__(self, counts) -> float:
        counts = np.asarray(counts)
        u = np.flatnonzero(counts)
        m = counts[u].astype(np.float64)
        pairs = m.sum() ** 2 - m @ m  # ordered pairs of distinct pictures
        if pairs <= 0:
            return float("nan")
        k = self.kernel[np.ix_(u, u)]
        within = (m @ k @ m - m @ (m * np.diag(k))) / pairs
        return float(within + self.within_ref - 2 * (m @ self.cross[u]) / m.sum())
