"""The published pipelines: each loads through the zoo (offline, bundled) and still makes the pictures
it made when it was published, for a fixed input and seed.

Regenerate the references after publishing new weights:  python tests/test_published.py --update [NAME ...]
"""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import artzoo

# name → (stages, render kinds) as published
PUBLISHED = {
    "fluent-emoji": (["sketch", "flat", "detail"], ["sketch", "regions", "continuous"]),
    "fluent-3d": (["sketch", "rough", "detail"], ["sketch", "regions", "continuous"]),
    "chairs": (["sketch", "normal", "colour", "light"], ["sketch", "regions", "regions", "continuous"]),
}
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "published"
SEED = 0


def pipe_folder(name: str) -> Path:
    return artzoo.zoo.checkpoints_dir() / name


def _outputs(name: str, pipe) -> dict[str, Image.Image]:
    sketch = sorted((pipe_folder(name) / "examples" / pipe.stages[0]).glob("*.png"))[0]
    wf = pipe.generate(sketch, seed=SEED)
    out = {f"generate_{name}": image for name, image in zip(pipe.stages[1:], wf.pil_images()[1:])}
    art = sorted((pipe_folder(name) / "examples" / pipe.stages[-1]).glob("*.png"))[0]
    decomposed = pipe.decompose(art)
    for k, name in enumerate(pipe.stages[:-1]):
        out[f"decompose_{name}"] = artzoo.images.to_pil(decomposed.targets[k])
    return out


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_pipeline_reproduces_its_reference_outputs(name):
    stages, kinds = PUBLISHED[name]
    pipe = artzoo.load(name, source="bundled")
    assert pipe.stages == stages
    assert all(t.regularizer is not None for t in pipe.transitions), "the learned regulariser is published"
    assert all(t.prior is not None and t.prior.bank_filled > 0 for t in pipe.transitions), "so is the z prior"
    assert pipe.render_kinds == kinds
    assert sum(f.stat().st_size for f in pipe_folder(name).rglob("*.safetensors")) <= 40 * 2**20
    for key, image in _outputs(name, pipe).items():
        reference = np.asarray(Image.open(FIXTURES / f"{name}_{key}.png"), dtype=np.float32)
        got = np.asarray(image, dtype=np.float32)
        # fp16 weights run in fp32 everywhere, so only BLAS summation order differs between machines.
        assert np.abs(got - reference).mean() < 1.0 and np.abs(got - reference).max() <= 24, key


def test_chairs_colour_edit_relights_and_keeps_the_normal_map():
    """The 4-stage workflow: a decomposed chair, fitted, gets new colour stages (resampled z); the
    lighting follows each new colouring while the normal map before it stays exactly as it was."""
    pipe = artzoo.load("chairs", source="bundled")
    art = sorted((pipe_folder("chairs") / "examples" / "light").glob("*.png"))[0]
    wf = pipe.fit(pipe.decompose(art), steps=3)
    k = pipe.stage_index("colour")
    ratios = []
    for seed in (1, 2, 3, 7):
        edited = pipe.edit(wf, "colour", z=pipe.sample_z(seed, transition=k - 1, prior="normal"))
        for j in range(k):
            assert torch.equal(edited.images[j], wf.images[j]), pipe.stages[j]
        # Mean RGB change of the colour stage and of the lit picture: the colours changed visibly ...
        colour = (edited.images[k] - wf.images[k]).mean((0, 2, 3))
        light = (edited.images[k + 1] - wf.images[k + 1]).mean((0, 2, 3))
        assert colour.norm() > 0.05, seed
        # ... and the lit picture moves the same way. It follows hue far better than lightness (seed 7
        # mostly lightens the paint: the lit chair takes ~1/10 of it), hence the loose bounds.
        assert torch.nn.functional.cosine_similarity(colour, light, 0) > 0.3, seed
        ratios.append(float(light.norm() / colour.norm()))
    assert sum(ratios) / len(ratios) > 0.2, ratios


def test_the_app_offers_every_published_pipeline_with_its_held_out_examples():
    pytest.importorskip("gradio")
    from artzoo.app.outputs import CANVAS
    from artzoo.app.registry import PipelineRegistry

    registry = PipelineRegistry()  # the app's default: the bundled checkpoints folder
    assert registry.names[0] == "fluent-emoji" and not registry.untrained and not registry.problems
    assert set(PUBLISHED) <= set(registry.names)
    for name in PUBLISHED:
        for k, stage in enumerate(registry.get(name).stages):
            examples = registry.examples(name, k)
            assert len(examples) >= 4 and all(p.parent == pipe_folder(name) / "examples" / stage for p in examples)
            # the app shows the ones at its canvas size
            assert sum(Image.open(p).size == (CANVAS, CANVAS) for p in examples) >= 4, (name, stage)


if __name__ == "__main__" and "--update" in sys.argv:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name in [a for a in sys.argv[1:] if a != "--update"] or sorted(PUBLISHED):
        for key, image in _outputs(name, artzoo.load(name, source="bundled")).items():
            image.save(FIXTURES / f"{name}_{key}.png")
    print(f"wrote references to {FIXTURES}")
