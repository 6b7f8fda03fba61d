"""Export a run's checkpoint as a publishable pipeline folder with a model card (README.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from ..errors import ArtzooError
from ..images import check_render_kinds
from ..evaluation import METRICS_MARKER
from ..pipeline import WorkflowPipeline
from .checkpoint import latest_checkpoint, read_state
from .history import ORDER, run_info
from .loop import batch_of, open_dataset
from .samples import sample_grid, stage_grid



def training_rows(history: list[dict], phases_done: list[str]) -> list[str]:
    """The card's training table rows: per run (oldest first) and phase (in phase order)."""
    rows, number = [], 0
    for run in history:
        phases = [p for p in ORDER if run["phases"].get(p)]
        if not phases:  # a run that trained nothing (a 0-step phase re-indexing a prior) gets no number
            continue
        number += 1
        for phase in phases:
            s = run["phases"][phase]
            unfinished = run is history[-1] and phase not in phases_done
            label = f"{phase} (unfinished: a snapshot)" if unfinished else phase
            if s.get("transitions"):
                label += f" (transition{'s' * (len(s['transitions']) > 1)} {', '.join(map(str, s['transitions']))} only)"
            if s.get("kept_step") is not None and s["kept_step"] != s["steps"]:
                label += f" (weights of step {s['kept_step']}, its best held-out check)"
            batch = f"{s['batch_size']} × {s['processes']}" if "batch_size" in s else "?"
            minutes = f"{s['minutes']:.0f} min" if "minutes" in s else "?"
            fresh = f"; {', '.join(run['fresh'])} from scratch" if run.get("fresh") else ""
            start = f" (warm start from `{run['from']}`{fresh})" if run["from"] and phase == phases[0] else ""
            rows.append(f"| {number}{start} | {label} | {s['steps']} | {batch} | {minutes} | {'; '.join(s.get('hardware', ['?']))} |")
    return rows


def model_card(cfg: dict, pipe: WorkflowPipeline, history: list[dict], phases_done: list[str]) -> str:
    e = cfg["export"]
    name = f"{cfg['name']} ({cfg['preset']} preset)" if cfg.get("preset") else cfg["name"]
    rows = training_rows(history, phases_done)
    total = sum(s.get("minutes", 0) for run in history for s in run["phases"].values())
    arrow = " → ".join(pipe.stages)
    reg = ("a learned AdaIN regulariser (Algorithm 2) is included: use `fit(..., regularizer=\"learned\")`"
           if "regularizer" in phases_done else "no learned regulariser (that phase was not run)")
    front = "\n".join([
        "---",
        f"license: {e['license']}",
        "library_name: artzoo",
        "pipeline_tag: image-to-image",
        "tags: [artzoo, gan, bicyclegan, artistic-workflow, sketch-to-image, image-generation]",
        f"datasets: [{cfg['name']}]",
        "metrics: [fid, mae]",
        "---",
    ])
    return f"""{front}

# artzoo · {name}

A {len(pipe.stages)}-stage artistic-workflow model ({arrow}) at {pipe.image_size} px, trained with
artzoo's implementation of Tseng et al., "Modeling Artistic Workflows for Image Generation and Editing"
(ECCV 2020). Per transition: a multimodal generator G (z → AdaIN), a latent encoder E and an inference
net I that goes back a stage; {reg}.

![generation by stages](stages.png)

`stages.png`, generation by stages from held-out sketches: one sketch per row, then {cfg['train']['sample_z']}
candidates (z as sampling draws it: from the prior when there is one) for the {pipe.stages[1]} stage, then {cfg['train']['sample_z']} candidates for the next stage
from the first of them, and so on.

![samples](samples.png)

`samples.png`: one held-out picture per row: its sketch, then every later stage for {cfg['train']['sample_z']}
random latents (each carried through all transitions), then the real final stage and the earlier stages
inferred back from it.

## Usage

```python
from artzoo import WorkflowPipeline
pipe = WorkflowPipeline.from_pretrained("<this folder or Hub id>")
wf = pipe.generate("sketch.png", seed=0)          # sketch → every later stage
wf = pipe.fit(pipe.decompose("artwork.png"))      # decompose and fit an artwork, then pipe.edit(...)
```

## Training data

{e.get('dataset', cfg['name'])}; images at {pipe.image_size} px, horizontal flips.

## Training

| run | phase | steps | batch × processes | training time | hardware |
|---|---|---|---|---|---|
{chr(10).join(rows)}

About {total:.0f} minutes of optimisation steps in all. A warm start loads the previous run's exported
weights; its optimiser states, and discriminators the export left out, start fresh.

Far shorter than the paper's schedule (inference 450k + 450k, generation 1.2M + 600k iterations at
batch 8, 256 px); see the config below for every difference (its comments are in `train/configs/`).
Training time counts optimisation steps only (not sampling or checkpointing).

## Evaluation

{METRICS_MARKER}
Not evaluated yet: L1/FID of reconstructions and edits (the paper's Tables 2 and 3) are added by
artzoo's evaluation.

## Config

```json
{json.dumps(cfg, indent=1)}
```

## Licence

Weights: {e['license'].upper()}. Training data: see above.
"""


