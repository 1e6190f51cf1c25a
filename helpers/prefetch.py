"""Download the hub-mode weights ahead of time: ``python -m helpers.prefetch``.

For a workshop on bad Wi-Fi: run this once per machine (or once, then copy the Hugging Face cache folder,
``~/.cache/huggingface/hub``, to every machine). Afterwards ``HF_HUB_OFFLINE=1`` plus
``CONTROLNET_TUTORIAL_MODE=hub`` runs the real models with no network at all.
"""

from __future__ import annotations

import sys

from helpers.hub.ids import HUB_BASE_MODEL, HUB_CONTROLNETS
from helpers.hub.network import hub_endpoint, hub_reachable

# What from_pretrained reads, in safetensors only: configs, tokenizer, the weights of each component.
BASE_PATTERNS = [
    "model_index.json",
    "*/config.json",
    "scheduler/scheduler_config.json",
    "tokenizer/*",
    "feature_extractor/*",
    "unet/diffusion_pytorch_model.safetensors",
    "vae/diffusion_pytorch_model.safetensors",
    "text_encoder/model.safetensors",
    "safety_checker/model.safetensors",
]
CONTROLNET_PATTERNS = ["config.json", "diffusion_pytorch_model.safetensors"]


class PrefetchError(RuntimeError):
    """The Hub cannot be reached, with what to do instead."""


def prefetch(conditions: tuple[str, ...] = tuple(HUB_CONTROLNETS)) -> list[str]:
    """Download (or find in the cache) SD1.5, the ControlNets of ``conditions`` (default: all of
    ``helpers.hub.ids.HUB_CONTROLNETS``, notebook 07's too) and the Vermeer painting; return their local paths."""
    unknown = [c for c in conditions if c not in HUB_CONTROLNETS]
    if unknown:
        raise PrefetchError(f"Unknown condition(s) {unknown}: use some of {', '.join(HUB_CONTROLNETS)}.")
    if not hub_reachable():
        raise PrefetchError(
            f"{hub_endpoint()} is not reachable, so nothing can be downloaded. Run this where there is internet, "
            "then copy ~/.cache/huggingface/hub to the offline machines, or use tiny mode (CONTROLNET_TUTORIAL_MODE=tiny)."
        )
    from huggingface_hub import snapshot_download

    from helpers.images import vermeer_path

    return [
        snapshot_download(HUB_BASE_MODEL, allow_patterns=BASE_PATTERNS),
        *(snapshot_download(HUB_CONTROLNETS[c], allow_patterns=CONTROLNET_PATTERNS) for c in conditions),
        vermeer_path(),
    ]


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m helpers.prefetch", description=__doc__.splitlines()[0])
    parser.add_argument("--conditions", nargs="+", default=list(HUB_CONTROLNETS), metavar="NAME",
                        help=f"the ControlNets to download, of {', '.join(HUB_CONTROLNETS)} (default: all; canny alone is notebooks 00-05's)")
    args = parser.parse_args(argv)
    try:
        folders = prefetch(tuple(args.conditions))
    except PrefetchError as err:
        print(f"prefetch: {err}", file=sys.stderr)
        return 1
    for folder in folders:
        print(f"ready: {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
