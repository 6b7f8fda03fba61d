"""The learned regulariser of the paper (Algorithm 2): a per-parameter weight decay for AdaIN fitting.

w = scale · softplus(θ, β), θ ∈ R^P, one entry per AdaIN parameter of the stage's generator. The
decay w ⊙ Δ is added to the gradient of the increment Δ while fitting, pulling Δ back towards 0 by a
learned amount per parameter, so fitted pictures stay editable.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn
import torch.nn.functional as F

from .config import NetConfig


@dataclasses.dataclass
class RegularizerConfig(NetConfig):
    num_params: int = 1024
    scale: float = 0.01
    beta: float = 100.0
    init: float = 0.1

    LIMITS = dict(num_params=(1, 1_000_000), scale=(0, 1000), beta=(0.001, 10_000), init=(-1000, 1000))


class LearnedRegularizer(nn.Module):
    def __init__(self, config: RegularizerConfig):
        super().__init__()
        self.config = config
        self.theta = nn.Parameter(torch.full((config.num_params,), config.init))

    def forward(self) -> torch.Tensor:
        """The decay weights w (P,), always positive."""
        return self.config.scale * F.softplus(self.theta, beta=self.config.beta)

    @property
    def starting_w(self) -> float:
        """w at θ's init, before meta-learning moved it (the same for every entry)."""
        return self.config.scale * self._softplus_init()

    @torch.no_grad()
    def restart(self, w_init: float) -> None:
        """θ back to its init, with the scale set so that w starts at ``w_init`` everywhere."""
        self.theta.fill_(self.config.init)
        self.config.scale = w_init / self._softplus_init()

    def _softplus_init(self) -> float:
        return F.softplus(torch.tensor(self.config.init), beta=self.config.beta).item()
