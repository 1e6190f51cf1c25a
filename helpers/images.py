"""Getting images in: from a path, a URL, a PIL image or an array; sized for Stable Diffusion.

diffusers' own ``load_image`` does the reading and ``make_image_grid`` the grids; this module adds
the checks a learner needs (a missing file, a file that is not an image, an empty image) and the
resizing rule of the pipeline: width and height must be multiples of 8, because the VAE shrinks
images 8x and the latents must have whole sizes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from helpers.files import data_dir
from helpers.i18n import _

ImageSource = Union[str, os.PathLike, Image.Image, np.ndarray]

PORTRAIT = "grace_hopper.jpg"
# The blog's painting (Vermeer, "Girl with a Pearl Earring", public domain), fetched only in hub mode,
# through the Hugging Face cache: downloaded once, then found offline too (helpers.prefetch keeps a copy).
VERMEER_REPO = "huggingface/documentation-images"  # a dataset repository
VERMEER_FILE = "diffusers/input_image_vermeer.png"

# Larger pictures are refused before decoding: the pipeline works at 512 px, and a 100-megapixel scan
# would take gigabytes of memory (Pillow's own guard only starts at 89 MP, with a warning).
MAX_PIXELS = 40_000_000

_already_said: set[tuple[int, int]] = set()


class ImageError(ValueError):
    """An image that cannot be used, with the reason and what to do."""


def data_path(name: str) -> Path:
    """Path of a bundled file in ``data/``; a clear error lists what is there if ``name`` is not."""
    path = data_dir() / name
    if not path.exists():
        present = sorted(p.name for p in data_dir().glob("*")) if data_dir().exists() else []
        raise FileNotFoundError(f"No bundled file {name!r} in {data_dir()}. Present: {present}.")
    return path


def load_rgb_image(source: ImageSource) -> Image.Image:
    """Load ``source`` as an RGB PIL image.

    Args:
        source: a file path, an ``http(s)://`` URL, a PIL image, or a uint8 / float array of shape
            (H, W) or (H, W, 3|4); float arrays are read as values in [0, 1].

    Returns:
        An RGB ``PIL.Image.Image``.

    Raises:
        FileNotFoundError: the path does not exist.
        ImageError: the file is not an image, the array has a wrong shape, or the image is empty.
    """
    if isinstance(source, Image.Image):
        image = source
    elif isinstance(source, np.ndarray):
        image = _array_to_pil(source)
    elif isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if text.startswith(("http://", "https://")):
            image = _load_url(text)
        else:
            path = Path(text).expanduser()
            if not path.exists():
                raise FileNotFoundError(
                    _("Image file not found: {name} (looked in {folder}, working folder {cwd}). Check the spelling, or use "
                      "helpers.data_path({portrait}) for the bundled portrait.").format(name=repr(text), folder=path.resolve().parent,
                                                                                       cwd=Path.cwd(), portrait=repr(PORTRAIT))
                )
            if path.is_dir():
                raise ImageError(_("{name} is a folder, not an image file.").format(name=repr(text)))
            try:
                with Image.open(path) as opened:  # reads the header only: the size is known before decoding
                    _check_size(opened.width, opened.height, text)
                    opened.load()
                    image = opened.copy()
            except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as err:
                raise ImageError(
                    _("{name} exists but is not an image Pillow can read ({error}). Use a PNG, JPEG or WebP file.").format(
                        name=repr(text), error=type(err).__name__)
                ) from None
    else:
        raise ImageError(_("Cannot load an image from a {type}; give a path, URL, PIL image or array.").format(type=type(source).__name__))
    if image.width == 0 or image.height == 0:
        raise ImageError(_("The image is empty ({width}x{height} pixels).").format(width=image.width, height=image.height))
    _check_size(image.width, image.height, "The image")
    return _as_rgb(image)


def _check_size(width: int, height: int, what: str) -> None:
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"{what} is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels), more than the "
            f"{MAX_PIXELS / 1e6:.0f} this tutorial accepts: shrink it first (the pipeline works at 512 px)."
        )


def _as_rgb(image: Image.Image) -> Image.Image:
    """RGB as the picture looks: rotation metadata applied, 16-bit and float modes scaled (not clipped),
    transparency laid on white."""
    image = ImageOps.exif_transpose(image)  # phones store "rotate 90 degrees" in metadata, not in pixels
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        if image.mode.startswith("I;16") or (image.mode == "I" and values.max(initial=0) > 255):
            values = values / 257.0  # 16-bit grey (0-65535) to 8-bit
        elif image.mode == "F" and values.max(initial=0) <= 1.0:
            values = values * 255.0
        image = Image.fromarray(np.rint(values).clip(0, 255).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return image.convert("RGB")


def _load_url(url: str) -> Image.Image:
    from diffusers.utils import load_image  # imported here: diffusers takes seconds to import

    try:
        return load_image(url)
    except Exception as err:  # requests/urllib raise many types; the learner needs one message
        raise ImageError(
            f"Could not download {url}: {type(err).__name__}: {err}. You may be offline: use a local file "
            f"such as helpers.data_path({PORTRAIT!r})."
        ) from None


def _array_to_pil(array: np.ndarray) -> Image.Image:
    if array.size == 0:
        raise ImageError(_("The image array is empty (shape {shape}).").format(shape=array.shape))
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(_("Expected an array of shape (H, W), (H, W, 3) or (H, W, 4); got {shape}.").format(shape=array.shape))
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    elif np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ImageError(_("The image array holds NaN or infinite values."))
        if array.min() < 0.0 or array.max() > 1.0:
            raise ImageError(
                _("A float image array must hold values in [0, 1]; this one spans [{low:.3g}, {high:.3g}]. "
                  "Divide 0-255 values by 255, or map [-1, 1] with (x + 1) / 2.").format(low=array.min(), high=array.max())
            )
        array = np.rint(array * 255.0).astype(np.uint8)
    elif array.dtype == np.uint16:
        array = np.rint(array / 257.0).astype(np.uint8)  # 16-bit (0-65535) to 8-bit
    elif np.issubdtype(array.dtype, np.integer) and array.dtype != np.uint8:
        if array.min() < 0 or array.max() > 255:
            raise ImageError(
                _("An integer image array must hold values in 0-255 (or be uint16); this {dtype} one spans [{low}, {high}].").format(
                    dtype=array.dtype, low=array.min(), high=array.max())
            )
        array = array.astype(np.uint8)
    elif array.dtype != np.uint8:
        raise ImageError(_("Cannot read an image from an array of {dtype}: use uint8, uint16, bool or floats in [0, 1].").format(dtype=array.dtype))
    return Image.fromarray(array)


def round_to_multiple(value: float, multiple: int = 8) -> int:
    """Nearest positive multiple of ``multiple`` (at least ``multiple`` itself)."""
    return max(multiple, int(round(value / multiple)) * multiple)


def fit_size(width: int, height: int, max_side: int | None = 512, multiple: int = 8) -> tuple[int, int]:
    """Size (width, height) keeping the aspect ratio, longest side ``max_side``, both multiples of ``multiple``."""
    if width <= 0 or height <= 0:
        raise ImageError(_("The image is empty ({width}x{height} pixels).").format(width=width, height=height))
    scale = 1.0 if max_side is None else max_side / max(width, height)
    return round_to_multiple(width * scale, multiple), round_to_multiple(height * scale, multiple)


def resize_for_pipeline(image: Image.Image, max_side: int | None = 512, multiple: int = 8) -> Image.Image:
    """Resize so the longest side is ``max_side`` and both sides are multiples of ``multiple`` (8 for SD).

    With ``max_side=None`` only the rounding to a multiple is done. When that rounding changes the
    size, a one-line note is printed once per original size, so a learner knows why 600 became 600
    but 601 became 600.
    """
    size = fit_size(image.width, image.height, max_side, multiple)
    if max_side is None and size != image.size and image.size not in _already_said:
        _already_said.add(image.size)
        print(
            f"Note: {image.width}x{image.height} is not a multiple of {multiple}; resized to {size[0]}x{size[1]} "
            f"(Stable Diffusion's VAE works on blocks of {multiple} pixels)."
        )
    if size == image.size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS)


def load_portrait(mode: str = "tiny", max_side: int = 512) -> Image.Image:
    """The demo portrait: the blog's Vermeer painting in hub mode (falling back to the bundled one
    when the download fails), the bundled Grace Hopper photograph in tiny mode."""
    from helpers.modes import checked_mode

    if checked_mode(mode) == "hub":
        try:
            return resize_for_pipeline(load_rgb_image(vermeer_path()), max_side)
        except Exception as err:  # offline, not cached, a broken download: the lesson goes on with our portrait
            from helpers.hub.network import hub_offline

            offline = hub_offline()
            reason = "offline (HF_HUB_OFFLINE=1) and not in the Hugging Face cache" if offline else f"the download failed ({type(err).__name__})"
            print(
                f"Vermeer's painting (the blog's example) is not available: {reason}. Using the bundled portrait of "
                "Grace Hopper instead; every step works the same. To keep the painting for offline use, run "
                "`python -m helpers.prefetch` once while online."
            )
    return resize_for_pipeline(load_rgb_image(data_path(PORTRAIT)), max_side)


def vermeer_path() -> str:
    """Local path of the blog's Vermeer painting: from the Hugging Face cache, downloaded on first use."""
    from huggingface_hub import hf_hub_download

    return hf_hub_download(VERMEER_REPO, VERMEER_FILE, repo_type="dataset")

