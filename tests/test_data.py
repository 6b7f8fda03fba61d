"""Dataset recipes, builder, layout and WorkflowDataset (artzoo.data), without network."""

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from artzoo.data import RECIPES, WorkflowDataset, build
from artzoo.data.layout import SPLITS, aligned_ids, split_of
from artzoo.data import npm
from artzoo.data.recipes import fluent_emoji
from artzoo.data.__main__ import main as cli_main
from artzoo.data.recipes.fluent_3d import PACKAGE as FLUENT3D_PACKAGE
from artzoo.errors import ArtzooError

FIXTURES = Path(__file__).parent / "data_fixtures"
SIZE = 32  # small and fast; every recipe works at any size >= 16


# ---------------------------------------------------------------- helpers


def add_to_tar(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def pack(cache: Path, package: str, version: str, files: dict[str, bytes]) -> None:
    """Write a tarball shaped like `npm pack` output into the npm cache folder."""
    meta = {"name": package, "version": version, "license": "MIT"}
    with tarfile.open(cache / npm.tarball_name(package, version), "w:gz") as tar:
        add_to_tar(tar, "package/package.json", json.dumps(meta).encode())
        for name, data in files.items():
            add_to_tar(tar, f"package/{name}", data)


@pytest.fixture(scope="module")
def npm_cache(tmp_path_factory) -> Path:
    """An npm cache holding the fixture excerpts of the emoji and fluent-3d packages."""
    cache = tmp_path_factory.mktemp("npm")
    for package, version in fluent_emoji.PACKAGES.values():
        icons = (FIXTURES / "emoji" / f"{package.split('/')[1]}.json").read_bytes()
        pack(cache, package, version, {"icons.json": icons})
    renders = {f"assets/{p.name}": p.read_bytes() for p in (FIXTURES / "fluent-3d").glob("*.webp")}
    pack(cache, *FLUENT3D_PACKAGE, renders)
    return cache


def make_celebamask(root: Path, count: int = 4) -> Path:
    """A tiny synthetic dataset laid out like CelebAMask-HQ: photos plus one mask file per part."""
    rng = np.random.default_rng(0)
    (root / "CelebA-HQ-img").mkdir(parents=True)
    for i in range(count):
        photo = Image.fromarray(rng.integers(0, 60, (128, 128, 3), dtype=np.uint8) + 120)
        draw = ImageDraw.Draw(photo)
        draw.ellipse((32, 20, 96, 110), fill=(220, 170, 140))
        draw.ellipse((44, 50, 58, 58), fill=(60, 40, 30))
        photo.save(root / "CelebA-HQ-img" / f"{i}.jpg")
        folder = root / "CelebAMask-HQ-mask-anno" / str(i // 2000)
        folder.mkdir(parents=True, exist_ok=True)
        boxes = {"skin": (16, 10, 48, 55), "l_eye": (22, 25, 29, 29), "hair": (14, 4, 50, 14),
                 "cloth": (0, 54, 64, 64)}
        for part, box in boxes.items():  # masks are half the photo's resolution, as in the real data
            mask = Image.new("L", (64, 64), 0)
            ImageDraw.Draw(mask).ellipse(box, fill=255)
            mask.save(folder / f"{i:05d}_{part}.png")
    # A photo nobody annotated, and masks without a photo: both skipped and counted.
    Image.new("RGB", (128, 128)).save(root / "CelebA-HQ-img" / f"{count}.jpg")
    Image.new("L", (64, 64), 255).save(root / "CelebAMask-HQ-mask-anno" / "0" / f"{count + 1:05d}_skin.png")
    return root


def all_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def check_layout(root: Path, stages, channels, size=SIZE) -> int:
    """Every stage folder of every split holds the same ids, as PNGs of the right mode and size."""
    total = 0
    for split in SPLITS:
        ids = aligned_ids(root, split, stages)
        for stage, c in zip(stages, channels):
            folder = root / split / stage
            assert sorted(p.stem for p in folder.glob("*.png")) == ids
            for p in folder.glob("*.png"):
                with Image.open(p) as image:
                    assert image.mode == ("L" if c == 1 else "RGB") and image.size == (size, size)
        total += len(ids)
    assert (root / "preview.png").is_file()
    return total


@pytest.fixture(scope="module")
def emoji_root(npm_cache, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("emoji") / "fluent-emoji"
    build("fluent-emoji", root, size=SIZE, cache=str(npm_cache), progress=False, workers=1)
    return root


@pytest.fixture(scope="module")
def chairs_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("chairs") / "chairs"
    build("chairs", root, size=SIZE, limit=6, progress=False, workers=1)
    return root


# ---------------------------------------------------------------- layout


def test_split_is_a_stable_hash_with_about_ten_percent_test():
    assert split_of("grinning-face") == split_of("grinning-face")
    # Pinned: changing the split would silently move samples between train and test.
    assert [i for i in range(40) if split_of(f"id{i}") == "test"] == [18, 32, 34, 35, 36]
    share = [split_of(str(i)) for i in range(20000)].count("test") / 20000
    assert 0.09 < share < 0.11


def test_recipes_are_registered_with_stage_names():
    assert set(RECIPES) == {"fluent-emoji", "fluent-3d", "chairs", "face", "folder"}
    assert RECIPES["chairs"].stages == ("sketch", "normal", "colour", "light")
    for recipe in RECIPES.values():
        assert recipe.stages[0] == "sketch" and len(recipe.channels) == len(recipe.stages)
        assert recipe.channels[0] == 1 and set(recipe.channels[1:]) == {3}


def test_unknown_recipe_option_and_bad_values_are_clear_errors(tmp_path):
    with pytest.raises(ArtzooError, match="unknown recipe 'nope'"):
        build("nope", tmp_path)
    with pytest.raises(ArtzooError, match="does not take --src"):
        build("chairs", tmp_path, src="x")
    with pytest.raises(ArtzooError, match="sketch-style must be one of"):
        build("fluent-emoji", tmp_path, sketch_style="crayon")
    with pytest.raises(ArtzooError, match="size"):
        build("chairs", tmp_path, size=4)


# ---------------------------------------------------------------- fluent-emoji


def test_emoji_builds_aligned_triplets_and_counts_render_failures(emoji_root):
    meta = json.loads((emoji_root / "meta.json").read_text())
    assert meta["stages"] == ["sketch", "flat", "detail"] and meta["channels"] == [1, 3, 3]
    # 12 fixture icons; the 'Color' umbrella is one that cairosvg cannot render.
    assert check_layout(emoji_root, meta["stages"], meta["channels"]) == 11
    assert meta["skipped"] == {"SVG failed to render": 1}
    assert sum(meta["counts"].values()) == 11
    assert [s["version"] for s in meta["sources"]] == [v for _, v in fluent_emoji.PACKAGES.values()]
    assert meta["licence"].startswith("MIT")
    # Every icon has a High Contrast shape (skin tones share one), kept as sketch_alt.
    assert sum(meta["extra_counts"]["sketch_alt"].values()) == 11


def test_emoji_sketch_is_thin_dark_lines_on_white(emoji_root):
    split = split_of("red-apple")
    sketch = np.asarray(Image.open(emoji_root / split / "sketch" / "red-apple.png"))
    assert sketch[0, 0] == 255 and sketch.min() < 40  # white paper, black ink
    assert 0.03 < (sketch < 128).mean() < 0.25  # lines, not filled shapes
    flat = np.asarray(Image.open(emoji_root / split / "flat" / "red-apple.png"))
    assert (flat[0, 0] == 255).all() and flat[..., 0].max() > 200 and flat[..., 1].min() < 100  # red on white


def test_emoji_skin_tone_variants_share_a_split(emoji_root):
    homes = {split for split in SPLITS for variant in ("waving-hand", "waving-hand-light", "waving-hand-dark")
             if (emoji_root / split / "flat" / f"{variant}.png").exists()}
    assert len(homes) == 1


def test_emoji_high_contrast_style_swaps_sketch_and_alternative(emoji_root, npm_cache, tmp_path):
    build("fluent-emoji", tmp_path, size=SIZE, limit=3, sketch_style="high-contrast", cache=str(npm_cache),
          progress=False, workers=1)
    for path in (tmp_path / "train" / "sketch").glob("*.png"):
        assert path.read_bytes() == (emoji_root / "train" / "sketch_alt" / path.name).read_bytes()
        assert (tmp_path / "train" / "sketch_alt" / path.name).read_bytes() == \
            (emoji_root / "train" / "sketch" / path.name).read_bytes()


def test_npm_missing_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm on PATH, nothing cached
    with pytest.raises(ArtzooError, match="npm is needed"):
        build("fluent-emoji", tmp_path / "out", cache=str(tmp_path / "empty"), progress=False)


# ---------------------------------------------------------------- chairs


def test_chairs_build_four_aligned_stages(chairs_root):
    meta = json.loads((chairs_root / "meta.json").read_text())
    assert meta["stages"] == ["sketch", "normal", "colour", "light"]
    assert check_layout(chairs_root, meta["stages"], meta["channels"]) == 6
    ids = sorted(p.stem for s in SPLITS for p in (chairs_root / s / "colour").glob("*.png"))
    assert ids == [f"chair{c:05d}_v{v}" for c in range(3) for v in range(2)]
    for split in SPLITS:  # both views of a chair land in the same split
        views = [p.stem for p in (chairs_root / split / "colour").glob("*.png")]
        assert all(f"{v[:-1]}{1 - int(v[-1])}" in views for v in views)
    split = split_of("chair00000")
    images = {s: np.asarray(Image.open(chairs_root / split / s / "chair00000_v0.png"), np.int16)
              for s in meta["stages"]}
    for stage, image in images.items():
        assert (image[0, 0] == 255).all(), stage  # white background
    background = (images["colour"] == 255).all(-1)
    assert 0.1 < 1 - background.mean() < 0.9  # a chair fills part of the frame
    assert (images["sketch"] < 100).any() and (images["sketch"][background] > 200).mean() > 0.9
    assert np.abs(images["light"] - images["colour"]).mean() > 3  # shading changes the colours


def test_chairs_are_deterministic_across_worker_counts(chairs_root, tmp_path):
    build("chairs", tmp_path, size=SIZE, limit=6, progress=False, workers=2)
    assert all_files(tmp_path) == all_files(chairs_root)


def test_chairs_seed_changes_the_chairs(chairs_root, tmp_path):
    build("chairs", tmp_path, size=SIZE, limit=2, seed=1, progress=False, workers=1)
    split = split_of("chair00000")
    name = f"{split}/colour/chair00000_v0.png"
    assert (tmp_path / name).read_bytes() != (chairs_root / name).read_bytes()


# ---------------------------------------------------------------- fluent-3d, folder


def test_fluent3d_derives_sketch_and_rough_from_renders(npm_cache, tmp_path):
    meta = build("fluent-3d", tmp_path, size=SIZE, cache=str(npm_cache), progress=False, workers=1)
    assert meta["stages"] == ["sketch", "rough", "detail"] and meta["skipped"] == {}
    assert check_layout(tmp_path, meta["stages"], meta["channels"]) == 5
    homes = {s for s in SPLITS if (tmp_path / s / "detail" / "1f44b-1f3fb.png").exists()}
    assert homes == {s for s in SPLITS if (tmp_path / s / "detail" / "1f44b.png").exists()}
    split = split_of("1f600")
    sketch = np.asarray(Image.open(tmp_path / split / "sketch" / "1f600.png"))
    rough = np.asarray(Image.open(tmp_path / split / "rough" / "1f600.png"), np.int16)
    detail = np.asarray(Image.open(tmp_path / split / "detail" / "1f600.png"), np.int16)
    assert sketch[0, 0] == 255 and sketch.min() < 60 and (sketch < 128).mean() < 0.3
    assert (detail[0, 0] == 255).all() and 0 < np.abs(rough - detail).mean() < 40


def test_large_sketches_keep_the_lines_inside_the_drawing():
    """A 256 px picture (the sources' size) drawn as a 512 px sketch keeps its inner shape's lines, as the
    128 px one does, not only the silhouette."""
    from PIL import ImageDraw

    from artzoo.data.stylise import derive

    picture = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    draw = ImageDraw.Draw(picture)
    draw.rounded_rectangle((16, 16, 240, 240), radius=40, fill=(120, 120, 130, 255))
    draw.ellipse((80, 60, 176, 196), fill=(245, 245, 245, 255))  # a light "O" on the tile
    inner = np.zeros((256, 256), bool)
    inner[48:208, 48:208] = True  # well inside the silhouette
    for size in (128, 512):
        sketch = np.asarray(derive(picture, size)["sketch"].resize((256, 256), Image.Resampling.BOX))
        assert (sketch[inner] < 160).mean() > 0.01, size
        assert (sketch[~inner] < 160).mean() > 0.01, size  # and the silhouette


def test_the_rough_stage_is_as_rough_at_every_size():
    """The rough stage's blocks are sized relative to the picture, so a large build's rough is a coarse
    stage (as the 64 px one the networks train on), not nearly the detail stage."""
    from artzoo.data.stylise import derive

    yy, xx = np.mgrid[:256, :256] / 255
    picture = Image.fromarray((np.stack([xx, yy, 1 - xx * yy], -1) * 255).astype(np.uint8))  # smooth shading
    gap = {}
    for size in (64, 256):
        stages = derive(picture, size)
        rough, detail = (np.asarray(stages[k].resize((64, 64), Image.Resampling.BOX), np.float32) for k in ("rough", "detail"))
        gap[size] = np.abs(rough - detail).mean()
    assert gap[256] > 0.5 * gap[64] > 0


def test_folder_recipe_takes_any_pictures_and_skips_other_files(tmp_path):
    src = tmp_path / "art"
    (src / "sub dir").mkdir(parents=True)
    Image.new("RGB", (80, 50), (30, 120, 200)).save(src / "wide.jpg")
    Image.new("RGBA", (40, 40), (0, 0, 0, 0)).save(src / "sub dir" / "clear.png")
    Image.new("RGB", (40, 40), (200, 30, 30)).save(src / "wide.png")  # same id as wide.jpg
    (src / "notes.txt").write_text("not a picture")
    (src / ".hidden.png").write_bytes(b"")
    meta = build("folder", tmp_path / "out", size=SIZE, src=str(src), progress=False, workers=1)
    assert meta["skipped"] == {"duplicate name": 1, "not an image": 1}
    assert check_layout(tmp_path / "out", meta["stages"], meta["channels"]) == 2
    wide = np.asarray(Image.open(tmp_path / "out" / split_of("wide") / "detail" / "wide.png"), np.int16)
    blue = np.array([30, 120, 200])  # give or take JPEG
    assert (wide[0, SIZE // 2] == 255).all() and np.abs(wide[SIZE // 2, SIZE // 2] - blue).max() < 5  # padded
    cropped = build("folder", tmp_path / "crop", size=SIZE, src=str(src), fit="crop", progress=False, workers=1)
    assert sum(cropped["counts"].values()) == 2
    wide = np.asarray(Image.open(tmp_path / "crop" / split_of("wide") / "detail" / "wide.png"), np.int16)
    assert np.abs(wide[0, SIZE // 2] - blue).max() < 5


def test_folder_and_face_need_src(tmp_path):
    for name in ("folder", "face"):
        with pytest.raises(ArtzooError, match="needs --src"):
            build(name, tmp_path / name, progress=False)
    with pytest.raises(ArtzooError, match="CelebAMask-HQ layout"):
        build("face", tmp_path / "face", src=str(tmp_path), progress=False)


# ---------------------------------------------------------------- face


def test_face_builds_from_celebamask_layout(tmp_path):
    src = make_celebamask(tmp_path / "CelebAMask-HQ")
    meta = build("face", tmp_path / "out", size=SIZE, src=str(src), progress=False, workers=1)
    assert meta["stages"] == ["sketch", "flat", "detail"]
    assert meta["skipped"] == {"image without masks": 1, "masks without image": 1}
    assert check_layout(tmp_path / "out", meta["stages"], meta["channels"]) == 4
    split = split_of("00000")
    flat = np.asarray(Image.open(tmp_path / "out" / split / "flat" / "00000.png"))
    detail = np.asarray(Image.open(tmp_path / "out" / split / "detail" / "00000.png"))
    sketch = np.asarray(Image.open(tmp_path / "out" / split / "sketch" / "00000.png"))
    assert (flat[0, 0] == 255).all() and (detail[0, 0] == 255).all()  # background removed
    centre = flat[18:22, 13:19].reshape(-1, 3)  # inside the skin region: one median colour
    assert (centre == centre[0]).all() and tuple(centre[0]) != (255, 255, 255)
    assert sketch.min() < 60 and (sketch < 128).mean() < 0.3


# ---------------------------------------------------------------- builder behaviour


def test_rebuild_is_idempotent_and_fills_gaps(chairs_root, tmp_path):
    root = tmp_path / "chairs"
    build("chairs", root, size=SIZE, limit=6, progress=False, workers=1)
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*.png") if p.name != "preview.png"}
    missing = next(iter(before))
    missing.unlink()
    build("chairs", root, size=SIZE, limit=6, progress=False, workers=1)
    after = {p: p.stat().st_mtime_ns for p in root.rglob("*.png") if p.name != "preview.png"}
    assert after.keys() == before.keys()
    # Only the sample that lost a stage is made again (all its stages, as one job).
    assert {p.stem for p in before if after[p] != before[p]} == {missing.stem}
    assert all_files(root) == all_files(chairs_root)


def test_rebuild_with_other_settings_is_refused(chairs_root, tmp_path):
    build("chairs", tmp_path, size=SIZE, limit=2, progress=False, workers=1)
    with pytest.raises(ArtzooError, match="already holds a dataset"):
        build("chairs", tmp_path, size=SIZE * 2, limit=2, progress=False, workers=1)


# ---------------------------------------------------------------- WorkflowDataset


def test_dataset_returns_aligned_stages_in_range(chairs_root):
    data = WorkflowDataset(chairs_root, split="train")
    assert data.stages == ("sketch", "normal", "colour", "light") and data.channels == (1, 3, 3, 3)
    assert len(data) == len(aligned_ids(chairs_root, "train", data.stages)) > 0
    sample = data[0]
    assert isinstance(sample, tuple) and len(sample) == 4
    for tensor, channels in zip(sample, data.channels):
        assert tensor.dtype == torch.float32 and tensor.shape == (channels, SIZE, SIZE)
        assert tensor.min() >= -1 and tensor.max() <= 1
    assert sample[0].max() == 1 and sample[0].min() < -0.5  # white paper, dark lines


def test_dataset_flip_mirrors_all_stages_together(chairs_root):
    plain = WorkflowDataset(chairs_root, split="train")[0]
    flipping = WorkflowDataset(chairs_root, split="train", flip=True)
    torch.manual_seed(0)
    seen = set()
    for _ in range(20):
        sample = flipping[0]
        mirrored = [torch.equal(s, p.flip(-1)) for s, p in zip(sample, plain)]
        same = [torch.equal(s, p) for s, p in zip(sample, plain)]
        assert all(mirrored) or all(same)
        seen.add(all(mirrored))
    assert seen == {True, False}


def test_dataset_preload_serves_the_same_samples(chairs_root):
    from_disk = WorkflowDataset(chairs_root, split="train", flip=True)
    in_memory = WorkflowDataset(chairs_root, split="train", flip=True, preload=True)
    assert in_memory.preloaded[1].dtype == torch.uint8 and len(in_memory.preloaded[1]) == len(from_disk)
    for index in range(len(from_disk)):
        torch.manual_seed(index)  # the same flips
        a = from_disk[index]
        torch.manual_seed(index)
        b = in_memory[index]
        assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_dataset_alternative_sketch_and_errors(emoji_root, tmp_path):
    data = WorkflowDataset(emoji_root, split="train", alt_prob=1.0)
    name = data.ids[0]
    alt = np.asarray(Image.open(emoji_root / "train" / "sketch_alt" / f"{name}.png"), np.float32) / 127.5 - 1
    assert torch.allclose(data[0][0][0], torch.from_numpy(alt))
    with pytest.raises(ArtzooError, match="build the dataset first"):
        WorkflowDataset(tmp_path)
    with pytest.raises(ArtzooError, match="split must be"):
        WorkflowDataset(emoji_root, split="val")


# ---------------------------------------------------------------- command line


def run_cli(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "artzoo.data", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_cli_builds_end_to_end(npm_cache, emoji_root, tmp_path):
    out = tmp_path / "fluent-emoji"
    done = run_cli("build", "fluent-emoji", "--size", str(SIZE), "--out", str(out), "--limit", "4",
                   env={npm.CACHE_ENV: str(npm_cache)})
    assert done.returncode == 0, done.stderr
    assert "building fluent-emoji" in done.stderr  # the progress bar
    meta = json.loads((out / "meta.json").read_text())
    counts = meta["counts"]
    assert sum(counts.values()) == 4 and meta["limit"] == 4
    assert f"{counts['train']} train + {counts['test']} test" in done.stdout
    for path in (out / "train" / "detail").glob("*.png"):  # same bytes as the API build
        assert path.read_bytes() == (emoji_root / "train" / "detail" / path.name).read_bytes()
    unknown = run_cli("build", "nope", "--out", str(tmp_path / "x"))
    assert unknown.returncode == 2 and "unknown recipe 'nope'" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_cli_list_rerun_and_errors(npm_cache, tmp_path, capsys, monkeypatch):
    # In-process (main) to keep the suite fast; the subprocess test above covers python -m.
    assert cli_main(["list"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in RECIPES)
    monkeypatch.setenv(npm.CACHE_ENV, str(npm_cache))
    args = ["build", "fluent-emoji", "--size", str(SIZE), "--out", str(tmp_path / "e"), "--limit", "2", "--quiet"]
    assert cli_main(args) == 0 and cli_main(args) == 0  # the rerun finds everything built
    assert capsys.readouterr().err == ""  # --quiet: no progress bar
    assert cli_main(["build", "folder", "--out", str(tmp_path / "y")]) == 2
    assert "error: recipe folder needs --src" in capsys.readouterr().err
    assert cli_main(["build", "chairs", "--src", str(tmp_path), "--out", str(tmp_path / "z")]) == 2
    assert "does not take --src" in capsys.readouterr().err
