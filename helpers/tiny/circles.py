"""A "fill circles" dataset modelled on ControlNet's fill50k, generated on the fly, deterministically.

Each sample: the control image is a circle's outline (white on black); the target is the same circle
filled with colour A on a background of colour B; the prompt names both ("red circle with blue
background"). The prompt says *which colours*, only the outline says *where*: a text-to-image model
learns the first, a ControlNet the second. Sample ``i`` of seed ``s`` is always the same picture.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np
import torch

from helpers.models import registry
from helpers.models.registry import CIRCLE_WORDS, PALETTE

WORDS = CIRCLE_WORDS
SIZE = registry.CIRCLES.size
RADII = (5, 12)  # inclusive range of radii, in pixels


@dataclass(frozen=True)
class Circle:
    """One sample's geometry and colours."""

    cx: float
    cy: float
    radius: float
    fill: str
    background: str

    @property
    def prompt(self) -> str:
        return f"{self.fill} circle with {self.background} background"


def sample_circle(index: int, seed: int = 0, size: int = SIZE) -> Circle:
    """The geometry and colours of sample ``index``: a function of ``(seed, index)`` alone."""
    rng = np.random.default_rng([seed, index])
    radius = float(rng.integers(RADII[0], RADII[1] + 1))
    cx, cy = rng.uniform(radius + 1, size - radius - 1, size=2)
    fill, background = rng.choice(len(PALETTE), size=2, replace=False)
    names = list(PALETTE)
    return Circle(float(cx), float(cy), radius, names[fill], names[background])


def disc_mask(circle: Circle, size: int = SIZE) -> np.ndarray:
    """Boolean (size, size) mask of the filled disc (pixel centres inside the circle)."""
    y, x = np.mgrid[0:size, 0:size] + 0.5
    return (x - circle.cx) ** 2 + (y - circle.cy) ** 2 <= circle.radius**2


def outline_mask(circle: Circle, size: int = SIZE) -> np.ndarray:
    """Boolean (size, size) mask of the circle's outline: pixels within 0.75 px of the circle."""
    y, x = np.mgrid[0:size, 0:size] + 0.5
    return np.abs(np.hypot(x - circle.cx, y - circle.cy) - circle.radius) < 0.75


def picture_and_outline(circle: Circle, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """``(target, control)``: uint8 RGB arrays (size, size, 3): the filled circle, and its outline."""
    target = np.empty((size, size, 3), dtype=np.uint8)
    target[:] = PALETTE[circle.background]
    target[disc_mask(circle, size)] = PALETTE[circle.fill]
    control = np.zeros((size, size, 3), dtype=np.uint8)
    control[outline_mask(circle, size)] = 255
    return target, control


def circle_from_outline(cx: float, cy: float, radius: float, fill: str = "red", background: str = "blue") -> Circle:
    """A circle placed by hand (for the drawing widget), with a clear error for unknown colours."""
    for name in (fill, background):
        if name not in PALETTE:
            raise ValueError(f"Unknown colour {name!r}: use one of {', '.join(PALETTE)}.")
    return Circle(float(cx), float(cy), float(radius), fill, background)


class PictureDataset(torch.utils.data.Dataset, abc.ABC):
    """``length`` samples of seed ``seed`` as training tensors; a subclass says how sample ``index`` is drawn.

    Items: ``pixel_values`` (3, size, size) float in [-1, 1], ``conditioning`` (3, size, size) float in [0, 1],
    ``prompt`` (str), ``index`` (int: which sample, so that a trainer can make per-example choices that do not
    depend on batch order), and whatever else the subclass's ``sample`` adds.
    """

    default_length = 50_000

    def __init__(self, length: int | None = None, seed: int = 0, size: int = SIZE):
        self.length, self.seed, self.size = length or self.default_length, seed, size

    def __len__(self) -> int:
        return self.length

    @abc.abstractmethod
    def sample(self, index: int) -> tuple[np.ndarray, np.ndarray, str, dict]:
        """``(target, control, prompt, extra)`` of sample ``index``: uint8 RGB arrays, a string, extra items."""

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < self.length:
            raise IndexError(index)
        target, control, prompt, extra = self.sample(index)
        return {
            "pixel_values": torch.from_numpy(np.array(target)).permute(2, 0, 1).float() / 127.5 - 1.0,
            "conditioning": torch.from_numpy(np.array(control)).permute(2, 0, 1).float() / 255.0,
            "prompt": prompt,
            "index": index,
            **extra,
        }


class FillCircles(PictureDataset):
    """Fill circles as training tensors (``PictureDataset``), with ``mask`` (32, 32) bool: the disc, for the
    fidelity metric."""

    def sample(self, index: int) -> tuple[np.ndarray, np.ndarray, str, dict]:
        circle = sample_circle(index, self.seed, self.size)
        target, control = picture_and_outline(circle, self.size)
        return target, control, circle.prompt, {"mask": torch.from_numpy(disc_mask(circle, self.size))}


def fill_mask(image: np.ndarray, fill: str, background: str) -> np.ndarray:
    """Pixels of a generated RGB image (H, W, 3) closer to the fill colour than to the background colour."""
    pixels = image.astype(np.float32)
    to_fill = np.linalg.norm(pixels - np.array(PALETTE[fill], np.float32), axis=-1)
    to_background = np.linalg.norm(pixels - np.array(PALETTE[background], np.float32), axis=-1)
    return to_fill < to_background


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks (1.0 when both are empty)."""
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0
