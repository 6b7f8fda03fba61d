"""Figures of an evaluation (docs/RESULTS.md, model cards), written by `train/evaluate.py --plots DIR`.

- <name>_methods.png   per held-out picture: input, inferred stages, then per fitting method its
                       reconstruction and an edit (resampled z) — the paper's Figures 6 and 8
- <name>_steps.png     reconstruction after 0, 5, 20, 60 AdaIN steps (no regulariser / learned)
- <name>_fit_loss.png  the fit's loss per step, per stage and method
- <name>_learned_w.png the learned weight decay split into AdaIN scale vs bias terms (paper's Fig. 10)
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from ..images import image_grid, to_pil  # noqa: E402

CELL = 96  # display size of one picture in the grids (nearest upscaling keeps pixels honest)


def grid(rows: list[list[torch.Tensor]], header: list[str]) -> Image.Image:
    """Rows of (C, S, S) tensors under a text header row, each enlarged to CELL px."""
    return image_grid([[to_pil(t) for t in row] for row in rows], header=[h[:16] for h in header], cell=(CELL, CELL))


def write_figures(pipe, examples: dict, results: dict, out: Path, name: str, n: int = 4) -> None:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    methods = list(examples)
    first_wf = examples[methods[0]][0]
    n = min(n, first_wf.images[0].shape[0])
    header = ["input"] + [f"inferred {s}" for s in pipe.stages[:-1]] + [f"rec: {m}" for m in methods] + \
             [f"edit: {m}" for m in methods]
    rows = []
    for i in range(n):
        row = [first_wf.targets[-1][i]] + [first_wf.targets[k][i] for k in range(len(pipe.stages) - 1)]
        row += [examples[m][0].images[-1][i] for m in methods]
        row += [examples[m][1][0].images[-1][i] for m in methods]
        rows.append(row)
    grid(rows, header).save(out / f"{name}_methods.png")

    # Reconstruction over optimisation steps, from the same decomposition.
    regs = [("AdaIN", None)] + ([("learned", "learned")] if pipe.transitions[0].regularizer is not None else [])
    steps = [0, 5, 20, 60]
    rows, header = [], ["input"]
    for label, reg in regs:
        header += [f"{label} {s} steps" for s in steps]
    few = pipe.decompose(first_wf.targets[-1][:2])  # rows are independent: fit only the two shown
    fits = {(label, s): pipe.fit(few, steps=s, regularizer=reg) for label, reg in regs for s in steps}
    for i in range(len(few.images[0])):
        rows.append([first_wf.targets[-1][i]] + [fits[(label, s)].images[-1][i] for label, _ in regs for s in steps])
    grid(rows, header).save(out / f"{name}_steps.png")

    fig, axes = plt.subplots(1, len(pipe.stages) - 1, figsize=(5 * (len(pipe.stages) - 1), 3.5), squeeze=False)
    for m in methods:
        history = examples[m][0].loss_history
        for k, stage in enumerate(pipe.stages[1:]):
            if stage in history:
                axes[0, k].plot(history[stage], label=m)
    for k, stage in enumerate(pipe.stages[1:]):
        axes[0, k].set(title=f"fit loss, stage '{stage}'", xlabel="step", ylabel="L1 + perceptual")
        axes[0, k].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / f"{name}_fit_loss.png", dpi=110)
    plt.close(fig)

    if pipe.transitions[0].regularizer is not None:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        data, labels = [], []
        for k, t in enumerate(pipe.transitions):
            w = t.regularizer().detach()
            mask = t.generator.adain_bias_mask()
            data += [w[~mask].numpy(), w[mask].numpy()]
            labels += [f"{pipe.stages[k + 1]} scale", f"{pipe.stages[k + 1]} bias"]
        ax.boxplot(data, showfliers=False)
        ax.set_xticks(range(1, len(labels) + 1), labels, rotation=20, fontsize=8)
        ax.set(ylabel="learned decay w", yscale="log", title="learned regulariser: scale vs bias terms")
        fig.tight_layout()
        fig.savefig(out / f"{name}_learned_w.png", dpi=110)
        plt.close(fig)
