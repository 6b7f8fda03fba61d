"""face: CelebAMask-HQ portraits (bring your own copy, --src DIR) as sketch -> flat -> detail.

Expected layout (as distributed):
    DIR/CelebA-HQ-img/{i}.jpg
    DIR/CelebAMask-HQ-mask-anno/{k}/{i:05d}_{part}.png     (k = i // 2000; any k is accepted)

detail = the photo with the background (no part mask) made white, flat = the median colour
of each part, sketch = lines along the flat colouring's region boundaries (as fluent-emoji).
"""

import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from artzoo.data.imaging import to_image
from artzoo.data.lines import boundary_sketch
from artzoo.data.recipes.base import Job, Option, Plan, Recipe, Skip
from artzoo.errors import ArtzooError

IMAGES, MASKS = "CelebA-HQ-img", "CelebAMask-HQ-mask-anno"
# Later parts cover earlier ones: the order the dataset's own label-map script paints in.
PARTS = ("skin", "nose", "eye_g", "l_eye", "r_eye", "l_brow", "r_brow", "l_ear", "r_ear",
         "mouth", "u_lip", "l_lip", "hair", "hat", "ear_r", "neck_l", "neck", "cloth")
MASK_NAME = re.compile(r"^(\d+)_([a-z_]+)\.png$")
LINE_SCALE = 4
LICENCE = "CelebAMask-HQ: non-commercial research and educational use only (see its terms)"


def plan(size: int, limit: int | None, src: str | None) -> Plan:
    if not src:
        raise ArtzooError(f"recipe face needs --src DIR, the CelebAMask-HQ folder holding {IMAGES}/ and {MASKS}/")
    root = Path(src).expanduser()
    if not (root / IMAGES).is_dir() or not (root / MASKS).is_dir():
        raise ArtzooError(f"--src {src} should hold {IMAGES}/ and {MASKS}/ (the CelebAMask-HQ layout)")
    masks = defaultdict(dict)
    for path in (root / MASKS).glob("*/*.png"):
        match = MASK_NAME.match(path.name)
        if match and match[2] in PARTS:
            masks[int(match[1])][match[2]] = str(path)
    images = {int(p.stem): str(p) for p in (root / IMAGES).glob("*.jpg") if p.stem.isdigit()}
    skipped = Counter()
    skipped["image without masks"] = len(images.keys() - masks.keys())
    skipped["masks without image"] = len(masks.keys() - images.keys())
    numbers = sorted(images.keys() & masks.keys())[:limit]
    if not numbers:
        raise ArtzooError(f"--src {src}: no image in {IMAGES}/ has masks in {MASKS}/")
    jobs = [Job(f"{i:05d}", f"{i:05d}", (images[i], masks[i])) for i in numbers]
    source = {"name": "CelebAMask-HQ", "version": None, "licence": LICENCE, "path": str(root.resolve())}
    return Plan(jobs, [source], LICENCE, +skipped)


def render(payload, size: int, **options) -> dict[str, Image.Image]:
    image_path, mask_paths = payload
    work = size * LINE_SCALE
    photo = np.asarray(Image.open(image_path).convert("RGB").resize((work, work), Image.LANCZOS), np.float32) / 255
    labels = np.zeros((work, work), int)  # 0 = background, k = PARTS[k - 1]
    for k, part in enumerate(PARTS, 1):
        if part in mask_paths:
            mask = Image.open(mask_paths[part]).convert("L").resize((work, work), Image.BILINEAR)
            labels[np.asarray(mask) > 127] = k
    if not labels.any():
        raise Skip("empty masks")
    foreground = labels > 0
    detail = np.where(foreground[..., None], photo, 1.0)
    flat = np.ones_like(photo)
    for k in np.unique(labels[foreground]):
        flat[labels == k] = np.median(photo[labels == k], axis=0)
    flat_rgba = np.concatenate([flat, foreground[..., None].astype(np.float32)], axis=-1)
    return {
        "sketch": boundary_sketch(flat_rgba, size),
        "flat": to_image(flat, size),
        "detail": to_image(detail, size),
    }


RECIPE = Recipe(
    name="face",
    stages=("sketch", "flat", "detail"),
    channels=(1, 3, 3),
    description="CelebAMask-HQ (your copy, --src DIR): boundary sketch -> flat part colours -> photo on white",
    plan=plan,
    render=render,
    options=(Option("src", None, "face, folder: the source folder"),),
)
