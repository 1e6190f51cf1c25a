"""Checking a learner's arguments before any model runs: one error type, naming the argument and what is allowed.

A wrong value passed to diffusers fails late and far away (a traceback from inside a scheduler or a tensor op), or
not at all (``steps=0`` gave a picture). ``generate``, the loaders, the sweeps and the widgets call these checks first,
so the message names the argument, what it was and what it may be, before a model runs.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Sequence

from PIL import Image

from helpers.i18n import _


class ArgumentError(ValueError):
    """An argument that cannot be used: its name, the value given and what is allowed."""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def whole_number(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an int in ``[low, high]``; ``True``/``False`` and 2.5 are refused, 3.0 is not an int either."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentError(_("{name} must be a whole number{range}, not {value} ({type}).").format(
            name=name, range=_range(low, high), value=_shown(value), type=type(value).__name__))
    if (low is not None and value < low) or (high is not None and value > high):
        raise ArgumentError(_("{name} must be a whole number{range}, not {value}.").format(name=name, range=_range(low, high), value=value))
    return int(value)


def real_number(name: str, value: Any, low: float | None = None, high: float | None = None) -> float:
    """``value`` as a finite float in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ArgumentError(_("{name} must be a number{range}, not {value}.").format(name=name, range=_range(low, high), value=_shown(value)))
    if (low is not None and value < low) or (high is not None and value > high):
        raise ArgumentError(_("{name} must be a number{range}, not {value}.").format(name=name, range=_range(low, high), value=value))
    return float(value)


def _range(low, high) -> str:
    if low is not None and high is not None:
        return _(" from {low} to {high}").format(low=low, high=high)
    if low is not None:
        return _(" of at least {low}").format(low=low)
    return _(" of at most {high}").format(high=high) if high is not None else ""


def one_of(name: str, value: Any, choices: Sequence) -> Any:
    """``value`` if it is one of ``choices``."""
    if value not in choices:
        raise ArgumentError(_("{name} must be one of {choices}; got {value}.").format(name=name, choices=", ".join(map(repr, choices)), value=_shown(value)))
    return value


def flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ArgumentError(_("{name} must be True or False, not {value}.").format(name=name, value=_shown(value)))
    return value


def text(name: str, value: Any, empty: bool = True) -> str:
    """A string (``empty=False``: with something in it)."""
    if not isinstance(value, str):
        raise ArgumentError(_("{name} must be a string, not {value} ({type}).").format(name=name, value=_shown(value), type=type(value).__name__))
    if not empty and not value.strip():
        raise ArgumentError(_("{name} must not be empty.").format(name=name))
    return value


def texts(name: str, value: Any) -> list[str]:
    """One string, or a non-empty list/tuple of strings, as a list."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise ArgumentError(_("{name} must be a string or a non-empty list of strings, not {value}.").format(name=name, value=_shown(value)))
    for i, item in enumerate(value):
        text(f"{name}[{i}]", item)
    return list(value)


def one_or_each(name: str, value: Any, count: int, check: Callable[[str, Any], Any], what: str) -> list:
    """One value for all, or a list/tuple of exactly ``count`` (one per ``what``), each passed through ``check``;
    returned as ``count`` values either way."""
    if not isinstance(value, (list, tuple)):
        return [check(name, value)] * count
    if len(value) != count:
        one = what[:-1] if what.endswith("s") else what
        raise ArgumentError(_("{name} has {given} values but there are {count} {what}: give one value, or one per {one}.").format(
            name=name, given=len(value), count=count, what=what, one=one))
    return [check(f"{name}[{i}]", item) for i, item in enumerate(value)]


def control_image(name: str, value: Any) -> Image.Image:
    """A control image from anything a notebook makes: a PIL image, an array ((H, W) like ``canny_edges``'s, or
    (H, W, 3|4)), or a path; as RGB. Anything else is refused with the kinds that are allowed."""
    import numpy as np

    from helpers.images import ImageError, load_rgb_image

    if not isinstance(value, (Image.Image, np.ndarray, str)) and not hasattr(value, "__fspath__"):
        raise ArgumentError(_("{name} must be a PIL image, a numpy array (H, W) or (H, W, 3) or a file path, not {type}.").format(
            name=name, type=type(value).__name__))
    try:
        image = load_rgb_image(value)
    except (ImageError, FileNotFoundError) as err:
        raise ArgumentError(f"{name}: {err}") from err
    if min(image.size) < 8:
        raise ArgumentError(_("{name} is {width}x{height} pixels: Stable Diffusion needs at least 8 on each side (64 or more in practice).").format(
            name=name, width=image.width, height=image.height))
    return image
