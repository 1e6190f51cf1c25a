import numpy as np
import pytest
from PIL import Image

from helpers.canny import auto_thresholds, canny_edges, edge_density, to_gray
from helpers.ui.widgets import CannyExplorer, canny_preview


@pytest.fixture
def explorer(portrait):
    flat = Image.new("RGB", portrait.size, (90, 90, 90))
    return CannyExplorer({"portrait": portrait, "flat": flat})


def shown(explorer) -> np.ndarray:
    import io

    return np.asarray(Image.open(io.BytesIO(explorer.picture.value)))


def test_preview_is_photo_and_edges_side_by_side(portrait):
    preview, density = canny_preview(portrait, 100, 200, 0)
    assert preview.size == (2 * portrait.width, portrait.height)
    array = np.asarray(preview)
    assert np.array_equal(array[:, portrait.width :], canny_edges(portrait, 100, 200))
    assert density == edge_density(canny_edges(portrait, 100, 200))


def test_moving_a_slider_updates_picture_and_density(explorer, portrait):
    before_picture, before_density = shown(explorer), explorer.density
    explorer.low.value, explorer.high.value = 20, 60
    assert explorer.density > before_density
    assert not np.array_equal(shown(explorer), before_picture)
    assert f"{explorer.density:.1%}" in explorer.status.value
    assert explorer.density == edge_density(canny_edges(portrait, 20, 60))


def test_low_above_high_pushes_high_up(explorer):
    explorer.low.value = 230
    assert explorer.high.value == 230
    explorer.high.value = 10
    assert explorer.low.value == 10


def test_blur_and_image_choice(explorer):
    explorer.low.value, explorer.high.value = 30, 90
    sharp = explorer.density
    explorer.blur.value = 9
    assert explorer.density < sharp
    explorer.image.value = "flat"
    assert explorer.density == 0.0


def test_auto_button_sets_median_thresholds(explorer, portrait):
    explorer.auto.click()
    assert (explorer.low.value, explorer.high.value) == auto_thresholds(to_gray(portrait))
    assert explorer.density == edge_density(canny_edges(portrait, explorer.low.value, explorer.high.value))


def test_explorer_needs_images():
    with pytest.raises(ValueError, match="at least one named image"):
        CannyExplorer({})


def test_generation_panel_generates_with_progress(tiny_pipe):
    from helpers import generate
    from helpers.ui.widgets import GenerationPanel

    control = Image.new("RGB", (64, 64))
    panel = GenerationPanel(tiny_pipe, control, prompt="a portrait", steps=3)
    panel.seed.value = 5
    panel.button.click()
    assert panel.error is None and panel.image.size == (64, 64)
    assert panel.progress.value == 3 and panel.progress.max == 3
    expected = generate(tiny_pipe, "a portrait", control, seed=5, steps=3)[0]
    assert np.array_equal(np.asarray(panel.image), np.asarray(expected))
    assert panel.picture.value[:8] == b"\x89PNG\r\n\x1a\n" and not panel.button.disabled


def test_generation_panel_shows_errors(tiny_pipe):
    from helpers.ui.widgets import GenerationPanel

    panel = GenerationPanel(tiny_pipe, Image.new("RGB", (64, 64)), prompt="x", steps=2)
    panel.guidance_scale.value = 7.5
    panel.negative_prompt.value = "a"
    panel.pipe = None  # a broken pipeline: the panel must say so instead of failing silently
    panel.button.click()
    assert panel.error is not None and "AttributeError" in panel.status.value


def test_shape_drawer_follows_the_sketch(tiny_pipe):
    from helpers.canny import canny_control_image
    from helpers.tiny import shapes as S
    from helpers.tiny.evaluate import follow_sketch
    from helpers.ui.drawers import ShapeDrawer

    drawer = ShapeDrawer(tiny_pipe, steps=2)
    assert drawer.error is None and drawer.result.scene == S.DEMO_SCENE
    size = tiny_pipe.unet.config.sample_size * tiny_pipe.vae_scale_factor
    expected_control = canny_control_image(S.render(S.DEMO_SCENE).resize((size, size), Image.Resampling.NEAREST), 100, 200)
    assert np.array_equal(np.asarray(drawer.result.control), np.asarray(expected_control))
    again = follow_sketch(tiny_pipe, S.DEMO_SCENE, steps=2)
    assert np.array_equal(np.asarray(drawer.result.picture), np.asarray(again.picture)) and drawer.result.edges == again.edges
    assert "edge F1 (2 px)" in drawer.status.value and S.DEMO_SCENE.prompt in drawer.status.value
    before = np.asarray(drawer.result.control).copy()
    drawer.rows[0][2].value = 40.0  # move the star
    assert drawer.result.scene.shapes[0].cx == 40.0 and not np.array_equal(np.asarray(drawer.result.control), before)


def test_shape_drawer_reports_bad_sketches(tiny_pipe):
    from helpers.ui.drawers import ShapeDrawer

    drawer = ShapeDrawer(tiny_pipe, steps=1)
    drawer.rows[0][2].value = 0.0  # the star's centre on the border: it cannot fit
    assert "does not fit" in drawer.status.value and drawer.error.startswith("ValueError")
    for row in drawer.rows:
        row[0].value = "none"
    assert "at least one shape" in drawer.error


def test_every_colour_and_shape_choice_has_a_label_and_keeps_its_english_value():
    from helpers.models.registry import PALETTE, SHAPE_KINDS
    from helpers.ui.drawers import choice_labels, choice_options

    assert set(PALETTE) | set(SHAPE_KINDS) <= set(choice_labels()), "a colour or a shape without its label"
    assert choice_options(("red", "star")) == [("red", "red"), ("star", "star")]  # English: the label is the key itself
