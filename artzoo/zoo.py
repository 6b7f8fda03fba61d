"""The zoo: short names for published pipelines.

Each name maps to a Hub repo id and to a bundled folder `checkpoints/<name>` shipped with artzoo. With
``source="auto"`` the bundled folder is used when present (works offline, no download); otherwise
the Hub (or its local cache) is tried.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from .errors import ArtzooError
from .hub import INDEX_FILE, read_index

CHECKPOINTS_ENV = "ARTZOO_CHECKPOINTS"


@dataclasses.dataclass(frozen=True)
class ZooEntry:
    name: str
    repo_id: str
    description: str


ZOO = {e.name: e for e in [
    ZooEntry("fluent-emoji", "artzoo/fluent-emoji", "emoji: sketch → flat colours → Fluent gradient detail"),
    ZooEntry("fluent-3d", "artzoo/fluent-3d", "3D emoji renders: sketch → rough colours → detail"),
    ZooEntry("chairs", "artzoo/chairs", "procedural chairs: sketch → normal map → colour → lighting"),
]}


def checkpoints_dir() -> Path:
    """Where bundled pipelines live: $ARTZOO_CHECKPOINTS, else the repository's checkpoints/ folder."""
    return Path(os.environ.get(CHECKPOINTS_ENV) or Path(__file__).resolve().parent.parent / "checkpoints")


def bundled_folders(root: Path | None = None) -> list[Path]:
    """The pipeline folders in ``root`` (default `checkpoints_dir`), sorted by name."""
    root = checkpoints_dir() if root is None else Path(root)
    return sorted(p.parent for p in root.glob(f"*/{INDEX_FILE}")) if root.is_dir() else []


def _bundled(name: str) -> Path | None:
    folder = checkpoints_dir() / name
    return folder if (folder / INDEX_FILE).is_file() else None


def known_names() -> list[str]:
    return sorted(set(ZOO) | {folder.name for folder in bundled_folders()})


def list_pipelines() -> list[dict]:
    """Every known pipeline: name, Hub repo id, description, and the bundled folder's stages/size if any."""
    rows = []
    for name in known_names():
        entry = ZOO.get(name)
        folder = _bundled(name)
        row = {"name": name, "repo_id": entry.repo_id if entry else None,
               "description": entry.description if entry else "", "bundled": str(folder) if folder else None}
        if folder:
            index = read_index(folder)
            row.update(stages=index["stages"], image_size=index["image_size"])
        rows.append(row)
    return rows


def load(name: str, *, source: str = "auto", revision: str | None = None, cache_dir: str | None = None,
         device=None, dtype=None):
    """Load a zoo pipeline by name. ``source``: "auto" (bundled folder, else Hub), "bundled" or "hub"."""
    from .pipeline import WorkflowPipeline

    if name not in known_names():
        raise ArtzooError(f"unknown pipeline {name!r}; known pipelines: {', '.join(known_names())}")
    if source not in ("auto", "bundled", "hub"):
        raise ArtzooError(f"source must be 'auto', 'bundled' or 'hub', got {source!r}")
    folder = _bundled(name)
    entry = ZOO.get(name)
    if source != "hub" and folder is not None:
        return WorkflowPipeline.from_pretrained(folder, device=device, dtype=dtype)
    if source == "bundled" or entry is None:
        raise ArtzooError(f"pipeline {name!r} is not bundled in {checkpoints_dir()}; use source='hub' or train it "
                          "(see train/README)")
    return WorkflowPipeline.from_pretrained(entry.repo_id, revision=revision, cache_dir=cache_dir, device=device,
                                            dtype=dtype)
