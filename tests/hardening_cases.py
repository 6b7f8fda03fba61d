"""Crafted inputs an attacker (or a bad download) could hand artzoo, each with the message it must get.

Used by tests/test_hardening_files.py (each must fail with that `ArtzooError`) and by
benchmarks/crafted_inputs.py (the time and memory each takes, for docs/HARDENING.md).

    PIPELINE_CASES  name → (change a copy of a good pipeline folder, expected message regex)
    WORKFLOW_CASES  name → (change a good workflow file's tensors and metadata, expected message regex)
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from artzoo.hub import INDEX_FILE

DEEP = "[" * 100_000 + "]" * 100_000  # json.loads raises RecursionError long before the end


def _edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _config(name: str, **values):
    def apply(folder: Path) -> None:
        _edit_json(folder / name / "config.json", lambda spec: spec["config"].update(values))
    return apply


def _index(**values):
    def apply(folder: Path) -> None:
        _edit_json(folder / INDEX_FILE, lambda index: index.update(values))
    return apply


def _write(relative: str, text: str):
    def apply(folder: Path) -> None:
        (folder / relative).write_text(text)
    return apply


def _weights(name: str, change):
    def apply(folder: Path) -> None:
        from safetensors.torch import load_file, save_file

        path = folder / name / "model.safetensors"
        state = load_file(str(path))
        change(state)
        save_file(state, str(path))
    return apply


def _rename_component(folder: Path) -> None:
    _edit_json(folder / INDEX_FILE, lambda index: index["components"].append("../generator_0"))


PIPELINE_CASES = {
    "regulariser num_params 1.5e9 (float)": (_config("regularizer_0", num_params=1.5e9),
                                            r"num_params must be an integer"),
    "regulariser num_params 1,500,000,000": (_config("regularizer_0", num_params=1_500_000_000),
                                            r"num_params is 1500000000, outside"),
    "generator n_downsample 200000": (_config("generator_0", n_downsample=200_000), r"n_downsample is 200000, outside"),
    "generator base_channels -8": (_config("generator_0", base_channels=-8), r"base_channels is -8, outside"),
    "generator base_channels 8.5": (_config("generator_0", base_channels=8.5), r"base_channels must be an integer"),
    "generator skip_connections 1": (_config("generator_0", skip_connections=1), r"must be true or false"),
    "regulariser scale NaN": (_config("regularizer_0", scale=float("nan")), r"scale must be a finite number"),
    "config: unknown key": (_config("inference_0", evil=1), r"unknown keys \['evil'\]"),
    "config: class os.system": (_write("latent_encoder_0/config.json", '{"class": "os.system", "config": {}}'),
                                r"corrupt or foreign \(class 'os.system'"),
    "config: a list": (_write("generator_1/config.json", "[1, 2]"), r"corrupt or foreign"),
    "config: 100,000-deep JSON": (_write("generator_0/config.json", DEEP), r"nested too deeply"),
    "config: generator in inference's folder": (
        lambda f: (f / "inference_0" / "config.json").write_text((f / "generator_0" / "config.json").read_text()),
        r"inference_0 is a StageGenerator"),
    "index: image_size 200000": (_index(image_size=200_000), r"image_size must be an integer in 8\.\.1024"),
    "index: image_size 64, components 32": (_index(image_size=64), r"configured for 32 px but the index says 64"),
    "index: image_size -32": (_index(image_size=-32), r"image_size must be an integer"),
    "index: 100,000-deep JSON": (_write(INDEX_FILE, DEEP), r"nested too deeply"),
    "index: 2 MB": (_write(INDEX_FILE, json.dumps({"pad": "x" * 2_000_000})), r"over the 1,000,000"),
    "index: format_version '1'": (_index(format_version="1"), r"no valid format_version"),
    "index: stage '../../etc'": (_index(stages=["../../etc", "flat", "detail"]), r"stage name '\.\./\.\./etc'"),
    "index: stage names repeat": (_index(stages=["sketch", "flat", "flat"]), r"stage names repeat"),
    "index: channels [1, 4, 3]": (_index(channels=[1, 4, 3]), r"channels must list 1"),
    "index: component '../generator_0'": (_rename_component, r"'\.\./generator_0' is not a component"),
    "index: info a list": (_index(info=[1]), r"info must be a JSON object"),
    "index: sampling for one of two transitions": (_index(sampling=["bank"]), r"sampling must be a list"),
    "index: sampling names no z source": (_index(sampling=["normal", "os.system"]), r"'os.system' is not a z source"),
    "index: generator_2 in a 3-stage pipeline": (lambda f: _edit_json(f / INDEX_FILE, lambda i: i["components"].append(
        "generator_2")), r"'generator_2' is not a component of a 3-stage pipeline"),
    "weights: int64 tensor": (_weights("generator_0", lambda s: s.update(
        {k: v.long() for k, v in list(s.items())[:1]})), r"stored as I64"),
    "weights: a bigger tensor than configured": (_weights("regularizer_0", lambda s: s.update(
        theta=torch.zeros(4_000_000))), r"theta has shape \[4000000\], config expects"),
    "weights: extra tensor": (_weights("generator_0", lambda s: s.update(evil=torch.zeros(1))),
                              r"does not match its config"),
    "weights: truncated file": (lambda f: (f / "generator_1" / "model.safetensors").write_bytes(
        (f / "generator_1" / "model.safetensors").read_bytes()[:5000]), r"generator_1.*corrupt, truncated"),
}


def _meta(**changes):
    def apply(tensors: dict, meta: dict) -> None:
        for key, value in changes.items():
            if value is None:
                meta.pop(key, None)
            else:
                meta[key] = value if isinstance(value, str) else json.dumps(value)
    return apply


def _tensor(name: str, value):
    def apply(tensors: dict, meta: dict) -> None:
        if value is None:
            tensors.pop(name)
        else:
            tensors[name] = value
    return apply


def _signature(**changes):
    def apply(tensors: dict, meta: dict) -> None:
        signature = json.loads(meta["signature"])
        signature.update(changes)
        meta["signature"] = json.dumps(signature)
    return apply


WORKFLOW_CASES = {
    "no placement metadata": (_meta(placement=None), r"lacks metadata \['placement'\]"),
    "no signature metadata": (_meta(signature=None), r"lacks metadata \['signature'\]"),
    "format 2": (_meta(format="2"), r"not an artzoo workflow \(format '2'"),
    "detail picture 2048×2048 (48 MB)": (_tensor("images.2", torch.zeros(1, 3, 2048, 2048)),
                                         r"images\.2 is F32 \[1, 3, 2048, 2048\]; its signature implies"),
    "z of 9 for nz 8": (_tensor("z.0", torch.zeros(1, 9)), r"z\.0 is F32 \[1, 9\]"),
    "images as int64": (_tensor("images.0", torch.zeros(1, 1, 32, 32, dtype=torch.int64)), r"images\.0 is I64"),
    "batch of 1000": (_tensor("images.0", torch.zeros(1000, 1, 32, 32)), r"batch ≤ 64"),
    "images.1 missing": (_tensor("images.1", None), r"needs images\.0 … images\.2"),
    "unexpected tensor": (_tensor("evil", torch.zeros(1)), r"unexpected tensor 'evil'"),
    "source 3000×3000": (_tensor("source", torch.zeros(3000, 3000, 3, dtype=torch.uint8)),
                         r"source is U8 \[3000, 3000, 3\]; expected an 8-bit picture"),
    "hints for stage 7": (_tensor("hints.7", torch.zeros(8, 8, 4, dtype=torch.uint8)), r"unexpected tensor 'hints\.7'"),
    "placement box 0..5000": (_meta(placement={"width": 64, "height": 48, "box": [0, 0, 5000, 5000]}),
                              r"placement box\[2\] is 5000, outside 0\.\.32"),
    "placement 179 MP": (_meta(placement={"width": 15000, "height": 12000, "box": [0, 0, 32, 32]}),
                         r"over the 40 MP limit"),
    "placement without box": (_meta(placement={"width": 64, "height": 48}), r"placement must be an object"),
    "stage name '../x'": (_signature(stages=["../x", "flat", "detail"]), r"stage name '\.\./x'"),
    "image_size 200000": (_signature(image_size=200_000), r"image_size is 200000, outside"),
    "100,000-deep loss history": (_meta(loss_history=DEEP), r"nested too deeply"),
    "stages differ from signature": (_meta(stages=["a", "b", "c"]), r"differ from its signature"),
}
