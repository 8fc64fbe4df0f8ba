"""FacePop's UI in a real browser: Debian's Chromium, headless, driven by Playwright, on a real
gradio 3.41.2 page built by the WebUI double (``page.py`` says how the page is built and served).

Checked in the browser: every setting of both scripts has its control, with its label, where the
user looks for it; the hover hint of every labelled control is the setting's hint; the "Preview
faces" button turns an uploaded photo into the annotated image and the upright face canvases that
FacePop itself computes for that photo; the Script dropdown shows FacePop Upscale's panel and its
presets rewrite the controls and the plan. Run it with ``bash tools/browser_test.sh``.
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pytest
from PIL import Image

from lib_facepop.settings import FaceSettings, FieldInfo, UpscaleSettings
from tests.browser.page import ROOT, serve

CHROMIUM = os.environ.get("FACEPOP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-proxy-server"]
SAMPLE = ROOT / "lib_facepop" / "assets" / "sample.jpg"
FACE = "script_img2img_facepop_"
UPSCALE = "script_facepop_upscale_"
#: FacePop's face-script controls that are hidden on purpose (ui.HIDDEN; "enabled" is the accordion itself)
FACE_HIDDEN = {"enhancement"}
WAIT_MS = 90_000  # upper bound for the server's answers on a busy 2-core CI machine, not a speed check


# --------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("facepop-ui")) as page:
        yield page


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash tools/browser_test.sh` (it installs Debian's chromium) "
                    "or point FACEPOP_CHROMIUM at a Chromium binary", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # launch_persistent_context: the fresh --user-data-dir (Playwright refuses it in args)
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1000, "height": 900})
        yield context
        context.close()


class Tab:
    """One loaded page, with the browser's complaints collected."""

    def __init__(self, page, origin: str) -> None:
        self.page = page
        self.origin = origin
        self.errors: list[str] = []
        self.blocked: list[str] = []

    def assert_clean(self) -> None:
        """No uncaught exception and no console error, apart from the blocked off-machine requests."""
        assert not self.errors, self.errors


@pytest.fixture
def tab(served, browser):
    page = browser.new_page()
    page.set_default_timeout(WAIT_MS)
    t = Tab(page, served.url.rstrip("/"))

    def route(r):  # the machine is offline in CI: fail fast on anything that is not this server
        if r.request.url.startswith(t.origin):
            r.continue_()
        else:
            t.blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: t.errors.append(f"pageerror: {e}"))
    page.on("console", lambda m: t.errors.append(f"console.{m.type}: {m.text}")
            if m.type == "error" and not (m.text.startswith("Failed to load resource") and t.blocked) else None)
    page.goto(served.url)
    page.wait_for_selector(f"#{FACE}enabled .label-wrap")
    yield t
    page.close()


# --------------------------------------------------------------------------------------- helpers
def open_accordion(page, selector: str) -> None:
    """Open the gradio accordion ``selector`` if it is closed (its header is ``.label-wrap``)."""
    header = page.locator(f"{selector} > .label-wrap")
    if not header.evaluate("h => h.nextElementSibling && h.nextElementSibling.style.display !== 'none'"):
        header.click()
    page.wait_for_function("h => h.nextElementSibling.style.display !== 'none'", arg=header.element_handle())


def open_all_accordions(page, selector: str) -> None:
    """Open every accordion under ``selector`` (outer ones first)."""
    headers = page.locator(f"{selector} .label-wrap")
    for i in range(headers.count()):
        header = headers.nth(i)
        if header.evaluate("h => h.nextElementSibling.style.display === 'none'"):
            header.click()
            page.wait_for_function("h => h.nextElementSibling.style.display !== 'none'", arg=header.element_handle())


def label_in(page, elem_id: str, text: str):
    """The label-like element (span, label, button, p) under ``#elem_id`` whose trimmed text is ``text``;
    the innermost one when they nest."""
    handle = page.evaluate_handle(
        """([id, text]) => {
            const root = document.getElementById(id);
            if (!root) return null;
            const all = [...root.querySelectorAll("span, label, button, p")].filter(e => e.textContent.trim() === text);
            return all.find(e => !all.some(o => o !== e && e.contains(o))) || null;
        }""", [elem_id, text])
    element = handle.as_element()
    assert element is not None, f"no control labelled {text!r} in #{elem_id}"
    return element


