"""Generic dataset builder: plan, render in parallel, write aligned PNGs, meta.json and a preview."""

import json
import multiprocessing
import os
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from artzoo.data.layout import META, SPLITS, TEST_FRACTION, aligned_ids, ids_in, split_of
from artzoo.data.recipes.base import Recipe, Skip
from artzoo.errors import ArtzooError

PREVIEW = "preview.png"
PREVIEW_ROWS = 8


def get_recipe(name: str) -> Recipe:
    from artzoo.data.recipes import RECIPES

    if name not in RECIPES:
        raise ArtzooError(f"unknown recipe {name!r}; available: {', '.join(sorted(RECIPES))}")
    return RECIPES[name]


def resolve_options(recipe: Recipe, options: dict) -> dict:
    """Fill defaults and reject options the recipe does not take or values it does not accept."""
    known = {option.name: option for option in recipe.options}
    unknown = sorted(set(options) - set(known))
    if unknown:
        takes = ", ".join(f"--{n.replace('_', '-')}" for n in known) or "no options"
        flags = ", ".join(f"--{n.replace('_', '-')}" for n in unknown)
        raise ArtzooError(f"recipe {recipe.name} does not take {flags} (it takes {takes})")
    resolved = {}
    for option in recipe.options:
        value = options.get(option.name)
        value = option.default if value is None else value
        if option.choices and value not in option.choices:
            raise ArtzooError(f"--{option.name.replace('_', '-')} must be one of {', '.join(option.choices)}, not {value!r}")
        resolved[option.name] = value
    return resolved


def build(name: str, out, size: int = 64, limit: int | None = None, workers: int | None = None,
          progress: bool = True, **options) -> dict:
    """Build (or finish building) dataset `name` into `out`; returns the written meta.json as a dict.

    Samples already on disk are skipped, so re-running resumes an interrupted build.
    """
    recipe = get_recipe(name)
    if not isinstance(size, int) or size < 16:
        raise ArtzooError(f"size must be an integer of at least 16, not {size!r}")
    if limit is not None and limit < 1:
        raise ArtzooError(f"limit must be positive, not {limit}")
    options = resolve_options(recipe, options)
    out = Path(out)
    settings = {
        "recipe": name,
        "size": size,
        "options": {o.name: options[o.name] for o in recipe.options if o.affects_output},
    }
    _check_compatible(out, settings)

    plan = recipe.plan(size=size, limit=limit, **options)
    if len({job.id for job in plan.jobs}) != len(plan.jobs):
        raise RuntimeError(f"recipe {name} produced duplicate ids")
    folders = recipe.stages + tuple(recipe.extras)
    for split in SPLITS:
        for folder in folders:
            (out / split / folder).mkdir(parents=True, exist_ok=True)
    _write_json(out / META, {**settings, "complete": False})

    done = {split: set(aligned_ids(out, split, recipe.stages)) for split in SPLITS}
    tasks = []
    for job in plan.jobs:
        split = split_of(job.group)
        if job.id not in done[split]:
            tasks.append((recipe.render, job, size, options, str(out / split)))
    skipped = Counter(plan.skipped)
    for reason in _run(tasks, workers, progress, name):
        if reason is not None:
            skipped[reason] += 1

    meta = {
        **settings,
        "description": recipe.description,
        "stages": list(recipe.stages),
        "channels": list(recipe.channels),
        "extras": dict(recipe.extras),
        "limit": limit,
        "sources": plan.sources,
        "licence": plan.licence,
        "split": {"by": "sha1 of the sample's group id", "test_fraction": TEST_FRACTION},
        "counts": {split: len(aligned_ids(out, split, recipe.stages)) for split in SPLITS},
        "extra_counts": {f: {s: len(ids_in(out / s / f)) for s in SPLITS} for f in recipe.extras},
        "skipped": dict(sorted(skipped.items())),
        "complete": True,
    }
    _write_json(out / META, meta)
    write_preview(out, meta)
    return meta


def _check_compatible(out: Path, settings: dict) -> None:
    path = out / META
    if not path.is_file():
        return
    old = json.loads(path.read_text())
    previous = {key: old.get(key) for key in settings}
    if previous != settings:
        raise ArtzooError(
            f"{out} already holds a dataset built with {previous}, not {settings}; "
            "choose another --out or delete that folder"
        )


def _run(tasks: list, workers: int | None, progress: bool, name: str):
    """Yield each task's skip reason (None when written), in parallel when worthwhile."""
    workers = min(workers or os.cpu_count() or 1, len(tasks))
    with tqdm(total=len(tasks), desc=f"building {name}", unit="sample", disable=not progress) as bar:
        if workers <= 1:
            results = map(_render_job, tasks)
            for reason in results:
                bar.update()
                yield reason
            return
        with multiprocessing.Pool(workers) as pool:
            # Small chunks keep the bar moving and the load balanced across slow and fast samples.
            for reason in pool.imap_unordered(_render_job, tasks, chunksize=4):
                bar.update()
                yield reason


def _render_job(task) -> str | None:
    render, job, size, options, target = task
    try:
        images = render(job.payload, size, **options)
    except Skip as skip:
        return str(skip)
    for folder, image in images.items():
        save_png(image, Path(target) / folder / f"{job.id}.png")
    return None


def save_png(image: Image.Image, path: Path) -> None:
    """Write atomically so an interrupted build never leaves a truncated file that looks done."""
    tmp = path.with_name(path.name + ".tmp")
    image.save(tmp, format="PNG")
    os.replace(tmp, path)


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def write_preview(root: Path, meta: dict, rows: int = PREVIEW_ROWS) -> None:
    """preview.png: evenly spaced samples as rows, stages (then extras) as columns."""
    root = Path(root)
    samples = [(split, i) for split in SPLITS for i in aligned_ids(root, split, meta["stages"])]
    samples.sort(key=lambda sample: sample[1])
    if not samples:
        return
    picks = [samples[k] for k in np.linspace(0, len(samples) - 1, min(rows, len(samples))).round().astype(int)]
    columns = meta["stages"] + list(meta["extras"])
    size = meta["size"]
    zoom = max(1, 128 // size)  # small datasets are magnified (nearest) so single pixels stay visible
    cell, gap = size * zoom, 2
    sheet = Image.new("RGB", (len(columns) * (cell + gap) + gap, len(picks) * (cell + gap) + gap), (200, 200, 200))
    for row, (split, sample_id) in enumerate(picks):
        for col, folder in enumerate(columns):
            path = root / split / folder / f"{sample_id}.png"
            image = Image.open(path).convert("RGB") if path.is_file() else Image.new("RGB", (size, size), "white")
            image = image.resize((cell, cell), Image.NEAREST)
            sheet.paste(image, (gap + col * (cell + gap), gap + row * (cell + gap)))
    sheet.save(root / PREVIEW)
