"""Sample grids for watching a run: fixed test pictures, fixed latents.

One row per test sample: sketch | stage 2 for each z | ... | last stage for each z (each z carried
through every transition) | real final | the earlier stages inferred back from it. `stage_grid` shows
generation stage by stage instead (several candidates per stage, continuing from the first).
"""

from __future__ import annotations

import torch
from PIL import Image

from ..images import image_grid, to_pil
from ..pipeline import WorkflowPipeline


@torch.no_grad()
def sample_grid(pipe: WorkflowPipeline, stages: list[torch.Tensor], n_z: int = 3, seed: int = 0) -> Image.Image:
    """``stages``: one (K, C, H, W) tensor per stage (real test images)."""
    k = stages[0].shape[0]
    cells = [[stages[0][r]] for r in range(k)]
    current = stages[0].repeat_interleave(n_z, 0)
    gen = torch.Generator().manual_seed(seed)
    for t in pipe.transitions:
        z = torch.randn(n_z, t.generator.config.nz, generator=gen).repeat(k, 1).to(current.device)
        current = t.generator(current, z=z)
        for r in range(k):
            cells[r] += list(current[r * n_z:(r + 1) * n_z])
    inferred = [stages[-1]]
    for t in reversed(pipe.transitions):
        inferred.insert(0, t.inference(inferred[0]))
    for r in range(k):
        cells[r] += [stages[-1][r]] + [x[r] for x in reversed(inferred[:-1])]
    return _canvas(cells)


@torch.no_grad()
def stage_grid(pipe: WorkflowPipeline, sketches: torch.Tensor, n_z: int = 3, seed: int = 0) -> Image.Image:
    """Generation by stages, as a user picks (`WorkflowPipeline.by_stages`): one row per sketch: the
    sketch | ``n_z`` candidates for the next stage | ``n_z`` candidates for the stage after, from the
    first candidate | ..."""
    rows = []
    for sketch in sketches:
        _, candidates = pipe.by_stages(sketch[None], n=n_z, seeds=seed)
        rows.append([to_pil(sketch)] + [c for per_stage in candidates for c in per_stage])
    return image_grid(rows, gap=2, margin=2)


def _canvas(cells: list[list[torch.Tensor]], pad: int = 2) -> Image.Image:
    return image_grid([[to_pil(c) for c in row] for row in cells], gap=pad, margin=pad)
