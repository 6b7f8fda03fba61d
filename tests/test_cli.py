"""`python -m artzoo` end to end on a tiny pipeline folder: list, generate (file and folder), decompose, edit."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "artzoo", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


@pytest.fixture
def sketches(tmp_path, sketch):
    folder = tmp_path / "sketches"
    folder.mkdir()
    Image.fromarray(sketch).save(folder / "a.png")
    Image.fromarray(np.ascontiguousarray(sketch[:, ::-1])).save(folder / "b.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_list_shows_bundled_pipelines(tiny_dir):
    result = run("list", env={"ARTZOO_CHECKPOINTS": str(tiny_dir.parent)})
    assert result.returncode == 0
    assert "tiny" in result.stdout and "sketch → flat → detail" in result.stdout and "fluent-emoji" in result.stdout


def test_generate_a_folder_with_one_seed(tiny_dir, sketches, tmp_path):
    out = tmp_path / "out"
    result = run("generate", sketches, "--pipeline", tiny_dir, "--out", out, "--seed", "3", "--original-size")
    assert result.returncode == 0, result.stderr
    for stem in ("a", "b"):
        names = sorted(p.name for p in (out / stem).iterdir())
        assert names == ["0_sketch.png", "1_flat.png", "2_detail.png", "workflow.gif"]
        assert Image.open(out / stem / "2_detail.png").size == (60, 90)  # the input's aspect and size
        gif = Image.open(out / stem / "workflow.gif")
        assert gif.n_frames >= 3


def test_generate_writes_full_resolution_pngs_and_a_psd(tmp_path):
    from psd_tools import PSDImage

    from artzoo import WorkflowPipeline

    drawn = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=32, preset="tiny", seed=0,
                                         render_kinds=["sketch", "regions", "continuous"])
    folder = drawn.save_pretrained(tmp_path / "drawn")
    sketch = np.full((400, 260), 255, np.uint8)
    sketch[40:360, [40, 220]] = 0
    sketch[[40, 360], 40:221] = 0
    Image.fromarray(sketch).save(tmp_path / "box.png")
    result = run("generate", tmp_path / "box.png", "--pipeline", folder, "--out", tmp_path / "full", "--psd")
    assert result.returncode == 0, result.stderr
    flat = np.asarray(Image.open(tmp_path / "full" / "1_flat.png").convert("RGB"), dtype=np.int64)
    assert flat.shape == (400, 260, 3)
    inside = flat[60:340, 60:200].reshape(-1, 3)
    assert (np.abs(inside - inside[0]).max(1) <= 1).all()  # one flat colour inside the box
    assert [layer.name for layer in PSDImage.open(tmp_path / "full" / "workflow.psd")] == ["flat", "detail", "lines"]
    result = run("generate", tmp_path / "box.png", "--pipeline", folder, "--out", tmp_path / "raw", "--model-size")
    assert result.returncode == 0, result.stderr
    assert Image.open(tmp_path / "raw" / "1_flat.png").size == (32, 32)


def test_decompose_then_edit(tiny_dir, tmp_path, artwork):
    Image.fromarray(artwork).save(tmp_path / "art.png")
    out = tmp_path / "dec"
    result = run("decompose", tmp_path / "art.png", "--pipeline", tiny_dir, "--out", out, "--fit-steps", "5")
    assert result.returncode == 0, result.stderr
    assert "reconstruction L1" in result.stdout
    assert (out / "workflow.safetensors").is_file() and (out / "inferred_0_sketch.png").is_file()
    edited = tmp_path / "edit"
    result = run("edit", out / "workflow.safetensors", "--pipeline", tiny_dir, "--stage", "detail", "--seed", "4",
                 "--out", edited)
    assert result.returncode == 0, result.stderr
    assert Image.open(edited / "0_sketch.png").tobytes() == Image.open(out / "0_sketch.png").tobytes()
    assert Image.open(edited / "2_detail.png").tobytes() != Image.open(out / "2_detail.png").tobytes()


def test_errors_are_one_line_messages(tiny_dir, tmp_path):
    result = run("generate", tmp_path / "missing.png", "--pipeline", tiny_dir, "--out", tmp_path)
    assert result.returncode == 2 and result.stderr.strip() == f"artzoo: error: no such file or folder: {tmp_path / 'missing.png'}"
    result = run("generate", tmp_path, "--pipeline", "no-such-pipeline", "--out", tmp_path)
    assert result.returncode == 2 and "unknown pipeline 'no-such-pipeline'" in result.stderr
    assert "Traceback" not in result.stderr
