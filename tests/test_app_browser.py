"""The app in headless Chromium, as a visitor meets it: every tab already shows a held-out example worked
through, a blank sketch gets one message and breaks nothing, a candidate can be chosen and the network
view switched on; at 1280 and 390 px wide (a phone: no horizontal scrolling).

Runs twice: against the bundled checkpoints folder (the published fluent-emoji pipeline, what a visitor
sees) and against an empty one (the clearly labelled "untrained demo", with bundled examples).
Screenshots of each tab at both widths go to $ARTZOO_SCREENSHOTS (default: the test's temporary folder),
the demo's prefixed "demo-"; docs/screenshots/ holds the published pipeline's. The time from opening the
page to the first finished picture is printed (run with -s to see it).
"""

import os
import shutil
import time
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
TABS = [("generate", "1 · Generate"), ("edit", "2 · Decompose & edit"), ("redraw", "3 · Redraw")]
WIDTHS = (1280, 390)
LOADED = "(s => { const i = document.querySelector(s); return !!i && i.complete && i.naturalWidth > 0; })"
ERROR_BOXES = "[data-testid=status-tracker] .error"  # the red "Error" badge Gradio puts on an output
BUSY = "[data-testid=status-tracker] :is(.eta-bar, .progress-text)"  # a spinner or progress bar still showing


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
def browser():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots(variant, tmp_path_factory) -> Callable[[str], Path]:
    folder = Path(os.environ.get("ARTZOO_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return lambda name: folder / (name if variant == "published" else f"demo-{name}")


def open_page(browser, url: str, width: int):
    """A new page at ``width``; returns it and the seconds from opening it to the first finished picture
    (tab 1's final picture) shown."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    wait_shown(page, "#final img")
    seconds = time.perf_counter() - start
    page.evaluate("window.scrollTo(0, 0)")
    return page, seconds


def wait_shown(page, selector: str) -> None:
    """Until the picture is loaded (scrolled to: below the fold, as on a phone, it is loaded lazily)."""
    page.wait_for_selector(selector, state="attached")
    page.evaluate("s => document.querySelector(s).scrollIntoView()", selector)
    page.wait_for_function(f"{LOADED}({selector!r})")


def text_of(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id}").inner_text()


def screenshot(page, path: Path) -> None:
    """The whole page, after scrolling through it so that lazily loaded pictures are in."""
    height = page.evaluate("document.body.scrollHeight")
    for y in range(0, height, 600):
        page.evaluate(f"window.scrollTo(0, {y})")
        page.wait_for_timeout(100)
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_function("Array.from(document.images).every(i => i.complete)")
    page.wait_for_timeout(500)
    page.screenshot(path=str(path), full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_every_tab_opens_on_an_example_worked_through(variant, browser, url, shots, width):
    page, seconds = open_page(browser, url, width)
    print(f"\n{variant}, {width} px: page opened → first finished picture in {seconds:.2f} s")
    assert ("untrained demo" in page.content()) == (variant == "demo")
    for k, (tab, name) in enumerate(TABS, start=1):
        page.get_by_role("tab", name=name).click()  # all three tabs fit, even on a phone
        if tab == "generate":
            assert "Chosen candidates: #1, #1 · seeds 0, 1" in text_of(page, "generate-status")
            assert page.locator("#candidates-1 .thumbnail-item").count() == 4
            page.wait_for_selector("#sketch canvas", timeout=15_000)  # the example sketch, ready to draw on
            # The editor shows its example once loaded (a loaded machine can take seconds after the canvas).
            sync_api.expect(page.locator("#sketch")).not_to_contain_text("Upload an image", timeout=15_000)
        elif tab == "edit":
            assert "Fitted 20 steps" in text_of(page, "edit-status")
            assert page.locator("#edit-stages .thumbnail-item").count() == 3
            page.wait_for_function("document.querySelectorAll('#painter canvas').length > 0")
        else:
            assert "Redrawn" in text_of(page, "redraw-status")
            wait_shown(page, "#redraw-final img")
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
        screenshot(page, shots(f"{k}-{tab}-{width}.png"))
        assert page.locator(ERROR_BOXES).count() == 0
    page.close()


def test_a_blank_sketch_gets_one_message_and_keeps_the_results(browser, url, shots):
    page, _ = open_page(browser, url, 1280)
    page.wait_for_selector("#sketch canvas")
    page.locator("#sketch button[aria-label='Clear canvas']").click()  # nothing drawn
    page.get_by_role("button", name="Generate", exact=True).click()
    page.wait_for_selector(".validation-error")
    page.wait_for_timeout(1500)  # anything else that would show up
    messages = page.locator(".validation-error, .toast-body").all_inner_texts()
    assert len(messages) == 1 and "No sketch: draw or upload one first" in messages[0]
    assert page.locator("#sketch .validation-error").count() == 1  # on the input at fault
    assert page.locator(ERROR_BOXES).count() == 0 and page.locator(BUSY).count() == 0
    assert page.evaluate(f"{LOADED}('#final img')") and page.locator("#candidates-1 .thumbnail-item").count() == 4
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shots("1-generate-blank-sketch-1280.png")))
    page.close()


def test_choose_a_candidate_and_the_network_view(variant, browser, url):
    page, _ = open_page(browser, url, 1280)
    page.locator("#candidates-1 .thumbnail-item").nth(2).click()  # the example's session goes on
    page.wait_for_function("document.querySelector('#generate-status').innerText.includes('#3, #1')")
    if variant == "published":  # the untrained demo's stages are not drawn: it has no network view
        page.locator("#generate-network input").check()
        page.wait_for_function("document.querySelector('#generate-status').innerText.includes('network view')")
        assert page.locator("#candidates-1 .thumbnail-item").count() == 4
    assert page.locator(ERROR_BOXES).count() == 0
    page.close()
