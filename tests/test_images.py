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


def test_phone_photo_rotation_metadata_is_applied(tmp_path):
    picture = Image.new("RGB", (40, 20), "red")  # landscape pixels, stored with "rotate 90" (EXIF orientation 6)
    picture.paste((0, 0, 255), (0, 0, 10, 20))  # a blue left edge
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.jpg"
    picture.save(path, exif=exif, quality=95)
    loaded = load_rgb_image(path)
    assert loaded.size == (20, 40), "shown upright, as a phone or browser shows it"
    top = np.asarray(loaded)[2, 10]
    assert top[2] > 200 and top[0] < 60, "the blue edge is now at the top"


def test_16_bit_grey_png_keeps_its_tones(tmp_path):
    ramp = np.linspace(0, 65535, 64, dtype=np.uint16).reshape(8, 8)
    path = tmp_path / "scan16.png"
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode.startswith("I")
    loaded = np.asarray(load_rgb_image(path))[..., 0].astype(int)
    assert loaded.min() == 0 and loaded.max() == 255
    assert abs(loaded.mean() - 127.5) < 3, "not almost all white"


def test_arrays_of_every_dtype_convert_or_are_refused():
    assert np.asarray(load_rgb_image(np.array([[0, 65535]], dtype=np.uint16)))[0, :, 0].tolist() == [0, 255]
    assert np.asarray(load_rgb_image(np.array([[False, True]])))[0, :, 0].tolist() == [0, 255]
    assert np.asarray(load_rgb_image(np.array([[0, 200]], dtype=np.int64)))[0, :, 0].tolist() == [0, 200]
    assert np.asarray(load_rgb_image(np.array([[0.0, 1.0]], dtype=np.float16)))[0, :, 0].tolist() == [0, 255]
    with pytest.raises(ImageError, match=r"values in \[0, 1\]; this one spans \[0, 255\].*Divide 0-255 values by 255"):
        load_rgb_image(np.array([[0.0, 255.0]]))
    with pytest.raises(ImageError, match="NaN or infinite"):
        load_rgb_image(np.array([[np.nan, 0.5]]))
    with pytest.raises(ImageError, match=r"values in 0-255 \(or be uint16\); this int32 one spans \[-1, 3\]"):
        load_rgb_image(np.array([[-1, 3]], dtype=np.int32))
    with pytest.raises(ImageError, match="array of complex128"):
        load_rgb_image(np.zeros((2, 2), dtype=complex))


def test_transparency_is_laid_on_white():
    logo = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    logo.putpixel((0, 0), (255, 0, 0, 255))
    rgb = np.asarray(load_rgb_image(logo))
    assert rgb[0, 0].tolist() == [255, 0, 0] and rgb[3, 3].tolist() == [255, 255, 255]


def test_oversized_images_are_refused_before_decoding(tmp_path):
    with pytest.raises(ImageError, match=r"8000x6000 pixels \(48 megapixels\), more than the 40.*shrink it first"):
        load_rgb_image(Image.new("L", (8000, 6000)))
    path = tmp_path / "huge.png"
    Image.new("L", (9000, 5000)).save(path)
    with pytest.raises(ImageError, match="huge.png.* is 9000x5000 pixels"):
        load_rgb_image(path)
