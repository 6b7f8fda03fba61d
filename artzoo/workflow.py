"""`Workflow`: one picture's path through the stages, as a value you can keep, edit, save and reload."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .errors import ArtzooError
from .images import Placement, restore_aspect, to_pil
from .tensorfile import read_tensors
from .validation import check_workflow_file

WORKFLOW_FORMAT = 1


def stage_index(stages: list[str], stage: int | str) -> int:
    """A stage given by name or index → its index, with a clear error naming the valid choices."""
    if isinstance(stage, str):
        if stage not in stages:
            raise ArtzooError(f"unknown stage {stage!r}; the stages are {stages}")
        return stages.index(stage)
    if isinstance(stage, bool) or not isinstance(stage, int) or not 0 <= stage < len(stages):
        raise ArtzooError(f"stage {stage!r} out of range: use 0..{len(stages) - 1} or a name in {stages}")
    return stage


@dataclasses.dataclass
class Workflow:
    """Images per stage and the latents that produced them.

    images[k]   the current picture of stage k, (1, C, S, S) in [-1, 1]; images[0] is the sketch
    z[k-1]      latent code (1, nz) of the transition that makes stage k (k ≥ 1)
    adain[k-1]  AdaIN parameters MLP(z[k-1]), (1, P)
    delta[k-1]  increments fitted by `WorkflowPipeline.fit` (zeros until then); used: adain + delta
    targets     for a decomposed artwork, what fitting reconstructs: inferred stages + the artwork
    placement   where the input sat in the model's square, to give outputs back at its aspect
    signature   which pipeline made it (stage names, channels, size, AdaIN sizes): checked on use
    loss_history  per stage name, the fit's loss per step

    Full resolution (`artzoo.rendering`): the tensors above are the networks' pictures at model size (what
    fitting, editing and evaluation use). ``image(k, original_size=True)`` draws stage k at the input's
    own size instead:
    source        the user's picture at its own size (at most `rendering.MAX_SIDE` a side): the sketch
                  (``source_stage`` 0) or a decomposed artwork (the last stage)
    render_kinds  per stage, how the pipeline's stages are drawn: "sketch", "regions" (flat colours that
                  fill the sketch's line regions) or "continuous" (shading); None: scaled up, not drawn
    edit_base     for a decomposed artwork, its final stage before the first edit: an edit is applied to
                  the artwork itself as the change (final − edit_base), so what it does not touch stays
                  pixel-identical to the upload
    notes         things the user should be told about the input (e.g. it was scaled down)
    hints         stage → the user's colour hints at the source's size (RGBA, alpha marks the scribbles):
                  each line region a scribble touches is drawn in its colour exactly
    """

    stages: list[str]
    images: list[torch.Tensor]
    z: list[torch.Tensor]
    adain: list[torch.Tensor]
    delta: list[torch.Tensor]
    signature: dict
    targets: list[torch.Tensor] | None = None
    placement: Placement | None = None
    loss_history: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    source: Image.Image | None = None
    source_stage: int | None = None
    render_kinds: list[str] | None = None
    edit_base: torch.Tensor | None = None
    notes: list[str] = dataclasses.field(default_factory=list)
    hints: dict[int, Image.Image] = dataclasses.field(default_factory=dict)
    # The last full-resolution render and the sketch's regions, held with the very objects they were made
    # from (so never stale); shared by copies, which mostly keep the same source.
    _cache: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def copy(self) -> "Workflow":
        clone = lambda ts: None if ts is None else [t.clone() for t in ts]  # noqa: E731
        return dataclasses.replace(
            self, images=clone(self.images), z=clone(self.z), adain=clone(self.adain), delta=clone(self.delta),
            targets=clone(self.targets), loss_history={k: list(v) for k, v in self.loss_history.items()},
            notes=list(self.notes), hints=dict(self.hints))

    def stage_index(self, stage: int | str) -> int:
        return stage_index(self.stages, stage)

    def image(self, stage: int | str = -1, *, original_size: bool = False, max_side: int | None = 2048,
              rendered: bool = True) -> Image.Image:
        """Stage k's picture: at model size, or (``original_size=True``) at the input's aspect and size,
        at most ``max_side`` px a side. At the input's size a workflow with a ``source`` is drawn by
        `artzoo.rendering` (crisp flat colours inside the sketch's lines, shading, the user's lines on
        top; an edited artwork at its own resolution); ``rendered=False``, or a workflow without one,
        gives the network's picture scaled up."""
        k = len(self.stages) - 1 if stage == -1 else self.stage_index(stage)
        picture = to_pil(self.images[k])
        if not original_size:
            return picture
        drawn = self._drawn(k) if rendered else None
        if drawn is not None:
            if max_side and max(drawn.size) > max_side:
                s = max_side / max(drawn.size)
                drawn = drawn.resize((max(1, round(drawn.width * s)), max(1, round(drawn.height * s))),
                                     Image.Resampling.LANCZOS)
            return drawn
        return restore_aspect(picture, self.placement, max_side) if self.placement is not None else picture

    def _drawn(self, k: int) -> Image.Image | None:
        """Stage k at the source's size, or None where there is nothing better than scaling up."""
        if self.source is None or self.render_kinds is None or self.images[0].shape[0] != 1:
            return None
        from . import rendering

        last = len(self.stages) - 1
        if self.source_stage == last:
            if k != last or self.edit_base is None:
                return None  # inferred stages and the unedited reconstruction: the network's own pictures
            inputs = (self.source, self.edit_base, self.images[k])
            return self._cached("change", inputs, lambda: Image.fromarray(
                rendering.apply_change(self.source, self.edit_base, self.images[k], self.placement)))
        return self._rendered().images[k]

    def _rendered(self):
        """`rendering.render_stages` of a workflow drawn from its sketch (cached, regions segmented once)."""
        from . import rendering

        regions = self._cached("regions", (self.source,), lambda: rendering.segment_sketch(self.source))
        hints = tuple(self.hints.items())
        return self._cached("stages", (self.source, *self.images, *(h for _, h in hints)), lambda: rendering.render_stages(
            self.source, self.images, self.placement, self.render_kinds, regions=regions, hints=dict(hints)))

    def _cached(self, name: str, inputs: tuple, make):
        """``make()``, reused while ``inputs`` are the very same objects, unchanged (tensor versions)."""
        versions = tuple(getattr(x, "_version", None) for x in inputs)
        hit = self._cache.get(name)
        if hit is None or len(hit[0]) != len(inputs) or any(a is not b for a, b in zip(hit[0], inputs)) \
                or hit[1] != versions:
            hit = (inputs, versions, make())
            self._cache[name] = hit
        return hit[2]

    def write_psd(self, path: str | os.PathLike, max_side: int | None = 2048) -> Path:
        """A layered PSD at the input's size: each stage after the sketch as a layer (bottom first) and,
        for a workflow drawn from a sketch, the user's lines on transparency on top (flat colours and
        shading line-free underneath, so a painter can work on them). Written atomically."""
        from . import rendering

        layers = [(name, self.image(k, original_size=True, max_side=max_side).convert("RGB"))
                  for k, name in enumerate(self.stages) if k > 0]
        if self._drawn(0) is not None and self.source_stage == 0:
            out = self._rendered()  # the render image() used (cached): line-free colours and the line layer
            size = layers[0][1].size
            fit = lambda im: im if im.size == size else im.resize(size, Image.Resampling.LANCZOS)  # noqa: E731
            layers = [(name, fit(Image.fromarray(rendering.to_uint8(out.colours[k]))))
                      for k, name in enumerate(self.stages) if out.colours[k] is not None]
            layers.append(("lines", fit(rendering.line_layer(out.regions))))
        return rendering.write_psd(path, layers)

    def pil_images(self, *, original_size: bool = False) -> list[Image.Image]:
        return [self.image(k, original_size=original_size) for k in range(len(self.stages))]

    @property
    def final(self) -> Image.Image:
        return self.image(-1)

    def save(self, path: str | os.PathLike) -> None:
        """Write to one safetensors file (tensors + JSON metadata), atomically."""
        from safetensors.torch import save_file

        tensors = {}
        for name in ("images", "z", "adain", "delta", "targets"):
            for i, t in enumerate(getattr(self, name) or []):
                tensors[f"{name}.{i}"] = t.detach().float().contiguous()
        if self.source is not None:  # kept as 8-bit pixels: what was uploaded, not a float copy
            tensors["source"] = torch.from_numpy(np.array(self.source.convert("RGB")))
        if self.edit_base is not None:
            tensors["edit_base"] = self.edit_base.detach().float().contiguous()
        for k, picture in self.hints.items():
            tensors[f"hints.{k}"] = torch.from_numpy(np.array(picture.convert("RGBA")))
        meta = {"format": str(WORKFLOW_FORMAT), "stages": json.dumps(self.stages),
                "signature": json.dumps(self.signature), "loss_history": json.dumps(self.loss_history),
                "placement": json.dumps(self.placement.to_dict() if self.placement else None),
                "source_stage": json.dumps(self.source_stage), "render_kinds": json.dumps(self.render_kinds),
                "notes": json.dumps(self.notes)}
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        save_file(tensors, str(tmp), metadata=meta)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Workflow":
        path = Path(path)
        # The header is checked (names, shapes, dtypes, placement) before any tensor is read.
        tensors, meta = read_tensors(path, "workflow file", check=check_workflow_file)
        tensors = {k: t.clone() for k, t in tensors.items()}  # own memory: not tied to the file's pages
        if meta.get("format") != str(WORKFLOW_FORMAT):
            raise ArtzooError(f"{path} is not an artzoo workflow (format {meta.get('format')!r}, expected {WORKFLOW_FORMAT})")

        def series(name: str) -> list[torch.Tensor]:
            return [tensors[f"{name}.{i}"] for i in range(sum(k.startswith(name + ".") for k in tensors))]

        placement = json.loads(meta["placement"])
        source = tensors.get("source")
        # Files from before full-resolution rendering have no source: they scale up, as they always did.
        return cls(stages=json.loads(meta["stages"]), images=series("images"), z=series("z"), adain=series("adain"),
                   delta=series("delta"), targets=series("targets") or None, signature=json.loads(meta["signature"]),
                   placement=Placement.from_dict(placement) if placement else None,
                   loss_history=json.loads(meta["loss_history"]),
                   source=None if source is None else Image.fromarray(source.numpy().astype(np.uint8), "RGB"),
                   source_stage=json.loads(meta.get("source_stage", "null")),
                   render_kinds=json.loads(meta.get("render_kinds", "null")), edit_base=tensors.get("edit_base"),
                   notes=json.loads(meta.get("notes", "[]")),
                   hints={int(name.split(".")[1]): Image.fromarray(t.numpy().astype(np.uint8), "RGBA")
                          for name, t in tensors.items() if name.startswith("hints.")})
