"""The notebooks that generate with the trained models, in a real browser (tests/browser_lab.py): 04's generation
panel (a button) and shape drawer (a slider), 06's circle drawer (a slider); each widget must respond."""

from __future__ import annotations

from browser_lab import (  # noqa: F401  (lab and browser: the shared fixtures, used by name)
    NEEDS_CHROMIUM,
    SHOTS,
    browser,
    image_sources,
    lab,
    no_widget_errors,
    open_and_run_all,
    set_slider,
    slider_changes_the_picture,
    wait_for_new_picture,
)

pytestmark = NEEDS_CHROMIUM
NOTEBOOKS = ("04_controlnet_pipeline.ipynb", "06_train_controlnet.ipynb")  # run here, in the browser, instead of under nbmake (conftest.py)


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


def test_the_circle_drawer_paints_the_moved_outline(lab, browser):
    slider_changes_the_picture(browser, lab, "06_train_controlnet.ipynb", "x", "10")  # the model paints the circle where it moved
