"""The on-disk layout every recipe writes and WorkflowDataset reads.

    root/meta.json
    root/{train,test}/{stage}/{id}.png   (aligned by id across stages)
"""

import hashlib
import json
from pathlib import Path

from artzoo.errors import ArtzooError

SPLITS = ("train", "test")
TEST_FRACTION = 0.1
META = "meta.json"


def split_of(group: str) -> str:
    """Deterministic split from a hash of the sample's group, stable across runs and machines."""
    bucket = int.from_bytes(hashlib.sha1(group.encode("utf-8")).digest()[:8], "big")
    return "test" if bucket < TEST_FRACTION * 2**64 else "train"


def read_meta(root: Path) -> dict:
    path = Path(root) / META
    if not path.is_file():
        raise ArtzooError(f"{path} not found: build the dataset first (python -m artzoo.data build NAME --out {root})")
    return json.loads(path.read_text())


def ids_in(folder: Path) -> set[str]:
    return {p.stem for p in folder.glob("*.png")} if folder.is_dir() else set()


def aligned_ids(root: Path, split: str, stages) -> list[str]:
    """Ids present in every stage folder of a split, sorted (an interrupted build may leave partial ids)."""
    ids = None
    for stage in stages:
        found = ids_in(Path(root) / split / stage)
        ids = found if ids is None else ids & found
    return sorted(ids or ())
