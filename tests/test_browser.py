"""The notebooks with a slider or a canvas, in a real browser (tests/browser_lab.py): 01's threshold explorer,
02's residual-scale explorer, 07's scribble canvas (a mouse stroke, then a button); each widget must respond. And the
Chinese 01: its widget and its plots speak Chinese, with no missing glyph."""

from __future__ import annotations

import time

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
# run here, in the browser, instead of under nbmake (conftest.py); the Chinese 01 too
NOTEBOOKS = ("01_canny.ipynb", "02_controlnet_concepts.ipynb", "07_more_conditions.ipynb", "zh/01_canny.ipynb")


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


def test_the_chinese_canny_notebook_shows_chinese_widgets_and_plots(lab, browser):
    """zh/01 run top to bottom in the browser: the explorer's labels and status are Chinese and answer a slider; its
    figures carry Chinese titles, drawn with the shipped font (matplotlib warns of no missing glyph in any output)."""
    import re

    SHOTS.mkdir(parents=True, exist_ok=True)
    page = open_and_run_all(browser, lab, "zh/01_canny.ipynb")
    texts = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets.filter(c => c.model.type === 'code')"
                          ".flatMap(c => c.model.outputs.toJSON())"
                          ".map(o => o.text || (o.data && o.data['text/plain']) || '').join('')")
    assert "missing from font" not in texts and "Glyph" not in texts, [line for line in texts.splitlines() if "Glyph" in line or "missing" in line]
    stages_cell = page.locator(".jp-CodeCell", has=page.locator(".jp-Editor", has_text="canny_stages"))
    plot = stages_cell.locator(".jp-RenderedImage img").first  # titled 1. 灰度, 2. 模糊, 3. 梯度幅值, 4. 边缘
    plot.scroll_into_view_if_needed()
    plot.screenshot(path=str(SHOTS / "zh_01_plot.png"))
    status = page.locator(".widget-html", has_text="边缘密度").first
    status.scroll_into_view_if_needed()
    labels = page.eval_on_selector_all(".widget-slider label, .widget-dropdown label, .widget-button", "els => els.map(e => e.innerText.trim())")
    assert {"低阈值", "高阈值", "模糊", "图像", "自动阈值"} <= set(labels), labels
    before = image_sources(page)
    set_slider(page, "低阈值", "20")
    wait_for_new_picture(page, before)
    page.wait_for_function("(el) => el.innerText.includes('low=20')", arg=status.element_handle(), timeout=30_000)
    assert re.match(r"边缘密度 \d+\.\d%（low=20, high=200, blur=0）", status.inner_text()), status.inner_text()
    page.locator(".widget-vbox").first.screenshot(path=str(SHOTS / "zh_01_widget.png"))
    no_widget_errors(page)
    page.close()


def test_the_residual_scale_slider_changes_the_bars(lab, browser):
    slider_changes_the_picture(browser, lab, "02_controlnet_concepts.ipynb", "scale", "0.3")


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
