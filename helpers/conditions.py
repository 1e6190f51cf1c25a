"""Conditions beyond Canny edges: a scribble drawn by hand, a map of painted regions, and their ControlNets.

The same mechanism takes any spatial condition: only the control image and the ControlNet change. Each
condition has a ControlNet per mode (``CONDITIONS``):

- ``"canny"``: Canny edges (notebooks 00-05).
- ``"scribble"``: white strokes on black, drawn by hand (``scribble_image``). Hub mode:
  ``lllyasviel/sd-controlnet-scribble``. Tiny mode has no scribble model of its own: the shapes world's
  Canny ControlNet stands in, because its control image is the same kind of picture (thin white lines on
  black), and the notebook says so.
- ``"regions"``: a map of painted regions (``paint_regions``), not edges at all. Hub mode:
  ``lllyasviel/sd-controlnet-seg``, where a region's colour names an ADE20K class (``ADE20K_COLOURS``: sky,
  tree, ...). Tiny mode: the shape-colours ControlNet trained here, where a region's colour is the colour
  to draw there (``helpers.tiny.shapes.colour_layout``).

``load_controlnet`` loads one through the stock ``ControlNetModel.from_pretrained``; two or more go into
diffusers' ``MultiControlNetModel`` (notebook 08); ``with_controlnet`` puts one (or several) into a loaded pipeline
without loading its other parts again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw

from helpers.hub.ids import HUB_CONTROLNETS
from helpers.i18n import _
from helpers.models.registry import PALETTE, SHAPE_COLOURS, SHAPES
from helpers.modes import checked_mode

if TYPE_CHECKING:
    from diffusers import ControlNetModel


@dataclass(frozen=True)
class Condition:
    """One kind of control image: what it is, and which ControlNet takes it in each mode."""

    name: str
    takes: str  # what the control image shows
    hub_repo: str
    tiny_folder: str  # a shipped model folder (helpers.models.registry)
    tiny_note: str  # how the tiny stand-in differs from the hub model, said where it is used


CONDITIONS = {
    "canny": Condition("canny", "Canny edges: thin white lines on black", HUB_CONTROLNETS["canny"], str(SHAPES.controlnet_dir),
                       "the shapes world's Canny ControlNet, trained here"),
    "scribble": Condition("scribble", "strokes drawn by hand: white lines on black", HUB_CONTROLNETS["scribble"], str(SHAPES.controlnet_dir),
                          "no tiny scribble model: the shapes world's Canny ControlNet stands in (its control image is also "
                          "thin white lines on black), so the sketch's lines should be where the shapes' edges go"),
    "regions": Condition("regions", "painted regions: a flat colour per region", HUB_CONTROLNETS["regions"], str(SHAPE_COLOURS.controlnet_dir),
                         "the shape-colours ControlNet, trained here: a region's colour is the colour to draw there "
                         "(in hub mode a region's colour names an ADE20K class instead)"),
}

# ADE20K's class colours (the palette sd-controlnet-seg was trained on), for the classes a landscape needs.
ADE20K_COLOURS = {
    "wall": (120, 120, 120), "building": (180, 120, 120), "sky": (6, 230, 230), "floor": (80, 50, 50), "tree": (4, 200, 3),
    "road": (140, 140, 140), "grass": (4, 250, 7), "person": (150, 5, 61), "earth": (120, 120, 70), "mountain": (143, 255, 140),
    "plant": (204, 255, 4), "car": (0, 102, 200), "water": (61, 230, 250),
}


def condition(name: str) -> Condition:
    """The condition called ``name``, with a clear error for an unknown one."""
    if name not in CONDITIONS:
        raise ValueError(_("Unknown condition {name}: use one of {allowed}.").format(name=repr(name), allowed=", ".join(CONDITIONS)))
    return CONDITIONS[name]


def controlnet_source(name: str, mode: str) -> str:
    """Where the ControlNet for condition ``name`` comes from: a Hub id (hub mode) or a shipped folder (tiny)."""
    chosen = condition(name)
    return chosen.hub_repo if checked_mode(mode) == "hub" else chosen.tiny_folder


def load_controlnet(name: str, mode: str, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32) -> "ControlNetModel":
    """The ControlNet for condition ``name`` in ``mode``, through ``ControlNetModel.from_pretrained`` (safetensors
    only), on ``device`` in ``dtype`` (use the pipeline's: ``pipe.device``, ``pipe.unet.dtype``).

    Raises:
        ModeError: hub mode, the Hub unreachable and this ControlNet not in the local cache.
    """
    from diffusers import ControlNetModel

    from helpers.hub.loading import quiet_hub_load
    from helpers.modes import require_hub_weights

    source = controlnet_source(name, mode)
    if mode == "hub":
        require_hub_weights((name,), download="1.45 GB for this ControlNet")
    with quiet_hub_load():
        return ControlNetModel.from_pretrained(source, dtype=dtype, use_safetensors=True).to(device)


def with_controlnet(pipe, controlnet):
    """A pipeline of ``pipe``'s class with ``pipe``'s VAE, text encoder, UNet, scheduler (and safety checker) and
    another ``controlnet`` (a ``ControlNetModel`` or a ``MultiControlNetModel``): nothing is loaded or copied twice,
    and the progress bar setting is kept."""
    other = type(pipe)(**{**pipe.components, "controlnet": controlnet}, requires_safety_checker=pipe.config.requires_safety_checker)
    other._progress_bar_config = dict(getattr(pipe, "_progress_bar_config", {}))
    return other


# --- scribbles -----------------------------------------------------------------------------------------

Stroke = Sequence[tuple[float, float]]  # points (x, y), each in [0, 1] of the drawing's width and height

# Drawings to start from (or to use where no canvas is available): strokes in [0, 1] coordinates.
BUNDLED_SCRIBBLES: dict[str, list[Stroke]] = {
    "house": [[(0.25, 0.9), (0.25, 0.5), (0.75, 0.5), (0.75, 0.9), (0.25, 0.9)], [(0.18, 0.52), (0.5, 0.18), (0.82, 0.52)],
              [(0.44, 0.9), (0.44, 0.7), (0.56, 0.7), (0.56, 0.9)]],
    "square and circle": [[(0.12, 0.2), (0.45, 0.2), (0.45, 0.53), (0.12, 0.53), (0.12, 0.2)],
                          [(0.7 + 0.2 * np.cos(a), 0.68 + 0.2 * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 33)]],
    "star": [[(0.5 + (0.38 if i % 2 == 0 else 0.16) * np.cos(-np.pi / 2 + i * np.pi / 5),
               0.52 + (0.38 if i % 2 == 0 else 0.16) * np.sin(-np.pi / 2 + i * np.pi / 5)) for i in range(11)]],
}


def scribble_image(strokes: Sequence[Stroke], size: int = 512, width: int | None = None) -> Image.Image:
    """Strokes as a scribble control image: white lines on black, RGB, (size, size).

    Args:
        strokes: each a list of ``(x, y)`` points in [0, 1] (0, 0 = top left); one point draws a dot.
        size: the control image's side in pixels (the pipeline's: 512 for SD1.5, 64 for the tiny shapes model).
        width: line width in pixels; default ``size // 64`` (at least 1), thin like Canny's lines at 64 px.

    Raises:
        ValueError: a point outside [0, 1], or a stroke with no points.
    """
    width = width or max(1, size // 64)
    canvas = Image.new("RGB", (size, size), (0, 0, 0))
    pen = ImageDraw.Draw(canvas)
    for stroke in strokes:
        points = [(float(x), float(y)) for x, y in stroke]
        if not points:
            raise ValueError(_("A stroke has no points: drop it, or give it at least one (x, y)."))
        if any(not (0.0 <= v <= 1.0) for p in points for v in p):
            raise ValueError(_("Stroke points are fractions of the drawing, each x and y in [0, 1]; got one outside: {point}.").format(
                point=next(p for p in points if any(not 0.0 <= v <= 1.0 for v in p))))
        pixels = [(x * (size - 1), y * (size - 1)) for x, y in points]
        if len(pixels) == 1:
            pen.point(pixels, fill=(255, 255, 255))
        else:
            pen.line(pixels, fill=(255, 255, 255), width=width, joint="curve")
    return canvas


# --- painted regions ------------------------------------------------------------------------------------


def region_palette(mode: str) -> dict[str, tuple[int, int, int]]:
    """The colours a region map can use: ADE20K's classes for sd-controlnet-seg (hub), the shapes world's
    named colours for the shape-colours ControlNet (tiny)."""
    return dict(ADE20K_COLOURS) if checked_mode(mode) == "hub" else {name: tuple(rgb) for name, rgb in PALETTE.items()}


def paint_regions(rows: Sequence[str], legend: Mapping[str, str], palette: Mapping[str, Sequence[int]], size: int = 512) -> Image.Image:
    """A region map painted from text: each character of ``rows`` is one cell, ``legend`` says which region
    (a name of ``palette``) the character stands for, and every cell is filled with that region's colour.

    >>> paint_regions(["ss", "gg"], {"s": "sky", "g": "grass"}, ADE20K_COLOURS, size=4).getpixel((0, 3))
    (4, 250, 7)

    Returns:
        An RGB image (size, size), cells as equal as the size allows (nearest-neighbour enlargement).

    Raises:
        ValueError: no rows, rows of different lengths, a character not in the legend, or a legend name not
            in the palette (each message lists what is allowed).
    """
    if not rows or not rows[0]:
        raise ValueError(_("Paint at least one row of one cell, e.g. rows=['ss', 'gg']."))
    if len({len(r) for r in rows}) != 1:
        raise ValueError(_("Every row needs the same number of cells; lengths are {lengths}.").format(lengths=[len(r) for r in rows]))
    for letter, name in legend.items():
        if name not in palette:
            raise ValueError(_("The legend's {letter} -> {name} is not a colour of this palette: use one of {allowed}.").format(
                letter=repr(letter), name=repr(name), allowed=", ".join(palette)))
    unknown = sorted({c for r in rows for c in r} - set(legend))
    if unknown:
        raise ValueError(_("Characters {unknown} are not in the legend ({legend}).").format(
            unknown=unknown, legend=", ".join(f"{k}={v}" for k, v in legend.items())))
    cells = np.array([[palette[legend[c]] for c in row] for row in rows], dtype=np.uint8)
    return Image.fromarray(cells).resize((size, size), Image.Resampling.NEAREST)
