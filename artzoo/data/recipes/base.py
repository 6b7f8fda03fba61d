"""What a dataset recipe is: stage names, options, a planner that lists samples and a renderer.

The builder (build.py) is generic; each recipe module only says where samples come from
(`plan`, run once in the main process) and how to turn one sample into its stage images
(`render`, run in worker processes, so it must be a module-level function).
"""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

from PIL import Image


class Skip(Exception):
    """Raised by a renderer for a sample that cannot be made; the message is the reason counted."""


class Job(NamedTuple):
    id: str  # file stem, unique within the dataset
    group: str  # samples sharing a group land in the same split (e.g. views of one chair)
    payload: Any  # whatever the renderer needs; must be cheap to send to a worker


@dataclass
class Plan:
    jobs: list[Job]
    sources: list[dict]  # {"name", "version", "licence"} of each input
    licence: str
    skipped: Counter = field(default_factory=Counter)  # reasons for inputs dropped while planning


@dataclass(frozen=True)
class Option:
    name: str  # python name; the CLI flag is --name-with-dashes
    default: Any
    help: str
    choices: tuple | None = None
    type: type = str
    affects_output: bool = True  # options that change pixels must match when resuming a build


@dataclass(frozen=True)
class Recipe:
    name: str
    stages: tuple[str, ...]
    channels: tuple[int, ...]  # per stage: 1 (greyscale sketch) or 3 (RGB)
    description: str
    plan: Callable[..., Plan]  # plan(size, limit, **options) -> Plan
    render: Callable[..., dict[str, Image.Image]]  # render(payload, size, **options) -> {folder: image}
    options: tuple[Option, ...] = ()
    # Optional folders holding an alternative for a stage, for some ids: {folder: stage}.
    extras: dict[str, str] = field(default_factory=dict)
