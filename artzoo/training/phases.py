"""The three training phases of the paper, one optimisation step at a time.

Each phase owns its optimisers and exposes ``step(batch, step) -> {loss name: value}``; the loop in
`artzoo.training.loop` handles data, logging, checkpoints and resumption. ``batch`` is a list with one
(B, C, H, W) tensor per stage, ground truth in [-1, 1].
"""

from __future__ import annotations

import copy

import torch
from torch import nn
import torch.nn.functional as F
from torch.func import functional_call

from .. import fitting
from ..errors import ArtzooError
from ..models import LatentPrior, PriorConfig
from .losses import colour_code, hinge_d, hinge_g, kl_normal, mode_seeking


def trainable(modules, flag: bool) -> None:
    for m in modules:
        m.requires_grad_(flag)


def parameters(modules) -> list[nn.Parameter]:
    return [p for m in modules for p in m.parameters()]


def critic_halves(disc, real: torch.Tensor, fake: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """A multi-scale critic's outputs for real and fake pictures, from one pass over both."""
    out = [o.float() for o in disc(torch.cat([real, fake]))]  # hinge means in float32 under autocast
    return [o[:len(real)] for o in out], [o[len(real):] for o in out]


PRECISIONS = {"float32": torch.float32, "bfloat16": torch.bfloat16}  # train.precision, or "auto"


def native_bfloat16(device: torch.device) -> bool:
    """Whether this device multiplies in bfloat16 natively: a GPU that does, or a CPU with AVX512-BF16 or
    AMX (oneDNN's bf16 kernels; on other CPUs they are emulated and slower than float32)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type != "cpu":
        return False
    flags = (cpu_info("flags") or "").split()
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cpu_info(field: str) -> str | None:
    """A field of /proc/cpuinfo's first processor ("model name", "flags"); None where there is none."""
    try:
        return next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith(field))
    except (OSError, StopIteration):
        return None


def chosen_transitions(cfg: dict, phase: str, n: int) -> list[int]:
    """``<phase>.transitions``: the transitions a phase trains, as sorted indices (empty or absent: all)."""
    chosen = cfg[phase].get("transitions") or list(range(n))
    if not isinstance(chosen, list) or not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < n
                                               for i in chosen):
        raise ArtzooError(f"{phase}.transitions must list transition indices 0..{n - 1}, got {chosen!r}")
    return sorted(set(chosen))


