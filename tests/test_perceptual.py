"""Perceptual backbones: the default pyramid, a user-given VGG-16 file, and errors for bad files."""

import pytest
import torch
from safetensors.torch import save_file

from artzoo import ArtzooError
from artzoo.perceptual import VGG16Features, load_perceptual


def test_default_is_the_weight_free_pyramid(monkeypatch):
    monkeypatch.delenv("ARTZOO_VGG16_WEIGHTS", raising=False)
    loss = load_perceptual()
    assert loss.name == "laplacian-pyramid"
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert loss(x, x).shape == (2,) and float(loss(x, x).sum()) == 0
    blurred = torch.nn.functional.avg_pool2d(x, 3, 1, 1)
    assert (loss(blurred, x) > loss(x + 0.01, x)).all()  # structure matters more than a tiny shift


def _fake_vgg_file(path):
    model = VGG16Features.random(seed=3)
    save_file({f"features.{i}.{kind}": getattr(c, kind).data.contiguous() for i, c in model.convs.items()
               for kind in ("weight", "bias")}, str(path))
    return model


def test_vgg_file_with_torchvision_keys_loads(tmp_path, monkeypatch):
    reference = _fake_vgg_file(tmp_path / "vgg16.safetensors")
    monkeypatch.setenv("ARTZOO_VGG16_WEIGHTS", str(tmp_path / "vgg16.safetensors"))
    loss = load_perceptual()
    assert loss.name == "vgg16"
    x = torch.rand(1, 1, 32, 32)  # one-channel sketches are repeated to RGB
    feats = loss.features(x)
    assert [f.shape[1] for f in feats] == [64, 64, 256, 512]
    assert all(torch.equal(a, b) for a, b in zip(feats, reference(x)))


def test_bad_vgg_files(tmp_path, monkeypatch):
    monkeypatch.delenv("ARTZOO_VGG16_WEIGHTS", raising=False)
    with pytest.raises(ArtzooError, match="not found"):
        load_perceptual(tmp_path / "missing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    with pytest.raises(ArtzooError, match="not a readable safetensors"):
        load_perceptual(tmp_path / "junk.safetensors")
    save_file({"conv.weight": torch.zeros(1)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ArtzooError, match="torchvision key names"):
        load_perceptual(tmp_path / "other.safetensors")
    with pytest.raises(ArtzooError, match="ARTZOO_VGG16_WEIGHTS"):
        load_perceptual("vgg16")
