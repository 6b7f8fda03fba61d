"""The GAN and VAE loss terms shared by the training phases (hinge GAN, as in the paper)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..images import drawn


def hinge_d(real: list[torch.Tensor], fake: list[torch.Tensor], sum_scales: bool = False) -> torch.Tensor:
    """Discriminator hinge loss of a multi-scale critic, averaged over its scales (``sum_scales``: summed,
    as BicycleGAN's reference code does, which doubles the adversarial weight of a 2-scale critic)."""
    total = sum(F.relu(1 - r).mean() + F.relu(1 + f).mean() for r, f in zip(real, fake))
    return total if sum_scales else total / len(real)


def hinge_g(fake: list[torch.Tensor], sum_scales: bool = False) -> torch.Tensor:
    """Generator side of the hinge loss: raise the critic's score of the fakes (scales as in `hinge_d`)."""
    total = sum(-f.mean() for f in fake)
    return total if sum_scales else total / len(fake)


def kl_normal(mu: torch.Tensor, logvar: torch.Tensor, sum_batch: bool = False) -> torch.Tensor:
    """KL(N(mu, σ²) ‖ N(0, I)), summed over latent dimensions, averaged over the batch (``sum_batch``:
    summed over it, as BicycleGAN's reference code does)."""
    kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum(1)
    return kl.sum() if sum_batch else kl.mean()


def mode_seeking(img_a: torch.Tensor, img_b: torch.Tensor, z_a: torch.Tensor, z_b: torch.Tensor,
                 eps: float = 1e-5) -> torch.Tensor:
    """MSGAN's term: small when two latents give similar images, so minimising it spreads the modes."""
    ratio = (img_a - img_b).abs().mean() / (z_a - z_b).abs().mean()
    return 1 / (ratio + eps)


def colour_code(mu: torch.Tensor, picture: torch.Tensor) -> torch.Tensor:
    """L1 from μ's first C dimensions to 2 × the picture's per-channel mean colour over its drawn (not paper
    white) pixels: what an encoder is first taught with ``generation.encoder_warmup`` (not in the paper)."""
    mask = drawn(picture).unsqueeze(1).to(picture.dtype)
    mean = (picture * mask).sum((2, 3)) / mask.sum((2, 3)).clamp(min=1)
    c = min(mean.shape[1], mu.shape[1])
    return F.l1_loss(mu[:, :c].float(), 2 * mean[:, :c].float())
