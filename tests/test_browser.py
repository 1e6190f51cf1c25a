"""A real browser: JupyterLab in headless Chromium runs the Canny notebook, and a slider changes the picture.

Headless tests of widgets pass even when the browser cannot render them (a missing JupyterLab extension,
saved widget state...). This test starts JupyterLab on 127.0.0.1, opens 01_canny.ipynb in Debian's
Chromium driven by Playwright, runs all cells, moves the `low` slider, and checks that the edge picture
and the density change and that no cell shows an error. Screenshots go to artifacts/screenshots/.
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


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 with no token, no news pop-up, no saved workspace, all cells in the DOM."""
    settings = tmp_path_factory.mktemp("settings")
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
        cwd=ROOT / "notebooks",
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
    kernel: panel.sessionContext.session.kernel ? panel.sessionContext.session.kernel.status : 'none',
    pending: cells.filter(m => m.type === 'code' && m.executionCount === null).length,
    errors: outputs.filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue),
  };
}"""


def test_canny_notebook_runs_and_the_slider_changes_the_picture(lab):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        console_errors: list[str] = []
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{lab}/lab/tree/01_canny.ipynb")
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget && window.jupyterapp.shell.currentWidget.sessionContext", timeout=60_000)
        page.wait_for_function(f"() => {{ const s = ({NOTEBOOK_STATE})(); return s && s.kernel === 'idle'; }}", timeout=60_000)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(f"() => {{ const s = ({NOTEBOOK_STATE})(); return s && s.pending === 0 && s.kernel === 'idle'; }}", timeout=180_000)
        state = page.evaluate(f"({NOTEBOOK_STATE})()")
        assert state["errors"] == [], state["errors"]

        picture = page.locator(".widget-image").first
        picture.wait_for(state="visible", timeout=30_000)
        picture.scroll_into_view_if_needed()
        assert page.get_by_text("Error displaying widget").count() == 0
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
        browser.close()

    assert before != after, "the edge picture did not change when the slider moved"
    assert "low=20" in density_after and density_after != density_before
    widget_errors = [e for e in console_errors if "widget" in e.lower() and "error" in e.lower()]
    assert widget_errors == [], widget_errors
