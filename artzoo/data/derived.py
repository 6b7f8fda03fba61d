"""Recipes that derive the earlier stages from finished pictures: sketch -> rough -> detail.

The anime workflow of the paper, approximated from a single final image:
detail = the picture on white, rough = SLIC superpixels filled with their median colour
and median-filtered (blocky base colours), sketch = thresholded difference-of-Gaussians
lines (pencil style) plus the silhouette where the picture has transparency.

fluent-3d  Fluent Emoji 3D renders (MIT) from npm @lobehub/fluent-emoji-3d
folder     any folder of images (--src DIR): how users bring their own artwork
"""

import io
import re
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from scipy import ndimage as ndi
from skimage.segmentation import slic

from artzoo.data import npm
from artzoo.data.imaging import to_image
from artzoo.data.lines import draw_lines, label_edges, xdog_edges
from artzoo.data.recipe import Job, Option, Plan, Recipe, Skip
from artzoo.errors import ArtzooError

PACKAGE = ("@lobehub/fluent-emoji-3d", "1.1.0")
LINE_SCALE = 4  # lines are found at 4x the output size, then drawn 1 px wide
ROUGH_SCALE = 2  # superpixels are computed at 2x and area-downsampled
SKIN_TONE = re.compile(r"-1f3f[b-f]")  # Unicode skin-tone modifiers in the file names
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def square(image: Image.Image, fit: str) -> Image.Image:
    """RGBA square: centre-crop, or pad with transparent pixels (later white)."""
    image = image.convert("RGBA")
    side = min(image.size) if fit == "crop" else max(image.size)
    canvas = Image.new("RGBA", (side, side), (255, 255, 255, 0))
    canvas.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return canvas


def to_array(image: Image.Image, px: int) -> tuple[np.ndarray, np.ndarray]:
    """RGB on white and alpha, float in [0, 1], resized to px."""
    rgba = np.asarray(image.resize((px, px), Image.LANCZOS), np.float32) / 255
    alpha = rgba[..., 3]
    return np.clip(rgba[..., :3] * alpha[..., None] + (1 - alpha[..., None]), 0, 1), alpha


def rough_colours(rgb: np.ndarray) -> np.ndarray:
    """Superpixels (about one per 12 pixels at output size) filled with their median colour."""
    side = rgb.shape[0] // ROUGH_SCALE
    segments = slic(rgb, n_segments=side * side // 12, compactness=12, start_label=0)
    _, segments = np.unique(segments, return_inverse=True)  # labels 0..n-1 with none unused
    segments = segments.reshape(rgb.shape[:2])
    flat = rgb.reshape(-1, 3)
    order = np.argsort(segments.ravel(), kind="stable")
    bounds = np.cumsum(np.bincount(segments.ravel()))[:-1]
    medians = np.stack([np.median(group, axis=0) for group in np.split(flat[order], bounds)])
    return ndi.median_filter(medians[segments], size=(3, 3, 1))


def pencil_sketch(rgb: np.ndarray, alpha: np.ndarray | None, size: int) -> Image.Image:
    scale = rgb.shape[0] // size
    edges = xdog_edges(rgb @ LUMA, sigma=0.3 * scale, epsilon=-0.01)
    if alpha is not None:
        edges |= label_edges(alpha > 0.5)  # the silhouette
    return Image.fromarray(draw_lines(edges, size, min_length=2 * scale))


def derive(image: Image.Image, size: int, fit: str = "pad") -> dict[str, Image.Image]:
    """The three stages of one picture."""
    image = square(image, fit)
    rgb, alpha = to_array(image, size * LINE_SCALE)
    has_alpha = alpha.min() < 1
    small, _ = to_array(image, size * ROUGH_SCALE)
    return {
        "sketch": pencil_sketch(rgb, alpha if has_alpha else None, size),
        "rough": to_image(rough_colours(small), size),
        "detail": to_image(rgb, size),
    }



def open_image(data: bytes | str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data) if isinstance(data, bytes) else data)
        image.load()
    except (UnidentifiedImageError, OSError) as error:
        raise Skip("not an image") from error
    return image


# ---------------------------------------------------------------- fluent-3d


def plan_fluent3d(size: int, limit: int | None, cache: str | None) -> Plan:
    name, version = PACKAGE
    tarball = npm.fetch(name, version, cache)
    files = npm.read_files(tarball, "assets")
    licence = npm.read_json(tarball, "package.json").get("license", "unknown")
    stems = sorted(files)[:limit]
    # Skin-tone variants of one emoji share a split.
    jobs = [Job(Path(f).stem, SKIN_TONE.sub("", Path(f).stem), files[f]) for f in stems]
    source = {"name": name, "version": version, "licence": licence}
    return Plan(jobs, [source], "MIT (Microsoft Fluent Emoji, packaged by LobeHub)")


def render_fluent3d(payload: bytes, size: int, **options) -> dict[str, Image.Image]:
    return derive(open_image(payload), size, "pad")


# ---------------------------------------------------------------- folder


def sample_id(relative: Path) -> str:
    """A file-name-safe id from a path inside the source folder: 'a b/c.png' -> 'a_b__c'."""
    return "__".join(re.sub(r"[^A-Za-z0-9._-]", "_", part) for part in relative.with_suffix("").parts)


def plan_folder(size: int, limit: int | None, src: str | None, fit: str) -> Plan:
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


def render_folder(payload: str, size: int, fit: str, **options) -> dict[str, Image.Image]:
    return derive(open_image(payload), size, fit)


STAGES = ("sketch", "rough", "detail")
FLUENT3D = Recipe(
    name="fluent-3d",
    stages=STAGES,
    channels=(1, 3, 3),
    description="Fluent Emoji 3D renders (MIT) from npm: pencil sketch -> superpixel rough colour -> 3D detail",
    plan=plan_fluent3d,
    render=render_fluent3d,
    options=(Option("cache", None, "folder for downloaded npm tarballs (default $ARTZOO_NPM_CACHE or "
                    "~/.cache/artzoo/npm)", affects_output=False),),
)
FOLDER = Recipe(
    name="folder",
    stages=STAGES,
    channels=(1, 3, 3),
    description="your own pictures (--src DIR): pencil sketch -> superpixel rough colour -> the picture",
    plan=plan_folder,
    render=render_folder,
    options=(
        Option("src", None, "face, folder: the source folder"),
        Option("fit", "pad", "folder: make pictures square by padding with white or centre-cropping", ("pad", "crop")),
    ),
)
