"""Where the models come from: the Hugging Face Hub ("hub") or small local models ("tiny").

This is the one place that decides. The rule:

1. ``CONTROLNET_TUTORIAL_MODE`` (``hub``, ``tiny`` or ``auto``) forces a mode; ``make test`` sets ``tiny``.
2. ``HF_HUB_OFFLINE=1`` set by the user means tiny.
3. Otherwise ("auto"): hub when the Hub answers a TCP connection within ~2 s and PyTorch sees a GPU,
   else tiny, with a printed one-line reason. The Hub client itself would retry for ~23 s before
   failing; we do not wait for it. Without a GPU (Binder, a laptop) Stable Diffusion 1.5 takes minutes
   per picture (the measured figure is in ``data/bench/cpu_full_512.json``), so auto mode picks tiny
   and says how to insist on hub.

In tiny mode ``HF_HUB_OFFLINE`` is switched on. huggingface_hub reads that variable once, when it is
first imported, so we also flip its already-imported constant: either way no request leaves the machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TypeVar

from helpers.hub.network import go_offline, hub_endpoint, hub_offline, hub_reachable, hub_weights_cached
from helpers.i18n import _

T = TypeVar("T")

MODE_ENV = "CONTROLNET_TUTORIAL_MODE"
QUICK_ENV = "CONTROLNET_TUTORIAL_QUICK"  # CI's short runs (make test sets it): fewer steps, fewer pictures
MODES = ("hub", "tiny", "auto")


class ModeError(ValueError):
    """An unknown mode name, or hub mode asked for where the Hub cannot be reached."""


@dataclass(frozen=True)
class ModeChoice:
    """The chosen model source and the reason, for printing to the learner."""

    mode: str  # "hub" or "tiny"
    reason: str

    def __str__(self) -> str:
        return f"{self.mode} mode: {self.reason}"


def checked_mode(mode: str) -> str:
    """``mode`` when it is a mode a model can come from ("hub" or "tiny"), else a ``ModeError`` that says so: the one
    check behind every function that takes a mode (``choose_mode().mode`` is always one)."""
    if mode not in ("hub", "tiny"):
        raise ModeError(_("Unknown mode {mode}: use 'hub' or 'tiny' (choose_mode().mode is one of them).").format(mode=repr(mode)))
    return mode


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def quick(value: T, quick_value: T) -> T:
    """``value``, or ``quick_value`` when ``CONTROLNET_TUTORIAL_QUICK=1`` (CI's short runs, set by ``make test``).

    Notebooks use it in their ``parameters`` cell for the few settings CI shortens (training steps, how many
    pictures a measured table averages over); a learner's run always gets ``value``."""
    return quick_value if _env_true(QUICK_ENV) else value


def _requested_mode() -> str:
    raw = os.environ.get(MODE_ENV, "auto").strip().lower() or "auto"
    if raw not in MODES:
        raise ModeError(
            _("{variable}={value} is not a mode. Use one of: 'hub' (download Stable Diffusion 1.5 + ControlNet from the Hugging Face Hub), "
              "'tiny' (small offline models, no download), or 'auto' (hub if reachable, else tiny).").format(
                variable=MODE_ENV, value=repr(os.environ[MODE_ENV]))
        )
    return raw


CPU_BENCH_TABLE = "cpu_full_512.json"  # tools/bench.py recipes --size full --device cpu --resolution 512


def cpu_hub_seconds_per_image() -> float | None:
    """Seconds for one 512x512, 20-step SD1.5 + ControlNet image on this project's 2-core CPU machine, as
    measured by the benchmark (``data/bench/cpu_full_512.json``); None if that table is missing."""
    import json

    from helpers.files import data_dir

    try:
        table = json.loads((data_dir() / "bench" / CPU_BENCH_TABLE).read_text())
        return next(r["seconds_per_image"] for r in table["results"] if r["recipe"] == "blog" and r["seconds_per_image"])
    except (OSError, ValueError, KeyError, StopIteration):
        return None


def cpu_hub_warning() -> str:
    """What hub mode costs on a CPU, in measured figures, and how to make it cheaper."""
    seconds = cpu_hub_seconds_per_image()
    cost = f"about {seconds:.0f} s ({seconds / 60:.0f} min) per 512x512 image (20 steps, measured on 2 CPU cores)" if seconds else "minutes per 512x512 image"
    return f"Stable Diffusion 1.5 on a CPU: {cost}; a smaller SIZE in the parameters cell is faster (256 px: about 4x)."


def require_hub_weights(conditions: tuple[str, ...] = ("canny",), download: str = "") -> None:
    """Raise a clear ``ModeError`` when hub mode cannot get SD1.5 and these ControlNets here: neither cached nor
    a reachable Hub. ``download`` says how much the first download is (e.g. "6.9 GB")."""
    if not hub_weights_cached(conditions) and not hub_reachable():
        size = _(" (the first download is {download})").format(download=download) if download else ""
        raise ModeError(
            _("Hub mode, but the Hugging Face Hub is not reachable and the weights ({weights}) are not in the local cache. "
              "Connect to the internet{size}, run `python -m helpers.prefetch` where there is one, or run in offline tiny mode: "
              "set CONTROLNET_TUTORIAL_MODE=tiny.").format(weights=", ".join(conditions), size=size)
        )


def auto_choice(reachable: bool, gpu: bool) -> ModeChoice:
    """Auto mode's rule, given whether the Hub answers and whether there is a GPU."""
    if reachable and gpu:
        return ModeChoice("hub", f"{hub_endpoint()} is reachable; real weights will be downloaded once and cached.")
    if reachable:
        return ModeChoice(
            "tiny",
            f"{hub_endpoint()} is reachable, but PyTorch sees no GPU. {cpu_hub_warning()} Using small local models; "
            f"set {MODE_ENV}=hub to insist on the real ones.",
        )
    return ModeChoice(
        "tiny",
        f"{hub_endpoint()} is not reachable (offline?); using small local models. The code and calls are the "
        f"same as with real weights, the pictures are not. Set {MODE_ENV}=hub to insist on the Hub.",
    )


def choose_mode(verbose: bool = True, check_hub: bool = True) -> ModeChoice:
    """Decide between hub and tiny mode (see the module docstring for the rule) and print why.

    Args:
        verbose: print the one-line decision.
        check_hub: in auto mode, test the connection (``False`` treats the Hub as unreachable).

    Raises:
        ModeError: an unknown value in ``CONTROLNET_TUTORIAL_MODE``.
    """
    requested = _requested_mode()
    if requested == "tiny":
        choice = ModeChoice("tiny", f"{MODE_ENV}=tiny; small local models, nothing downloaded.")
    elif requested == "hub":
        choice = ModeChoice("hub", f"{MODE_ENV}=hub; weights come from the Hugging Face Hub (or its cache).")
    elif hub_offline():
        choice = ModeChoice("tiny", "HF_HUB_OFFLINE=1 is set; using small local models instead of the Hub.")
    else:
        from helpers.devices import has_cuda

        choice = auto_choice(check_hub and hub_reachable(), has_cuda())
    if choice.mode == "tiny":
        go_offline()
    if verbose:
        print(choice)
    return choice
