"""A "shapes" world for a true Canny ControlNet that a CPU can train: flat shapes, named colours, prompts.

Each scene: one to three shapes (circle, square, triangle, star) in named colours on a background colour,
at 64x64 pixels. The prompt names them in one of several phrasings ("a red square and a blue circle on a
yellow background", "red square, blue circle, yellow background"); the control image is this
repository's own ``canny_control_image`` of the picture (thresholds 100/200), exactly what a learner makes
from a photograph. The prompt says *what*, only the edges say *where*. Colours are paired so that Canny
sees every shape (their grey levels differ by at least ``MIN_GRAY_CONTRAST``), and shapes do not touch.
Scene ``i`` of seed ``s`` is always the same picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from helpers.canny import canny_control_image
from helpers.i18n import _
from helpers.models import registry
from helpers.models.registry import PALETTE, SHAPE_KINDS, SHAPE_WORDS
from helpers.tiny.circles import PictureDataset, iou

SIZE = registry.SHAPES.size
KINDS = SHAPE_KINDS
MIN_GRAY_CONTRAST = 50  # 0-255 grey levels between a shape and the background (Canny at 100/200 then sees it)
RADII = (7, 14)  # each shape fits a circle of this radius (inclusive, pixels at 64x64)
PHRASINGS = (
    "{shapes} on a {background} background",
    "{list}, {background} background",
    "a {background} background with {shapes}",
)
WORDS = SHAPE_WORDS


def gray(colour: str) -> float:
    """The grey level (ITU-R 601 luma, as OpenCV's RGB-to-grey conversion) of a palette colour."""
    r, g, b = PALETTE[colour]
    return 0.299 * r + 0.587 * g + 0.114 * b


@dataclass(frozen=True)
class Shape:
    """One shape: its kind, colour, centre (pixels) and radius of its enclosing circle (pixels)."""

    kind: str
    colour: str
    cx: float
    cy: float
    radius: float

    def points(self) -> list[tuple[float, float]]:
        """Polygon vertices (for square, triangle, star), clockwise in image coordinates."""
        if self.kind == "square":
            half = self.radius / math.sqrt(2)
            return [(self.cx - half, self.cy - half), (self.cx + half, self.cy - half), (self.cx + half, self.cy + half), (self.cx - half, self.cy + half)]
        if self.kind == "triangle":
            return [(self.cx + self.radius * math.cos(a), self.cy + self.radius * math.sin(a)) for a in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)]
        if self.kind == "star":
            radii = [self.radius if i % 2 == 0 else self.radius * 0.45 for i in range(10)]
            angles = [-math.pi / 2 + i * math.pi / 5 for i in range(len(radii))]
            return [(self.cx + r * math.cos(a), self.cy + r * math.sin(a)) for a, r in zip(angles, radii)]
        raise ValueError(f"{self.kind!r} has no polygon; kinds: {KINDS}.")


@dataclass(frozen=True)
class Scene:
    """A background colour and its shapes, with the prompt in phrasing ``phrasing`` (an index of PHRASINGS)."""

    background: str
    shapes: tuple[Shape, ...]
    phrasing: int = 0

    @property
    def prompt(self) -> str:
        named = [f"{'an' if s.colour[0] in 'aeiou' else 'a'} {s.colour} {s.kind}" for s in self.shapes]
        joined = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
        listed = ", ".join(f"{s.colour} {s.kind}" for s in self.shapes)
        return PHRASINGS[self.phrasing].format(shapes=joined, list=listed, background=self.background)


def sample_scene(index: int, seed: int = 0, size: int = SIZE) -> Scene:
    """Scene ``index`` of ``seed``: a function of ``(seed, index)`` alone."""
    rng = np.random.default_rng([seed, index, 7])
    names = list(PALETTE)
    background = names[rng.integers(len(names))]
    colours = [c for c in names if abs(gray(c) - gray(background)) >= MIN_GRAY_CONTRAST]
    shapes: list[Shape] = []
    for _shape in range(int(rng.integers(1, 4))):
        for _attempt in range(50):  # place without touching the others (enclosing circles 3 px apart)
            radius = float(rng.integers(RADII[0], RADII[1] + 1))
            cx, cy = (float(v) for v in rng.uniform(radius + 2, size - radius - 2, size=2))
            if all(math.hypot(cx - s.cx, cy - s.cy) > radius + s.radius + 3 for s in shapes):
                shapes.append(Shape(KINDS[rng.integers(len(KINDS))], colours[rng.integers(len(colours))], cx, cy, radius))
                break
    return Scene(background, tuple(shapes), int(rng.integers(len(PHRASINGS))))


