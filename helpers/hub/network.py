"""The network and offline rule in one place: is the Hub reachable, are Hub requests switched off, and are the
weights already in the local Hugging Face cache."""

from __future__ import annotations

import os
import socket
import sys
import threading
from urllib.parse import urlparse

from helpers.hub.ids import HUB_BASE_MODEL, HUB_CONTROLNETS

HUB_TIMEOUT_S = 2.0


def hub_endpoint() -> str:
    """The Hub URL huggingface_hub will use (``HF_ENDPOINT`` or huggingface.co)."""
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co")


def hub_reachable(timeout_s: float = HUB_TIMEOUT_S) -> bool:
    """True when a TCP connection to the Hub opens within ``timeout_s`` seconds.

    The check runs in a daemon thread because name resolution (DNS) ignores socket timeouts; an
    unresponsive resolver therefore costs at most ``timeout_s``, not a minute.
    """
    url = urlparse(hub_endpoint())
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout_s)
    return bool(result and result[0])


def hub_offline() -> bool:
    """Whether Hub requests are switched off: huggingface_hub's own answer (``is_offline_mode()``, from
    ``HF_HUB_OFFLINE`` as it read it at import), or ``HF_HUB_OFFLINE`` set in this process since, which
    ``choose_mode`` then makes the library obey (``go_offline``). The one place that reads the variable."""
    from huggingface_hub import constants

    return constants.is_offline_mode() or os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in constants.ENV_VARS_TRUE_VALUES


def go_offline() -> None:
    """Forbid Hub requests from here on, whether or not huggingface_hub is already imported."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = True


def _hub_cached(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, "model_index.json" if repo_id == HUB_BASE_MODEL else "config.json")
    return isinstance(found, str)


def hub_weights_cached(conditions: tuple[str, ...] = ("canny",)) -> bool:
    """True when SD1.5 and the ControlNets of ``conditions`` (keys of ``HUB_CONTROLNETS``) are in the local
    Hugging Face cache (hub mode then runs offline)."""
    return _hub_cached(HUB_BASE_MODEL) and all(_hub_cached(HUB_CONTROLNETS[c]) for c in conditions)
