"""fluent-3d: Fluent Emoji 3D renders (MIT) from npm @lobehub/fluent-emoji-3d: pencil sketch -> rough
colour blocks -> the 3D render (stages derived by `artzoo.data.stylise`)."""

import re
from pathlib import Path

from PIL import Image

from artzoo.data import npm
from artzoo.data.recipes.base import Job, Option, Plan, Recipe
from artzoo.data.stylise import STAGES, derive, open_image

PACKAGE = ("@lobehub/fluent-emoji-3d", "1.1.0")
SKIN_TONE = re.compile(r"-1f3f[b-f]")  # Unicode skin-tone modifiers in the file names


def plan(size: int, limit: int | None, cache: str | None) -> Plan:
    name, version = PACKAGE
    tarball = npm.fetch(name, version, cache)
    files = npm.read_files(tarball, "assets")
    licence = npm.read_json(tarball, "package.json").get("license", "unknown")
    stems = sorted(files)
    if limit:  # an even spread: the first names alone are nearly all flags
        stems = [stems[i * len(stems) // limit] for i in range(min(limit, len(stems)))]
    # Skin-tone variants of one emoji share a split.
    jobs = [Job(Path(f).stem, SKIN_TONE.sub("", Path(f).stem), files[f]) for f in stems]
    source = {"name": name, "version": version, "licence": licence}
    return Plan(jobs, [source], "MIT (Microsoft Fluent Emoji, packaged by LobeHub)")


def render(payload: bytes, size: int, **options) -> dict[str, Image.Image]:
    return derive(open_image(payload), size, "pad")


RECIPE = Recipe(
    name="fluent-3d",
    stages=STAGES,
    channels=(1, 3, 3),
    description="Fluent Emoji 3D renders (MIT) from npm: pencil sketch -> superpixel rough colour -> 3D detail",
    plan=plan,
    render=render,
    options=(Option("cache", None, "folder for downloaded npm tarballs (default $ARTZOO_NPM_CACHE or "
                    "~/.cache/artzoo/npm)", affects_output=False),),
)