def shape_mask(shape: Shape, size: int = SIZE) -> np.ndarray:
    """Boolean (size, size) mask of one shape, rasterised as ``render`` draws it."""
    canvas = Image.new("1", (size, size), 0)
    _draw(ImageDraw.Draw(canvas), shape, 1)
    return np.asarray(canvas, dtype=bool)


def _draw(pen: ImageDraw.ImageDraw, shape: Shape, fill) -> None:
    if shape.kind == "circle":
        pen.ellipse([shape.cx - shape.radius, shape.cy - shape.radius, shape.cx + shape.radius, shape.cy + shape.radius], fill=fill)
    else:
        pen.polygon(shape.points(), fill=fill)


def render(scene: Scene, size: int = SIZE) -> Image.Image:
    """The scene as an RGB picture (flat colours, no anti-aliasing)."""
    picture = Image.new("RGB", (size, size), PALETTE[scene.background])
    pen = ImageDraw.Draw(picture)
    for shape in scene.shapes:
        _draw(pen, shape, PALETTE[shape.colour])
    return picture


COLOUR_CELLS = 8  # the colour layout's grid: 8x8 cells of 8x8 pixels at 64x64 (a shape covers 1 to 4 cells)
CONTROLS = ("canny", "colours")


def colour_layout(picture: Image.Image | np.ndarray, cells: int = COLOUR_CELLS) -> Image.Image:
    """The picture's colours on a coarse grid (each cell its mean colour, shown at the picture's size): says
    *which colour goes roughly where*, not the shapes' outlines. Like ControlNet 1.1's "tile" condition, a
    low-resolution copy of the picture (``lllyasviel/control_v11f1e_sd15_tile`` in hub mode)."""
    picture = picture if isinstance(picture, Image.Image) else Image.fromarray(np.asarray(picture, dtype=np.uint8))
    picture = picture.convert("RGB")
    if cells < 1 or cells > min(picture.size):
        raise ValueError(f"cells must be between 1 and {min(picture.size)} (the picture's side), not {cells}.")
    return picture.resize((cells, cells), Image.Resampling.BOX).resize(picture.size, Image.Resampling.NEAREST)


def control_image(scene: Scene, size: int = SIZE, kind: str = "canny") -> Image.Image:
    """The scene's control image: its Canny edges (``canny_control_image`` at the blog's 100/200) or, with
    ``kind="colours"``, its ``colour_layout``."""
    if kind == "canny":
        return canny_control_image(render(scene, size), 100, 200)
    if kind == "colours":
        return colour_layout(render(scene, size))
    raise ValueError(f"Unknown control {kind!r}: use one of {', '.join(CONTROLS)}.")


def foreground_mask(scene: Scene, size: int = SIZE) -> np.ndarray:
    """Boolean mask of every shape together."""
    return np.logical_or.reduce([shape_mask(s, size) for s in scene.shapes]) if scene.shapes else np.zeros((size, size), bool)


def generated_foreground(picture: Image.Image | np.ndarray, scene: Scene) -> np.ndarray:
    """Pixels of a generated picture closer to one of the scene's shape colours than to its background."""
    pixels = np.asarray(picture, dtype=np.float32)[..., :3]
    distance = lambda colour: np.linalg.norm(pixels - np.array(PALETTE[colour], np.float32), axis=-1)  # noqa: E731
    nearest_shape = np.min([distance(s.colour) for s in scene.shapes], axis=0)
    return nearest_shape < distance(scene.background)


