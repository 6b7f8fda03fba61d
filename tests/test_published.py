"""The published fluent-emoji pipeline: it loads through the zoo (offline, bundled) and still makes
the pictures it made when it was published, for a fixed input and seed.

Regenerate the references after publishing new weights:  python tests/test_published.py --update
"""

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import artzoo

NAME = "fluent-emoji"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "published"
SEED = 0


def _input_sketch(pipe) -> Path:
    folder = pipe_folder() / "examples" / pipe.stages[0]
    return sorted(folder.glob("*.png"))[0]


def pipe_folder() -> Path:
    return artzoo.zoo.checkpoints_dir() / NAME


def _outputs(pipe) -> dict[str, Image.Image]:
    sketch = _input_sketch(pipe)
    wf = pipe.generate(sketch, seed=SEED)
    out = {f"generate_{name}": image for name, image in zip(pipe.stages[1:], wf.pil_images()[1:])}
    art = sorted((pipe_folder() / "examples" / pipe.stages[-1]).glob("*.png"))[0]
    decomposed = pipe.decompose(art)
    for k, name in enumerate(pipe.stages[:-1]):
        out[f"decompose_{name}"] = artzoo.images.to_pil(decomposed.targets[k])
    return out


def test_published_pipeline_reproduces_its_reference_outputs():
    pipe = artzoo.load(NAME, source="bundled")
    assert pipe.stages == ["sketch", "flat", "detail"]
    assert all(t.regularizer is not None for t in pipe.transitions), "the learned regulariser is published"
    assert all(t.prior is not None and t.prior.bank_filled > 0 for t in pipe.transitions), "so is the z prior"
    assert pipe.render_kinds == ["sketch", "regions", "continuous"]
    for key, image in _outputs(pipe).items():
        reference = np.asarray(Image.open(FIXTURES / f"{NAME}_{key}.png"), dtype=np.float32)
        got = np.asarray(image, dtype=np.float32)
        # fp16 weights run in fp32 everywhere, so only BLAS summation order differs between machines.
        assert np.abs(got - reference).mean() < 1.0 and np.abs(got - reference).max() <= 24, key


def test_the_app_offers_it_by_default_with_its_held_out_examples():
    pytest.importorskip("gradio")
    from artzoo.app.registry import PipelineRegistry

    registry = PipelineRegistry()  # the app's default: the bundled checkpoints folder
    assert registry.names[0] == NAME and not registry.untrained and not registry.problems
    for k, stage in enumerate(registry.get(NAME).stages):
        examples = registry.examples(NAME, k)
        assert len(examples) >= 4 and all(p.parent == pipe_folder() / "examples" / stage for p in examples)


if __name__ == "__main__" and "--update" in sys.argv:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for key, image in _outputs(artzoo.load(NAME, source="bundled")).items():
        image.save(FIXTURES / f"{NAME}_{key}.png")
    print(f"wrote references to {FIXTURES}")
