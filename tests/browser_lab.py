"""A real browser for the widget tests: JupyterLab in headless Chromium, driven by Playwright.

Headless tests of widgets pass even when the browser cannot render them (a missing JupyterLab extension,
saved widget state...). The browser tests (tests/test_browser*.py) start JupyterLab on 127.0.0.1 in a temporary
folder holding copies of their notebooks (so autosave never writes outputs into the repository), open each in
Debian's Chromium, run all cells, check that no cell shows an error, then act once on every widget as a person
would and check that what it shows changes. Screenshots go to artifacts/screenshots/.

Each browser test module lists the notebooks it runs in ``NOTEBOOKS``; these run there, in the browser, instead
of a second time under nbmake (``conftest.py`` leaves them out of the nbmake run when Chromium is present; without
it they run under nbmake as the others do). Two modules, so that make test's two workers share the browser work.
This module holds the fixtures and helpers they share (it is not a test module).
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

# Each browser test module sets ``pytestmark = NEEDS_CHROMIUM``.
NEEDS_CHROMIUM = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (tools/install_browser.sh needs root and apt-get)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(request, tmp_path_factory):
    """JupyterLab on 127.0.0.1 with no token, no news pop-up, no saved workspace, all cells in the DOM, serving
    copies of the test module's ``NOTEBOOKS``."""
    settings = tmp_path_factory.mktemp("settings")
    folder = tmp_path_factory.mktemp("notebooks")
    for name in request.module.NOTEBOOKS:  # zh/01_canny.ipynb keeps its folder, as in the repository
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
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
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.sessionContext", timeout=60_000)
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

    # visible only: JupyterLab may restore an earlier test's notebook in a hidden tab, with sliders of the same label
    slider = page.locator(".widget-slider:visible", has=page.locator("label", has_text=re.compile(rf"^{re.escape(label)}$"))).nth(nth)
    slider.scroll_into_view_if_needed()
    slider.locator(".widget-readout").click()
    page.keyboard.press("Control+A")
    page.keyboard.type(value)
    page.keyboard.press("Enter")


def no_widget_errors(page) -> None:
    errors = [e for e in page.console_errors if "widget" in e.lower() and "error" in e.lower()]
    assert errors == [], errors


def slider_changes_the_picture(browser, lab: str, name: str, label: str, value: str) -> None:
    """Run notebook ``name``, set its slider ``label`` to ``value``: some widget picture must change, without a widget error."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = open_and_run_all(browser, lab, name, timeout_s=240)
    before = image_sources(page)
    assert before, f"{name} shows no widget picture"
    set_slider(page, label, value)
    wait_for_new_picture(page, before)
    page.screenshot(path=str(SHOTS / f"{name[:2]}_after_{label}.png"))
    no_widget_errors(page)
    page.close()