def shape_iou(picture: Image.Image | np.ndarray, scene: Scene) -> float:
    """IoU of the generated picture's shape-coloured pixels with the scene's shapes (1.0 = in place)."""
    return iou(generated_foreground(picture, scene), foreground_mask(scene, np.asarray(picture).shape[0]))


# The demo scene of notebooks 00, 03 and 04 in tiny mode: three kinds, colours far apart in grey (Canny sees them).
DEMO_SCENE = Scene("blue", (Shape("star", "yellow", 20, 22, 13), Shape("square", "white", 46, 18, 10), Shape("triangle", "orange", 38, 46, 12)))


def scene_from_choices(background: str, shapes: list[tuple[str, str, float, float, float]], phrasing: int = 0) -> Scene:
    """A scene placed by hand (the drawing widget): ``shapes`` as ``(kind, colour, x, y, radius)`` in pixels of a
    64x64 picture. Unknown kinds or colours, and shapes that do not fit the picture, get a clear error."""
    placed = []
    for kind, colour, x, y, radius in shapes:
        if kind not in KINDS:
            raise ValueError(_("Unknown shape {kind}: use one of {allowed}.").format(kind=repr(kind), allowed=", ".join(KINDS)))
        for name in (colour, background):
            if name not in PALETTE:
                raise ValueError(_("Unknown colour {name}: use one of {allowed}.").format(name=repr(name), allowed=", ".join(PALETTE)))
        if not (radius > 0 and radius <= x <= SIZE - radius and radius <= y <= SIZE - radius):
            raise ValueError(_("A {kind} of radius {radius} at ({x}, {y}) does not fit in the {size}x{size} picture: move it or make it smaller.").format(
                kind=kind, radius=radius, x=x, y=y, size=SIZE))
        placed.append(Shape(kind, colour, float(x), float(y), float(radius)))
    if not placed:
        raise ValueError(_("Add at least one shape: the ControlNet needs edges to follow."))
    return Scene(background, tuple(placed), phrasing)


LAYOUT_THRESHOLD = 50.0  # RGB distance from the picture's own background colour that counts as "a shape here"


def picture_background(picture: Image.Image | np.ndarray) -> np.ndarray:
    """The picture's own background colour: the median of its 2-pixel border (shapes never touch the border)."""
    pixels = np.asarray(picture, dtype=np.float32)[..., :3]
    border = np.concatenate([pixels[:2].reshape(-1, 3), pixels[-2:].reshape(-1, 3), pixels[:, :2].reshape(-1, 3), pixels[:, -2:].reshape(-1, 3)])
    return np.median(border, axis=0)


def layout_iou(picture: Image.Image | np.ndarray, scene: Scene) -> float:
    """IoU of the picture's non-background pixels (farther than ``LAYOUT_THRESHOLD`` from its own background
    colour) with the scene's shapes: *where* things are drawn, whatever their colours (``shape_iou`` also asks
    for the prompt's colours, which is the base model's job, not the ControlNet's)."""
    pixels = np.asarray(picture, dtype=np.float32)[..., :3]
    drawn = np.linalg.norm(pixels - picture_background(pixels), axis=-1) > LAYOUT_THRESHOLD
    return iou(drawn, foreground_mask(scene, pixels.shape[0]))


class ShapesWorld(PictureDataset):
    """Scenes of seed ``seed`` as training tensors (``PictureDataset``): (3, 64, 64) pictures, their control
    images (``control``: ``"canny"`` edges or ``"colours"``, the colour layout), their prompts."""

    default_length = 100_000

    def __init__(self, length: int | None = None, seed: int = 0, size: int = SIZE, control: str = "canny"):
        super().__init__(length, seed, size)
        if control not in CONTROLS:
            raise ValueError(f"Unknown control {control!r}: use one of {', '.join(CONTROLS)}.")
        self.control = control

    def sample(self, index: int) -> tuple[np.ndarray, np.ndarray, str, dict]:
        scene = sample_scene(index, self.seed, self.size)
        return np.asarray(render(scene, self.size)), np.asarray(control_image(scene, self.size, self.control)), scene.prompt, {}
