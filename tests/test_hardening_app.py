"""The public demo under hostile or heavy use, on a loopback server: the editors' canvas-upload store
(Gradio's accept_blobs route) is bounded and checked, per-client budgets and one heavy job per client,
only the example folders are served, downloads are private, and session pictures are kept small.
(benchmarks/attack_app.py is the end-to-end attack; tests/test_hardening_attack.py runs it.)"""

import io
import os
import stat
import time
import uuid
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from app_fixtures import PIPELINE, free_port, make_checkpoints, sketch_image

gr = pytest.importorskip("gradio")
httpx = pytest.importorskip("httpx")
from gradio_client import Client, handle_file  # noqa: E402

from artzoo.app import PipelineRegistry, build_demo, launch_kwargs  # noqa: E402
from artzoo.app import inputs, limits  # noqa: E402
from artzoo.app.outputs import _downloads_dir, downloads_root  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:::gradio.queueing")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(url, demo, checkpoints) of the app on a free loopback port."""
    checkpoints = make_checkpoints(tmp_path_factory.mktemp("checkpoints"))
    registry = PipelineRegistry(checkpoints)
    demo = build_demo(registry)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **launch_kwargs(registry))
    yield f"http://127.0.0.1:{port}/", demo, checkpoints
    demo.close()


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def editor_id(demo, elem_id: str = "sketch") -> int:
    return next(b._id for b in demo.blocks.values() if isinstance(b, inputs.CheckedImageEditor) and b.elem_id == elem_id)


def post_blob(url, component, blob_id, kind, data, index="null", session="s", client="198.51.100.1"):
    """What the browser's editor sends for one canvas part: POST /gradio_api/component_server."""
    return httpx.post(url + "gradio_api/component_server", files={"file": ("blob", data, "image/png")},
                      data={"id": blob_id, "type": kind, "index": index, "fn_name": "accept_blobs",
                            "component_id": str(component), "session_hash": session},
                      headers={"X-Forwarded-For": client}, timeout=30)


def generate_from_blobs(url, blob_id, client="198.51.100.2"):
    """/generate with the editor value the browser sends after uploading its canvas: only the id."""
    c = Client(url, verbose=False, headers={"X-Forwarded-For": client})
    return c.predict(PIPELINE, {"background": None, "layers": [], "composite": None, "id": blob_id}, 2, 0, False,
                     api_name="/generate")


def submit(demo, blob_id):
    """What the server does with the browser's editor value (only the id) before an action runs."""
    from gradio.components.image_editor import EditorData

    editor = demo.blocks[editor_id(demo)]
    return editor.preprocess(EditorData(id=blob_id))


def test_blob_route_stores_checked_parts_and_generate_uses_them(server):
    url, demo, _ = server
    sketch = sketch_image().convert("RGBA")
    blob_id = uuid.uuid4().hex
    assert post_blob(url, editor_id(demo), blob_id, "composite", png(sketch)).status_code == 200
    assert post_blob(url, editor_id(demo), blob_id, "background", png(sketch)).status_code == 200
    assert blob_id in inputs.BLOBS
    out = generate_from_blobs(url, blob_id)
    # The sketch stage is the uploaded canvas (its aspect, its lines), and the submission is used up.
    files = next(o for o in out if isinstance(o, list) and o and str(o[0]).endswith(".png"))
    drawn = np.asarray(Image.open(next(f for f in files if f.endswith("_0_sketch.png"))).convert("L"))
    assert drawn.shape[0] > drawn.shape[1]  # 60×90: taller than wide
    assert inputs.BLOBS._items[blob_id].used is not None  # used: dropped a minute later


