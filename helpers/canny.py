"""Canny edge maps: the control image of the Canny ControlNet.

Pure functions on arrays and PIL images, no widgets: the explorer in ``helpers.ui.widgets`` only wires
sliders to them. The steps are those of OpenCV's ``cv2.Canny`` (Canny, 1986):

1. grayscale, 2. optional Gaussian blur (removes texture that would become edges),
3. intensity gradients (Sobel), 4. thinning to 1-pixel lines (non-maximum suppression),
5. hysteresis: pixels whose gradient is above ``high`` are edges, pixels between ``low`` and ``high``
   are edges only when connected to one, pixels at or below ``low`` never are.

``canny_stages`` shows these steps on the grayscale picture, to teach them. ``canny_edges`` and
``canny_control_image`` run ``cv2.Canny`` on the colour picture by default, as upstream does (lllyasviel's
annotator, the diffusers examples) and as the Canny ControlNets were trained: OpenCV then takes, at each pixel,
the strongest gradient of the three channels, so a boundary between two colours of equal brightness is an edge
too (on the bundled portrait at 512 px: 6.50% edge pixels in colour, 5.84% in grayscale; notebook 01). ``colour=False`` gives the grayscale edges.

The ControlNet was trained on white edges on black, 3 channels, so ``canny_control_image`` returns that.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from helpers.i18n import _
from helpers.images import ImageSource, load_rgb_image


class ThresholdError(ValueError):
    """Canny thresholds or blur settings out of range."""


def check_thresholds(low: int, high: int) -> None:
    """Raise ``ThresholdError`` unless ``0 <= low <= high <= 255`` (the blog uses 100 and 200)."""
    for name, value in (("low", low), ("high", high)):
        if not 0 <= value <= 255:
            raise ThresholdError(_("{name} threshold {value} is out of range: use a value from 0 to 255.").format(name=name, value=value))
    if low > high:
        raise ThresholdError(
            _("low threshold ({low}) is above high threshold ({high}): swap them, e.g. low={high}, high={low}.").format(low=low, high=high)
        )


def check_blur(blur: int) -> None:
    """Raise ``ThresholdError`` unless ``blur`` is 0 (no blur) or an odd kernel size from 3 to 31."""
    if blur != 0 and (blur < 3 or blur > 31 or blur % 2 == 0):
        raise ThresholdError(_("blur kernel {blur} must be 0 (off) or an odd size from 3 to 31 (3, 5, 7, ...).").format(blur=blur))


def to_gray(image: ImageSource) -> np.ndarray:
    """Grayscale uint8 array (H, W) from any image source."""
    return np.asarray(load_rgb_image(image).convert("L"), dtype=np.uint8)


def blurred(pixels: np.ndarray, blur: int) -> np.ndarray:
    """Gaussian blur with an odd ``blur`` x ``blur`` kernel, grayscale or colour (``0`` returns ``pixels`` unchanged)."""
    check_blur(blur)
    return pixels if blur == 0 else cv2.GaussianBlur(pixels, (blur, blur), 0)


def gradient_magnitude(gray: np.ndarray) -> np.ndarray:
    """L1 Sobel gradient magnitude |dI/dx| + |dI/dy| (float32, H x W), the quantity ``cv2.Canny``
    compares with its thresholds by default."""
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    return np.abs(gx) + np.abs(gy)


def auto_thresholds(gray: np.ndarray, sigma: float = 0.33) -> tuple[int, int]:
    """Thresholds around the median intensity: ``(1 - sigma) * median`` and ``(1 + sigma) * median``.

    A common rule of thumb (after A. Rosebrock's "auto_canny") that adapts to bright and dark images.
    """
    if not 0.0 <= sigma <= 1.0:
        raise ThresholdError(_("sigma {sigma} must be between 0 and 1.").format(sigma=sigma))
    median = float(np.median(gray))
    low = int(max(0, (1.0 - sigma) * median))
    high = int(min(255, (1.0 + sigma) * median))
    return low, high


def canny_edges(image: ImageSource, low: int = 100, high: int = 200, blur: int = 0, colour: bool = True) -> np.ndarray:
    """Canny edge map as a uint8 array (H, W) with 255 on edges and 0 elsewhere.

    Args:
        image: path, URL, PIL image or array.
        low, high: hysteresis thresholds, ``0 <= low <= high <= 255``.
        blur: Gaussian kernel size applied first (0 = none, else odd).
        colour: ``True`` (upstream's way): Canny on the RGB picture, the strongest gradient of the three
            channels at each pixel; ``False``: on its grayscale version (what ``canny_stages`` shows).
    """
    check_thresholds(low, high)
    pixels = np.ascontiguousarray(np.asarray(load_rgb_image(image), dtype=np.uint8)) if colour else to_gray(image)
    return cv2.Canny(blurred(pixels, blur), low, high)


def edge_density(edges: np.ndarray | Image.Image) -> float:
    """Fraction of pixels that are edges (0.0 to 1.0). Around 0.05-0.15 works well as a control."""
    array = np.asarray(edges)
    if array.ndim == 3:
        array = array[..., 0]
    return float(np.count_nonzero(array)) / array.size if array.size else 0.0


def canny_control_image(image: ImageSource, low: int = 100, high: int = 200, blur: int = 0, colour: bool = True) -> Image.Image:
    """The control image the Canny ControlNet expects: white edges on black, RGB (3 equal channels); the edges of
    the colour picture unless ``colour=False`` (see ``canny_edges``)."""
    edges = canny_edges(image, low, high, blur, colour)
    return Image.fromarray(np.stack([edges] * 3, axis=-1))


@dataclass
class CannyStages:
    """Every intermediate picture of the Canny algorithm, for teaching (all arrays H x W)."""

    gray: np.ndarray  # uint8
    smoothed: np.ndarray  # uint8, after the Gaussian blur
    gradient: np.ndarray  # float32, L1 Sobel magnitude
    strong: np.ndarray  # bool, gradient > high
    weak: np.ndarray  # bool, low < gradient <= high
    edges: np.ndarray  # uint8, cv2.Canny's output (0 or 255)

    @property
    def kept_weak(self) -> np.ndarray:
        """Weak pixels that hysteresis kept because they connect to a strong edge."""
        return self.weak & (self.edges > 0)


def canny_stages(image: ImageSource, low: int = 100, high: int = 200, blur: int = 0) -> CannyStages:
    """Compute every stage of Canny for one image (see ``CannyStages``).

    ``strong`` and ``weak`` are thresholded before thinning, so they are thicker than the final edges;
    they show which pixels *could* become edges at these thresholds.
    """
    check_thresholds(low, high)
    gray = to_gray(image)
    smoothed = blurred(gray, blur)
    gradient = gradient_magnitude(smoothed)
    return CannyStages(
        gray=gray,
        smoothed=smoothed,
        gradient=gradient,
        strong=gradient > high,  # cv2.Canny's comparisons are strict
        weak=(gradient > low) & (gradient <= high),
        edges=cv2.Canny(smoothed, low, high),
    )
