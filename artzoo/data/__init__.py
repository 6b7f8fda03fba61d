"""Workflow datasets: aligned images of the stages of a drawing (e.g. sketch -> flat -> detail).

    from artzoo.data import build, WorkflowDataset, RECIPES
    build("fluent-emoji", "data/fluent-emoji", size=64)
    sketch, flat, detail = WorkflowDataset("data/fluent-emoji", split="train", flip=True)[0]

Command line: python -m artzoo.data list | build NAME --size 64 --out data/NAME [--limit N]
"""

from artzoo.data.build import build
from artzoo.data.recipes import RECIPES

__all__ = ["RECIPES", "WorkflowDataset", "build"]


def __getattr__(name):
    # Imported on first use so the command-line builder starts without loading torch.
    if name == "WorkflowDataset":
        from artzoo.data.dataset import WorkflowDataset

        return WorkflowDataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
