"""The pipelines the app offers: those published in the checkpoints folder, or an honest stand-in.

Only bundled folders are offered (the app never downloads: it must run offline and start fast). When
none is published, a randomly initialised "untrained demo" pipeline keeps every control usable.
Pipelines load lazily, once, and are shared read-only by all sessions.
"""

from __future__ import annotations

import threading
from pathlib import Path

from .. import zoo
from ..hub import read_index
from ..errors import ArtzooError
from ..pipeline import WorkflowPipeline

DEMO_NAME = "untrained-demo"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
BUNDLED_EXAMPLES = Path(__file__).resolve().parent / "examples"


def _untrained_demo() -> WorkflowPipeline:
    # The tiny preset at 64 px: as fast as possible, since its pictures carry no meaning anyway.
    return WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=64, preset="tiny", seed=0)


class PipelineRegistry:
    """Names → lazily loaded pipelines, with the labels, descriptions and examples the UI shows."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else zoo.checkpoints_dir()
        self._rows = {}
        self.problems: list[str] = []
        for folder in zoo.bundled_folders(self.root):
            try:
                index = read_index(folder)
            except ArtzooError as e:  # one broken folder must not take the app down
                self.problems.append(str(e))
                continue
            entry = zoo.ZOO.get(folder.name)
            self._rows[folder.name] = {"folder": folder, "stages": index["stages"],
                                       "image_size": index["image_size"], "info": index.get("info") or {},
                                       "description": entry.description if entry else ""}
        self.untrained = not self._rows
        if self.untrained:
            self._rows[DEMO_NAME] = {"folder": None, "stages": ["sketch", "flat", "detail"], "image_size": 64,
                                     "info": {}, "description": "randomly initialised networks, never trained"}
        self._loaded: dict[str, WorkflowPipeline] = {}
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        # The flagship first when it is there: it is the default.
        return sorted(self._rows, key=lambda n: (n != "fluent-emoji", n))

    @property
    def default(self) -> str:
        return self.names[0]

    def stages(self, name: str) -> list[str]:
        return list(self._row(name)["stages"])

    def image_size(self, name: str) -> int:
        return int(self._row(name)["image_size"])

    def _row(self, name: str) -> dict:
        if name not in self._rows:
            raise ArtzooError(f"unknown pipeline {name!r}; this app offers {', '.join(self.names)}")
        return self._rows[name]

    def get(self, name: str) -> WorkflowPipeline:
        row = self._row(name)
        with self._lock:  # two first requests must not load the same pipeline twice
            if name not in self._loaded:
                pipe = _untrained_demo() if row["folder"] is None else WorkflowPipeline.from_pretrained(row["folder"])
                pipe.perceptual  # build the fitting loss now, not racily inside the first fit
                self._loaded[name] = pipe
            return self._loaded[name]

    def label(self, name: str) -> str:
        row = self._row(name)
        tag = " (untrained demo)" if row["folder"] is None else ""
        return f"{name}{tag} · {' → '.join(row['stages'])} · {row['image_size']} px"

    def describe(self, name: str) -> str:
        """Markdown about the chosen pipeline, with a plain warning for the untrained stand-in."""
        row = self._row(name)
        text = f"**{name}**: {row['description'] or 'no description'} · stages {' → '.join(row['stages'])} · " \
               f"{row['image_size']} px model size"
        if row["folder"] is None:
            text = (f"⚠️ **No trained pipeline is published in `{self.root}` yet**, so this is a randomly "
                    "initialised **untrained demo**: every control works, but the pictures are meaningless "
                    "noise-like patterns, not art.\n\n" + text)
        for problem in self.problems:
            text += f"\n\n⚠️ skipped a broken pipeline folder: {problem}"
        return text

    def example_folders(self) -> list[Path]:
        """Every folder `examples` may pick from: the only files the app serves from disk as they are."""
        folders = [row["folder"] / "examples" for row in self._rows.values() if row["folder"] is not None]
        return [f for f in folders if f.is_dir()] + [BUNDLED_EXAMPLES]

    def examples(self, name: str, stage: int) -> list[Path]:
        """Held-out example pictures of one stage: ``<pipeline folder>/examples/<stage name>/*``; the
        untrained demo borrows a few bundled fluent-emoji test items so its controls can be tried."""
        row = self._row(name)
        stage_name = row["stages"][stage]
        if row["folder"] is None:
            folder = BUNDLED_EXAMPLES / ("sketch" if stage == 0 else "detail")
        else:
            folder = row["folder"] / "examples" / stage_name
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
