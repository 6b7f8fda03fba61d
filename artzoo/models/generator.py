"""MUNIT-style stage generator: the next stage from this stage's content plus a latent style code z.

    x_i ──content encoder──► content ──AdaIN res blocks──► decoder ──► x_{i+1}
                 │                          ▲                 ▲
                 └──(optional 1×1 skips)────┼─────────────────┤
    z ──MLP──► AdaIN parameter vector ──────┴─────────────────┘ (optional decoder modulation)
               (or pass the vector directly: test-time fitting)
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn
import torch.nn.functional as F

from .config import NetConfig
from .layers import AdaINResBlock, LayerNorm, ResBlock, conv, conv_in_relu


@dataclasses.dataclass
class GeneratorConfig(NetConfig):
    in_channels: int = 1
    out_channels: int = 3
    image_size: int = 64
    base_channels: int = 32
    n_downsample: int = 2
    n_content_res: int = 2
    n_adain_res: int = 2
    nz: int = 8
    mlp_dim: int = 128
    # 1×1-conv skips from the encoder's full/half-resolution features into the decoder (bypassing
    # AdaIN): keeps thin structures sharp on small CPU models; colour still comes through AdaIN.
    skip_connections: bool = True
    # z also sets a per-channel scale and bias after each decoder LayerNorm (not in the paper). The
    # LayerNorm removes the per-sample mean the bottleneck's AdaIN sets; without this, chairs' colour
    # codes collapsed onto lightness (docs/RESULTS.md, "The first autoencoder that carries colour").
    modulated_decoder: bool = False

    LIMITS = dict(in_channels=(1, 4), out_channels=(1, 4), image_size=(8, 1024), base_channels=(1, 512),
                  n_downsample=(0, 6), n_content_res=(0, 16), n_adain_res=(1, 16), nz=(1, 512), mlp_dim=(1, 4096))


class StageGenerator(nn.Module):
    def __init__(self, config: GeneratorConfig):
        super().__init__()
        self.config = config
        c = config.base_channels
        self.stem = conv_in_relu(config.in_channels, c, 7)
        downs, skips = [], []
        for _ in range(config.n_downsample):
            skips.append(nn.Conv2d(c, c, 1) if config.skip_connections else None)
            downs.append(conv_in_relu(c, 2 * c, 4, stride=2))
            c *= 2
        self.downs = nn.ModuleList(downs)
        self.content_blocks = nn.Sequential(*[ResBlock(c) for _ in range(config.n_content_res)])
        self.adain_blocks = nn.ModuleList([AdaINResBlock(c) for _ in range(config.n_adain_res)])
        ups = []
        for _ in range(config.n_downsample):
            ups.append(nn.Sequential(conv(c, c // 2, 5), LayerNorm(c // 2)))  # ReLU in `decode`, after modulation
            c //= 2
        self.ups = nn.ModuleList(ups)
        # Decoder order is coarse → fine, so the skips are stored in that order.
        self.skips = nn.ModuleList(list(reversed(skips))) if config.skip_connections else None
        self.head = conv(c, config.out_channels, 7)
        # The AdaIN vector: each res block's (scale, bias, scale, bias), then with modulation each up
        # layer's (scale, bias).
        self.modulated = [up[1].weight.numel() for up in ups] if config.modulated_decoder else []
        self.num_adain_params = sum(b.num_adain_params for b in self.adain_blocks) + 2 * sum(self.modulated)
        self.mlp = nn.Sequential(
            nn.Linear(config.nz, config.mlp_dim), nn.ReLU(inplace=True),
            nn.Linear(config.mlp_dim, config.mlp_dim), nn.ReLU(inplace=True),
            nn.Linear(config.mlp_dim, self.num_adain_params),
        )

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Also loads a generator without decoder modulation into one with it: the MLP's new output rows
        start at zero (scale 1, bias 0, so the same pictures), which extends a trained generator."""
        extra = 2 * sum(self.modulated)
        weight, bias = state_dict.get("mlp.4.weight"), state_dict.get("mlp.4.bias")
        if extra and weight is not None and bias is not None and weight.shape[0] == self.num_adain_params - extra:
            state_dict = {**state_dict, "mlp.4.weight": torch.cat([weight, weight.new_zeros(extra, weight.shape[1])]),
                          "mlp.4.bias": torch.cat([bias, bias.new_zeros(extra)])}
        return super().load_state_dict(state_dict, strict, assign)

    @property
    def content_channels(self) -> int:
        """Channels of `encode_content`'s features (what a `LatentPrior` reads)."""
        return self.config.base_channels * 2 ** self.config.n_downsample

    def adain_params(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, nz) → AdaIN parameter vector (B, P)."""
        return self.mlp(z)

    def adain_bias_mask(self) -> torch.Tensor:
        """Bool (P,) marking the bias entries of the AdaIN vector (the rest are scales)."""
        parts = []
        for block in self.adain_blocks:
            ch = block.norm1.channels
            is_bias = torch.tensor([False, True, False, True]).repeat_interleave(ch)
            parts.append(is_bias)
        parts += [torch.tensor([False, True]).repeat_interleave(ch) for ch in self.modulated]
        return torch.cat(parts)

    def encode_content(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Content features and skip features; independent of z, so computed once when fitting AdaIN."""
        h = self.stem(x)
        features = []
        for down in self.downs:
            features.append(h)
            h = down(h)
        return self.content_blocks(h), list(reversed(features))

    def decode(self, content: tuple[torch.Tensor, list[torch.Tensor]], adain: torch.Tensor) -> torch.Tensor:
        h, features = content
        if adain.shape[0] != h.shape[0]:
            adain = adain.expand(h.shape[0], -1)
        sizes = [b.num_adain_params for b in self.adain_blocks] + [2 * ch for ch in self.modulated]
        params = adain.split(sizes, 1)
        for block, p in zip(self.adain_blocks, params):
            h = block(h, p)
        for i, up in enumerate(self.ups):
            h = up(F.interpolate(h, scale_factor=2, mode="nearest"))
            if self.modulated:
                scale, bias = params[len(self.adain_blocks) + i].chunk(2, 1)
                h = h * (1 + scale[:, :, None, None]) + bias[:, :, None, None]
            h = F.relu(h)
            if self.skips is not None:
                h = h + self.skips[i](features[i])
        return torch.tanh(self.head(h))

    def forward(self, x: torch.Tensor, z: torch.Tensor | None = None, adain: torch.Tensor | None = None) -> torch.Tensor:
        """Generate from z (B, nz) or from an AdaIN vector (B, P); exactly one must be given."""
        if (z is None) == (adain is None):
            raise ValueError("pass exactly one of z or adain")
        if adain is None:
            adain = self.adain_params(z)
        return self.decode(self.encode_content(x), adain)
