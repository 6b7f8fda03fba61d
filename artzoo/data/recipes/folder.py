"""folder: any folder of your own pictures (--src DIR): pencil sketch -> rough colour blocks -> the picture
(stages derived by `artzoo.data.stylise`). How users bring their own artwork."""

import re
from collections import Counter
from pathlib import Path

from PIL import Image

from artzoo.data.recipes.base import Job, Option, Plan, Recipe
from artzoo.data.stylise import STAGES, derive, open_image
from artzoo.errors import ArtzooError


def sample_id(relative: Path) -> str:
    """A file-name-safe id from a path inside the source folder: 'a b/c.png' -> 'a_b__c'."""
    return "__".join(re.sub(r"[^A-Za-z0-9._-]", "_", part) for part in relative.with_suffix("").parts)


def plan(size: int, limit: int | None, src: str | None, fit: str) -> Plan:
    if not src:
        raise ArtzooError("recipe folder needs --src DIR, a folder of images")
    root = Path(src).expanduser()
    if not root.is_dir():
        raise ArtzooError(f"--src {src} is not a folder")
    jobs, skipped, seen = [], Counter(), set()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue  # hidden files and folders (.DS_Store, .git)
        name = sample_id(path.relative_to(root))
        if name in seen:
            skipped["duplicate name"] += 1  # e.g. a.png next to a.jpg
            continue
        seen.add(name)
        jobs.append(Job(name, name, str(path)))
    if not jobs:
        raise ArtzooError(f"--src {src} holds no files")
    source = {"name": str(root.resolve()), "version": None, "licence": "as the source images"}
    return Plan(jobs[:limit], [source], "as the source images", skipped)


def render(payload: str, size: int, fit: str, **options) -> dict[str, Image.Image]:
    return derive(open_image(payload), size, fit)


RECIPE = Recipe(
    name="folder",
    stages=STAGES,
    channels=(1, 3, 3),
    description="your own pictures (--src DIR): pencil sketch -> superpixel rough colour -> the picture",
    plan=plan,
    render=render,
    options=(
        Option("src", None, "face, folder: the source folder"),
        Option("fit", "pad", "folder: make pictures square by padding with white or centre-cropping", ("pad", "crop")),
    ),
)
