"""`WorkflowPipeline`: the stage networks of one workflow (e.g. sketch → flat → detail) and what users do
with them: generate by stages, decompose an artwork, fit it (AdaIN optimisation), edit, colour hints.

Transition i turns stage i into stage i+1 and owns
    generator_i        G_i(x_i, z) → x_{i+1}          (MUNIT-style, z → AdaIN through an MLP)
    latent_encoder_i   E_i(x_{i+1}) → (mu, logvar)     (recovers z from a picture)
    inference_i        I_i(x_{i+1}) → x_i              (undoes the step: pix2pix U-Net)
and, for training and the learned regulariser only, discriminators and the regulariser's θ.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
import torch
from PIL import Image
from torch import nn
import torch.nn.functional as F

from . import fitting, hub
from .errors import ArtzooError
from .fitting import ProgressFn
from .images import (Placement, as_pil, cap_source, check_render_kinds, full_size_hints, hint_mask, load_for_model,
                     to_pil)
from .models import (InferenceNet, LatentEncoder, LatentPrior, LearnedRegularizer, MultiScaleDiscriminator,
                     PriorConfig, RegularizerConfig, StageGenerator)
from .models.presets import DISCRIMINATORS, transition_configs

PRIORS = ("normal", "bank", "learned", "nearest")  # where sampled latents come from (see WorkflowPipeline.sample_z)
from .perceptual import PerceptualLoss, load_perceptual
from .validation import check_workflow
from .workflow import Workflow, stage_index

class Transition(nn.Module):
    """The networks of one step i → i+1. Discriminators, regulariser and z prior are optional."""

    def __init__(self, generator: StageGenerator, latent_encoder: LatentEncoder, inference: InferenceNet,
                 discriminators: dict[str, MultiScaleDiscriminator] | None = None,
                 regularizer: LearnedRegularizer | None = None, prior: LatentPrior | None = None):
        super().__init__()
        self.generator = generator
        self.latent_encoder = latent_encoder
        self.inference = inference
        self.discriminators = nn.ModuleDict(discriminators or {})
        self.regularizer = regularizer
        self.prior = prior

    def components(self) -> dict[str, nn.Module]:
        parts = {"generator": self.generator, "latent_encoder": self.latent_encoder, "inference": self.inference,
                 **dict(self.discriminators.items())}
        if self.regularizer is not None:
            parts["regularizer"] = self.regularizer
        if self.prior is not None:
            parts["prior"] = self.prior
        return parts


class WorkflowPipeline(nn.Module):
    """A trained (or freshly built) workflow: stage names, channels, size and one `Transition` per step."""

    def __init__(self, stages: list[str], channels: list[int], image_size: int, transitions: list[Transition],
                 perceptual: PerceptualLoss | None = None, info: dict | None = None,
                 render_kinds: list[str] | None = None, sampling: list[str | None] | None = None):
        super().__init__()
        if len(stages) < 2 or len(stages) != len(channels) or len(transitions) != len(stages) - 1:
            raise ArtzooError("a pipeline needs ≥ 2 stages, one channel count per stage and one transition per step")
        self.stages = list(stages)
        self.channels = list(channels)
        self.image_size = int(image_size)
        self.transitions = nn.ModuleList(transitions)
        self.info = dict(info or {})  # free-form metadata kept in the index (training notes, licence, ...)
        # Per stage, how `Workflow.image(k, original_size=True)` draws it (images.RENDER_KINDS); None:
        # the network's pictures scaled up.
        self.render_kinds = None if render_kinds is None else check_render_kinds(render_kinds, len(stages))
        self.sampling = sampling
        # Not a submodule: the perceptual backbone is a tool for fitting, not part of the saved pipeline.
        object.__setattr__(self, "_perceptual", perceptual)
        self.requires_grad_(False)
        self.eval()

    # ---- construction, saving, loading -------------------------------------------------------------
    @classmethod
    def from_config(cls, stages: list[str], channels: list[int] | None = None, image_size: int = 64,
                    preset: str = "lean", *, skip_connections: bool = True, nz: int = 8,
                    discriminators: bool = False, regularizer: bool = False, seed: int = 0,
                    overrides: dict | None = None, transition_overrides: dict | None = None,
                    render_kinds: list[str] | None = None, prior: bool = False) -> "WorkflowPipeline":
        """A randomly initialised pipeline (for training, or tiny ones for tests).

        channels defaults to 1 for the first stage (sketch) and 3 for the others; ``overrides`` maps
        "generator"/"latent_encoder"/"inference"/"discriminator" to config fields that replace the
        preset's (see `artzoo.models.presets`) in every transition; ``transition_overrides`` maps a
        transition's index (int or its string, as TOML keys are) to such a mapping for that one only.
        """
        channels = list(channels or [1] + [3] * (len(stages) - 1))
        per_transition = {}
        for key, value in (transition_overrides or {}).items():
            index = int(key) if str(key).isdigit() else -1
            if not 0 <= index < len(stages) - 1:
                raise ArtzooError(f"transition_overrides: {key!r} is not a transition index 0..{len(stages) - 2}")
            per_transition[index] = value
        torch.manual_seed(seed)
        transitions = []
        for i in range(len(stages) - 1):
            own = per_transition.get(i, {})
            merged = {net: {**(overrides or {}).get(net, {}), **own.get(net, {})} for net in {**(overrides or {}), **own}}
            configs = transition_configs(preset, channels[i], channels[i + 1], image_size, nz=nz,
                                         skip_connections=skip_connections, discriminators=discriminators,
                                         overrides=merged)
            # Built in this order so a seed gives the same weights as it always did.
            gen = StageGenerator(configs["generator"])
            enc, inf = LatentEncoder(configs["latent_encoder"]), InferenceNet(configs["inference"])
            discs = {k: MultiScaleDiscriminator(configs[k]) for k in DISCRIMINATORS if k in configs}
            reg = LearnedRegularizer(RegularizerConfig(num_params=gen.num_adain_params)) if regularizer else None
            # Built last, so pipelines without one get the same weights for a seed as before it existed.
            pri = LatentPrior(PriorConfig(in_channels=gen.content_channels, nz=nz)) if prior else None
            transitions.append(Transition(gen, enc, inf, discs, reg, pri))
        return cls(stages, channels, image_size, transitions, render_kinds=render_kinds)

    def save_pretrained(self, path: str | os.PathLike, *, dtype: torch.dtype | None = None,
                        include_discriminators: bool = True, model_card: str | None = None) -> Path:
        """Write the pipeline folder atomically (``dtype=torch.float16`` halves its size)."""
        components = {}
        for i, t in enumerate(self.transitions):
            for kind, module in t.components().items():
                if kind in DISCRIMINATORS and not include_discriminators:
                    continue
                components[f"{kind}_{i}"] = module
        index = {"stages": self.stages, "channels": self.channels, "image_size": self.image_size, "info": self.info}
        if self.render_kinds is not None:
            index["render"] = self.render_kinds
        if self.sampling is not None:
            index["sampling"] = self.sampling
        extra = {"README.md": model_card.encode()} if model_card else None
        return hub.write_folder(path, index, components, dtype=dtype, extra_files=extra)

    @classmethod
    def from_pretrained(cls, repo_id_or_path: str | os.PathLike, revision: str | None = None,
                        cache_dir: str | os.PathLike | None = None, device: str | torch.device | None = None,
                        dtype: torch.dtype | None = None, *, local_files_only: bool = False) -> "WorkflowPipeline":
        """Load from a local pipeline folder, or from a Hub repo id through huggingface_hub's cache.

        fp16 weights are loaded as float32 unless ``dtype`` says otherwise.
        """
        folder = hub.resolve(repo_id_or_path, revision, None if cache_dir is None else str(cache_dir), local_files_only)
        index = hub.read_index(folder)
        parts = hub.read_transitions(folder, index, dtype or torch.float32)
        transitions = [Transition(p["generator"], p["latent_encoder"], p["inference"],
                                  {k: p[k] for k in DISCRIMINATORS if k in p}, p.get("regularizer"), p.get("prior"))
                       for p in parts]
        pipe = cls(index["stages"], index["channels"], index["image_size"], transitions, info=index.get("info"),
                   render_kinds=index.get("render"), sampling=index.get("sampling"))
        return pipe.to(device) if device is not None else pipe

    def push_to_hub(self, repo_id: str, *, token: str | None = None, private: bool = False,
                    dtype: torch.dtype | None = torch.float16, model_card: str | None = None) -> str:
        """Upload the pipeline folder (fp16 by default, no discriminators) to a Hub model repo; returns
        the commit URL."""
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            folder = self.save_pretrained(Path(tmp) / "pipeline", dtype=dtype, include_discriminators=False,
                                          model_card=model_card)
            return hub.upload(folder, repo_id, token=token, private=private)

    # ---- helpers -----------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def perceptual(self) -> PerceptualLoss:
        """The perceptual loss used by `fit` (see `artzoo.perceptual`); set with `set_perceptual`."""
        if self._perceptual is None:
            object.__setattr__(self, "_perceptual", load_perceptual())
        return self._perceptual.to(self.device)

    def set_perceptual(self, backbone=None) -> None:
        """Use another perceptual backbone: a module, a VGG-16 safetensors path, or a name."""
        object.__setattr__(self, "_perceptual", load_perceptual(backbone))

    @property
    def signature(self) -> dict:
        """What a Workflow must agree with to be used with this pipeline."""
        return {"stages": self.stages, "channels": self.channels, "image_size": self.image_size,
                "adain": [t.generator.num_adain_params for t in self.transitions],
                "nz": [t.generator.config.nz for t in self.transitions]}

    def stage_index(self, stage: int | str) -> int:
        return stage_index(self.stages, stage)

    def _check_workflow(self, workflow: Workflow) -> None:
        if not isinstance(workflow, Workflow):
            raise ArtzooError(f"expected a Workflow, got {type(workflow).__name__}")
        check_workflow(workflow, self.signature)  # the signature, and every tensor's shape against it

    def load_image(self, image, stage: int | str = 0, *, allow_blank: bool = False) -> tuple[torch.Tensor, Placement | None]:
        """Any image input → a tensor for ``stage`` at model size, and where the input was placed.

        A tensor already in model form, (B, C, S, S) in [-1, 1], is used as is: a batch (for evaluation)
        then flows through every operation, one picture per row.
        """
        tensor, placement, _ = self._load(image, stage, allow_blank=allow_blank)
        return tensor, placement

    def _load(self, image, stage: int | str, *, allow_blank: bool = False, keep_source: bool = False
              ) -> tuple[torch.Tensor, Placement | None, tuple[Image.Image, list[str]] | None]:
        """`load_image`, and with ``keep_source`` the picture itself for full-resolution rendering (at
        most `images.SOURCE_MAX_SIDE` a side, with a note when it was scaled down); None for tensors."""
        k = self.stage_index(stage)
        model_shape = (self.channels[k], self.image_size, self.image_size)
        if isinstance(image, torch.Tensor) and image.ndim == 4 and tuple(image.shape[1:]) == model_shape:
            return image.float().clamp(-1, 1).to(self.device), None, None
        picture = as_pil(image)  # decoded once, for the model and the full-size render alike
        tensor, placement = load_for_model(picture, self.channels[k], self.image_size, what=f"{self.stages[k]} image",
                                           allow_blank=allow_blank)
        return tensor.to(self.device), placement, cap_source(picture, self.stages[k]) if keep_source else None

    def _with_source(self, wf: Workflow, stage: int, source: tuple[Image.Image, list[str]] | None) -> Workflow:
        """The user's picture kept for full-resolution rendering (`Workflow.image(k, original_size=True)`)."""
        if source is not None and self.render_kinds is not None:
            wf.source, wf.notes = source
            wf.source_stage, wf.render_kinds, wf.edit_base = stage, list(self.render_kinds), None
        return wf

    def sample_z(self, seed: int | None = None, n: int = 1, transition: int = 0, *, prior: str | None = None,
                 condition=None) -> torch.Tensor:
        """n latent codes for a transition, reproducible for a seed (drawn on the CPU, then moved).

        ``prior``: "normal" (the paper's N(0, I)), "bank" (codes of real training pictures, stored with
        the pipeline's prior), "learned" (the mixture p(z | the picture the transition starts from):
        plausible colours for this drawing), "nearest" (codes of the training pictures whose drawings
        are most like this one: real palettes of similar drawings, more varied than learned's) — these
        two need ``condition`` —, or None: the pipeline's `sampling` choice for the transition where it has
        one, else the best it has for a condition, nearest (learned for priors stored without keys), bank
        without a condition, normal without a prior (`default_prior`).
        ``condition``: the picture the transition starts from (any image input, or model tensors
        (B, C, S, S)); with it, n codes per picture (B·n in all, picture by picture), whatever the prior.
        """
        if isinstance(transition, bool) or not isinstance(transition, int) or not 0 <= transition < len(self.transitions):
            raise ArtzooError(f"transition must be 0..{len(self.transitions) - 1}, got {transition!r}")
        t = self.transitions[transition]
        if prior is None:
            prior = self.default_prior(transition, conditioned=condition is not None)
        if prior not in PRIORS:
            raise ArtzooError(f"prior must be one of {list(PRIORS)} (or None for the pipeline's best), got {prior!r}")
        gen = torch.Generator().manual_seed(random.randrange(2**63) if seed is None else int(seed))
        x = None if condition is None else self.load_image(condition, transition)[0]
        total = n if x is None else n * x.shape[0]
        if prior == "normal":
            return torch.randn(total, t.generator.config.nz, generator=gen).to(self.device)
        if t.prior is None:
            raise ArtzooError(f"prior={prior!r}: this pipeline has no trained z prior for '{self.stages[transition + 1]}' "
                              "(train its prior phase); use prior='normal'")
        if prior == "bank":
            if t.prior.bank_filled == 0:
                raise ArtzooError("prior='bank': this pipeline's prior holds no encoded training latents")
            return t.prior.sample_bank(total, gen).to(self.device)
        if x is None:
            raise ArtzooError(f"prior={prior!r} draws z for a picture: pass condition=<the picture the transition "
                              f"starts from, a '{self.stages[transition]}' image>")
        if prior == "nearest" and not t.prior.has_keys:
            raise ArtzooError(f"prior='nearest': this pipeline's prior for '{self.stages[transition + 1]}' stores no "
                              "keys of its training drawings (trained before them; rerun its prior phase); "
                              "use prior='learned'")
        with torch.no_grad():
            content = t.generator.encode_content(x)[0]
            sample = t.prior.sample_nearest if prior == "nearest" else t.prior.sample
            return sample(content, n, gen).to(self.device)

    def priors(self, transition: int = 0) -> tuple[str, ...]:
        """What ``sample_z`` can draw from for a transition, in `PRIORS` order: normal always, bank and
        learned with a prior, nearest with a prior that stores its training drawings' keys."""
        p = self.transitions[transition].prior
        return tuple(name for name in PRIORS if name == "normal" or p is not None and (name != "nearest" or p.has_keys))

    @property
    def sampling(self) -> list[str | None] | None:
        """Per transition, the z source `sample_z(prior=None)` uses where the pipeline names one (e.g. the
        bank, where the stage's colours do not follow from the stage before); None: `default_prior`'s rule."""
        return self._sampling

    @sampling.setter
    def sampling(self, value: list[str | None] | None) -> None:
        if value is not None:
            if not isinstance(value, list) or len(value) != len(self.transitions):
                raise ArtzooError(f"sampling must list one z source (or null) per transition ({len(self.transitions)}), "
                                  f"got {str(value)[:60]}")
            for i, name in enumerate(value):
                if name is not None and name not in self.priors(i):
                    raise ArtzooError(f"sampling: {str(name)[:30]!r} is not a z source of transition {i} "
                                      f"(it offers {list(self.priors(i))})")
            value = list(value)
        object.__setattr__(self, "_sampling", value)

    def default_prior(self, transition: int = 0, conditioned: bool = True) -> str:
        """What ``sample_z(prior=None)`` draws from: the pipeline's `sampling` choice where it has one that
        needs no picture or has it, else the last of `priors` (the most plausible) with a condition, and
        without one bank where there is a prior (learned and nearest need the picture)."""
        chosen = self.sampling[transition] if self.sampling else None
        if chosen is not None and (conditioned or chosen in ("normal", "bank")):
            return chosen
        offered = self.priors(transition)
        return offered[-1] if conditioned or len(offered) == 1 else "bank"

    @staticmethod
    def interpolate(z_a: torch.Tensor, z_b: torch.Tensor, t: float) -> torch.Tensor:
        """Linear interpolation between two latent codes (t = 0 → z_a, 1 → z_b)."""
        return (1 - t) * z_a + t * z_b

    def _render(self, wf: Workflow, start: int) -> None:
        """Regenerate stages start+1 … N from stage ``start`` with each transition's AdaIN + increment."""
        for i in range(start, len(self.transitions)):
            wf.images[i + 1] = self.transitions[i].generator(wf.images[i], adain=wf.adain[i] + wf.delta[i])

    def _z_per_transition(self, z) -> list[torch.Tensor]:
        """Given latents, checked: one code for every transition, or one (or one per picture) each."""
        n = len(self.transitions)
        zs = list(z) if isinstance(z, (list, tuple)) else [z] * n if torch.as_tensor(z).ndim == 1 else list(torch.as_tensor(z))
        if len(zs) != n:
            raise ArtzooError(f"need one z per transition ({n}), got {len(zs)}")
        out = []
        for i, zi in enumerate(zs):
            zi = torch.as_tensor(zi, dtype=torch.float32, device=self.device)
            nz = self.transitions[i].generator.config.nz
            if zi.shape[-1] != nz or zi.ndim > 2:
                raise ArtzooError(f"z for transition {i} has shape {tuple(zi.shape)}; this pipeline's nz is {nz}")
            out.append(zi.reshape(-1, nz))
        return out

    # ---- the user-facing operations ----------------------------------------------------------------
    @torch.no_grad()
    def generate(self, sketch, seed: int | None = None, z=None, *, prior: str | None = None) -> Workflow:
        """Run the whole workflow from a sketch: every later stage, one z per transition.

        ``z``: None (sampled from ``seed`` and ``prior``, see `sample_z`: each transition's z for the
        picture it starts from; the same seed gives the same pictures), one code used for every
        transition, or one per transition. Returns a `Workflow` (``.pil_images()``, ``.final``, ``.save``).
        """
        x, placement, source = self._load(sketch, 0, keep_source=True)
        n = len(self.transitions)
        zs = None if z is None else self._z_per_transition(z)
        base = random.randrange(2**31) if seed is None else int(seed)
        wf = Workflow(self.stages, [x] + [None] * n, [None] * n, [None] * n, [None] * n, self.signature,
                      placement=placement)
        for i, t in enumerate(self.transitions):
            wf.z[i] = zs[i] if zs is not None else self.sample_z(base + i, 1, i, prior=prior, condition=wf.images[i])
            wf.adain[i] = t.generator.adain_params(wf.z[i])
            wf.delta[i] = torch.zeros_like(wf.adain[i])
            wf.images[i + 1] = t.generator(wf.images[i], adain=wf.adain[i])
        return self._with_source(wf, 0, source)

    @torch.no_grad()
    def variations(self, stage_image, stage: int | str = 0, n: int = 4, seed: int | None = 0, *,
                   prior: str | None = None) -> list:
        """n candidates for the stage after ``stage`` (multimodal: one z each), as PIL images; the
        same seed gives the same candidates: candidate j uses
        ``sample_z(seed, n, stage, prior=prior, condition=stage_image)[j]``."""
        k = self.stage_index(stage)
        if k == len(self.stages) - 1:
            raise ArtzooError(f"'{self.stages[k]}' is the last stage: nothing comes after it")
        if not 1 <= n <= 64:
            raise ArtzooError(f"n must be between 1 and 64, got {n}")
        x, _ = self.load_image(stage_image, k)
        g = self.transitions[k].generator
        out = g(x.expand(n, -1, -1, -1), z=self.sample_z(seed, n, k, prior=prior, condition=x))
        return [to_pil(o) for o in out]

    @torch.no_grad()
    def by_stages(self, start, n: int = 4, seeds: int | list[int] = 0, chosen: list[int | None] | None = None,
                  from_stage: int = 0, *, prior: str | None = None) -> tuple[Workflow, list[list[Image.Image]]]:
        """Generation by stages, as an artist picks: for each transition from ``from_stage`` on, ``n``
        candidates for the next stage, and the workflow goes on from the chosen one.

        ``start``: a sketch (any image input) or a `Workflow` to continue from stage ``from_stage``
        (it is not changed). Candidate j of transition i uses ``sample_z(seeds[i], n, i, prior=prior,
        condition=<stage i>)[j]``
        (an int ``seeds`` means ``seed + i``); ``chosen[i]`` (default 0) is the candidate the workflow
        takes, or None to keep the workflow's own latent for that transition. Returns the workflow and,
        per transition from ``from_stage``, its candidates as PIL images. Each stage is rendered once: the
        chosen candidate is the workflow's picture.
        """
        n_trans = len(self.transitions)
        if not 1 <= n <= 64:
            raise ArtzooError(f"n must be between 1 and 64, got {n}")
        seeds = [int(seeds) + i for i in range(n_trans)] if isinstance(seeds, int) else [int(s) for s in seeds]
        chosen = [0] * n_trans if chosen is None else list(chosen)
        if len(seeds) != n_trans or len(chosen) != n_trans:
            raise ArtzooError(f"need one seed and one choice per transition ({n_trans})")
        if isinstance(start, Workflow):
            self._check_workflow(start)
            wf = start.copy()
        else:
            if from_stage != 0:
                raise ArtzooError("a sketch starts at stage 0; pass a Workflow to continue from a later stage")
            x, placement, source = self._load(start, 0, keep_source=True)
            empty = [None] * n_trans  # every transition gets its chosen candidate's latent below
            wf = self._with_source(Workflow(self.stages, [x] + empty, list(empty), list(empty), list(empty),
                                            self.signature, placement=placement), 0, source)
            chosen = [0 if c is None else c for c in chosen]
        if wf.images[0].shape[0] != 1:
            raise ArtzooError("generation by stages takes one picture at a time")
        candidates = []
        for i in range(from_stage, n_trans):
            g = self.transitions[i].generator
            z = self.sample_z(seeds[i], n, i, prior=prior, condition=wf.images[i])
            adain = g.adain_params(z)
            out = g(wf.images[i].expand(n, -1, -1, -1), adain=adain)
            candidates.append([to_pil(o) for o in out])
            j = chosen[i]
            if j is None:
                wf.images[i + 1] = g(wf.images[i], adain=wf.adain[i] + wf.delta[i])
            elif not 0 <= j < n:
                raise ArtzooError(f"chosen candidate {j} of transition {i} is not among the {n} drawn")
            else:
                wf.z[i], wf.adain[i], wf.images[i + 1] = z[j:j + 1], adain[j:j + 1], out[j:j + 1]
                wf.delta[i] = torch.zeros_like(wf.adain[i])
        return wf, candidates

    @torch.no_grad()
    def decompose(self, artwork) -> Workflow:
        """Recover the earlier stages of a finished picture and the latents that regenerate it.

        Inference nets run backwards (x_N → … → x_1), each z is the latent encoder's mean, and the later
        stages are regenerated from the inferred sketch: compare ``.images`` (regenerated) with
        ``.targets`` (inferred stages + the artwork); `fit` closes the gap.
        """
        last = len(self.stages) - 1
        x, placement, source = self._load(artwork, last, keep_source=True)
        targets = [x]
        for t in reversed(self.transitions):
            targets.insert(0, t.inference(targets[0]))
        zs = [t.latent_encoder(targets[i + 1])[0] for i, t in enumerate(self.transitions)]
        adain = [t.generator.adain_params(zi) for t, zi in zip(self.transitions, zs)]
        # images[0] is a copy: a workflow's tensors must not share memory (safetensors refuses to save them).
        wf = Workflow(self.stages, [targets[0].clone()] + [None] * len(self.transitions), zs, adain,
                      [torch.zeros_like(a) for a in adain], self.signature, targets=targets, placement=placement)
        self._with_source(wf, last, source)
        self._render(wf, 0)
        return wf

    def fit(self, workflow: Workflow, steps: int = fitting.FIT_STEPS, lr: float = fitting.FIT_LR, regularizer=None,
            perceptual_weight: float = fitting.PERCEPTUAL_WEIGHT, progress: ProgressFn | None = None,
            variable: str = "adain") -> Workflow:
        """AdaIN optimisation (the paper's Algorithm 1, `artzoo.fitting`): make the regenerated stages
        match the targets.

        Stage by stage from the first transition, an increment Δ added to the AdaIN vector is optimised
        with Adam (generator frozen) to minimise L1 + ``perceptual_weight`` × perceptual distance to the
        target; earlier stages keep their fitted Δ. ``regularizer``: None, a weight-decay value, or
        "learned" (the pipeline's meta-learned per-parameter decay, if it has one); the decay w ⊙ Δ is
        added to Δ's gradient. ``variable="latent"`` optimises z instead of Δ (the paper's baseline).
        ``progress(step, total, stage_name, loss)`` is called after each step. Returns a new Workflow;
        its ``loss_history`` has the loss curve per stage. Batched workflows fit each row independently.
        """
        self._check_workflow(workflow)
        if workflow.targets is None:
            raise ArtzooError("this workflow has no targets to fit: use a workflow from decompose()")
        if steps < 0:
            raise ArtzooError(f"steps must be ≥ 0, got {steps}")
        if variable not in ("adain", "latent"):
            raise ArtzooError(f"variable must be 'adain' or 'latent', got {variable!r}")
        regularizer = fitting.parse_regularizer(regularizer)
        if variable == "latent" and regularizer is not None:
            raise ArtzooError("weight decay regularises AdaIN increments; use regularizer=None with variable='latent'")
        wf = workflow.copy()
        total = steps * len(self.transitions)
        for i, t in enumerate(self.transitions):
            g = t.generator
            decay = fitting.decay_weights(regularizer, g.num_adain_params, t.regularizer, self.device)
            name = self.stages[i + 1]
            batch = wf.images[i].shape[0]
            with torch.no_grad():
                content = g.encode_content(wf.images[i])  # independent of Δ: once per stage
                objective = fitting.FitObjective(wf.targets[i + 1], self.perceptual, perceptual_weight)
            if variable == "adain":
                init = wf.delta[i].expand(batch, -1)
                loss = lambda v: objective(g.decode(content, wf.adain[i] + v))  # noqa: E731
            else:
                init = wf.z[i].expand(batch, -1)
                loss = lambda v: objective(g.decode(content, g.adain_params(v) + wf.delta[i]))  # noqa: E731

            report = None if progress is None else (  # noqa: E731
                lambda step, value, done=i * steps, name=name: progress(done + step, total, name, value))
            result, history = fitting.optimise(loss, init, steps, lr, decay, report)
            with torch.no_grad():
                if variable == "adain":
                    wf.delta[i] = result
                else:
                    wf.z[i], wf.adain[i] = result, g.adain_params(result)
                wf.images[i + 1] = g.decode(content, wf.adain[i] + wf.delta[i])
            wf.loss_history[name] = wf.loss_history.get(name, []) + history
        return wf

    @torch.no_grad()
    def reconstruction_error(self, workflow: Workflow) -> float:
        """Mean L1 (in [-1, 1] units) between the regenerated final stage and the artwork."""
        if workflow.targets is None:
            raise ArtzooError("this workflow has no targets: use a workflow from decompose()")
        return float(F.l1_loss(workflow.images[-1], workflow.targets[-1]))

    @torch.no_grad()
    def edit(self, workflow: Workflow, stage: int | str, image=None, z=None, *, keep_delta: bool = True) -> Workflow:
        """Change one stage and let the later ones follow; earlier stages stay exactly as they were.

        ``image``: a new picture for that stage (a repainted flat colouring, a new sketch: outputs then
        take the new sketch's aspect). ``z``: a new latent for the transition that makes that stage
        (resample: ``pipe.sample_z(seed, 1, k - 1, condition=wf.images[k - 1])``; blend:
        ``pipe.interpolate(wf.z[k-1], new, t)``). ``keep_delta``: the resampled stage keeps its fitted
        AdaIN increment (the default: the fitted look carries over to the new palette), or, False, is made
        from MLP(z) alone, as the paper's editing evaluation (Table 3) does. Later stages are regenerated
        with their own latents and fitted increments, so the rest of the look is kept.
        """
        self._check_workflow(workflow)
        k = self.stage_index(stage)
        if image is None and z is None:
            raise ArtzooError("edit needs a new image or a new z for the stage")
        wf = self._edited_copy(workflow)
        if image is not None:
            wf.images[k], placement, source = self._load(image, k, keep_source=k == 0)
            if k == 0 and placement is not None:
                wf.placement = placement  # a new sketch brings its own aspect (sketch redraw)
                self._with_source(wf, 0, source)  # ... and is drawn at its own size
        if z is not None:
            if k == 0:
                raise ArtzooError(f"stage '{self.stages[0]}' is the input: it has no latent; pass image= instead")
            zs = list(wf.z)
            zs[k - 1] = z
            zk = self._z_per_transition(zs)[k - 1]  # validates the new code's size
            wf.z[k - 1] = zk
            wf.adain[k - 1] = self.transitions[k - 1].generator.adain_params(zk)
            if not keep_delta:
                wf.delta[k - 1] = torch.zeros_like(wf.delta[k - 1])
        # A new image is kept as given; a new z regenerates its own stage first.
        self._render(wf, k if image is not None else k - 1)
        return wf

    @staticmethod
    def _edited_copy(workflow: Workflow) -> Workflow:
        """A copy to edit. A decomposed artwork remembers its final stage before the first edit, so the
        full-size picture is the upload changed by the edit, not the network's reconstruction."""
        wf = workflow.copy()
        if wf.source is not None and wf.source_stage == len(wf.stages) - 1 and wf.edit_base is None:
            wf.edit_base = wf.images[-1].clone()
        return wf

    def fit_hints(self, workflow: Workflow, stage: int | str, hints, mask=None, steps: int = 40, lr: float = 0.1,
                  keep_weight: float = 0.2, progress: ProgressFn | None = None) -> Workflow:
        """Colour hints: adapt the AdaIN increment of the transition that makes ``stage`` so the stage
        takes the colours the user scribbled (``hints``) where they scribbled (``mask``: bool H×W, or
        None = every clearly coloured pixel of ``hints``), staying close to the current picture elsewhere.
        Later stages are regenerated to follow. Drawn at full resolution, every line region a scribble
        touches takes the scribble's colour exactly (`Workflow.hints`)."""
        self._check_workflow(workflow)
        k = self.stage_index(stage)
        if k == 0 or self.channels[k] != 3:
            raise ArtzooError(f"colour hints apply to a colour stage after the first, not '{self.stages[k]}'")
        target, _ = self.load_image(hints, k, allow_blank=True)
        m = hint_mask(target, mask)
        if not bool(m.any()):
            raise ArtzooError("no colour hints found: scribble some colour (or pass a mask)")
        m = m[None, None].float()
        wf = self._edited_copy(workflow)
        g = self.transitions[k - 1].generator
        with torch.no_grad():
            content = g.encode_content(wf.images[k - 1])
            current = wf.images[k].clone()

        def loss(delta: torch.Tensor) -> torch.Tensor:
            out = g.decode(content, wf.adain[k - 1] + delta)
            err = (out - target).abs() * m
            keep = (out - current).abs() * (1 - m)
            return (err.sum() / (3 * m.sum()) + keep_weight * keep.sum() / (3 * (1 - m).sum()).clamp_min(1))[None]

        report = None if progress is None else lambda step, value: progress(step, steps, self.stages[k], value)  # noqa: E731
        wf.delta[k - 1], history = fitting.optimise(loss, wf.delta[k - 1], steps, lr, progress=report)
        if wf.source is not None and wf.source_stage == 0 and wf.render_kinds[k] == "regions":
            wf.hints = {**wf.hints, k: full_size_hints(hints, mask, wf.source.size, wf.placement, self.image_size)}
        wf.loss_history[f"hints:{self.stages[k]}"] = history
        with torch.no_grad():
            wf.images[k] = g.decode(content, wf.adain[k - 1] + wf.delta[k - 1])
            self._render(wf, k)
        return wf

    def extra_repr(self) -> str:
        return f"stages={self.stages}, channels={self.channels}, image_size={self.image_size}"