def hover_title(element) -> str:
    """What the browser shows on hover: the nearest ``title`` of the element or its ancestors."""
    element.hover()
    return element.evaluate("e => { const t = e.closest('[title]'); return t ? t.title : ''; }")


def face_fields() -> list[FieldInfo]:
    return FaceSettings.fields_info()[1:]  # [0] "enabled" is the InputAccordion itself


def upscale_fields() -> list[FieldInfo]:
    return [f for f in UpscaleSettings.fields_info() if f.name != UpscaleSettings.ENABLE_FIELD]


def pick_script(page, title: str) -> None:
    """Choose ``title`` in the img2img "Script" dropdown, as a user does."""
    page.locator("#script_list input").click()
    page.locator(f"#script_list li[data-value='{title}']").click()


def pick(page, elem_id: str, value: str) -> None:
    page.locator(f"#{elem_id} input").click()
    page.locator(f"#{elem_id} li[data-value='{value}']").click()


def fetch_image(tab: Tab, src: str) -> Image.Image:
    """An image the page shows, as the server sent it (gradio 3 sends gr.Image outputs as data URLs,
    gallery items as ``file=`` URLs)."""
    if src.startswith("data:"):
        header, _, payload = src.partition(",")
        assert header.endswith(";base64"), header
        return Image.open(io.BytesIO(base64.b64decode(payload)))
    url = src if src.startswith("http") else f"{tab.origin}/{src.lstrip('/')}"
    response = tab.page.request.get(url)
    assert response.ok, (url, response.status)
    return Image.open(io.BytesIO(response.body()))


def served_file(src: str) -> str:
    """The file behind a gradio 3 ``/file=<path>`` URL (for an assertion message)."""
    if src.startswith("data:"):
        return src[:40]
    path = urlparse(src).path
    return unquote(path.split("file=", 1)[-1])


# --------------------------------------------------------------------------------------- tests
def test_facepop_accordion_has_a_control_for_every_setting(tab):
    page = tab.page
    accordion = page.locator(f"#{FACE}enabled")
    assert accordion.locator(":scope > .label-wrap").inner_text().startswith("FacePop")
    assert page.locator(f"#{FACE}enabled-checkbox").count() == 1  # the args' "enabled" (hidden, as in the WebUI)
    open_all_accordions(page, f"#{FACE}enabled")
    for info in face_fields():
        control = page.locator(f"#{FACE}enabled #{FACE}{info.name}")
        assert control.count() == 1, info.name
        if info.name in FACE_HIDDEN:
            assert control.is_hidden(), info.name
            continue
        assert control.is_visible(), info.name
        assert label_in(page, f"{FACE}{info.name}", info.label).is_visible(), info.label
    for name in ("preview_image", "preview", "preview_annotated", "preview_crops"):
        assert page.locator(f"#{FACE}enabled #{FACE}{name}").is_visible(), name
    tab.assert_clean()


def test_every_labelled_control_shows_its_settings_hint_on_hover(tab, served):
    page = tab.page
    open_all_accordions(page, f"#{FACE}enabled")
    enabled = FaceSettings.fields_info()[0]
    header = page.locator(f"#{FACE}enabled > .label-wrap span").first.element_handle()
    assert hover_title(header) == enabled.hint
    checked = 0
    for info in face_fields():
        if info.name in FACE_HIDDEN or not info.hint:
            continue
        assert hover_title(label_in(page, f"{FACE}{info.name}", info.label)) == info.hint, info.label
        checked += 1
    pick_script(page, "FacePop Upscale")
    page.locator(f"#{UPSCALE}group").wait_for(state="visible")
    open_all_accordions(page, f"#{UPSCALE}group")
    for info in upscale_fields():
        assert hover_title(label_in(page, f"{UPSCALE}{info.name}", info.label)) == info.hint, info.label
        checked += 1
    assert checked == len(face_fields()) - len(FACE_HIDDEN) + len(upscale_fields())
    # the WebUI's own tooltip path: each control's ``tooltip=`` reaches the page config as webui_tooltip
    config = {c["props"].get("elem_id"): c["props"].get("webui_tooltip")
              for c in page.evaluate("window.gradio_config.components")}
    for prefix, infos in ((FACE, face_fields()), (UPSCALE, upscale_fields())):
        for info in infos:
            assert config[f"{prefix}{info.name}"] == info.hint, info.name
    tab.assert_clean()


