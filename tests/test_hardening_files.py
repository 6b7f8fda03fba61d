"""Untrusted files fail fast with a one-line `ArtzooError`: crafted pipeline folders, workflow files and
CLI inputs (tests/hardening_cases.py lists them; benchmarks/crafted_inputs.py times them)."""

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from artzoo import ArtzooError, Workflow, WorkflowPipeline
from artzoo.__main__ import main
from artzoo.tensorfile import read_tensors
from artzoo.validation import check_placement, check_workflow, check_workflow_file
from hardening_cases import PIPELINE_CASES, WORKFLOW_CASES


def one_line_error(call, match: str) -> str:
    with pytest.raises(ArtzooError, match=match) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and len(message) < 400, message
    return message


@pytest.mark.parametrize("case", sorted(PIPELINE_CASES))
def test_crafted_pipeline_folders_are_refused(case, tiny_dir, tmp_path):
    folder = tmp_path / "crafted"
    shutil.copytree(tiny_dir, folder)
    change, match = PIPELINE_CASES[case]
    change(folder)
    one_line_error(lambda: WorkflowPipeline.from_pretrained(folder), match)


def test_a_good_folder_still_loads_and_keeps_its_weights(tiny_pipeline, tiny_dir):
    loaded = WorkflowPipeline.from_pretrained(tiny_dir)
    for (k, a), (k2, b) in zip(sorted(tiny_pipeline.state_dict().items()), sorted(loaded.state_dict().items())):
        assert k == k2 and torch.equal(a, b)


@pytest.fixture(scope="module")
def workflow_file(tiny_pipeline, tmp_path_factory):
    art = np.full((48, 64, 3), 255, np.uint8)
    art[8:40, 10:54] = (240, 180, 40)
    path = tmp_path_factory.mktemp("wf") / "good.safetensors"
    tiny_pipeline.fit(tiny_pipeline.decompose(art), steps=1).save(path)
    return path


def _crafted(workflow_file, tmp_path, case):
    from safetensors import safe_open

    tensors = load_file(str(workflow_file))
    with safe_open(str(workflow_file), "pt") as f:
        meta = dict(f.metadata())
    change, match = WORKFLOW_CASES[case]
    change(tensors, meta)
    path = tmp_path / "crafted.safetensors"
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata=meta)
    return path, match


def test_the_good_workflow_file_passes_the_checks(workflow_file, tiny_pipeline):
    tensors, _ = read_tensors(workflow_file, "workflow file", check=check_workflow_file)
    assert "images.0" in tensors
    check_workflow(Workflow.load(workflow_file), tiny_pipeline.signature)


@pytest.mark.parametrize("case", sorted(WORKFLOW_CASES))
def test_crafted_workflow_files_are_refused_from_their_header(case, workflow_file, tmp_path):
    path, match = _crafted(workflow_file, tmp_path, case)
    one_line_error(lambda: read_tensors(path, "workflow file", check=check_workflow_file), match)


def test_workflow_load_refuses_a_crafted_file(workflow_file, tmp_path):
    path, match = _crafted(workflow_file, tmp_path, "no placement metadata")
    one_line_error(lambda: Workflow.load(path), match)


def test_a_workflow_with_wrong_shapes_is_refused_by_the_pipeline_check(tiny_pipeline, workflow_file):
    wf = Workflow.load(workflow_file)
    wf.images[2] = torch.zeros(1, 3, 64, 64)
    one_line_error(lambda: check_workflow(wf, tiny_pipeline.signature), r"images\[2\] has shape \[1, 3, 64, 64\]")
    wf = Workflow.load(workflow_file)
    wf.delta[0] = torch.zeros(2, wf.delta[0].shape[1])
    one_line_error(lambda: check_workflow(wf, tiny_pipeline.signature), r"disagree on the batch size")
    other = WorkflowPipeline.from_config(["sketch", "colour"], image_size=32, preset="tiny")
    one_line_error(lambda: check_workflow(Workflow.load(workflow_file), other.signature), r"different pipeline")


@pytest.mark.parametrize("placement, match", [
    ({"width": 64, "height": 48, "box": [0, 0, 33, 32]}, r"outside 0\.\.32"),
    ({"width": 64, "height": 48, "box": [5, 0, 5, 32]}, r"is empty"),
    ({"width": 0, "height": 48, "box": [0, 0, 32, 32]}, r"width is 0"),
    ({"width": 64.5, "height": 48, "box": [0, 0, 32, 32]}, r"must be an integer"),
    ({"width": 64, "height": 48, "box": [0, 0, 32]}, r"list of 4 integers"),
])
def test_placement_bounds(placement, match):
    one_line_error(lambda: check_placement(placement, 32), match)
    check_placement({"width": 64, "height": 48, "box": [0, 4, 32, 28]}, 32)


def test_decompose_then_save_round_trips(tiny_pipeline, artwork, tmp_path):
    """images[0] and targets[0] used to share memory, which safetensors refuses to save."""
    wf = tiny_pipeline.decompose(artwork)
    wf.save(tmp_path / "dec.safetensors")
    back = Workflow.load(tmp_path / "dec.safetensors")
    for name in ("images", "targets", "z", "adain", "delta"):
        ours, theirs = getattr(wf, name), getattr(back, name)
        assert len(ours) == len(theirs)
        assert all(torch.equal(a, b) for a, b in zip(ours, theirs))
    back.images[0] += 1  # independent tensors after loading too
    assert not torch.equal(back.images[0], back.targets[0])


