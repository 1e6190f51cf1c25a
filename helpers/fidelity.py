"""Control fidelity: does a generated picture follow its Canny control? Measured as ControlNet++ does.

ControlNet++ (Li et al., 2024; its ``eval/`` code) re-extracts Canny edges from each generated picture with
the thresholds that made the control image, then scores the edge maps with a binary F1. Exact pixel
agreement is harsh (an edge one pixel off counts as both a miss and a false alarm), so ``edge_f1`` takes
a stated tolerance: a generated edge pixel is correct if a control edge lies within ``tolerance_px``
pixels (a square neighbourhood), and a control edge pixel is found if a generated edge lies that close.
``tolerance_px=0`` is ControlNet++'s exact score. Works for any pipeline output, hub mode included.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from helpers.canny import canny_edges
from helpers.i18n import _


@dataclass(frozen=True)
class EdgeScore:
    """Precision, recall and F1 of generated edges against control edges, at a tolerance in pixels."""

    precision: float
    recall: float
    f1: float
    tolerance_px: int


def edge_map(image: Image.Image | np.ndarray) -> np.ndarray:
    """A boolean (H, W) map of the white pixels of a control image, or of any 0/255 edge map."""
    array = np.asarray(image)
    if array.ndim == 3:
        array = array.max(axis=2)
    return array > 127


def _near(edges: np.ndarray, tolerance_px: int) -> np.ndarray:
    if tolerance_px == 0:
        return edges
    kernel = np.ones((2 * tolerance_px + 1, 2 * tolerance_px + 1), np.uint8)
    return cv2.dilate(edges.astype(np.uint8), kernel) > 0


def edge_f1(generated: np.ndarray, control: np.ndarray, tolerance_px: int = 2) -> EdgeScore:
    """Score two boolean edge maps of the same shape (see the module docstring).

    Both empty: a perfect score (nothing to follow, nothing drawn). One empty: 0.
    """
    generated, control = np.asarray(generated, bool), np.asarray(control, bool)
    if generated.shape != control.shape:
        raise ValueError(_("Edge maps differ in size: generated {generated}, control {control}. Resize the picture to the control's size first.").format(
            generated=generated.shape, control=control.shape))
    if tolerance_px < 0:
        raise ValueError(f"tolerance_px must be 0 or more, not {tolerance_px}.")
    if not generated.any() and not control.any():
        return EdgeScore(1.0, 1.0, 1.0, tolerance_px)
    precision = float((generated & _near(control, tolerance_px)).sum() / generated.sum()) if generated.any() else 0.0
    recall = float((control & _near(generated, tolerance_px)).sum() / control.sum()) if control.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return EdgeScore(precision, recall, f1, tolerance_px)


def canny_fidelity(picture: Image.Image, control: Image.Image, low: int = 100, high: int = 200, tolerance_px: int = 2) -> EdgeScore:
    """Canny ``picture`` with the control's thresholds (``low``, ``high``) and score it against ``control``,
    the Canny control image the pipeline was given (white edges on black)."""
    if picture.size != control.size:
        raise ValueError(_("The picture is {width}x{height} but the control is {control_width}x{control_height}: generate at the control's size.").format(
            width=picture.size[0], height=picture.size[1], control_width=control.size[0], control_height=control.size[1]))
    return edge_f1(canny_edges(picture, low, high) > 0, edge_map(control), tolerance_px)


def mean_canny_fidelity(pictures: list[Image.Image], control: Image.Image | list[Image.Image], low: int = 100, high: int = 200, tolerance_px: int = 2) -> float:
    """Mean edge F1 of several pictures, against one control image or one each."""
    controls = control if isinstance(control, list) else [control] * len(pictures)
    if len(controls) != len(pictures):
        raise ValueError(f"{len(pictures)} pictures but {len(controls)} control images.")
    return float(np.mean([canny_fidelity(p, c, low, high, tolerance_px).f1 for p, c in zip(pictures, controls)]))


@dataclass
class SweepPoint:
    """One setting of a sweep: its keyword arguments, one picture per seed, their mean edge F1 (2 px)."""

    setting: dict
    pictures: list[Image.Image]
    f1: float


def fidelity_sweep(pipe, prompt: str, control: Image.Image, settings: list[dict], seeds: list[int], low: int = 100, high: int = 200,
                   **common) -> list[SweepPoint]:
    """For each setting (keyword arguments of ``helpers.generate``, e.g. ``{"conditioning_scale": 0.5}``), one
    picture per seed in one batched call, scored against ``control`` by Canny edge F1 at 2 px (Canny with
    ``low``/``high``, the thresholds that made the control). ``common`` is passed to every call.

    One progress bar for the sweep, one step per setting (unless the pipeline's bars are switched off), instead of
    the pipeline's own bar for every call."""
    from tqdm.auto import tqdm

    from helpers import arguments as check
    from helpers.canny import check_thresholds
    from helpers.pipeline import generate

    if not isinstance(settings, (list, tuple)) or not settings or not all(isinstance(s, dict) for s in settings):
        raise check.ArgumentError("settings must be a non-empty list of dicts of generate()'s keywords, e.g. [{'conditioning_scale': 0.5}].")
    if not isinstance(seeds, (list, tuple)) or not seeds:
        raise check.ArgumentError(f"seeds must be a non-empty list of seeds, e.g. [0, 1], not {seeds!r}.")
    for i, s in enumerate(seeds):
        check.whole_number(f"seeds[{i}]", s, 0)
    check_thresholds(low, high)

    bar_config = dict(getattr(pipe, "_progress_bar_config", {}))  # what set_progress_bar_config stored, restored below
    pipe.set_progress_bar_config(disable=True)
    points = []
    try:
        for setting in tqdm(settings, desc="settings", disable=bar_config.get("disable", False)):
            pictures = generate(pipe, [prompt] * len(seeds), control, seed=list(seeds), **{**common, **setting})
            points.append(SweepPoint(setting, pictures, mean_canny_fidelity(pictures, control, low, high)))
    finally:
        pipe.set_progress_bar_config(**bar_config)
    return points
