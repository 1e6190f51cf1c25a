"""A real browser: JupyterLab in headless Chromium runs every notebook with a widget, and each widget responds.

Headless tests of widgets pass even when the browser cannot render them (a missing JupyterLab extension,
saved widget state...). These tests start JupyterLab on 127.0.0.1 in a temporary folder holding copies of
the notebooks (so autosave never writes outputs into the repository), open each in Debian's Chromium driven
by Playwright, run all cells, check that no cell shows an error, then act once on every widget as a person
would and check that what it shows changes: 01's threshold explorer (a slider), 02's residual-scale explorer
(a slider), 04's generation panel (a button) and shape drawer (a slider), 06's circle drawer (a slider), 07's
scribble canvas (a mouse stroke, then a button). Screenshots go to artifacts/screenshots/.

These notebooks run here, in the browser, instead of a second time under nbmake (``conftest.py`` leaves them
out of the nbmake run when Chromium is present; without it they run under nbmake as the others do).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (tools/install_browser.sh needs root and apt-get)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]



BROWSER_NOTEBOOKS = ("01_canny.ipynb", "02_controlnet_concepts.ipynb", "04_controlnet_pipeline.ipynb", "06_train_controlnet.ipynb",
                     "07_more_conditions.ipynb")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 with no token, no news pop-up, no saved workspace, all cells in the DOM."""
    settings = tmp_path_factory.mktemp("settings")
    folder = tmp_path_factory.mktemp("notebooks")
    for name in BROWSER_NOTEBOOKS:
        shutil.copy(ROOT / "notebooks" / name, folder / name)
    for plugin, values in {
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    }.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port = free_port()
    env = {**os.environ, "CONTROLNET_TUTORIAL_MODE": "tiny", "HF_HUB_OFFLINE": "1"}
    server = subprocess.Popen(
        [
            sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
            "--ServerApp.port_retries=0", "--IdentityProvider.token=", "--LabApp.expose_app_in_browser=True",
            f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={tmp_path_factory.mktemp('workspaces')}",
        ],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.terminate()
        pytest.fail("JupyterLab did not start")
    yield url
    server.terminate()
    server.wait(timeout=20)


NOTEBOOK_STATE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.sessionContext.session) return null;
  const cells = panel.content.widgets.map(c => c.model);
  const outputs = cells.filter(m => m.type === 'code').flatMap(m => m.outputs.toJSON());
  return {
    path: panel.context ? panel.context.path : '',
    kernel: panel.sessionContext.session.kernel ? panel.sessionContext.session.kernel.status : 'none',
    pending: cells.filter(m => m.type === 'code' && m.executionCount === null).length,
    errors: outputs.filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue),
  };
}"""
# Run-all has ended: every code cell ran and the kernel is idle, or a cell failed (run-all stops there).
FINISHED = f"() => {{ const s = ({NOTEBOOK_STATE})(); return s && (s.errors.length > 0 || (s.pending === 0 && s.kernel === 'idle')); }}"


def open_and_run_all(browser, lab: str, name: str, timeout_s: int = 180):
    """A page with notebook ``name`` open and every cell run without an error; its console errors are collected."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{lab}/lab/tree/{name}")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget && window.jupyterapp.shell.currentWidget.sessionContext", timeout=60_000)
    # the restored workspace may show another notebook first: wait for this one, with its kernel ready
    page.wait_for_function(f"() => {{ const s = ({NOTEBOOK_STATE})(); return s && s.path === '{name}' && s.kernel === 'idle'; }}", timeout=60_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    try:
        page.wait_for_function(FINISHED, timeout=timeout_s * 1000)
    except Exception:
        page.screenshot(path=str(SHOTS / f"{name}_timeout.png"), full_page=True)
        raise AssertionError(f"{name} did not finish in {timeout_s} s: {page.evaluate(f'({NOTEBOOK_STATE})()')}")
    state = page.evaluate(f"({NOTEBOOK_STATE})()")
    assert state["errors"] == [], state["errors"]
    assert page.get_by_text("Error displaying widget").count() == 0
    return page


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module (each test opens its own page)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield chromium
        chromium.close()


def image_sources(page) -> list[str]:
    return page.eval_on_selector_all(".widget-image", "els => els.map(e => e.getAttribute('src'))")


def wait_for_new_picture(page, before: list[str], timeout_s: int = 60) -> None:
    """Until some widget picture differs from ``before`` (the kernel answered the interaction)."""
    page.wait_for_function("(before) => { const now = [...document.querySelectorAll('.widget-image')].map(e => e.getAttribute('src'));"
                           " return now.length !== before.length || now.some((s, i) => s !== before[i]); }", arg=before, timeout=timeout_s * 1000)


def set_slider(page, label: str, value: str, nth: int = 0) -> None:
    """Type ``value`` into the readout of the ``nth`` slider labelled exactly ``label``, as a person would."""
    import re

    slider = page.locator(".widget-slider", has=page.locator("label", has_text=re.compile(rf"^{re.escape(label)}$"))).nth(nth)
    slider.scroll_into_view_if_needed()
    slider.locator(".widget-readout").click()
    page.keyboard.press("Control+A")
    page.keyboard.type(value)
    page.keyboard.press("Enter")


def no_widget_errors(page) -> None:
    errors = [e for e in page.console_errors if "widget" in e.lower() and "error" in e.lower()]
    assert errors == [], errors


@pytest.mark.parametrize("name, label, value", [
    ("02_controlnet_concepts.ipynb", "scale", "0.3"),  # the residual-scale explorer's bars
    ("06_train_controlnet.ipynb", "x", "10"),  # the circle drawer: move the outline, the model paints it there
])
def test_a_slider_changes_the_widgets_picture(lab, browser, name, label, value):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = open_and_run_all(browser, lab, name, timeout_s=240)
    before = image_sources(page)
    assert before, f"{name} shows no widget picture"
    set_slider(page, label, value)
    wait_for_new_picture(page, before)
    page.screenshot(path=str(SHOTS / f"{name[:2]}_after_{label}.png"))
    no_widget_errors(page)
    page.close()


def test_the_pipeline_notebooks_panel_and_shape_drawer_respond(lab, browser):
    """04: the generation panel's button makes a picture; the shape drawer redraws when a shape moves."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = open_and_run_all(browser, lab, "04_controlnet_pipeline.ipynb", timeout_s=240)
    before = image_sources(page)
    page.get_by_role("button", name="Generate").click()
    page.wait_for_function("() => [...document.querySelectorAll('.widget-html')].some(e => e.innerText.includes('steps: done'))", timeout=60_000)
    wait_for_new_picture(page, before)
    page.screenshot(path=str(SHOTS / "04_after_generate.png"))
    before = image_sources(page)
    set_slider(page, "x", "40")  # the shape drawer: shape 1 moves right
    wait_for_new_picture(page, before)
    page.screenshot(path=str(SHOTS / "04_after_shape_moved.png"))
    no_widget_errors(page)
    page.close()


def test_canny_notebook_runs_and_the_slider_changes_the_picture(lab, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = open_and_run_all(browser, lab, "01_canny.ipynb")
    console_errors = page.console_errors

    picture = page.locator(".widget-image").first
    picture.wait_for(state="visible", timeout=30_000)
    picture.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "01_canny_after_run_all.png"))
    status = page.locator(".widget-html", has_text="edge density").first
    density_before = status.inner_text()
    before = picture.screenshot(path=str(SHOTS / "01_canny_widget_before.png"))
    src_before = picture.get_attribute("src")

    low = page.locator(".widget-slider", has=page.locator("label", has_text="low")).first
    readout = low.locator(".widget-readout")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("20")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "([el, before]) => el.getAttribute('src') !== before", arg=[picture.element_handle(), src_before], timeout=30_000
    )
    time.sleep(0.5)  # let the new picture paint
    after = picture.screenshot(path=str(SHOTS / "01_canny_widget_after.png"))
    density_after = status.inner_text()
    page.screenshot(path=str(SHOTS / "01_canny_after_slider.png"))
    page.close()

    assert before != after, "the edge picture did not change when the slider moved"
    assert "low=20" in density_after and density_after != density_before
    widget_errors = [e for e in console_errors if "widget" in e.lower() and "error" in e.lower()]
    assert widget_errors == [], widget_errors


def test_a_stroke_drawn_on_the_canvas_changes_the_control_image(lab, browser):
    """07: the scribble pad's canvas in a real browser: drag the mouse across it, and the control image beside it
    (made by the kernel from the strokes) changes, with one more stroke counted; then generate from it."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = open_and_run_all(browser, lab, "07_more_conditions.ipynb", timeout_s=240)
    canvas = page.locator("canvas").first
    canvas.wait_for(state="visible", timeout=30_000)
    canvas.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "07_after_run_all.png"))
    status = page.locator(".widget-html", has_text="white pixels").first.element_handle()  # the element, whatever it says later
    before = status.inner_text()
    assert before.startswith("2 strokes"), before  # the bundled "square and circle"
    control = page.locator(".widget-image").first
    src_before = control.get_attribute("src")
    page.screenshot(path=str(SHOTS / "07_canvas_before.png"))
    box = canvas.bounding_box()
    y = box["y"] + 0.9 * box["height"]  # a line along the bottom, away from the bundled shapes
    page.mouse.move(box["x"] + 0.1 * box["width"], y)
    page.mouse.down()
    page.mouse.move(box["x"] + 0.9 * box["width"], y, steps=12)
    page.mouse.up()
    page.wait_for_function("([el, before]) => el.innerText !== before", arg=[status, before], timeout=30_000)
    after = status.inner_text()
    assert control.get_attribute("src") != src_before, "the control image did not change"
    page.screenshot(path=str(SHOTS / "07_canvas_after_stroke.png"))
    page.get_by_role("button", name="generate").click()
    page.wait_for_function("(el) => el.innerText.includes('F1 (2 px)')", arg=status, timeout=60_000)
    generated = status.inner_text()
    page.screenshot(path=str(SHOTS / "07_canvas_after_generate.png"))
    console_errors = page.console_errors
    page.close()

    assert after.startswith("3 strokes"), after
    assert generated.startswith("3 strokes; the picture's Canny edges vs your lines"), generated
    pixels = lambda text: int(text.split(", ")[1].split(" ")[0])  # noqa: E731
    assert pixels(after) > pixels(before), (before, after)
    widget_errors = [e for e in console_errors if "widget" in e.lower() and "error" in e.lower()]
    assert widget_errors == [], widget_errors
