"""A learned, picture-conditioned prior over a transition's latent z: p(z | x_i).

The paper samples z ~ N(0, I), but the codes the latent encoder gives real pictures fill a small part of
that Gaussian, so most random z are palettes the generator never saw paired with a real picture (blue
bread, washed-out candidates). This head reads the frozen generator's content features of x_i (what the
drawing is) and gives a mixture of K diagonal Gaussians over z, trained on the codes E_i gives the real
next stages of the training pictures. It also keeps a bank of those codes, each with its picture's key
(the head's hidden features, the same learned description of the drawing): ``prior="bank"`` draws from
all of them (plausible palettes, not conditioned on the drawing), ``prior="nearest"`` from the codes of
the ``neighbours`` training drawings most like the input (real palettes of similar drawings: more varied
than the mixture's, which pulls towards each drawing's typical palette).
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
    bank_size: int = 2048    # encoded training latents kept for prior="bank" (and "nearest")
    neighbours: int = 0      # prior="nearest" draws among this many nearest drawings; 0: no keys (older folders)

    LIMITS = dict(in_channels=(1, 4096), nz=(1, 512), hidden=(1, 2048), components=(1, 256), bank_size=(0, 65536),
                  neighbours=(0, 65536))


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
        if config.neighbours:
            self.register_buffer("keys", torch.zeros(config.bank_size, h))  # unit vectors, row j for bank[j]
        # Codes held; a float like every stored tensor (pipeline files hold floats only), exact to 2^24.
        self.register_buffer("bank_seen", torch.zeros(()))

    @property
    def bank_filled(self) -> int:
        return min(int(self.bank_seen), self.bank.shape[0])

    def hidden(self, content: torch.Tensor) -> torch.Tensor:
        """Content features (B, C, h, w) → the head's hidden features (B, hidden)."""
        f = self.body(content)
        return self.head[:2](torch.cat([f.mean((2, 3)), f.amax((2, 3))], 1))

    def key(self, content: torch.Tensor) -> torch.Tensor:
        """The unit-length key a drawing is looked up by (cosine similarity of hidden features)."""
        return F.normalize(self.hidden(content).float(), dim=1)

    def forward(self, content: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Content features (B, C, h, w) → mixture logits (B, K), means (B, K, nz), log-stds (B, K, nz)."""
        k, nz = self.config.components, self.config.nz
        out = self.head[2:](self.hidden(content))
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
        idx = torch.randint(self.bank_filled, (n,), generator=generator)
        return self.bank[:self.bank_filled].float().cpu()[idx]

    @property
    def has_keys(self) -> bool:
        return bool(self.config.neighbours) and self.bank_filled > 0

    @torch.no_grad()
    def sample_nearest(self, content: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
        """n codes per picture (B·n, nz), picture by picture: codes of the ``neighbours`` training pictures
        whose keys are nearest to the picture's, each used once while n allows."""
        filled = self.bank_filled
        k = min(self.config.neighbours, filled)
        near = (self.key(content).cpu() @ self.keys[:filled].float().cpu().T).topk(k, dim=1).indices
        bank = self.bank[:filled].float().cpu()
        picks = [row[torch.randperm(k, generator=generator)[:n]] if n <= k else
                 row[torch.randint(k, (n,), generator=generator)] for row in near]
        return bank[torch.cat(picks)]

    @torch.no_grad()
    def index(self, codes: torch.Tensor, keys: torch.Tensor | None = None) -> None:
        """Fill the bank with training codes (N, nz) and, when the prior looks up neighbours, their
        pictures' keys (N, hidden); more than it holds → a subset spread evenly over them."""
        if keys is None and self.config.neighbours:
            raise ValueError("this prior looks up neighbours: index() needs the pictures' keys")
        size = self.bank.shape[0]
        rows = torch.linspace(0, len(codes) - 1, min(size, len(codes))).round().long()
        self.bank[:len(rows)] = codes[rows].to(self.bank)
        if self.config.neighbours:
            self.keys[:len(rows)] = keys[rows].to(self.keys)
        self.bank_seen.fill_(float(len(rows)))