def test_blob_route_refuses_huge_layer_index_and_pixel_bombs_before_decoding(server):
    url, demo, _ = server
    before = inputs.BLOBS.nbytes
    blob_id = uuid.uuid4().hex
    assert post_blob(url, editor_id(demo), blob_id, "layer", b"x" * 12, index="100000000").status_code == 200
    assert inputs.BLOBS.get(blob_id).layers == [] and inputs.BLOBS.nbytes == before
    with pytest.raises(gr.Error, match="too many layers"):
        submit(demo, blob_id)
    with pytest.raises(Exception):
        generate_from_blobs(url, blob_id)  # refused by the app too

    bomb = png(Image.new("1", (10_000, 10_000), 1))  # 100 MP in a few kB
    bomb_id = uuid.uuid4().hex
    started = time.perf_counter()
    post_blob(url, editor_id(demo), bomb_id, "composite", bomb)
    assert time.perf_counter() - started < 5  # refused from its header; decoding it would take far longer
    assert inputs.BLOBS.get(bomb_id).composite is None
    with pytest.raises(gr.Error, match="100 MP; the limit is 40 MP"):
        submit(demo, bomb_id)


def test_blob_store_caps_bytes_per_session_and_in_total(monkeypatch):
    store = inputs.BlobStore()
    part = png(Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 300, 3), dtype=np.uint8)))
    monkeypatch.setattr(inputs, "BLOB_SESSION_BYTES", 3 * len(part))
    monkeypatch.setattr(inputs, "BLOB_TOTAL_BYTES", 5 * len(part))
    for i in range(4):
        store.put(f"a{i}", "one-session", "background", None, part)
    assert store.nbytes == 3 * len(part) and "too much canvas data" in store.refusal("a3")
    for i in range(4):
        store.put(f"b{i}", f"session-{i}", "background", None, part)
    assert store.nbytes <= 5 * len(part)
    assert "a0" not in store and store.get("b3").background == part  # the oldest went first
    store.put("c", "s", "layer", inputs.MAX_LAYERS, part)
    assert "too many layers" in store.refusal("c")
    store.put("d", "s", "script", None, part)
    assert "unknown canvas part" in store.refusal("d")
    # Used submissions go a minute later, unused ones after ten.
    store.pop("b3")
    now = time.monotonic()
    # (inputs' own clock only: the process's would upset the server's event loop)
    monkeypatch.setattr(inputs, "time", SimpleNamespace(monotonic=lambda: now + inputs.USED_TTL_S + 1))
    store.put("e", "s", "background", None, part)
    assert "b3" not in store and "b2" in store
    monkeypatch.setattr(inputs, "time", SimpleNamespace(monotonic=lambda: now + inputs.BLOB_TTL_S + 1))
    store.put("f", "s", "background", None, part)
    assert "b2" not in store and "e" in store


def test_blob_posts_and_uploads_have_a_budget_per_client(server):
    url, demo, _ = server
    budget = limits.BUDGETS["/component_server"]
    started = time.monotonic()
    codes = [post_blob(url, editor_id(demo), uuid.uuid4().hex, "layer", b"x", index="0",
                       client="198.51.100.77").status_code for _ in range(80)]
    refilled = budget.per_s * (time.monotonic() - started)
    assert codes[:int(budget.burst)] == [200] * int(budget.burst)
    assert 429 in codes and codes.count(200) <= budget.burst + refilled + 1
    # Another client is unaffected.
    assert post_blob(url, editor_id(demo), uuid.uuid4().hex, "layer", b"x", index="0",
                     client="198.51.100.78").status_code == 200


def test_one_heavy_job_per_client(server, tmp_path):
    url, _, _ = server
    sketch_image().save(tmp_path / "s.png")
    art = Image.new("RGB", (64, 48), "white")
    art.paste((240, 180, 40), (10, 8, 54, 40))
    art.save(tmp_path / "art.png")
    greedy = Client(url, verbose=False, headers={"X-Forwarded-For": "203.0.113.10"})
    jobs = [greedy.submit(PIPELINE, handle_file(str(tmp_path / "art.png")), api_name="/reference_sketch")
            for _ in range(4)]
    other = Client(url, verbose=False, headers={"X-Forwarded-For": "203.0.113.11"})
    assert len(other.predict(PIPELINE, handle_file(str(tmp_path / "art.png")), api_name="/reference_sketch")) == 3
    outcomes = []
    for job in jobs:
        try:
            job.result(timeout=120)
            outcomes.append("done")
        except Exception as e:
            outcomes.append(str(e))
    assert outcomes.count("done") >= 1
    assert any("400 Bad Request" in o for o in outcomes), outcomes  # the refusal (its text: next test)