def export_pipeline(cfg: dict, run_dir: str | Path, out: str | Path, *, from_phase: str | None = None,
                    full_precision: bool = False, include_discriminators: bool = False) -> Path:
    run_dir = Path(run_dir)
    if from_phase:
        ckpt = run_dir / "checkpoints" / f"{from_phase}-final"
        if not ckpt.exists():
            raise ArtzooError(f"{run_dir} has no finished {from_phase} phase to export")
    else:
        ckpt = latest_checkpoint(run_dir)
        if ckpt is None:
            raise ArtzooError(f"{run_dir} has no checkpoint to export")
    state = read_state(ckpt)
    pipe = WorkflowPipeline.from_pretrained(ckpt / "pipeline")
    pipe.info = run_info(cfg, run_dir, state)
    for t in pipe.transitions:  # an untrained θ or prior would pass for a learned one: leave them out
        if "regularizer" not in pipe.info["phases"]:
            t.regularizer = None
        if "prior" not in pipe.info["phases"]:
            t.prior = None
    render = cfg["export"].get("render")
    pipe.render_kinds = None if render is None else check_render_kinds(render, len(pipe.stages))
    pipe.sampling = cfg["export"].get("sampling")  # z sources chosen by the priors evaluation
    dtype = None if full_precision else getattr(torch, cfg["export"]["dtype"])
    path = pipe.save_pretrained(out, dtype=dtype, include_discriminators=include_discriminators,
                                model_card=model_card(cfg, pipe, pipe.info["training"], pipe.info["phases"]))
    test = open_dataset(cfg, "test")
    _copy_examples(test, path, cfg["export"].get("examples", 8))
    if cfg["export"].get("canvas_examples"):  # the app shows examples at its canvas size (512 px)
        root = Path(cfg["export"]["canvas_examples"])
        from artzoo.data import WorkflowDataset

        if not (root / "meta.json").is_file():
            raise ArtzooError(f"[export] canvas_examples: {root} is not built; build it first "
                              f"(python -m artzoo.data build {cfg['name']} --size 512 --limit 150 --out {root})")
        _copy_examples(WorkflowDataset(root, split="test"), path, cfg["export"].get("canvas_count", 6))
    fixed = batch_of(test, range(cfg["train"]["sample_rows"]))
    # The grid from the exported weights as users will load them (fp16 rounding included).
    exported = WorkflowPipeline.from_pretrained(path)
    sample_grid(exported, fixed, n_z=cfg["train"]["sample_z"], seed=cfg["train"]["seed"]).save(path / "samples.png")
    stage_grid(exported, fixed[0], n_z=cfg["train"]["sample_z"], seed=cfg["train"]["seed"]).save(path / "stages.png")
    return path


def _copy_examples(test, path: Path, n: int) -> None:
    """Held-out pictures of every stage for the app's example strips: examples/<stage>/<id>.png."""
    step = max(1, len(test) // n)  # spread over the split rather than the first few ids
    for sample_id in test.ids[::step][:n]:
        for stage in test.stages:
            folder = path / "examples" / stage
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(test.root / test.split / stage / f"{sample_id}.png", folder / f"{sample_id}.png")