def test_preview_faces_shows_the_annotated_image_and_the_upright_faces(tab, served, tmp_path):
    from lib_facepop.webui.preview import image_and_mask, preview_faces
    from lib_facepop.webui.ui import base_settings

    page = tab.page
    open_accordion(page, f"#{FACE}enabled")
    open_accordion(page, f"#{FACE}preview_section")
    page.set_input_files(f"#{FACE}preview_image input[type=file]", str(SAMPLE))
    page.locator(f"#{FACE}preview_image img").wait_for(state="visible")
    page.locator(f"#{FACE}preview").click()
    annotated = page.locator(f"#{FACE}preview_annotated img")
    annotated.wait_for(state="visible")
    page.wait_for_function("e => e.complete && e.naturalWidth > 0", arg=annotated.element_handle())
    message = page.locator(f"#{FACE}preview_message").first  # gr.HTML puts its id on two nested divs
    page.wait_for_function("e => e.textContent.trim() !== ''", arg=message.element_handle())

    # what FacePop computes for this photo with the panel's defaults, in this process
    image, mask = image_and_mask(Image.open(SAMPLE))
    expected = preview_faces(served.script("FacePop").engine.pipeline, image, base_settings(), mask)
    assert expected.crops, "the sample photo has faces"
    assert message.inner_text().strip() == expected.message

    src = annotated.get_attribute("src")
    natural = annotated.evaluate("e => [e.naturalWidth, e.naturalHeight]")
    shown = fetch_image(tab, src)
    assert shown.size == tuple(natural) == Image.open(SAMPLE).size, served_file(src)
    pixels = np.asarray(shown.convert("RGB"))
    assert np.array_equal(pixels, expected.annotated), "the page shows FacePop's annotated image"
    assert not np.array_equal(pixels, image), "the faces are drawn on it"

    thumbs = page.locator(f"#{FACE}preview_crops img")
    page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length >= n",
                           arg=[f"#{FACE}preview_crops img", len(expected.crops)])
    srcs = list(dict.fromkeys(thumbs.nth(i).get_attribute("src") for i in range(thumbs.count())))
    assert len(srcs) == len(expected.crops)
    for src, (canvas, _caption) in zip(srcs, expected.crops):
        crop = fetch_image(tab, src)
        assert crop.size == (canvas.shape[1], canvas.shape[0]), served_file(src)
        assert np.array_equal(np.asarray(crop.convert("RGB")), canvas)
    served.double.assert_no_errors()
    tab.assert_clean()

    shot = os.environ.get("FACEPOP_UI_SCREENSHOT")
    if shot:  # docs/ui_facepop.png: the accordion with the preview result
        save_screenshot(page.locator(f"#{FACE}enabled").screenshot(animations="disabled"), shot)


def save_screenshot(png: bytes, path: str, width: int = 640) -> None:
    """A README-sized PNG: ``width`` pixels wide, 256 colours (about 250 KB for the accordion)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def test_script_dropdown_shows_facepop_upscale_and_its_presets_rewrite_the_plan(tab):
    from lib_facepop.upscale import PRESETS

    page = tab.page
    group = page.locator(f"#{UPSCALE}group")
    assert group.count() == 1 and group.is_hidden()  # a selectable script: hidden until picked
    pick_script(page, "FacePop Upscale")
    group.wait_for(state="visible")
    assert page.locator(f"#{UPSCALE}enabled").is_hidden()  # picking the script is what enables it
    open_all_accordions(page, f"#{UPSCALE}group")
    for info in upscale_fields():
        control = page.locator(f"#{UPSCALE}group #{UPSCALE}{info.name}")
        assert control.count() == 1 and control.is_visible(), info.name
        assert label_in(page, f"{UPSCALE}{info.name}", info.label).is_visible(), info.label
    plan = page.locator(f"#{UPSCALE}plan").first
    default_passes = next(f.default for f in UpscaleSettings.fields_info() if f.name == "passes")
    assert plan.locator("tbody tr").count() == default_passes

    name, preset = next((n, v) for n, v in PRESETS.items() if v["passes"] != default_passes)
    pick(page, f"{UPSCALE}preset", name)
    page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length === n",
                           arg=[f"#{UPSCALE}plan.block tbody tr", preset["passes"]])
    assert page.locator(f"#{UPSCALE}passes input[type=number]").input_value() == str(preset["passes"])
    assert f"{preset['passes']} pass(es)" in plan.inner_text()
    tab.assert_clean()
