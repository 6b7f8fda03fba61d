"""The app in headless Chromium: draw, generate, pick a candidate; upload and decompose; redraw.

Runs twice: against the bundled checkpoints folder (the published fluent-emoji pipeline, what a visitor
sees) and against an empty one (the clearly labelled "untrained demo", with bundled examples).
Screenshots of each tab go to $ARTZOO_SCREENSHOTS (default: the test's temporary folder), the demo's
prefixed "demo-"; docs/screenshots/ holds copies of the published pipeline's.
"""

import os
import shutil
from pathlib import Path
from typing import Callable

import pytest

from app_fixtures import serve

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore:::gradio.queueing")]
sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip("no Chromium (apt-get install chromium)", allow_module_level=True)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 90_000


@pytest.fixture(scope="module", params=["published", "demo"])
def variant(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def url(variant, tmp_path_factory):
    from artzoo import zoo

    checkpoints = zoo.checkpoints_dir() if variant == "published" else tmp_path_factory.mktemp("empty-checkpoints")
    with serve(checkpoints) as address:
        yield address


@pytest.fixture(scope="module")
def page(variant, url):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_selector("text=stages sketch → flat → detail")  # the chosen pipeline's description
        assert ("untrained demo" in page.content()) == (variant == "demo")
        yield page
        browser.close()


@pytest.fixture(scope="module")
def shots(variant, tmp_path_factory) -> Callable[[str], Path]:
    folder = Path(os.environ.get("ARTZOO_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return lambda name: folder / (name if variant == "published" else f"demo-{name}")


def wait_for_text(page, elem_id: str, text: str) -> str:
    page.wait_for_function(f"document.querySelector('#{elem_id}').innerText.includes({text!r})")
    return page.locator(f"#{elem_id}").inner_text()


def screenshot(page, path: Path) -> None:
    page.wait_for_timeout(2500)  # let the last images load and lay out
    page.screenshot(path=str(path), full_page=True)


def stroke(page, canvas, points) -> None:
    box = canvas.bounding_box()
    xy = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in xy[1:]:
        page.mouse.move(x, y, steps=10)
    page.mouse.up()


def test_generate_tab(page, shots):
    page.locator("#sketch-examples .thumbnail-item").first.click()  # an example sketch into the editor
    page.wait_for_timeout(1000)
    stroke(page, page.locator("#sketch canvas").first, [(0.2, 0.85), (0.5, 0.95), (0.8, 0.85)])  # and a drawn line
    page.get_by_role("button", name="Generate", exact=True).click()
    assert "upscaled" in wait_for_text(page, "generate-status", "Chosen candidates: #1, #1")
    assert page.locator("#candidates-1 .thumbnail-item").count() == 4
    page.locator("#candidates-1 .thumbnail-item").nth(2).click()  # fix candidate #3 of the flat stage
    wait_for_text(page, "generate-status", "Chosen candidates: #3, #1")
    screenshot(page, shots("1-generate.png"))


def test_decompose_tab(variant, page, shots):
    from artzoo import zoo
    from artzoo.app.registry import BUNDLED_EXAMPLES

    page.get_by_role("tab", name="2 · Decompose and edit").click()
    examples = zoo.checkpoints_dir() / "fluent-emoji" / "examples" if variant == "published" else BUNDLED_EXAMPLES
    upload = sorted((examples / "detail").glob("*.png"))[-1]
    page.locator("#artwork input[type=file]").set_input_files(str(upload))
    page.wait_for_selector("#artwork img")
    page.get_by_role("button", name="Decompose & fit").click()
    status = wait_for_text(page, "edit-status", "Fitted")
    assert "reconstruction L1" in status
    page.wait_for_function("document.querySelectorAll('#painter canvas').length > 0")
    page.get_by_role("button", name="Apply new latent").click()
    wait_for_text(page, "edit-status", "Resampled")
    screenshot(page, shots("2-decompose-and-edit.png"))


def test_redraw_tab(page, shots):
    page.get_by_role("tab", name="3 · Sketch redraw").click()
    page.locator("#reference-examples .thumbnail-item").nth(1).click()
    page.wait_for_selector("#reference img")
    page.get_by_role("button", name="Open the reference's own sketch in the editor").click()
    wait_for_text(page, "redraw-status", "own sketch")
    stroke(page, page.locator("#new-sketch canvas").first, [(0.3, 0.3), (0.7, 0.7)])  # change it
    page.get_by_role("button", name="Redraw with the reference's look").click()
    wait_for_text(page, "redraw-status", "Redrawn")
    screenshot(page, shots("3-sketch-redraw.png"))
