"""`Workflow`: one picture's path through the stages, as a value you can keep, edit, save and reload."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import torch
from PIL import Image

from .errors import ArtzooError
from .images import Placement, restore_aspect, to_pil
from .tensorfile import read_tensors

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

    def copy(self) -> "Workflow":
        clone = lambda ts: None if ts is None else [t.clone() for t in ts]  # noqa: E731
        return dataclasses.replace(
            self, images=clone(self.images), z=clone(self.z), adain=clone(self.adain), delta=clone(self.delta),
            targets=clone(self.targets), loss_history={k: list(v) for k, v in self.loss_history.items()})

    def stage_index(self, stage: int | str) -> int:
        return stage_index(self.stages, stage)

    def image(self, stage: int | str = -1, *, original_size: bool = False, max_side: int | None = 2048) -> Image.Image:
        """Stage's picture as PIL at model size, or cut back to the input's aspect and upscaled to its size
        (``original_size=True``; capped at ``max_side``: upscaling adds no detail, only pixels)."""
        k = len(self.stages) - 1 if stage == -1 else self.stage_index(stage)
        picture = to_pil(self.images[k])
        if original_size and self.placement is not None:
            picture = restore_aspect(picture, self.placement, max_side)
        return picture

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
        meta = {"format": str(WORKFLOW_FORMAT), "stages": json.dumps(self.stages),
                "signature": json.dumps(self.signature), "loss_history": json.dumps(self.loss_history),
                "placement": json.dumps(self.placement.to_dict() if self.placement else None)}
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        save_file(tensors, str(tmp), metadata=meta)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Workflow":
        path = Path(path)
        tensors, meta = read_tensors(path, "workflow file")
        if meta.get("format") != str(WORKFLOW_FORMAT):
            raise ArtzooError(f"{path} is not an artzoo workflow (format {meta.get('format')!r}, expected {WORKFLOW_FORMAT})")

        def series(name: str) -> list[torch.Tensor]:
            return [tensors[f"{name}.{i}"] for i in range(sum(k.startswith(name + ".") for k in tensors))]

        placement = json.loads(meta["placement"])
        return cls(stages=json.loads(meta["stages"]), images=series("images"), z=series("z"), adain=series("adain"),
                   delta=series("delta"), targets=series("targets") or None, signature=json.loads(meta["signature"]),
                   placement=Placement.from_dict(placement) if placement else None,
                   loss_history=json.loads(meta["loss_history"]))
