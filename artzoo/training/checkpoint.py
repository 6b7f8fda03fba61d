"""Run checkpoints without pickles: pipeline folder (safetensors) + optimiser tensors + state.json.

    run_dir/checkpoints/<phase>-<step>/{pipeline/, optimizers.safetensors, state.json}
    run_dir/checkpoints/latest             name of the newest complete checkpoint

Each checkpoint is written in a temp folder and renamed into place, then ``latest`` is replaced
atomically, so a kill at any moment leaves the previous checkpoint usable. Randomness needs no saved
state: every step reseeds from (seed, phase, step, process).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import save_file

from ..pipeline import WorkflowPipeline
from ..tensorfile import read_tensors


def optimizer_tensors(name: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """An optimiser's state as flat tensors ("name/param index/key") plus its JSON-able param groups."""
    sd = opt.state_dict()
    tensors = {f"{name}/{idx}/{key}": torch.as_tensor(value).contiguous()
               for idx, state in sd["state"].items() for key, value in state.items()}
    return tensors, sd["param_groups"]


def load_optimizer(name: str, opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups: list) -> None:
    state: dict[int, dict] = {}
    prefix = f"{name}/"
    for key, value in tensors.items():
        if key.startswith(prefix):
            idx, field = key[len(prefix):].split("/")
            state.setdefault(int(idx), {})[field] = value
    opt.load_state_dict({"state": state, "param_groups": groups})


def save_checkpoint(run_dir: Path, pipe: WorkflowPipeline, optimizers: dict, state: dict, keep: set[str] = ()) -> Path:
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    name = f"{state['phase']}-{state['step']:07d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    pipe.save_pretrained(tmp / "pipeline")
    tensors, groups = {}, {}
    for opt_name, opt in optimizers.items():
        t, g = optimizer_tensors(opt_name, opt)
        tensors.update(t)
        groups[opt_name] = g
    save_file(tensors, str(tmp / "optimizers.safetensors"))
    (tmp / "state.json").write_text(json.dumps({**state, "param_groups": groups}, indent=1) + "\n")
    final = root / name
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    latest_tmp = root / ".latest.tmp"
    latest_tmp.write_text(name + "\n")
    os.replace(latest_tmp, root / "latest")
    # Older checkpoints go, except the last one of each finished phase (kept for exports/warm starts).
    for old in root.iterdir():
        if old.is_dir() and old.name != name and not old.name.startswith(".") and old.name not in keep:
            shutil.rmtree(old)
    return final


def replace_folder(dest: Path, fill) -> None:
    """Write a folder through ``fill(tmp)`` in a temp folder beside ``dest``, then swap it in: a kill
    leaves the previous ``dest`` (or none) and at most a stray temp folder, never a half-written one."""
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    fill(tmp)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)


def latest_checkpoint(run_dir: Path) -> Path | None:
    marker = Path(run_dir) / "checkpoints" / "latest"
    return marker.parent / marker.read_text().strip() if marker.exists() else None


def read_state(checkpoint: Path) -> dict:
    return json.loads((checkpoint / "state.json").read_text())


def load_optimizers(checkpoint: Path, optimizers: dict) -> None:
    tensors, _ = read_tensors(checkpoint / "optimizers.safetensors", "optimiser state",
                              hint="the checkpoint is damaged: resume from an earlier one or start the phase again")
    groups = read_state(checkpoint)["param_groups"]
    for name, opt in optimizers.items():
        load_optimizer(name, opt, tensors, groups[name])
