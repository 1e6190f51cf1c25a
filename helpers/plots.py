"""Small matplotlib figures the notebooks show: rows of images with titles, overlays, bar charts."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image


def show_images(
    images: Sequence[Image.Image | np.ndarray],
    titles: Sequence[str] | None = None,
    cols: int | None = None,
    size: float = 3.0,
    cmap: str = "gray",
) -> plt.Figure:
    """Show images in a grid (one row by default) with titles; arrays are shown with ``cmap``."""
    count = len(images)
    cols = cols or count
    rows = -(-count // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < count:
            ax.imshow(images[i], cmap=cmap)
            if titles is not None:
                ax.set_title(titles[i], fontsize=10)
    fig.tight_layout()
    return fig


def hysteresis_overlay(strong: np.ndarray, weak: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """An RGB picture of Canny's hysteresis (uint8, H x W x 3).

    White: final edges. Red: strong candidates (above ``high``) removed by thinning. Yellow: weak
    candidates (between ``low`` and ``high``) that were dropped, dim blue: all other pixels.
    """
    picture = np.zeros(edges.shape + (3,), dtype=np.uint8)
    picture[:] = (10, 10, 40)
    picture[weak] = (200, 170, 0)
    picture[strong] = (200, 0, 0)
    picture[edges > 0] = (255, 255, 255)
    return picture