class Phase:
    """Shared plumbing: Adam optimisers and data-parallel gradient averaging."""

    name = ""
    batch_size = 1

    def __init__(self, pipe, cfg: dict, accelerator):
        self.pipe = pipe
        self.cfg = cfg
        self.accelerator = accelerator
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        precision = cfg["train"]["precision"]
        if precision == "auto":
            precision = "bfloat16" if native_bfloat16(accelerator.device) else "float32"
        if precision not in PRECISIONS:
            raise ArtzooError(f"train.precision must be one of {[*PRECISIONS, 'auto']}, got {precision!r}")
        self.precision = precision
        self.dtype = PRECISIONS[precision]

    def autocast(self):
        """Forward passes in the configured precision (autocast: matrix products in bfloat16 where asked)."""
        return torch.autocast(self.accelerator.device.type, dtype=self.dtype, enabled=self.dtype != torch.float32)

    def adam(self, name: str, params, lr: float | None = None) -> torch.optim.Optimizer:
        opt = torch.optim.Adam(params, lr=lr or self.cfg["train"]["lr"], betas=tuple(self.cfg["train"]["betas"]))
        self.optimizers[name] = opt
        return opt

    def update(self, opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        self.backward(opt, loss)
        opt.step()

    def backward(self, opt: torch.optim.Optimizer, loss: torch.Tensor, retain_graph: bool = False) -> None:
        """Gradients of ``loss`` for ``opt``'s parameters only (no time spent on other networks' weights,
        frozen or not), averaged over processes (each saw different samples)."""
        opt.zero_grad(set_to_none=True)
        loss.backward(inputs=[p for group in opt.param_groups for p in group["params"]], retain_graph=retain_graph)
        if self.accelerator.num_processes > 1:
            grads = [p.grad for group in opt.param_groups for p in group["params"] if p.grad is not None]
            flat = self.accelerator.reduce(torch.cat([g.flatten() for g in grads]), reduction="mean")
            offset = 0
            for g in grads:
                g.copy_(flat[offset:offset + g.numel()].view_as(g))
                offset += g.numel()


class InferencePhase(Phase):
    """I_i: x_{i+1} → x_i with a conditional hinge GAN + L1; separate, then chained (joint).
    ``inference.transitions`` (default: all) names the nets trained; the others stay as they are and, in
    joint steps, only hand their pictures on."""

    name = "inference"

    def __init__(self, pipe, cfg, accelerator):
        super().__init__(pipe, cfg, accelerator)
        c = cfg["inference"]
        self.batch_size = c["batch_size"]
        self.steps_separate, self.total_steps = c["steps_separate"], c["steps_separate"] + c["steps_joint"]
        self.trained = chosen_transitions(cfg, "inference", len(pipe.transitions))
        self.nets = [t.inference for t in pipe.transitions]
        self.discs = [t.discriminators["disc_inference"] for t in pipe.transitions]
        self.opt_g = self.adam("inference", parameters(self.nets[i] for i in self.trained))
        self.opt_d = self.adam("disc_inference", parameters(self.discs[i] for i in self.trained))

    def step(self, x: list[torch.Tensor], step: int) -> dict[str, float]:
        joint = step >= self.steps_separate
        logs, g_loss, pairs = {}, 0.0, []
        source = x[-1]
        nets, discs = [self.nets[i] for i in self.trained], [self.discs[i] for i in self.trained]
        trainable(nets, True)
        trainable(discs, False)
        for i in reversed(range(len(self.nets))):
            # Joint: stage i is inferred from the (detached) inferred stage i+1, as at test time.
            inp = source if joint else x[i + 1]
            if i not in self.trained:
                if joint:
                    with torch.no_grad():
                        source = self.nets[i](inp)
                continue
            out = self.nets[i](inp)
            adv = hinge_g(self.discs[i](torch.cat([inp, out], 1)))
            l1 = F.l1_loss(out, x[i])
            g_loss = g_loss + adv + self.cfg["inference"]["l1_weight"] * l1
            pairs.append((self.discs[i], torch.cat([inp, x[i]], 1), torch.cat([inp, out.detach()], 1)))
            logs[f"I{i}/adv"], logs[f"I{i}/l1"] = adv.item(), l1.item()
            source = out.detach()
        self.update(self.opt_g, g_loss)
        trainable(nets, False)
        trainable(discs, True)
        d_loss = 0.0
        for i, (disc, real, fake) in zip(reversed(self.trained), pairs):
            d = hinge_d(disc(real), disc(fake))
            d_loss = d_loss + d
            logs[f"I{i}/d"] = d.item()
        self.update(self.opt_d, d_loss)
        trainable(discs, False)
        return logs


# The generation phase's named choices (train/configs/base.toml says what each means), first value the default.
CHOICES = {"joint_inputs": ("inferred", "generated"), "critic_scales": ("sum", "mean"),
           "kl_over_batch": ("sum", "mean"), "cycle_branches": ("random", "both")}


class GenerationPhase(Phase):
    """G_i, E_i: BicycleGAN (cVAE-GAN + cLR-GAN) + cycle consistency through the frozen I_i.

    The batch's first half feeds the encoded-z branch, the second half the random-z branch. With mode
    seeking on, the random half is pairs (same input, two z) so the term costs no extra forward pass.
    ``generation.transitions`` (default: all) names the transitions trained; the others stay as they
    are and, in joint steps, only hand their pictures on.
    """

    name = "generation"

    def __init__(self, pipe, cfg, accelerator):
        super().__init__(pipe, cfg, accelerator)
        c = cfg["generation"]
        self.c = c
        self.batch_size = c["batch_size"]
        self.steps_separate, self.total_steps = c["steps_separate"], c["steps_separate"] + c["steps_joint"]
        self.trained = chosen_transitions(cfg, "generation", len(pipe.transitions))
        ts = [pipe.transitions[i] for i in self.trained]
        self.gens = [m for t in ts for m in (t.generator, t.latent_encoder)]
        self.discs = [m for t in ts for m in (t.discriminators["disc_encoded"], t.discriminators["disc_random"])]
        self.opt_g = self.adam("generation", parameters(self.gens))
        self.opt_d = self.adam("disc_generation", parameters(self.discs))
        for key, allowed in CHOICES.items():
            if c[key] not in allowed:
                raise ArtzooError(f"generation.{key} must be one of {allowed}, got {c[key]!r}")
        self.sum_scales = c["critic_scales"] == "sum"

    @torch.no_grad()
    def infer(self, final: torch.Tensor) -> list[torch.Tensor]:
        """x̂_1 … x̂_N: the frozen inference nets run backwards from the real final stage, as in
        `WorkflowPipeline.decompose` (x̂_N is x_N itself)."""
        stages = [final]
        for t in reversed(self.pipe.transitions):
            stages.insert(0, t.inference(stages[0]))
        return stages

    def step(self, x: list[torch.Tensor], step: int) -> dict[str, float]:
        logs = {}
        trainable(self.gens + self.discs, True)
        with self.autocast():
            g_loss, d_loss = self.losses(x, step >= self.steps_separate, logs, warmup=step < self.c["encoder_warmup"])
        # Both gradients before either step: a step changes the critics' weights the graph still needs.
        self.backward(self.opt_d, d_loss, retain_graph=True)
        self.backward(self.opt_g, g_loss)
        self.opt_d.step()
        self.opt_g.step()
        trainable(self.gens + self.discs, False)
        return logs

    @staticmethod
    def generate_branches(gen, inp_enc, inp_rand, pairs: bool, z_enc, z_rand) -> tuple[torch.Tensor, torch.Tensor]:
        """G(inp_enc, z_enc) and G(inp_rand, z_rand) from one pass; ``pairs``: inp_rand's halves are equal."""
        distinct = inp_rand[: len(inp_rand) // 2] if pairs else inp_rand
        h, skips = gen.encode_content(torch.cat([inp_enc, distinct]))
        if pairs:  # the random branch's two halves share their content
            n = len(inp_enc)
            h, *skips = (torch.cat([f[:n], f[n:].repeat(2, 1, 1, 1)]) for f in [h, *skips])
        fakes = gen.decode((h, skips), gen.adain_params(torch.cat([z_enc, z_rand])))
        return fakes[: len(inp_enc)], fakes[len(inp_enc):]

    def losses(self, x: list[torch.Tensor], joint: bool, logs: dict, warmup: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """The generators' and the critics' losses over every transition (each term logged into ``logs``).
        ``warmup``: each latent encoder learns only `colour_code` and the generator learns from its codes
        (detached), so the generator already reads colour from z when the two start training together."""
        c = self.c
        half = x[0].shape[0] // 2
        g_loss, d_loss = 0.0, 0.0
        # Joint, "inferred" (the reference's): train on what a decomposed picture gives at test time,
        # the inferred sketch for G_0 and the inferred stages for the latent encoders.
        inferred = self.infer(x[-1]) if joint and c["joint_inputs"] == "inferred" else None
        source = x[0] if inferred is None else inferred[0]
        for i, t in enumerate(self.pipe.transitions):
            gen, enc = t.generator, t.latent_encoder
            d_enc, d_rand = t.discriminators["disc_encoded"], t.discriminators["disc_random"]
            # Joint: stage i > 0 comes from the previous transition's (detached) outputs, as G_i gets
            # G_{i-1}'s picture when a workflow is regenerated; targets stay real.
            inp = source if joint else x[i]
            target = x[i + 1]
            encoded = target if inferred is None else inferred[i + 1]
            if i not in self.trained:
                if joint and i + 1 < len(self.pipe.transitions):  # a frozen transition hands its pictures on
                    with torch.no_grad():
                        z = torch.cat([enc(encoded[:half])[0], torch.randn(len(inp) - half, gen.config.nz, device=inp.device)])
                        source = gen(inp, z)
                continue
            # cVAE-GAN: z from the next stage (reparameterised) must reconstruct the real one.
            mu, logvar = enc(encoded[:half])
            z_enc = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
            if warmup:
                z_enc = z_enc.detach()
            # cLR-GAN: z ~ N(0, I) must be recoverable from the picture it made.
            inp_rand = inp[half:]
            pairs = c["mode_seeking_weight"] > 0
            if pairs:
                inp_rand = inp_rand[: len(inp_rand) // 2].repeat(2, 1, 1, 1)
            z_rand = torch.randn(len(inp_rand), mu.shape[1], device=mu.device)
            # Both branches in one generator pass (its norms are per picture, so this is exact), each
            # distinct input's content encoded once.
            fake_enc, fake_rand = self.generate_branches(gen, inp[:half], inp_rand, pairs, z_enc, z_rand)
            # The encoder is not updated by latent regression: run it with detached weights.
            frozen = {k: v.detach() for k, v in enc.named_parameters()}
            mu_rec, _ = functional_call(enc, frozen, (fake_rand,))
            # Cycle: the frozen inference net must take the output back to the input, so stage i+1
            # adds only its own variation and keeps the content of stage i. The target is G_i's own
            # input, real, inferred or generated alike; latent regression and KL only compare z's.
            fakes = torch.cat([fake_enc, fake_rand])
            if c["cycle_branches"] == "random":  # the reference's: the encoded branch has its L1 to the target
                cycle = F.l1_loss(t.inference(fake_rand), inp_rand)
            else:
                cycle = F.l1_loss(t.inference(fakes), torch.cat([inp[:half], inp_rand]))
            # One critic pass over real and fake together serves both players: the generator's hinge
            # reads its fake half, the critic's hinge both halves (what a second pass over detached fakes
            # would give, as the critic is updated only after this step).
            real_e, fake_e = critic_halves(d_enc, target[:half], fake_enc)
            real_r, fake_r = critic_halves(d_rand, target[half:], fake_rand)
            terms = {
                "adv_enc": hinge_g(fake_e, self.sum_scales),
                "adv_rand": hinge_g(fake_r, self.sum_scales),
                "l1": F.l1_loss(fake_enc, target[:half]),
                "kl": kl_normal(mu, logvar, sum_batch=c["kl_over_batch"] == "sum"),
                "latent": F.l1_loss(mu_rec, z_rand),
                "cycle": cycle,
            }
            weights = {"adv_enc": 1.0, "adv_rand": 1.0, "l1": c["l1_weight"], "kl": c["kl_weight"],
                       "latent": c["latent_weight"], "cycle": c["cycle_weight"]}
            if warmup:  # the encoder's only loss (its codes reach the generator detached)
                del terms["kl"], weights["kl"]
                terms["colour_code"], weights["colour_code"] = colour_code(mu, encoded[:half]), 1.0
            if c["mode_seeking_weight"] > 0:
                q = len(inp_rand) // 2
                terms["ms"] = mode_seeking(fake_rand[:q], fake_rand[q:], z_rand[:q], z_rand[q:])
                weights["ms"] = c["mode_seeking_weight"]
            g_loss = g_loss + sum(weights[k] * v for k, v in terms.items())
            de, dr = hinge_d(real_e, fake_e, self.sum_scales), hinge_d(real_r, fake_r, self.sum_scales)
            d_loss = d_loss + de + dr
            logs.update({f"G{i}/{k}": v.item() for k, v in terms.items()})
            logs[f"G{i}/d_enc"], logs[f"G{i}/d_rand"] = de.item(), dr.item()
            source = fakes.detach()
        return g_loss, d_loss


class RegularizerPhase(Phase):
    """Learned AdaIN weight decay w = scale·softplus(θ) (the paper's Algorithm 2), per transition.

    Each step is one outer iteration: sample 0 of the batch is the pair to fit, the others' stage i are
    the edit inputs (a new one at every inner step, cycling), the batch's stage i+1 are real images for
    the discriminator copy. The inner loop is Algorithm 1 itself (`artzoo.fitting`: the same objective
    and Adam step as `WorkflowPipeline.fit`) with decay w; after every inner step, θ gets the gradient of
    the meta-loss (that fit objective + adversarial loss of the edit) through that one step (earlier Δ
    and Adam moments are constants). At step 0 (with ``calibrate``) θ restarts from its init at the
    decay that balances the fit's gradient (`fitting.balanced_decay`), measured on the first batch.
    """

    name = "regularizer"

    def __init__(self, pipe, cfg, accelerator):
        super().__init__(pipe, cfg, accelerator)
        c = cfg["regularizer"]
        self.c = c
        if c["batch_size"] < 2:
            raise ArtzooError(f"regularizer.batch_size must be ≥ 2 (a pair to fit and an edit), got {c['batch_size']}")
        self.batch_size = c["batch_size"]
        self.total_steps = c["outer_steps"]
        self.regs = [t.regularizer for t in pipe.transitions]
        self.opt_theta = self.adam("regularizer", parameters(self.regs), lr=c["lr"])
        self.last_delta: list[torch.Tensor | None] = [None] * len(self.regs)  # each transition's last inner fit

    def objective(self, t, x: list[torch.Tensor], i: int, rows: slice):
        """Algorithm 1's fit loss for rows of the batch at transition i, as a function of Δ; and a."""
        gen = t.generator
        target = x[i + 1][rows]
        with torch.no_grad():
            adain = gen.adain_params(t.latent_encoder(target)[0])
            content = gen.encode_content(x[i][rows])
            objective = fitting.FitObjective(target, self.pipe.perceptual, self.c["perceptual_weight"])
        return (lambda d: objective(gen.decode(content, adain + d))), adain

    def calibrate(self, x: list[torch.Tensor]) -> dict[str, float]:
        logs = {}
        for i, t in enumerate(self.pipe.transitions):
            fit_loss, adain = self.objective(t, x, i, slice(None))
            w_init = fitting.balanced_decay(fit_loss, torch.zeros_like(adain))
            if self.accelerator.num_processes > 1:  # each measured its own batch; θ must start equal everywhere
                measured = torch.tensor(w_init, device=self.accelerator.device)
                w_init = self.accelerator.reduce(measured, reduction="mean").item()
            t.regularizer.restart(w_init)
            logs[f"R{i}/w_init"] = w_init
        self.opt_theta.state.clear()  # Adam's moments belonged to the old θ
        return logs

    def step(self, x: list[torch.Tensor], step: int) -> dict[str, float]:
        c = self.c
        logs = self.calibrate(x) if step == 0 and c["calibrate"] else {}
        trainable(self.regs, True)
        for i, t in enumerate(self.pipe.transitions):
            gen = t.generator
            real = x[i + 1]
            # Algorithm 1's own objective and Adam step (artzoo.fitting): θ learns a decay for the fit
            # that users run, and the meta reconstruction is that same objective.
            fit_loss, adain = self.objective(t, x, i, slice(0, 1))
            with torch.no_grad():
                h, skips = gen.encode_content(x[i][1:])
            # A fresh copy of the stage critic each outer iteration, trained on the edits as they drift.
            disc = copy.deepcopy(t.discriminators["disc_encoded"]).requires_grad_(False)
            opt_d = torch.optim.Adam(disc.parameters(), lr=self.cfg["train"]["lr"], betas=tuple(self.cfg["train"]["betas"]))
            delta, state = torch.zeros_like(adain), fitting.AdamState.zeros_like(adain)
            for k in range(c["inner_steps"]):
                _, grad = fitting.loss_and_grad(fit_loss, delta)
                # The new Δ depends on θ through w: the meta-gradient flows through this one step.
                delta_new, state = fitting.adam_step(delta, grad, state, c["inner_lr"], t.regularizer())
                recon = fit_loss(delta_new).mean()
                e = k % len(h)  # a new edit input at every inner step
                edited = gen.decode((h[e:e + 1], [f[e:e + 1] for f in skips]), adain + delta_new)
                adv = hinge_g(disc(edited))
                self.update(self.opt_theta, recon + c["adv_weight"] * adv)
                disc.requires_grad_(True)
                d = hinge_d(disc(real), disc(edited.detach()))
                opt_d.zero_grad(set_to_none=True)
                d.backward()
                opt_d.step()
                disc.requires_grad_(False)
                delta, state = delta_new.detach(), state.detach()
            self.last_delta[i] = delta
            w = t.regularizer().detach()
            logs.update({f"R{i}/recon": recon.item(), f"R{i}/adv": adv.item(), f"R{i}/d": d.item(),
                         f"R{i}/w_mean": w.mean().item(), f"R{i}/w_median": w.median().item(),
                         f"R{i}/delta": delta.abs().mean().item()})
        trainable(self.regs, False)
        return logs


class PriorPhase(Phase):
    """p(z | x_i) per transition (`LatentPrior`, not in the paper): the negative log-likelihood of the
    code E_i gives the real next stage, under a mixture over z read from G_i's content features of x_i.

    Generator and encoder stay frozen, so their outputs for the training split are computed once (`draw`
    does it on its first call; features kept in float16) and each step only trains the small head: many
    epochs in minutes on a CPU. At the end (`finish`) the codes fill the prior's bank with the trained
    head's keys of their drawings (prior="bank" and "nearest"). ``prior.transitions`` (default: all)
    names the priors trained and re-indexed; the others stay as they are.
    """

    name = "prior"

    def __init__(self, pipe, cfg, accelerator):
        super().__init__(pipe, cfg, accelerator)
        c = cfg["prior"]
        self.batch_size = c["batch_size"]
        self.total_steps = c["steps"]
        self.max_pictures = c["max_pictures"]
        self.max_grad_norm = c["max_grad_norm"]
        self.trained = chosen_transitions(cfg, "prior", len(pipe.transitions))
        for t in (pipe.transitions[i] for i in self.trained):
            if t.prior is None:  # a run (or warm start) from before this phase: add a fresh prior
                config = PriorConfig(in_channels=t.generator.content_channels, nz=t.generator.config.nz,
                                     hidden=c["hidden"], components=c["components"], bank_size=c["bank_size"],
                                     neighbours=c["neighbours"])
                t.prior = LatentPrior(config).to(accelerator.device)
            elif (t.prior.config.neighbours, t.prior.config.bank_size) != (c["neighbours"], c["bank_size"]):
                # A prior from before keys (or with another bank): same weights, a new bank to fill.
                old = t.prior
                t.prior = LatentPrior(old.config.replace(neighbours=c["neighbours"], bank_size=c["bank_size"]))
                t.prior.body.load_state_dict(old.body.state_dict())
                t.prior.head.load_state_dict(old.head.state_dict())
                t.prior.to(accelerator.device)
        self.priors = [pipe.transitions[i].prior for i in self.trained]
        # Weight decay: a few thousand drawings, seen many times over, are easy to memorise.
        self.opt = torch.optim.AdamW(parameters(self.priors), lr=c["lr"], betas=tuple(cfg["train"]["betas"]),
                                     weight_decay=c["weight_decay"])
        self.optimizers["prior"] = self.opt
        self.cache: list[tuple[torch.Tensor, torch.Tensor]] | None = None  # per trained transition: features, codes

    @torch.no_grad()
    def _encode(self, ds) -> None:
        from .loop import batch_of  # the loop imports this module

        per = [([], []) for _ in self.trained]
        # At most max_pictures, spread over the split: encoding is most of this phase's time on a CPU.
        cap = self.max_pictures or len(ds)
        pictures = torch.linspace(0, len(ds) - 1, min(cap, len(ds))).round().long().tolist()
        for start in range(0, len(pictures), 64):
            x = [s.to(self.accelerator.device) for s in batch_of(ds, pictures[start:start + 64])]
            for (features, codes), i in zip(per, self.trained):
                t = self.pipe.transitions[i]
                features.append(t.generator.encode_content(x[i])[0].half().cpu())
                codes.append(t.latent_encoder(x[i + 1])[0].cpu())
        self.cache = [(torch.cat(f), torch.cat(z)) for f, z in per]  # per trained transition

    def draw(self, ds) -> torch.Tensor:
        """The next batch: indices into the encoded training split (drawn from the loop's seeded RNG)."""
        if self.cache is None:
            self._encode(ds)
        return torch.randint(len(self.cache[0][1]), (self.batch_size,))

    def step(self, idx: torch.Tensor, step: int) -> dict[str, float]:
        logs, loss = {}, 0.0
        trainable(self.priors, True)
        for i, prior, (features, codes) in zip(self.trained, self.priors, self.cache):
            dev = self.accelerator.device
            nll = prior.nll(features[idx].to(dev).float(), codes[idx].to(dev)).mean()
            loss = loss + nll
            logs[f"P{i}/nll"] = nll.item()
        self.backward(self.opt, loss)
        # A guard, not a regulariser: one bad batch once sent chairs' prior from NLL −2 to +2000.
        logs["P/grad_norm"] = torch.nn.utils.clip_grad_norm_(parameters(self.priors), self.max_grad_norm).item()
        self.opt.step()
        trainable(self.priors, False)
        return logs

    @torch.no_grad()
    def finish(self, ds) -> None:
        """The bank: every encoded training code, keyed by its drawing under the trained head."""
        if self.cache is None:  # nothing left to train in this command (or a 0-step phase: re-indexing)
            self._encode(ds)
        dev = self.accelerator.device
        for prior, (features, codes) in zip(self.priors, self.cache):
            keys = None
            if prior.config.neighbours:
                keys = torch.cat([prior.key(f.to(dev).float()).cpu() for f in features.split(256)])
            prior.index(codes, keys)


PHASES = {p.name: p for p in (InferencePhase, GenerationPhase, RegularizerPhase, PriorPhase)}
