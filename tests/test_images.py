import numpy as np
import pytest
from PIL import Image

from helpers import images
from helpers.images import ImageError, data_path, fit_size, load_rgb_image, resize_for_pipeline


def test_bundled_portrait_loads_as_rgb():
    image = load_rgb_image(data_path("grace_hopper.jpg"))
    assert image.mode == "RGB" and image.size == (512, 600)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="Image file not found: .*nope.png"):
        load_rgb_image(tmp_path / "nope.png")


def test_file_that_is_not_an_image(tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("hello")
    with pytest.raises(ImageError, match="exists but is not an image"):
        load_rgb_image(bad)


def test_folder_is_not_an_image(tmp_path):
    with pytest.raises(ImageError, match="is a folder"):
        load_rgb_image(tmp_path)


def test_empty_images_are_refused():
    with pytest.raises(ImageError, match="empty"):
        load_rgb_image(np.zeros((0, 5, 3), dtype=np.uint8))
    with pytest.raises(ImageError, match="empty"):
        load_rgb_image(Image.new("RGB", (0, 4)))


def test_arrays_become_rgb_images():
    gray = np.array([[0, 255]], dtype=np.uint8)
    assert np.asarray(load_rgb_image(gray)).tolist() == [[[0, 0, 0], [255, 255, 255]]]
    floats = np.array([[[1.0, 0.5, 0.0]]])
    assert np.asarray(load_rgb_image(floats)).tolist() == [[[255, 128, 0]]]
    with pytest.raises(ImageError, match=r"\(H, W\)"):
        load_rgb_image(np.zeros((2, 2, 5)))


def test_unsupported_type():
    with pytest.raises(ImageError, match="from a int"):
        load_rgb_image(3)


def test_missing_bundled_file_lists_what_is_there():
    with pytest.raises(FileNotFoundError, match="grace_hopper.jpg"):
        data_path("vermeer.png")


@pytest.mark.parametrize(
    "size, max_side, expected",
    [((512, 600), 512, (440, 512)), ((600, 512), 512, (512, 440)), ((601, 403), None, (600, 400)), ((3, 3), None, (8, 8))],
)
def test_fit_size_keeps_aspect_and_multiples_of_8(size, max_side, expected):
    assert fit_size(*size, max_side=max_side) == expected


def test_resize_says_once_when_it_rounds(capsys):
    images._already_said.clear()
    image = Image.new("RGB", (101, 67))
    out = resize_for_pipeline(image, max_side=None)
    assert out.size == (104, 64)
    assert "101x67 is not a multiple of 8; resized to 104x64" in capsys.readouterr().out
    resize_for_pipeline(image, max_side=None)
    assert capsys.readouterr().out == ""
    same = Image.new("RGB", (64, 32))
    assert resize_for_pipeline(same, max_side=None) is same
