"""Which snapshot of a generation run to keep: a check on held-out pictures every few hundred steps.

A longer run is not always a better one. At our data size sample realism swings between snapshots while
the training losses and the reconstructions keep improving (docs/RESULTS.md: a 40-minute continuation of
fluent-emoji made every FD worse). So with ``generation.holdout_every`` set the loop scores the weights
before the first step and at every check, keeps the best as ``checkpoints/generation-best``, and ends
the phase on it: the later phases, the export and a warm start all get the best weights seen.

Score: the mean over transitions of the Fréchet distance (offline extractor) between G_i's pictures for
held-out x_i with fixed z ~ N(0, I) and the real held-out x_{i+1}; lower is better. Fixed pictures and z
make two snapshots' scores differ by the weights only.
"""

from __future__ import annotations

from functools import cached_property

import torch

from ..metrics import default_extractor, feature_stats, frechet_distance
from ..pipeline import WorkflowPipeline

SCORE = "H/score"  # the log key the loop compares


class HoldoutCheck:
    def __init__(self, pictures: list[torch.Tensor], seed: int, extractor=None, batch_size: int = 64):
        """``pictures``: one (N, C, S, S) tensor per stage of held-out workflows, in [-1, 1]."""
        self.pictures, self.batch_size = pictures, batch_size
        self.extractor = extractor or default_extractor()
        self.seed = seed

    @cached_property
    def real(self) -> list:
        """The real later stages' feature statistics, on the first check: only the process that checks
        (the main one) pays for them."""
        return [feature_stats(self.extractor.extract(x), self.extractor.name) for x in self.pictures[1:]]

    @torch.no_grad()
    def __call__(self, pipe: WorkflowPipeline) -> dict[str, float]:
        """{"H{i}/fd": per transition, SCORE: their mean}; the pipeline's train/eval mode is restored."""
        was_training = pipe.training
        pipe.eval()
        device = pipe.device
        scores = {}
        gen = torch.Generator().manual_seed(self.seed)
        for i, t in enumerate(pipe.transitions):
            z = torch.randn(len(self.pictures[i]), t.generator.config.nz, generator=gen)
            made = [t.generator(x.to(device), z=zb.to(device)).float().cpu()
                    for x, zb in zip(self.pictures[i].split(self.batch_size), z.split(self.batch_size))]
            made_stats = feature_stats(self.extractor.extract(torch.cat(made)), self.extractor.name)
            scores[f"H{i}/fd"] = frechet_distance(made_stats, self.real[i])
        scores[SCORE] = sum(scores.values()) / len(pipe.transitions)
        pipe.train(was_training)
        return scores
