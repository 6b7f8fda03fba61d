"""fluent-emoji: Microsoft's Fluent Emoji (MIT) as sketch -> flat -> detail triplets.

flat   = the 'Flat' style (solid colour regions), @iconify-json/fluent-emoji-flat
detail = the 'Color' style (gradients, highlights), @iconify-json/fluent-emoji
sketch = lines along the flat style's colour boundaries (default), or the artist-made
         'High Contrast' outlines, @iconify-json/fluent-emoji-high-contrast; whichever is
         not the sketch is kept as the extra folder sketch_alt for augmentation.
"""

import hashlib
import io
import re
from collections import Counter

import numpy as np
from PIL import Image

from artzoo.data import npm
from artzoo.data.imaging import on_white, to_image
from artzoo.data.lines import boundary_sketch
from artzoo.data.recipes.base import Job, Option, Plan, Recipe, Skip

PACKAGES = {
    "flat": ("@iconify-json/fluent-emoji-flat", "1.2.6"),
    "detail": ("@iconify-json/fluent-emoji", "1.2.7"),
    "high_contrast": ("@iconify-json/fluent-emoji-high-contrast", "1.2.6"),
}
LICENCE = "MIT (Microsoft Fluent Emoji, https://github.com/microsoft/fluentui-emoji)"
# High Contrast has one shape per emoji; skin-tone variants are named base + suffix.
SKIN_TONE = re.compile(r"-(light|medium-light|medium|medium-dark|dark)$")
# Boundaries are found and drawn at this multiple of the output size, then downsampled.
LINE_SCALE = 4
SKETCH_STYLES = ("boundary", "high-contrast", "mixed")
FILTER_USE = re.compile(r'\sfilter="url\(#[^)]*\)"')


def base_name(name: str) -> str:
    return SKIN_TONE.sub("", name)


def svg_document(icon: dict, icon_set: dict) -> str:
    """A standalone SVG for one iconify icon, its viewBox padded to a centred square."""
    left, top = icon.get("left", icon_set.get("left", 0)), icon.get("top", icon_set.get("top", 0))
    width, height = icon.get("width", icon_set.get("width", 16)), icon.get("height", icon_set.get("height", 16))
    side = max(width, height)
    left, top = left - (side - width) / 2, top - (side - height) / 2
    # cairosvg implements only the offset step of the soft inner shadows the Color style uses,
    # which would shift whole shapes; rendering them unfiltered keeps the geometry right.
    body = FILTER_USE.sub("", icon["body"])
    # Some bodies use xlink:href without declaring it; High Contrast draws in currentColor.
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'color="black" viewBox="{left} {top} {side} {side}">{body}</svg>'
    )


def rasterise(svg: str, px: int) -> np.ndarray:
    """Render an SVG to float RGBA (px, px, 4) in [0, 1], colour not premultiplied."""
    import cairosvg  # here, not at the top: training reads built data and needs no cairo library

    try:
        png = cairosvg.svg2png(bytestring=svg.encode("utf-8"), output_width=px, output_height=px)
    except Exception as error:  # cairosvg raises many types for malformed or unsupported SVG
        raise Skip("SVG failed to render") from error
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"), dtype=np.float32) / 255


def plan(size: int, limit: int | None, sketch_style: str, cache: str | None) -> Plan:
    sets, sources = {}, []
    for key, (package, version) in PACKAGES.items():
        tarball = npm.fetch(package, version, cache)
        sets[key] = npm.read_json(tarball, "icons.json")
        licence = npm.read_json(tarball, "package.json").get("license", "unknown")
        sources.append({"name": package, "version": version, "licence": licence})
    flat, detail, contrast = (sets[k]["icons"] for k in ("flat", "detail", "high_contrast"))
    names = sorted(set(flat) & set(detail))
    if limit is not None:
        names = names[:limit]
    jobs, skipped = [], Counter()
    for name in names:
        shape = contrast.get(name) or contrast.get(base_name(name))
        if shape is None and sketch_style == "high-contrast":
            skipped["no high-contrast shape"] += 1
            continue
        # 'mixed' picks High Contrast for about half of the icons, by a hash of the name.
        contrast_first = sketch_style == "high-contrast" or (
            sketch_style == "mixed" and hashlib.sha1(name.encode()).digest()[0] % 2 == 1
        )
        payload = (
            svg_document(flat[name], sets["flat"]),
            svg_document(detail[name], sets["detail"]),
            svg_document(shape, sets["high_contrast"]) if shape else None,
            contrast_first,
        )
        # Skin-tone variants share a drawing, so they share a split.
        jobs.append(Job(name, base_name(name), payload))
    return Plan(jobs, sources, LICENCE, skipped)


def render(payload, size: int, **options) -> dict[str, Image.Image]:
    flat_svg, detail_svg, contrast_svg, contrast_first = payload
    flat = rasterise(flat_svg, size * LINE_SCALE)
    if flat[..., 3].max() == 0:
        raise Skip("rendered blank")
    sketches = [boundary_sketch(flat, size)]
    if contrast_svg is not None:
        sketches.append(to_image(on_white(rasterise(contrast_svg, size))[..., 0], size))
        if contrast_first:
            sketches.reverse()
    images = {
        "sketch": sketches[0],
        "flat": to_image(on_white(flat), size),
        "detail": to_image(on_white(rasterise(detail_svg, size)), size),
    }
    if len(sketches) == 2:
        images["sketch_alt"] = sketches[1]
    return images


RECIPE = Recipe(
    name="fluent-emoji",
    stages=("sketch", "flat", "detail"),
    channels=(1, 3, 3),
    description="Fluent Emoji (MIT) from npm: boundary-line sketch -> flat colours -> gradient detail",
    plan=plan,
    render=render,
    options=(
        Option("sketch_style", "boundary", "fluent-emoji sketch: colour-boundary lines, the artist-made "
               "High Contrast outlines, or a per-icon mix (the other style goes to sketch_alt)", SKETCH_STYLES),
        Option("cache", None, "folder for downloaded npm tarballs (default $ARTZOO_NPM_CACHE or "
               "~/.cache/artzoo/npm)", affects_output=False),
    ),
    extras={"sketch_alt": "sketch"},
)
