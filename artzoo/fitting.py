"""Test-time fitting, the paper's Algorithms 1 and 2, in one place.

Algorithm 1 (AdaIN optimisation): for one transition, an increment Δ added to the generator's AdaIN
vector is optimised with Adam so the regenerated stage matches a target; the generator stays frozen.
Algorithm 2 (learned regulariser) trains a per-parameter weight decay w by differentiating through
those very Adam steps. Both use what is here, so they cannot drift apart:

- `FitObjective`  the fit loss per sample: L1 + perceptual_weight × perceptual distance to the target
- `decay_weights` the decay w for a regulariser choice: none, a constant, or the learned one
- `adam_step`     one Adam step on Δ with the decay w ⊙ Δ added to the gradient; differentiable with
                  respect to w (and so θ) when w carries a graph: the step Algorithm 2 trains through
- `optimise`      Algorithm 1's loop over `adam_step`, with a progress callback and the loss curve
- `balanced_decay` the decay that balances the fit loss's gradient at the end of an undecayed fit: the
                  learned regulariser's starting w (w only means something relative to that gradient)

Imports only the networks' output conventions and the perceptual loss: nothing about files or training.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import torch

from .errors import ArtzooError
from .perceptual import PerceptualLoss

# Algorithm 1's defaults, used by the library, the CLI, the app and the evaluation alike.
FIT_STEPS = 60
FIT_LR = 0.1
PERCEPTUAL_WEIGHT = 1.0
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8

ProgressFn = Callable[[int, int, str, float], None]


class FitObjective:
    """L1 + ``perceptual_weight`` × perceptual distance to a fixed target, per sample: shape (B,).

    The target's perceptual features are computed once, here, not at every step.
    """

    def __init__(self, target: torch.Tensor, perceptual: PerceptualLoss | None,
                 perceptual_weight: float = PERCEPTUAL_WEIGHT):
        self.target = target
        self.perceptual = perceptual if perceptual_weight else None
        self.perceptual_weight = perceptual_weight
        self.target_features = self.perceptual.features(target) if self.perceptual is not None else None

    def __call__(self, out: torch.Tensor) -> torch.Tensor:
        loss = (out - self.target).abs().flatten(1).mean(1)
        if self.perceptual is not None:
            loss = loss + self.perceptual_weight * self.perceptual(out, target_features=self.target_features)
        return loss


def parse_regularizer(value):
    """A regulariser choice from code, the CLI or the app: None/"none", "learned", or a weight decay ≥ 0
    (a number or its text). Anything else is an error naming the choices."""
    if value is None or value == "none":
        return None
    if value == "learned":
        return "learned"
    if isinstance(value, bool):
        value = "bool"  # True is not a decay
    try:
        decay = float(value)
    except (TypeError, ValueError):
        decay = -1.0
    if not decay >= 0 or decay == float("inf"):
        raise ArtzooError(f"regularizer must be none, 'learned' or a weight decay ≥ 0, got {value!r}")
    return decay


def decay_weights(regularizer, num_params: int, learned: torch.nn.Module | None = None,
                  device: torch.device | str = "cpu") -> torch.Tensor | None:
    """The decay w (P,) for a regulariser choice (see `parse_regularizer`); ``learned`` is the
    transition's `LearnedRegularizer`, needed only for "learned". Detached: fitting does not train it."""
    choice = parse_regularizer(regularizer)
    if choice is None:
        return None
    if choice == "learned":
        if learned is None:
            raise ArtzooError("this pipeline has no learned regulariser; use regularizer=None or a weight-decay value")
        return learned().detach()
    return torch.full((num_params,), choice, device=device)


@dataclasses.dataclass
class AdamState:
    """Adam's moments for one increment and the step count (bias correction)."""

    m: torch.Tensor
    v: torch.Tensor
    step: int = 0

    @classmethod
    def zeros_like(cls, x: torch.Tensor) -> "AdamState":
        return cls(torch.zeros_like(x), torch.zeros_like(x))

    def detach(self) -> "AdamState":
        return AdamState(self.m.detach(), self.v.detach(), self.step)


def adam_step(delta: torch.Tensor, grad: torch.Tensor, state: AdamState, lr: float,
              decay: torch.Tensor | None = None) -> tuple[torch.Tensor, AdamState]:
    """One Adam step on Δ minimising the objective whose gradient is ``grad``, with the decay w ⊙ Δ
    added to that gradient (decoupled from the loss, as the paper's regulariser is).

    Written out (not torch.optim) so the new Δ is a differentiable function of w: Algorithm 2 takes
    the gradient of a meta-loss at the new Δ with respect to θ through this step. ``delta`` and
    ``grad`` are treated as constants; eps sits inside the square root because sqrt'(0) is infinite and
    AdaIN entries with a zero gradient would otherwise make θ's gradient NaN.
    """
    g = grad if decay is None else grad + decay * delta.detach()
    b1, b2 = ADAM_BETAS
    k = state.step + 1
    m = b1 * state.m + (1 - b1) * g
    v = b2 * state.v + (1 - b2) * g * g
    update = lr * (m / (1 - b1 ** k)) / (v / (1 - b2 ** k) + ADAM_EPS ** 2).sqrt()
    return delta.detach() - update, AdamState(m, v, k)


def loss_and_grad(objective: Callable[[torch.Tensor], torch.Tensor], var: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample losses at ``var`` and the gradient of their sum (each row's gradient is its own,
    whatever the batch), both detached."""
    x = var.detach().requires_grad_(True)
    with torch.enable_grad():
        loss = objective(x)
        grad, = torch.autograd.grad(loss.sum(), x)
    return loss.detach(), grad


def optimise(objective: Callable[[torch.Tensor], torch.Tensor], init: torch.Tensor, steps: int = FIT_STEPS,
             lr: float = FIT_LR, decay: torch.Tensor | None = None, progress: Callable[[int, float], None] | None = None
             ) -> tuple[torch.Tensor, list[float]]:
    """Algorithm 1's loop: ``steps`` Adam steps on ``init`` (Δ, or z for the latent baseline) minimising
    ``objective`` (per-sample losses), with optional decay. Returns the result and the mean loss before
    each step; ``progress(step, loss)`` is called after each step (step counts from 1)."""
    if steps < 0:
        raise ArtzooError(f"steps must be ≥ 0, got {steps}")
    var, state, history = init.detach().clone(), AdamState.zeros_like(init), []
    for step in range(1, steps + 1):
        loss, grad = loss_and_grad(objective, var)
        var, state = adam_step(var, grad, state, lr, decay)
        history.append(loss.mean().item())
        if progress is not None:
            progress(step, history[-1])
    return var, history


def balanced_decay(objective: Callable[[torch.Tensor], torch.Tensor], init: torch.Tensor, steps: int = FIT_STEPS,
                   lr: float = FIT_LR) -> float:
    """The weight decay w at which w·|Δ| equals |∂L/∂Δ| after ``steps`` of Algorithm 1 without decay
    (medians over every entry): weaker, the decay barely acts; stronger, it outweighs the fit and the
    reconstruction is lost. Measured, because the gradient's size depends on the loss and its weights
    (at the old fixed w = 1e-3, w·|Δ| was 30–50× the fit's gradient on fluent-emoji: a decay that undid the fit)."""
    delta, _ = optimise(objective, init, steps, lr)
    _, grad = loss_and_grad(objective, delta)
    return (grad.abs().median() / delta.abs().median().clamp_min(1e-12)).item()
