"""Sample grids for watching a run: fixed test pictures, fixed latents.

One row per test sample: sketch | stage 2 for each z | ... | last stage for each z (each z carried
through every transition) | real final | the earlier stages inferred back from it. `stage_grid` shows
generation stage by stage instead (several candidates per stage, continuing from the first).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from ..pipeline import WorkflowPipeline


def _to_rgb(x: torch.Tensor) -> np.ndarray:
    img = ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().byte().cpu()
    if img.shape[0] == 1:
        img = img.expand(3, -1, -1)
    return img.permute(1, 2, 0).numpy()


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
    return _canvas(cells, stages[0].shape[-1])


@torch.no_grad()
def stage_grid(pipe: WorkflowPipeline, sketches: torch.Tensor, n_z: int = 3, seed: int = 0) -> Image.Image:
    """Generation by stages, as a user picks: one row per sketch: the sketch | ``n_z`` candidates for
    the next stage | ``n_z`` candidates for the stage after, from the first candidate | ..."""
    cells = [[s] for s in sketches]
    current = sketches
    gen = torch.Generator().manual_seed(seed)
    for t in pipe.transitions:
        z = torch.randn(n_z, t.generator.config.nz, generator=gen).to(sketches.device)
        candidates = t.generator(current.repeat_interleave(n_z, 0), z=z.repeat(len(sketches), 1))
        for r, row in enumerate(cells):
            row += list(candidates[r * n_z:(r + 1) * n_z])
        current = candidates[::n_z]
    return _canvas(cells, sketches.shape[-1])


def _canvas(cells: list[list[torch.Tensor]], size: int, pad: int = 2) -> Image.Image:
    rows, cols = len(cells), len(cells[0])
    canvas = np.full((rows * (size + pad) + pad, cols * (size + pad) + pad, 3), 255, np.uint8)
    for r, row in enumerate(cells):
        for c, cell in enumerate(row):
            y, x = pad + r * (size + pad), pad + c * (size + pad)
            canvas[y:y + size, x:x + size] = _to_rgb(cell)
    return Image.fromarray(canvas)
