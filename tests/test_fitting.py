"""artzoo.fitting: one objective and one Adam step for Algorithm 1 (fit, fit_hints) and Algorithm 2 (the
regulariser phase), so the learned decay is trained for the fit users actually run."""

import pytest
import torch
from accelerate import Accelerator

from artzoo import ArtzooError, WorkflowPipeline, fitting
from artzoo.training.phases import RegularizerPhase

SIZE = 32


def _cfg(perceptual_weight: float) -> dict:
    return {"train": {"lr": 2e-4, "betas": [0.5, 0.999], "precision": "float32"},
            "regularizer": {"batch_size": 2, "outer_steps": 1, "inner_steps": 6, "inner_lr": 0.1, "lr": 1e-3,
                            "adv_weight": 1.0, "perceptual_weight": perceptual_weight, "calibrate": False}}


def _pipe() -> WorkflowPipeline:
    pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=SIZE, preset="tiny",
                                        discriminators=True, regularizer=True, seed=3)
    for i, t in enumerate(pipe.transitions):  # each transition its own, non-uniform θ
        t.regularizer.theta.data = torch.linspace(-0.02, 0.05, t.regularizer.theta.numel()) * (i + 1)
    return pipe


@pytest.mark.parametrize("perceptual_weight", [1.0, 0.0])
def test_regulariser_phase_optimises_the_fit_objective(perceptual_weight):
    """With θ frozen, the regulariser phase's inner loop lands on exactly the Δ that `fit` finds for the
    same pair, decay and steps: Algorithm 2 differentiates through Algorithm 1, not a copy of it."""
    pipe, cfg = _pipe(), _cfg(perceptual_weight)
    gen = torch.Generator().manual_seed(0)
    x = [torch.rand(2, c, SIZE, SIZE, generator=gen) * 2 - 1 for c in pipe.channels]
    phase = RegularizerPhase(pipe, cfg, Accelerator(cpu=True))
    phase.opt_theta.param_groups[0]["lr"] = 0.0  # keep w fixed, so fit can use the same decay
    phase.step(x, 0)

    with torch.no_grad():
        mus = [t.latent_encoder(x[i + 1][:1])[0] for i, t in enumerate(pipe.transitions)]
    wf = pipe.generate(x[0][:1], z=mus)
    wf.targets = [xi[:1] for xi in x]
    c = cfg["regularizer"]
    fitted = pipe.fit(wf, steps=c["inner_steps"], lr=c["inner_lr"], regularizer="learned",
                      perceptual_weight=perceptual_weight)
    # Transition 0 starts from the same content (the real sketch); later ones start from fitted stages.
    assert torch.count_nonzero(fitted.delta[0]) > 0
    torch.testing.assert_close(fitted.delta[0], phase.last_delta[0], rtol=1e-4, atol=1e-6)


def test_adam_step_is_differentiable_in_the_decay_and_matches_torch_adam():
    torch.manual_seed(0)
    delta, grad = torch.randn(5), torch.randn(5)
    w = torch.rand(5, requires_grad=True)
    new, _ = fitting.adam_step(delta, grad, fitting.AdamState.zeros_like(delta), 0.1, w)
    new.sum().backward()
    assert w.grad is not None and torch.isfinite(w.grad).all() and w.grad.abs().sum() > 0

    # Without decay the step is Adam's (eps placement aside): compare several steps with torch.optim.Adam.
    var = delta.clone().requires_grad_(True)
    opt = torch.optim.Adam([var], lr=0.1, betas=fitting.ADAM_BETAS, eps=fitting.ADAM_EPS)
    mine, state = delta.clone(), fitting.AdamState.zeros_like(delta)
    for k in range(5):
        g = torch.sin(torch.arange(5.0) + k)
        var.grad = g.clone()
        opt.step()
        mine, state = fitting.adam_step(mine, g, state, 0.1)
    torch.testing.assert_close(mine, var.detach(), rtol=1e-5, atol=1e-6)


def test_zero_gradient_entries_keep_the_meta_gradient_finite():
    delta, grad = torch.zeros(4), torch.tensor([0.0, 1.0, 0.0, -2.0])
    w = torch.full((4,), 1e-3, requires_grad=True)
    new, _ = fitting.adam_step(delta, grad, fitting.AdamState.zeros_like(delta), 0.1, w)
    new.sum().backward()
    assert torch.isfinite(w.grad).all()


