"""Pipeline folders and Hub loading: round trips, the offline Hugging Face cache, the zoo, and errors."""

import json
import shutil

import pytest
import torch

import artzoo
from artzoo import ArtzooError, WorkflowPipeline
from artzoo.hub import FORMAT_VERSION, INDEX_FILE


def _states(pipe):
    return {k: v for k, v in pipe.state_dict().items()}


def test_save_load_round_trip_is_bit_exact(tiny_pipeline, tiny_dir, sketch):
    loaded = WorkflowPipeline.from_pretrained(tiny_dir)
    a, b = _states(tiny_pipeline), _states(loaded)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert loaded.stages == ["sketch", "flat", "detail"] and loaded.image_size == 32
    assert torch.equal(tiny_pipeline.generate(sketch, seed=1).images[-1], loaded.generate(sketch, seed=1).images[-1])
    index = json.loads((tiny_dir / INDEX_FILE).read_text())
    assert index["format_version"] == FORMAT_VERSION and "regularizer_0" in index["components"]
    assert all((tiny_dir / name / "model.safetensors").is_file() for name in index["components"])


def test_fp16_storage_loads_as_fp32(tiny_pipeline, tmp_path, sketch):
    path = tiny_pipeline.save_pretrained(tmp_path / "half", dtype=torch.float16, include_discriminators=False)
    loaded = WorkflowPipeline.from_pretrained(path)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    assert not loaded.transitions[0].discriminators
    a = tiny_pipeline.generate(sketch, seed=2).images[-1]
    b = loaded.generate(sketch, seed=2).images[-1]
    assert (a - b).abs().max() < 0.05


def test_save_is_atomic_and_replaces(tiny_pipeline, tmp_path, monkeypatch):
    target = tmp_path / "pipe"
    tiny_pipeline.save_pretrained(target)
    before = (target / "generator_0" / "model.safetensors").read_bytes()

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("safetensors.torch.save_file", explode)
    with pytest.raises(RuntimeError):
        tiny_pipeline.save_pretrained(target)
    monkeypatch.undo()
    assert (target / "generator_0" / "model.safetensors").read_bytes() == before  # old folder intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]  # no temp leftovers


def _populate_hf_cache(cache_dir, repo_id, folder):
    """Lay a folder out exactly as huggingface_hub's cache stores a downloaded snapshot."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = cache_dir / ("models--" + repo_id.replace("/", "--"))
    shutil.copytree(folder, repo / "snapshots" / commit)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    return commit


def test_loads_from_offline_hub_cache(tiny_dir, tmp_path, monkeypatch, sketch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache = tmp_path / "hf-cache"
    _populate_hf_cache(cache, "artzoo-test/tiny", tiny_dir)
    loaded = WorkflowPipeline.from_pretrained("artzoo-test/tiny", cache_dir=cache)
    direct = WorkflowPipeline.from_pretrained(tiny_dir)
    assert torch.equal(loaded.generate(sketch, seed=0).images[-1], direct.generate(sketch, seed=0).images[-1])
    with pytest.raises(ArtzooError, match="not in the local Hugging Face cache"):
        WorkflowPipeline.from_pretrained("artzoo-test/missing", cache_dir=cache)


def test_missing_local_folder(tmp_path):
    with pytest.raises(ArtzooError, match="no pipeline folder"):
        WorkflowPipeline.from_pretrained(tmp_path / "nope" / "deeper")
    with pytest.raises(ArtzooError, match="not an artzoo pipeline folder"):
        WorkflowPipeline.from_pretrained(tmp_path)


@pytest.fixture
def broken(tiny_dir, tmp_path):
    path = tmp_path / "broken"
    shutil.copytree(tiny_dir, path)
    return path


def test_corrupt_weights(broken):
    (broken / "generator_1" / "model.safetensors").write_bytes(b"\x00" * 100)
    with pytest.raises(ArtzooError, match="generator_1.*corrupt"):
        WorkflowPipeline.from_pretrained(broken)


def test_missing_component_file(broken):
    (broken / "inference_0" / "model.safetensors").unlink()
    with pytest.raises(ArtzooError, match="inference_0.*missing model.safetensors"):
        WorkflowPipeline.from_pretrained(broken)


def test_newer_format_version(broken):
    index = json.loads((broken / INDEX_FILE).read_text())
    index["format_version"] = FORMAT_VERSION + 1
    (broken / INDEX_FILE).write_text(json.dumps(index))
    with pytest.raises(ArtzooError, match="upgrade artzoo"):
        WorkflowPipeline.from_pretrained(broken)


def test_shape_mismatch(broken):
    config_path = broken / "generator_0" / "config.json"
    config = json.loads(config_path.read_text())
    config["config"]["base_channels"] = 16
    config_path.write_text(json.dumps(config))
    with pytest.raises(ArtzooError, match="generator_0"):
        WorkflowPipeline.from_pretrained(broken)


def test_foreign_checkpoint(broken):
    from safetensors.torch import save_file

    save_file({"features.0.weight": torch.zeros(64, 3, 3, 3)}, str(broken / "latent_encoder_0" / "model.safetensors"))
    with pytest.raises(ArtzooError, match="foreign"):
        WorkflowPipeline.from_pretrained(broken)
    (broken / "latent_encoder_0" / "config.json").write_text('{"class": "os.system", "config": {}}')
    with pytest.raises(ArtzooError, match="corrupt or foreign"):
        WorkflowPipeline.from_pretrained(broken)


def test_mixed_up_components(broken):
    shutil.rmtree(broken / "generator_0")
    shutil.copytree(broken / "generator_1", broken / "generator_0")
    with pytest.raises(ArtzooError, match="mixed-up"):
        WorkflowPipeline.from_pretrained(broken)


def test_zoo_loads_bundled_folder_offline(tiny_dir, tmp_path, monkeypatch):
    root = tmp_path / "checkpoints"
    shutil.copytree(tiny_dir, root / "tiny-demo")
    monkeypatch.setenv("ARTZOO_CHECKPOINTS", str(root))
    rows = {r["name"]: r for r in artzoo.list_pipelines()}
    assert rows["tiny-demo"]["stages"] == ["sketch", "flat", "detail"] and rows["tiny-demo"]["bundled"]
    assert "fluent-emoji" in rows
    assert artzoo.load("tiny-demo").image_size == 32
    with pytest.raises(ArtzooError, match="unknown pipeline 'nope'.*tiny-demo"):
        artzoo.load("nope")
    with pytest.raises(ArtzooError, match="not bundled"):
        artzoo.load("chairs", source="bundled")
    with pytest.raises(ArtzooError, match="not in the local Hugging Face cache"):
        artzoo.load("chairs", cache_dir=str(tmp_path / "empty-cache"))
