"""Hub mode's plumbing: are the weights in the local cache, loading them without library noise, and what the
safety checker does. (The repository ids and configs live in ``helpers.sd15``.)"""

from __future__ import annotations

import contextlib
import logging
import warnings
from typing import TYPE_CHECKING, Iterator

from .sd15 import HUB_BASE_MODEL, HUB_CONTROLNETS

if TYPE_CHECKING:
    from diffusers import StableDiffusionControlNetPipeline


def _hub_cached(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, "model_index.json" if repo_id == HUB_BASE_MODEL else "config.json")
    return isinstance(found, str)


def hub_weights_cached(conditions: tuple[str, ...] = ("canny",)) -> bool:
    """True when SD1.5 and the ControlNets of ``conditions`` (keys of ``sd15.HUB_CONTROLNETS``) are in the local
    Hugging Face cache (hub mode then runs offline)."""
    return _hub_cached(HUB_BASE_MODEL) and all(_hub_cached(HUB_CONTROLNETS[c]) for c in conditions)


def require_hub_weights(conditions: tuple[str, ...] = ("canny",), download: str = "") -> None:
    """Raise a clear ``ModeError`` when hub mode cannot get SD1.5 and these ControlNets here: neither cached nor
    a reachable Hub. ``download`` says how much the first download is (e.g. "6.9 GB")."""
    from .modes import ModeError, hub_reachable

    if not hub_weights_cached(conditions) and not hub_reachable():
        size = f" (the first download is {download})" if download else ""
        raise ModeError(
            f"Hub mode, but the Hugging Face Hub is not reachable and the weights ({', '.join(conditions)}) are not in the local cache. "
            f"Connect to the internet{size}, run `python -m helpers.prefetch` where there is one, or run in offline tiny mode: "
            "set CONTROLNET_TUTORIAL_MODE=tiny."
        )


class _DropOfflineNotices(logging.Filter):
    """Drops the notices a Hub client logs when it was told to stay offline and uses its cache."""

    NOTICES = ("Could not reach the Hub", "Couldn't connect to the Hub")

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.NOTICES)


@contextlib.contextmanager
def quiet_hub_load() -> Iterator[None]:
    """Silence, inside the ``with`` block only, what library internals say at a normal hub load: a
    deprecation warning about an argument diffusers itself passes (``local_dir_use_symlinks``), and, when
    offline on purpose (``HF_HUB_OFFLINE=1``), the "could not reach the Hub, using the cache" notices.
    Everything else (errors included) still shows."""
    loggers = [logging.getLogger(name) for name in ("huggingface_hub.hf_api", "diffusers.pipelines.pipeline_utils")]
    offline_filter = _DropOfflineNotices()
    from .modes import hub_offline

    offline = hub_offline()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*local_dir_use_symlinks.*", category=UserWarning)
        if offline:
            for logger in loggers:
                logger.addFilter(offline_filter)
        try:
            yield
        finally:
            for logger in loggers:
                logger.removeFilter(offline_filter)


def safety_checker_note(pipe: "StableDiffusionControlNetPipeline") -> str:
    """One plain line: is the safety checker loaded, and what does it do to a picture it flags?"""
    if getattr(pipe, "safety_checker", None) is None:
        return "safety checker: none (these models have none; nothing is filtered)"
    count = sum(p.numel() for p in pipe.safety_checker.parameters())
    return (
        f"safety checker: on ({type(pipe.safety_checker).__name__}, {count / 1e6:.0f} M parameters; the default, and "
        "what diffusers asks for in anything public): a picture it flags comes back black, and generate() says which one"
    )
