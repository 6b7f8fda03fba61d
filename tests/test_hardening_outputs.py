"""The app's results are what the user asked for, checked on the workflow each result carries (its ZIP
download holds workflow.safetensors) and on the pictures shown, not on status text: the final picture
is the chosen candidate, painting changes the stage, colour hints stay inside the painted layer, the
fitting steps and the resampling strength are honoured."""

import uuid
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from app_fixtures import PIPELINE, artwork_image, make_checkpoints, serve, sketch_image

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

from artzoo import Workflow  # noqa: E402
from artzoo.images import to_pil  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:::gradio.queueing")


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    with serve(make_checkpoints(tmp_path_factory.mktemp("checkpoints"))) as address:
        yield address


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    sketch_image().save(d / "sketch.png")
    artwork_image().save(d / "art.png")
    Image.new("RGB", (64, 48), (30, 200, 90)).save(d / "green.png")
    Image.new("RGB", (64, 48), (220, 40, 40)).save(d / "red.png")
    layer = Image.new("RGBA", (64, 48), (0, 0, 0, 0))
    layer.paste((20, 60, 230, 255), (0, 0, 32, 48))  # the left half
    layer.save(d / "left_half.png")
    return d


def editor(path, layers=()):
    return {"background": handle_file(str(path)), "layers": [handle_file(str(p)) for p in layers], "composite": None}


def workflow_of(outputs, tmp_path) -> Workflow:
    """The workflow a result hands out (inside its ZIP download)."""
    files = next(o for o in outputs if isinstance(o, list) and any(str(f).endswith(".zip") for f in o))
    path = tmp_path / f"{uuid.uuid4().hex}.safetensors"  # a file of its own: loaded tensors map the file
    with zipfile.ZipFile(next(f for f in files if str(f).endswith(".zip"))) as z:
        path.write_bytes(z.read("workflow.safetensors"))
    return Workflow.load(path)


def shown(item, size: tuple[int, int]) -> np.ndarray:
    """A gallery picture as the model's pixels (the network view shows the picture's box of the model
    square, each pixel enlarged by a whole factor)."""
    picture = Image.open(item["image"]).convert("RGB")
    return np.asarray(picture.resize(size, Image.Resampling.NEAREST))


def test_the_final_picture_is_the_chosen_candidate(url, files, tmp_path):
    client = Client(url, verbose=False)
    client.predict(PIPELINE, editor(files / "sketch.png"), 3, 7, True, api_name="/generate")
    client.predict(PIPELINE, 1, 2, True, api_name="/choose_variation")
    out = client.predict(PIPELINE, 2, 1, True, api_name="/choose_variation")
    wf = workflow_of(out, tmp_path)
    for k, j in ((1, 2), (2, 1)):
        gallery = out[k - 1]
        stage = to_pil(wf.images[k]).convert("RGB").crop(wf.placement.box)
        assert np.array_equal(shown(gallery[j], stage.size), np.asarray(stage)), f"stage {k} is not candidate #{j + 1}"
        assert not np.array_equal(shown(gallery[(j + 1) % 3], stage.size), np.asarray(stage))


@pytest.fixture
def fitted(url, files, tmp_path):
    client = Client(url, verbose=False)
    client.predict(PIPELINE, handle_file(str(files / "art.png")), api_name="/decompose")
    out = client.predict(PIPELINE, "learned", 0.01, 3, api_name="/fit")
    return client, workflow_of(out, tmp_path)


def test_fitting_runs_the_steps_asked_for(fitted, files, tmp_path):
    client, wf = fitted
    assert [len(wf.loss_history[s]) for s in ("flat", "detail")] == [3, 3]
    assert all(torch.count_nonzero(d) > 0 for d in wf.delta)
    client.predict(PIPELINE, handle_file(str(files / "art.png")), api_name="/decompose")
    none = workflow_of(client.predict(PIPELINE, "none", 0.01, 0, api_name="/fit"), tmp_path)
    assert all(torch.count_nonzero(d) == 0 for d in none.delta) and not none.loss_history.get("flat")


def test_painting_replaces_the_stage_and_later_stages_follow(fitted, files, tmp_path):
    client, before = fitted
    wf = workflow_of(client.predict(PIPELINE, "flat", editor(files / "green.png"), api_name="/paint"), tmp_path)
    left, top, right, bottom = wf.placement.box
    flat = np.asarray(to_pil(wf.images[1]), dtype=np.int16)[top:bottom, left:right]
    assert np.abs(flat - [30, 200, 90]).max() <= 3  # the painted picture, where the artwork sits
    assert torch.equal(wf.images[0], before.images[0])
    assert not torch.equal(wf.images[2], before.images[2])


def test_colour_hints_stay_inside_the_painted_layer(fitted, files, tmp_path):
    client, before = fitted
    painting = editor(files / "red.png", [files / "left_half.png"])  # red everywhere, blue strokes on the left
    wf = workflow_of(client.predict(PIPELINE, "flat", painting, 30, api_name="/hints"), tmp_path)
    left, top, right, bottom = wf.placement.box
    middle = (left + right) // 2
    change = (wf.images[1] - before.images[1]).abs()[0, :, top:bottom]
    moved_in, moved_out = float(change[..., left:middle].mean()), float(change[..., middle:right].mean())
    blue = torch.tensor([20, 60, 230]) / 127.5 - 1
    towards = lambda w: float((w.images[1][0, :, top:bottom, left:middle] - blue[:, None, None]).abs().mean())  # noqa: E731
    assert towards(wf) < towards(before)
    assert moved_out < 0.6 * moved_in, (moved_in, moved_out)  # the red background is not a hint


def test_resampling_moves_the_latent_by_the_strength(fitted, tmp_path):
    client, before = fitted
    zs = [workflow_of(client.predict(PIPELINE, "detail", 3, s, api_name="/resample"), tmp_path).z[1]
          for s in (0.0, 1.0, 0.5)]
    torch.testing.assert_close(zs[0], before.z[1])
    assert not torch.allclose(zs[1], zs[0])
    torch.testing.assert_close(zs[2], (zs[0] + zs[1]) / 2)
