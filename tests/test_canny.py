import numpy as np
import pytest
from PIL import Image

from helpers.canny import ThresholdError, auto_thresholds, canny_control_image, canny_edges, canny_stages, check_blur, edge_density


def square_image(size: int = 32, value: int = 200) -> Image.Image:
    """Black image with a bright square from (8, 8) to (23, 23)."""
    array = np.zeros((size, size), dtype=np.uint8)
    array[8:24, 8:24] = value
    return Image.fromarray(array)


def test_edges_lie_on_the_square_border():
    edges = canny_edges(square_image(), 100, 200)
    assert edges.shape == (32, 32) and edges.dtype == np.uint8
    assert set(np.unique(edges)) == {0, 255}
    assert edges[16, 16] == 0 and edges[2, 2] == 0  # inside and far outside are not edges
    rows, cols = np.nonzero(edges)
    assert rows.min() >= 6 and rows.max() <= 25 and cols.min() >= 6 and cols.max() <= 25


def test_flat_image_has_no_edges():
    flat = Image.fromarray(np.full((16, 16), 128, dtype=np.uint8))
    assert canny_edges(flat).max() == 0
    assert edge_density(canny_edges(flat)) == 0.0


def test_high_threshold_above_every_gradient_removes_all_edges():
    # A vertical step of 20 gray levels: the Sobel kernel (1, 2, 1) gives |dI/dx| = 4 * 20 = 80.
    step = np.zeros((16, 16), dtype=np.uint8)
    step[:, 8:] = 20
    assert canny_edges(step, 81, 100).max() == 0
    assert canny_edges(step, 70, 79).max() == 255  # strong means strictly above high


def test_control_image_is_rgb_with_equal_channels(portrait):
    control = canny_control_image(portrait, 100, 200)
    assert control.mode == "RGB" and control.size == portrait.size
    array = np.asarray(control)
    assert np.array_equal(array[..., 0], array[..., 1]) and np.array_equal(array[..., 1], array[..., 2])
    assert np.array_equal(array[..., 0], canny_edges(portrait, 100, 200))


def test_edge_density_counts_edge_pixels():
    edges = np.zeros((10, 10), dtype=np.uint8)
    edges[0, :5] = 255
    assert edge_density(edges) == pytest.approx(0.05)
    assert edge_density(Image.fromarray(np.stack([edges] * 3, -1))) == pytest.approx(0.05)


def test_blur_reduces_edges_on_the_portrait(portrait):
    assert edge_density(canny_edges(portrait, 50, 100, blur=7)) < edge_density(canny_edges(portrait, 50, 100, blur=0))


def test_lower_thresholds_give_more_edges(portrait):
    assert edge_density(canny_edges(portrait, 20, 60)) > edge_density(canny_edges(portrait, 100, 200))


def test_auto_thresholds_follow_the_median():
    gray = np.full((8, 8), 100, dtype=np.uint8)
    assert auto_thresholds(gray, sigma=0.33) == (67, 133)
    assert auto_thresholds(np.full((4, 4), 250, dtype=np.uint8)) == (167, 255)  # high clipped to 255


def test_stages_are_consistent(portrait):
    stages = canny_stages(portrait, 60, 120, blur=3)
    assert stages.gray.shape == stages.edges.shape == stages.gradient.shape
    assert not np.any(stages.strong & stages.weak)
    assert np.array_equal(stages.edges, canny_edges(portrait, 60, 120, blur=3, colour=False))  # the stages teach grayscale Canny
    # every final edge pixel passed at least the low threshold before thinning
    assert np.all(stages.gradient[stages.edges > 0] > 60)
    assert stages.kept_weak.sum() > 0


@pytest.mark.parametrize(
    "low, high, message",
    [
        (200, 100, "low threshold (200) is above high threshold (100)"),
        (-1, 100, "low threshold -1 is out of range"),
        (10, 300, "high threshold 300 is out of range"),
    ],
)
def test_bad_thresholds_are_explained(low, high, message):
    with pytest.raises(ThresholdError, match=message.replace("(", r"\(").replace(")", r"\)")):
        canny_edges(square_image(), low, high)


@pytest.mark.parametrize("blur", [2, 1, 33, -3])
def test_bad_blur_is_explained(blur):
    with pytest.raises(ThresholdError, match="odd size from 3 to 31"):
        check_blur(blur)


def equal_brightness_boundary() -> Image.Image:
    """Red | green halves of (nearly) the same grey level: 0.299 * 200 = 59.8 and 0.587 * 102 = 59.9."""
    array = np.zeros((32, 32, 3), dtype=np.uint8)
    array[:, :16] = (200, 0, 0)
    array[:, 16:] = (0, 102, 0)
    return Image.fromarray(array)


def test_colour_canny_finds_a_boundary_that_grayscale_cannot_see():
    picture = equal_brightness_boundary()
    gray = np.asarray(picture.convert("L"))
    assert abs(int(gray[0, 0]) - int(gray[0, 31])) <= 1
    assert canny_edges(picture, colour=False).max() == 0
    edges = canny_edges(picture)  # colour is the default, as upstream
    assert set(np.nonzero(edges)[1]) <= {15, 16} and np.count_nonzero(edges) == 32  # one line, full height
    assert np.array_equal(np.asarray(canny_control_image(picture))[..., 0], edges)


def test_colour_and_grayscale_agree_on_a_gray_picture():
    assert np.array_equal(canny_edges(square_image()), canny_edges(square_image(), colour=False))


def test_colour_canny_on_the_portrait_keeps_most_grayscale_edges(portrait):
    colour, gray = canny_edges(portrait) > 0, canny_edges(portrait, colour=False) > 0
    overlap = (colour & gray).sum() / (colour | gray).sum()
    assert 0.6 < overlap < 0.95 and colour.sum() > gray.sum()


def test_colour_canny_blurs_the_colour_picture():
    picture = equal_brightness_boundary()
    assert np.count_nonzero(canny_edges(picture, 20, 40, blur=5)) > 0
    assert canny_edges(picture, 20, 40, blur=5, colour=False).max() == 0


def test_notebook_01_quotes_the_measured_colour_and_grayscale_figures():
    import re
    from pathlib import Path

    import nbformat

    from helpers import load_portrait

    portrait = load_portrait("tiny", max_side=512)  # notebook 01's picture in tiny mode, MAX_SIDE = 512
    colour, gray = canny_edges(portrait) > 0, canny_edges(portrait, colour=False) > 0
    nb = nbformat.read(Path(__file__).resolve().parents[1] / "notebooks" / "01_canny.ipynb", as_version=4)
    text = next(c.source for c in nb.cells if c.source.startswith("**What just happened:** the red | green"))
    quoted = re.search(r"finds ([0-9.]+)% edge pixels against ([0-9.]+)% in grayscale.*?IoU of ([0-9.]+)", text, re.S)
    assert quoted.groups() == (f"{colour.mean():.2%}"[:-1], f"{gray.mean():.2%}"[:-1], f"{(colour & gray).sum() / (colour | gray).sum():.2f}")