# ---- the command line: outputs stay inside --out, names never clash, loader errors are one line ---------

def _cli(*args) -> int:
    return main([str(a) for a in args])


def test_cli_dot_dot_stem_stays_inside_out(tiny_dir, tmp_path, sketch):
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.fromarray(sketch).save(inputs / "...png", format="PNG")  # stem '..'
    Image.fromarray(sketch).save(inputs / "b.png")
    out = tmp_path / "deep" / "out"
    assert _cli("generate", inputs, "--pipeline", tiny_dir, "--out", out) == 0
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.png") if "in" not in p.parts)
    assert written and all(p.startswith("deep/out/") for p in written), written
    assert sorted(p.name for p in out.iterdir()) == ["__", "b"]


def test_cli_same_stem_does_not_overwrite(tiny_dir, tmp_path, sketch):
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.fromarray(sketch).save(inputs / "a.png")
    Image.fromarray(np.ascontiguousarray(sketch[:, ::-1])).save(inputs / "a.jpg", quality=95)
    out = tmp_path / "out"
    assert _cli("generate", inputs, "--pipeline", tiny_dir, "--out", out, "--seed", "1") == 0
    folders = sorted(p.name for p in out.iterdir())
    assert folders == ["a_jpg", "a_png"]
    sketches = [np.asarray(Image.open(out / f / "0_sketch.png")) for f in folders]
    assert not np.array_equal(*sketches)  # each its own input, neither overwritten


def test_cli_crafted_pipeline_is_a_one_line_error(tiny_dir, tmp_path, sketch, capsys):
    folder = tmp_path / "crafted"
    shutil.copytree(tiny_dir, folder)
    PIPELINE_CASES["index: stage '../../etc'"][0](folder)
    Image.fromarray(sketch).save(tmp_path / "s.png")
    assert _cli("generate", tmp_path / "s.png", "--pipeline", folder, "--out", tmp_path / "out") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("artzoo: error: ") and "\n" not in err and "stage name" in err
    assert not (tmp_path / "out").exists()


def test_a_full_resolution_workflow_with_hints_passes_the_checks(tmp_path, artwork):
    pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=32, preset="tiny", seed=0,
                                        render_kinds=["sketch", "regions", "continuous"])
    hints = np.full((48, 64, 3), 255, np.uint8)
    hints[10:30, 10:30] = (20, 60, 230)
    wf = pipe.fit_hints(pipe.generate(artwork[..., 0], seed=0), "flat", hints, steps=1)
    wf.save(tmp_path / "wf.safetensors")
    header_names = set(read_tensors(tmp_path / "wf.safetensors", "workflow file", check=check_workflow_file)[0])
    assert {"source", "images.0"} <= header_names and any(n.startswith("hints.") for n in header_names)
    check_workflow(Workflow.load(tmp_path / "wf.safetensors"), pipe.signature)


def test_cli_decompose_honours_fit_steps_and_regularizer(tiny_dir, tmp_path, artwork):
    Image.fromarray(artwork).save(tmp_path / "art.png")

    def decompose(name, *options) -> Workflow:
        out = tmp_path / name
        assert _cli("decompose", tmp_path / "art.png", "--pipeline", tiny_dir, "--out", out, "--model-size",
                    *options) == 0
        return Workflow.load(out / "workflow.safetensors")

    free = decompose("free", "--fit-steps", "6", "--regularizer", "none")
    strong = decompose("strong", "--fit-steps", "6", "--regularizer", "50")
    unfitted = decompose("unfitted", "--fit-steps", "0")
    assert [len(free.loss_history[s]) for s in ("flat", "detail")] == [6, 6]
    assert all(strong.delta[i].norm() < 0.9 * free.delta[i].norm() for i in range(2))
    assert all(torch.count_nonzero(d) == 0 for d in unfitted.delta)


def test_cli_generate_honours_the_seed(tiny_dir, tmp_path, sketch):
    Image.fromarray(sketch).save(tmp_path / "s.png")

    def generate(seed) -> np.ndarray:
        out = tmp_path / f"seed-{seed}-{len(list(tmp_path.iterdir()))}"
        assert _cli("generate", tmp_path / "s.png", "--pipeline", tiny_dir, "--out", out, "--seed", seed,
                    "--model-size") == 0
        return np.asarray(Image.open(out / "2_detail.png"))

    assert np.array_equal(generate(3), generate(3)) and not np.array_equal(generate(3), generate(4))


def test_cli_edit_honours_the_strength(tiny_dir, tmp_path, artwork):
    Image.fromarray(artwork).save(tmp_path / "art.png")
    assert _cli("decompose", tmp_path / "art.png", "--pipeline", tiny_dir, "--out", tmp_path / "dec",
                "--fit-steps", "1", "--model-size") == 0
    source = Workflow.load(tmp_path / "dec" / "workflow.safetensors")

    def edit(strength) -> Workflow:
        out = tmp_path / f"edit-{strength}"
        assert _cli("edit", tmp_path / "dec" / "workflow.safetensors", "--pipeline", tiny_dir, "--stage", "detail",
                    "--seed", "4", "--strength", strength, "--out", out, "--model-size") == 0
        return Workflow.load(out / "workflow.safetensors")

    none, full, half = edit(0), edit(1), edit(0.5)
    torch.testing.assert_close(none.z[1], source.z[1])
    assert not torch.allclose(full.z[1], source.z[1])
    torch.testing.assert_close(half.z[1], (source.z[1] + full.z[1]) / 2)
