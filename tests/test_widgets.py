import numpy as np
import pytest
from PIL import Image

from helpers.canny import auto_thresholds, edge_density, canny_edges, to_gray
from helpers.widgets import CannyExplorer, canny_preview


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
    with pytest.raises(ValueError, match="at least one image"):
        CannyExplorer({})
