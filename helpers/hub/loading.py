"""Loading from the Hub without library noise, and what the safety checker does."""

from __future__ import annotations

import contextlib
import logging
import warnings
from typing import TYPE_CHECKING, Iterator

from helpers.hub.network import hub_offline

if TYPE_CHECKING:
    from diffusers import StableDiffusionControlNetPipeline


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