def test_the_heavy_queue_refuses_a_second_job_of_the_same_client_with_a_message():
    import asyncio

    NS = SimpleNamespace

    def request(host):
        return NS(scope={"client": (host, 1), "headers": []})

    running = NS(concurrency_id="fit", request=request("203.0.113.1"))
    pushed = []

    async def push(body, request, username):
        pushed.append(body)
        return True, "event", "success"

    queue = NS(event_ids_to_events={"e": running}, push=push)
    demo = NS(_queue=queue, fns={0: NS(concurrency_id="fit"), 1: NS(concurrency_id="default")})
    joins = []
    limits.one_heavy_job_per_client(demo, "fit", on_join=lambda: joins.append(1))

    def join(fn_index, host):
        return asyncio.run(queue.push(NS(fn_index=fn_index), request(host), None))

    ok, message, state = join(0, "203.0.113.1")
    assert not ok and state == "error" and "already have a fit" in message
    assert join(0, "203.0.113.2")[0] and join(1, "203.0.113.1")[0]  # other clients; light jobs
    assert len(pushed) == 2 and len(joins) == 3


def test_only_example_folders_are_served(server):
    url, _, checkpoints = server
    config = checkpoints / PIPELINE / "generator_0" / "config.json"
    example = checkpoints / PIPELINE / "examples" / "sketch" / "example.png"
    assert httpx.get(f"{url}gradio_api/file={config}", timeout=30).status_code in (403, 404)
    assert httpx.get(f"{url}gradio_api/file={example}", timeout=30).status_code == 200


def test_downloads_are_private():
    root, folder = downloads_root(), _downloads_dir()
    assert folder.parent == root and root.name.startswith("artzoo-app-")
    assert stat.S_IMODE(os.stat(root).st_mode) == 0o700 and stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert downloads_root() == root  # one per process


def test_session_pictures_are_kept_small(tmp_path):
    big = Image.new("RGB", (3000, 2000), "white")
    big.paste((200, 60, 60), (1000, 500, 2000, 1500))
    big.save(tmp_path / "big.png")
    kept = inputs.read_picture(str(tmp_path / "big.png"), "artwork", "artwork")
    assert kept.size == (inputs.KEEP_SIDE, round(inputs.KEEP_SIDE * 2 / 3))
    assert np.asarray(kept)[kept.height // 2, kept.width // 2].tolist() == [200, 60, 60]
    value = {"background": None, "layers": [], "composite": big.convert("RGBA")}
    assert max(inputs.editor_picture(value, "sketch", "colour").size) == inputs.KEEP_SIDE


def test_cache_cap_deletes_the_oldest_files_of_this_app_only(tmp_path):
    files = []
    for i in range(6):
        path = tmp_path / f"f{i}.bin"
        path.write_bytes(b"x" * 1000)
        os.utime(path, (1000 + i, 1000 + i))
        files.append(str(path))
    (tmp_path / "not-ours.bin").write_bytes(b"x" * 10_000)

    class Demo:
        temp_file_sets = [set(files)]
        blocks = {}

    kept = limits.CacheCap(Demo(), cap_bytes=4000).sweep()
    assert kept <= 3200 and sorted(p.name for p in tmp_path.iterdir()) == ["f3.bin", "f4.bin", "f5.bin", "not-ours.bin"]


def test_launch_settings_bound_sessions_and_cache(tmp_path):
    from artzoo.app import ui

    registry = PipelineRegistry(make_checkpoints(tmp_path))
    kwargs = launch_kwargs(registry)
    assert kwargs["state_session_capacity"] == ui.SESSION_CAPACITY <= 1000
    assert kwargs["allowed_paths"] and all(p.endswith("examples") for p in kwargs["allowed_paths"])
    assert build_demo(registry).delete_cache == ui.DELETE_CACHE
