"""Control fidelity (edge F1 with a stated tolerance), on pictures whose answer is known."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from helpers import canny_control_image
from helpers.fidelity import canny_fidelity, edge_f1, edge_map, mean_canny_fidelity


def square(offset: int = 0, size: int = 64) -> Image.Image:
    picture = Image.new("RGB", (size, size), "white")
    ImageDraw.Draw(picture).rectangle([16 + offset, 16, 47 + offset, 47], fill="black")
    return picture


def test_a_picture_follows_its_own_edges_perfectly():
    control = canny_control_image(square())
    score = canny_fidelity(square(), control, tolerance_px=0)
    assert (score.precision, score.recall, score.f1) == (1.0, 1.0, 1.0)


def test_tolerance_forgives_a_shift_of_that_many_pixels_and_no_more():
    control = canny_control_image(square())
    shifted = square(offset=2)
    assert canny_fidelity(shifted, control, tolerance_px=2).f1 == 1.0
    one = canny_fidelity(shifted, control, tolerance_px=1)
    exact = canny_fidelity(shifted, control, tolerance_px=0)
    assert exact.f1 < one.f1 < 1.0
    # the square's vertical sides moved by 2 px; its horizontal ones still overlap along most of their length
    assert 0.3 < exact.f1 < 0.7


def test_a_blank_picture_scores_zero_and_counts_are_exact():
    control = canny_control_image(square())
    blank = Image.new("RGB", (64, 64), "gray")
    assert canny_fidelity(blank, control).f1 == 0.0
    generated = np.zeros((8, 8), bool)
    generated[2, 2:6] = True  # 4 pixels, 2 of them on the control's line
    truth = np.zeros((8, 8), bool)
    truth[2, 4:8] = True
    score = edge_f1(generated, truth, tolerance_px=0)
    assert (score.precision, score.recall, score.f1) == (0.5, 0.5, 0.5)
    assert edge_f1(np.zeros((4, 4)), np.zeros((4, 4))).f1 == 1.0


def test_mean_and_clear_errors():
    control = canny_control_image(square())
    assert mean_canny_fidelity([square(), Image.new("RGB", (64, 64))], control, tolerance_px=0) == 0.5
    with pytest.raises(ValueError, match="generate at the control's size"):
        canny_fidelity(square(size=72), control)
    with pytest.raises(ValueError, match="tolerance_px must be 0 or more"):
        edge_f1(np.zeros((4, 4)), np.zeros((4, 4)), tolerance_px=-1)
    with pytest.raises(ValueError, match="2 pictures but 1 control images"):
        mean_canny_fidelity([square(), square()], [control])
    assert edge_map(control).dtype == bool and edge_map(control).any()
