"""The Gradio app, driven end to end through its API with gradio_client on a loopback server.

A tiny random pipeline stands in for trained weights: these tests check the plumbing (every endpoint,
per-session state, bad inputs, concurrency, startup), not picture quality.
"""

import concurrent.futures
import os
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app_fixtures import (DRAWN, FOUR_STAGES, PIPELINE, add_drawn_pipeline, artwork_image, free_port, make_checkpoints,
                          serve, shapes_sketch, sketch_image)

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:::gradio.queueing")  # pandas deprecations inside gradio
REPO = Path(__file__).resolve().parent.parent
ENDPOINTS = {"/generate", "/choose_variation", "/more_variations", "/generate_outputs", "/decompose", "/fit",
             "/stage_image", "/resample", "/paint", "/hints", "/reset_edits", "/reference_sketch", "/redraw",
             "/redraw_outputs"}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    return add_drawn_pipeline(make_checkpoints(tmp_path_factory.mktemp("checkpoints"), four_stages=True))


@pytest.fixture(scope="module")
def url(checkpoints):
    with serve(checkpoints) as address:
        yield address


@pytest.fixture
def client(url):
    return Client(url, verbose=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Test pictures on disk, good and bad."""
    d = tmp_path_factory.mktemp("inputs")
    sketch_image().save(d / "sketch.png")
    sketch_image(120, 80).save(d / "wide_sketch.png")
    shapes_sketch().save(d / "shapes.png")
    artwork_image().save(d / "art.png")
    Image.new("RGB", (50, 50), "white").save(d / "blank.png")
    (d / "notes.png").write_text("not an image")
    Image.new("1", (7000, 7000), 1).save(d / "huge.png")  # 49 MP, small on disk
    (d / "big.bin.png").write_bytes(os.urandom(21 * 2**20))  # over the 20 MB upload limit
    frames = [artwork_image(), artwork_image().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    frames[0].save(d / "animated.gif", save_all=True, append_images=frames[1:], duration=100)
    rgba, alpha = artwork_image().convert("RGBA"), Image.new("L", (64, 48), 0)
    alpha.paste(255, (10, 10, 40, 40))
    rgba.putalpha(alpha)
    rgba.save(d / "transparent.png")
    artwork_image().convert("L").save(d / "grey.png")
    layer = Image.new("RGBA", (512, 384), (0, 0, 0, 0))
    layer.paste((30, 90, 230, 255), (100, 100, 300, 250))
    layer.save(d / "hint_layer.png")
    return d


def editor(path):
    return {"background": handle_file(str(path)), "layers": [], "composite": None}


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def error_of(call) -> str:
    with pytest.raises(Exception) as info:
        call()
    return str(info.value)


def test_page_serves_and_lists_every_endpoint(url, client):
    html = urllib.request.urlopen(url, timeout=30).read().decode()
    assert "artzoo" in html
    api = client.view_api(return_format="dict", print_info=False)
    assert ENDPOINTS <= set(api["named_endpoints"])
    assert not [e for e in api["named_endpoints"] if e in ("/pick_candidate", "/switch_pipeline")]  # UI plumbing


def test_generate_choose_more(client, files):
    out = client.predict(PIPELINE, editor(files / "sketch.png"), 3, 7, False, api_name="/generate")
    galleries, final, strip, gif, downloads, status = out[:5], out[5], out[6], out[7], out[8], out[9]
    assert [len(g) for g in galleries] == [3, 3, 0, 0, 0]  # two transitions, three candidates each
    assert "✓ chosen" in galleries[0][0]["caption"] and "seed 7" in galleries[0][0]["caption"]
    assert Image.open(final).size == (341, 512)  # the sketch's aspect (60×90), enlarged to 512 for display
    assert "upscaled" in status
    assert Image.open(gif).n_frames == 3
    names = [Path(f).name for f in downloads]
    assert names == ["tiny-workflow_0_sketch.png", "tiny-workflow_1_flat.png", "tiny-workflow_2_detail.png",
                     "tiny-workflow.zip", "tiny-workflow.gif", "tiny-workflow.psd"]
    assert Path(downloads[5]).read_bytes()[:4] == b"8BPS"  # a layered Photoshop file
    with zipfile.ZipFile(downloads[3]) as z:
        assert sorted(z.namelist()) == ["0_sketch.png", "1_flat.png", "2_detail.png", "workflow.safetensors"]
    assert Image.open(strip).width > Image.open(strip).height

    # Same seed → same candidates.
    again = client.predict(PIPELINE, editor(files / "sketch.png"), 3, 7, False, api_name="/generate")
    assert np.array_equal(pixels(again[0][2]["image"]), pixels(galleries[0][2]["image"]))

    # Fixing candidate #3 of stage 1 makes the flat stage that candidate, and stage 2's candidates follow it.
    chosen = client.predict(PIPELINE, 1, 2, False, api_name="/choose_variation")
    assert "✓ chosen" in chosen[0][2]["caption"] and "✓ chosen" not in chosen[0][0]["caption"]
    assert np.abs(pixels(chosen[8][1]) - pixels(again[8][1])).max() > 0  # flat PNG changed
    assert not np.array_equal(pixels(chosen[1][0]["image"]), pixels(again[1][0]["image"]))

    more = client.predict(PIPELINE, 2, False, api_name="/more_variations")
    assert "seed 1008" in more[1][0]["caption"] and "✓" not in "".join(c["caption"] for c in more[1])
    assert np.array_equal(pixels(more[5]), pixels(chosen[5]))  # the result stays until a candidate is picked


def test_pipelines_keep_their_own_stages_and_sessions(client, files):
    out = client.predict(FOUR_STAGES, editor(files / "sketch.png"), 2, 0, False, api_name="/generate")
    assert [len(g) for g in out[:5]] == [2, 2, 2, 0, 0]
    assert Image.open(out[7]).n_frames == 4
    assert "with the pipeline 'tiny'" in error_of(lambda: client.predict(PIPELINE, 1, 0, False,
                                                                        api_name="/choose_variation"))
    assert "no learned regulariser" in error_of(lambda: (
        client.predict(FOUR_STAGES, handle_file(str(files / "art.png")), api_name="/decompose"),
        client.predict(FOUR_STAGES, "learned", 0.01, 2, api_name="/fit")))
    # Its own stage names work over the API although the page opened on the default pipeline's.
    resampled = client.predict(FOUR_STAGES, "colour", 3, 1.0, api_name="/resample")
    assert "Resampled 'colour'" in resampled[3]
    assert "Unknown stage 'flat'; the stages are" in error_of(lambda: client.predict(FOUR_STAGES, "flat", 3, 1.0, api_name="/resample"))


def test_a_drawn_pipeline_shows_drawn_candidates_and_the_network_view(client, files):
    drawn = client.predict(DRAWN, editor(files / "shapes.png"), 2, 0, False, api_name="/generate")
    ink = np.asarray(shapes_sketch()) < 128
    final = pixels(drawn[5])
    assert final.shape[:2] == (512, 512) and final[ink].max() <= 60  # at the sketch's size, its lines on top
    assert "drawn at 512×512" in drawn[9]
    candidate = pixels(drawn[0][1]["image"])
    assert candidate.shape[:2] == (256, 256)  # drawn small, with the sketch's lines
    assert candidate[np.asarray(shapes_sketch(256)) < 128].mean() < 128

    raw = client.predict(DRAWN, True, api_name="/generate_outputs")
    blocks = pixels(raw[0][1]["image"]).reshape(32, 8, 32, 8, 3)
    assert np.ptp(blocks, axis=(1, 3)).max() == 0  # the network's 32 px picture, each pixel an 8×8 square
    assert pixels(raw[5]).shape[:2] == (256, 256) and "network view" in raw[9]
    assert [Path(f).name for f in raw[8]] == [Path(f).name for f in drawn[8]]  # the downloads stay drawn


def test_decompose_fit_and_edit(client, files):
    decomposed = client.predict(PIPELINE, handle_file(str(files / "art.png")), api_name="/decompose")
    gallery, slider, status = decomposed
    assert [g["caption"] for g in gallery] == ["inferred 0: sketch", "inferred 1: flat", "inferred 2: detail"]
    assert "Decomposed in" in status and Image.open(slider[1]).size == (512, 384)

    gallery, before_after, downloads, status, recon = client.predict(PIPELINE, "learned", 0.01, 10, api_name="/fit")
    before, after = (float(v) for v in status.split("L1 ")[1].rstrip(".").split(" → "))
    assert after < before
    assert Image.open(recon[0]).size == Image.open(recon[1]).size == (512, 384)

    painting = client.predict(PIPELINE, "flat", api_name="/stage_image")
    assert Image.open(painting["background"]).size == (512, 384)  # the picture's box, enlarged ×16

    resampled = client.predict(PIPELINE, "detail", 3, 1.0, api_name="/resample")
    assert "Resampled 'detail'" in resampled[3]
    assert not np.array_equal(pixels(resampled[1][0]), pixels(resampled[1][1]))  # before ≠ after

    sketch_after = pixels(resampled[0][0]["image"])
    painted = client.predict(PIPELINE, "flat", editor(files / "art.png"), api_name="/paint")
    assert "Applied the painted 'flat'" in painted[3]
    assert np.array_equal(pixels(painted[0][0]["image"]), sketch_after)  # earlier stages untouched

    hint = {"background": handle_file(painting["background"]), "layers": [handle_file(str(files / "hint_layer.png"))],
            "composite": None}
    hinted = client.predict(PIPELINE, "flat", hint, 5, api_name="/hints")
    assert "colour hints" in hinted[3]

    reset = client.predict(PIPELINE, api_name="/reset_edits")
    assert np.array_equal(pixels(reset[1][0]), pixels(reset[1][1]))
    assert "learned" in error_of(lambda: client.predict(PIPELINE, "bogus", 0.01, 5, api_name="/fit"))


def test_sketch_redraw(client, files):
    art = handle_file(str(files / "art.png"))
    gallery, sketch, status = client.predict(PIPELINE, art, api_name="/reference_sketch")
    assert len(gallery) == 3 and "own sketch" in status
    assert Image.open(sketch["background"]).size[0] > 64  # enlarged, at the reference's aspect

    # The new sketch is wider than the reference: the result takes the sketch's aspect.
    out = client.predict(PIPELINE, art, editor(files / "wide_sketch.png"), False, api_name="/redraw")
    slider, final, strip, gif, downloads, status = out
    assert Image.open(final).size == (512, 341)
    assert Image.open(slider[0]).size == Image.open(slider[1]).size == (512, 341)
    assert "Redrawn" in status and len(downloads) == 6
    raw = client.predict(PIPELINE, True, api_name="/redraw_outputs")  # the network view of the same result
    assert "network view" in raw[5] and Image.open(raw[1]).size != Image.open(final).size


@pytest.mark.parametrize("name", ["animated.gif", "transparent.png", "grey.png"])
def test_odd_but_usable_pictures_work(client, files, name):
    gallery, _, status = client.predict(PIPELINE, handle_file(str(files / name)), api_name="/decompose")
    assert len(gallery) == 3 and "Decomposed" in status


def test_bad_inputs_get_clear_messages(client, files):
    def art(name, pipeline=PIPELINE):
        return lambda: client.predict(pipeline, handle_file(str(files / name)), api_name="/decompose")

    def sketch(value, pipeline=PIPELINE):
        return lambda: client.predict(pipeline, value, 4, 0, False, api_name="/generate")

    assert "not a readable image" in error_of(art("notes.png"))
    assert "49 MP; the limit is 40 MP" in error_of(art("huge.png"))
    assert "exceeds the maximum file size" in error_of(art("big.bin.png"))
    assert "blank" in error_of(sketch(editor(files / "blank.png")))
    assert "draw or upload one first" in error_of(sketch({"background": None, "layers": [], "composite": None}))
    assert "not in the list of choices" in error_of(art("art.png", pipeline="nope"))
    assert "400" in error_of(sketch(editor(files / "sketch.png"), pipeline="nope"))  # validated: Gradio says no more
    assert "input stage" in error_of(lambda: client.predict(PIPELINE, "sketch", 1, 1.0, api_name="/resample"))
    assert "Generate from a sketch first (with the pipeline 'tiny4')" in error_of(
        lambda: Client(client.src, verbose=False).predict(FOUR_STAGES, 1, 0, False, api_name="/choose_variation"))


def test_a_new_session_starts_from_the_first_screen(url, client):
    """A new visitor sees the default pipeline's examples worked through, and can go on from them."""
    shown = client.predict(PIPELINE, False, api_name="/generate_outputs")
    assert shown[9].startswith("Chosen candidates: #1, #1 · seeds 0, 1") and len(shown[0]) == 4
    chosen = client.predict(PIPELINE, 1, 2, False, api_name="/choose_variation")  # a candidate of the example
    assert "✓ chosen" in chosen[0][2]["caption"]
    resampled = client.predict(PIPELINE, "detail", 3, 1.0, api_name="/resample")  # the example's fitted artwork
    assert "Resampled 'detail'" in resampled[3]
    redrawn = Client(client.src, verbose=False).predict(PIPELINE, True, api_name="/redraw_outputs")
    assert "Redrawn" in redrawn[5]


def test_sessions_are_separate_and_failures_isolated(url, files):
    a, b = Client(url, verbose=False), Client(url, verbose=False)
    first = a.predict(PIPELINE, editor(files / "sketch.png"), 2, 1, False, api_name="/generate")
    b.predict(PIPELINE, editor(files / "wide_sketch.png"), 2, 2, False, api_name="/generate")
    with pytest.raises(Exception):
        b.predict(PIPELINE, editor(files / "notes.png"), 2, 2, False, api_name="/generate")
    # a's workflow is still its own (the tall sketch), unaffected by b's work and b's failure.
    again = a.predict(PIPELINE, False, api_name="/generate_outputs")
    assert Image.open(again[5]).size == (341, 512)  # the sketch's aspect (60×90), enlarged to 512
    assert np.array_equal(pixels(again[5]), pixels(first[5]))


def test_twenty_concurrent_clients(url, files):
    def session(i: int) -> str:
        c = Client(url, verbose=False)
        return c.predict(PIPELINE, editor(files / "sketch.png"), 1, i, False, api_name="/generate")[9]

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        results = list(pool.map(session, range(20)))
    assert len(results) == 20 and all(r.startswith("Chosen candidates: #1, #1") for r in results)


def test_untrained_demo_when_nothing_is_published(tmp_path):
    from artzoo.app import DEMO_NAME, PipelineRegistry, build_demo

    registry = PipelineRegistry(tmp_path)
    assert registry.names == [DEMO_NAME] and registry.untrained
    assert "untrained demo" in registry.describe(DEMO_NAME) and "untrained demo" in registry.label(DEMO_NAME)
    assert registry.examples(DEMO_NAME, 0) and registry.examples(DEMO_NAME, -1)  # bundled fallbacks
    assert registry.get(DEMO_NAME).image_size == 64
    build_demo(registry)


def test_a_broken_pipeline_folder_is_skipped(tmp_path, checkpoints):
    import shutil

    shutil.copytree(checkpoints / PIPELINE, tmp_path / "good")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "artzoo_pipeline.json").write_text("{not json")
    from artzoo.app import PipelineRegistry

    registry = PipelineRegistry(tmp_path)
    assert registry.names == ["good"] and "broken" in registry.describe("good")


def test_app_py_starts_on_the_given_host_and_port(checkpoints):
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "ARTZOO_CHECKPOINTS": str(checkpoints)}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        while True:
            assert proc.poll() is None, proc.stdout.read()
            assert time.perf_counter() - start < 90, "app.py did not answer within 90 s"
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
                break
            except OSError:
                time.sleep(0.25)
        print(f"cold start to first page: {time.perf_counter() - start:.1f} s")
        assert "artzoo" in page
    finally:
        proc.terminate()
        proc.wait(30)
