"""A learned, picture-conditioned prior over a transition's latent z: p(z | x_i).

The paper samples z ~ N(0, I), but the codes the latent encoder gives real pictures fill a small part of
that Gaussian, so most random z are palettes the generator never saw paired with a real picture (blue
bread, washed-out candidates). This head reads the frozen generator's content features of x_i (what the
drawing is) and gives a mixture of K diagonal Gaussians over z, trained on the codes E_i gives the real
next stages of the training pictures. It also keeps a bank of those codes: ``prior="bank"`` draws from
them (plausible palettes, not conditioned on the drawing).
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn
import torch.nn.functional as F

from .config import NetConfig


# Narrowest a component may get (std 0.25): tighter ones only memorise training codes.
LOG_STD_MIN = math.log(0.25)


@dataclasses.dataclass
class PriorConfig(NetConfig):
    in_channels: int = 128   # channels of the generator's content features
    nz: int = 8
    hidden: int = 128
    components: int = 8
    bank_size: int = 2048    # encoded training latents kept for prior="bank"

    LIMITS = dict(in_channels=(1, 4096), nz=(1, 512), hidden=(1, 2048), components=(1, 256), bank_size=(0, 65536))


class LatentPrior(nn.Module):
    def __init__(self, config: PriorConfig):
        super().__init__()
        self.config = config
        h, k, nz = config.hidden, config.components, config.nz
        self.body = nn.Sequential(
            nn.Conv2d(config.in_channels, h, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(h, h, 3, stride=2, padding=1), nn.LeakyReLU(0.2))
        # Mean and max pooling: the drawing's overall make-up and its most salient parts. (Pooling the
        # content features directly, without this spatial body, fit held-out codes as well but chose
        # colours no better than N(0, I): which region gets which colour needs the layout.)
        self.head = nn.Sequential(nn.Linear(2 * h, h), nn.LeakyReLU(0.2), nn.Linear(h, k * (1 + 2 * nz)))
        self.register_buffer("bank", torch.zeros(config.bank_size, nz))
        # Codes ever added; a float like every stored tensor (pipeline files hold floats only), exact to 2^24.
        self.register_buffer("bank_seen", torch.zeros(()))

    @property
    def bank_filled(self) -> int:
        return min(int(self.bank_seen), self.bank.shape[0])

    def forward(self, content: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Content features (B, C, h, w) → mixture logits (B, K), means (B, K, nz), log-stds (B, K, nz)."""
        f = self.body(content)
        f = torch.cat([f.mean((2, 3)), f.amax((2, 3))], 1)
        k, nz = self.config.components, self.config.nz
        out = self.head(f)
        logits, rest = out[:, :k], out[:, k:].view(-1, k, 2 * nz)
        return logits, rest[..., :nz], rest[..., nz:].clamp(LOG_STD_MIN, 2)

    def nll(self, content: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """−log p(z | x) per sample (B,), in nats."""
        logits, mean, log_std = self(content)
        d = (z[:, None] - mean) / log_std.exp()
        log_normal = -0.5 * (d * d).sum(-1) - log_std.sum(-1) - 0.5 * z.shape[1] * math.log(2 * math.pi)
        return -torch.logsumexp(F.log_softmax(logits, -1) + log_normal, -1)

    @torch.no_grad()
    def sample(self, content: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
        """n codes per picture for content features (B, C, h, w) → (B·n, nz), picture by picture;
        reproducible for a seeded generator (drawn on the CPU)."""
        logits, mean, log_std = (t.float().cpu() for t in self(content))
        rows = torch.arange(len(logits)).repeat_interleave(n)
        which = torch.multinomial(logits.softmax(-1), n, replacement=True, generator=generator).flatten()
        eps = torch.randn(len(rows), self.config.nz, generator=generator)
        return mean[rows, which] + log_std[rows, which].exp() * eps

    @torch.no_grad()
    def sample_bank(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n codes drawn (with replacement) from the bank of encoded training latents."""
        filled = self.bank_filled
        idx = torch.randint(filled, (n,), generator=generator)
        return self.bank[:filled].float().cpu()[idx]

    @torch.no_grad()
    def remember(self, z: torch.Tensor) -> None:
        """Add encoded training latents to the bank (a ring: once full, the oldest go first)."""
        size = self.bank.shape[0]
        if size == 0:
            return
        z = z.detach()[-size:]
        where = (int(self.bank_seen) + torch.arange(len(z))) % size
        self.bank[where.to(self.bank.device)] = z.to(self.bank.device, self.bank.dtype)
        self.bank_seen += float(len(z))