@pytest.mark.parametrize("value, expected", [(None, None), ("none", None), ("learned", "learned"), (0, 0.0),
                                             ("0.5", 0.5), (2, 2.0)])
def test_parse_regularizer_accepts_the_documented_choices(value, expected):
    assert fitting.parse_regularizer(value) == expected


@pytest.mark.parametrize("value", ["strong", -1, float("nan"), float("inf"), True, [1]])
def test_parse_regularizer_names_the_choices_on_bad_input(value):
    with pytest.raises(ArtzooError, match="none, 'learned' or a weight decay"):
        fitting.parse_regularizer(value)


def test_decay_weights_per_choice():
    reg = _pipe().transitions[1].regularizer
    assert fitting.decay_weights(None, 7) is None
    assert torch.equal(fitting.decay_weights(0.25, 3), torch.full((3,), 0.25))
    learned = fitting.decay_weights("learned", reg.config.num_params, reg)
    assert torch.equal(learned, reg().detach()) and not learned.requires_grad
    with pytest.raises(ArtzooError, match="no learned regulariser"):
        fitting.decay_weights("learned", 3, None)


def test_balanced_decay_follows_the_loss_scale():
    """w only means something relative to the fit's gradient: a loss 10× larger (same Adam path, gradient
    10× larger) balances at a 10× larger decay."""
    target = torch.linspace(-1, 1, 40).reshape(2, 20)
    loss = lambda d: ((d - target) ** 2).sum(1) + (d - target).abs().sum(1)  # noqa: E731
    w = fitting.balanced_decay(loss, torch.zeros_like(target), steps=30)
    w10 = fitting.balanced_decay(lambda d: 10 * loss(d), torch.zeros_like(target), steps=30)
    assert w > 0 and w10 == pytest.approx(10 * w, rel=1e-3)


def test_regulariser_phase_calibrates_then_meta_learns_on_the_fit_objective_with_a_new_edit_each_step():
    pipe, cfg = _pipe(), _cfg(1.0)
    cfg["regularizer"] |= {"batch_size": 3, "inner_steps": 4, "calibrate": True}
    gen = torch.Generator().manual_seed(1)
    x = [torch.rand(3, c, SIZE, SIZE, generator=gen) * 2 - 1 for c in pipe.channels]
    t = pipe.transitions[0]
    g = t.generator
    with torch.no_grad():
        edit_contents = g.encode_content(x[0][1:])[0]
    decoded = []
    decode = g.decode
    g.decode = lambda content, adain: decoded.append(content[0].detach()) or decode(content, adain)
    phase = RegularizerPhase(pipe, cfg, Accelerator(cpu=True))
    logs = phase.step(x, 0)
    # Step 0: θ restarted at the init, with w starting at the decay that balances the fit's gradient.
    with torch.no_grad():
        adain = g.adain_params(t.latent_encoder(x[1])[0])
        content = g.encode_content(x[0])
    objective = fitting.FitObjective(x[1], pipe.perceptual)
    balanced = fitting.balanced_decay(lambda d: objective(decode(content, adain + d)), torch.zeros_like(adain))
    assert logs["R0/w_init"] == pytest.approx(balanced, rel=1e-4)
    assert t.regularizer.config.scale * torch.nn.functional.softplus(
        torch.tensor(t.regularizer.config.init), beta=t.regularizer.config.beta).item() == pytest.approx(balanced)
    # The meta reconstruction is the fit objective itself (L1 + perceptual), at the last inner Δ.
    with torch.no_grad():
        adain0 = g.adain_params(t.latent_encoder(x[1][:1])[0])
        fit = fitting.FitObjective(x[1][:1], pipe.perceptual)(decode(g.encode_content(x[0][:1]), adain0 + phase.last_delta[0]))
    assert logs["R0/recon"] == pytest.approx(fit.item(), rel=1e-4)
    # One edit decoded per inner step, cycling through the batch's other pictures.
    rows = [next((r for r in range(2) if torch.equal(c[0], edit_contents[r])), None) for c in decoded if len(c) == 1]
    assert [r for r in rows if r is not None] == [0, 1, 0, 1]
    # Later steps keep learning from there: no second restart.
    assert "R0/w_init" not in phase.step(x, 1)
