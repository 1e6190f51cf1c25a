"""One pipeline assembly: Stable Diffusion's parts into the stock diffusers pipeline, without a safety checker.

Every model this repository builds or trains itself (the random tiny models, the trained shapes and circles
models, full-size SD1.5 with random weights for benchmarks) becomes a pipeline here, and only here: a
``StableDiffusionControlNetPipeline`` when a ControlNet is given, else a ``StableDiffusionPipeline``. The
safety checker is left out because these models cannot draw anything it looks for (hub mode loads the real
one with ``from_pretrained``).
"""

from __future__ import annotations

from typing import Any

from .sd15 import SCHEDULER_CONFIG  # SD1.5's schedule, so swapping in UniPC works as with SD1.5


def assemble_pipeline(vae, text_encoder, tokenizer, unet, scheduler: Any = "unipc", controlnet=None):
    """The stock pipeline around the given parts.

    Args:
        scheduler: a scheduler object, or ``"unipc"`` / ``"pndm"`` for that scheduler with SD1.5's schedule
            (``SCHEDULER_CONFIG``): PNDM is what SD1.5 ships (and what a saved folder records),
            UniPC what the tutorial runs (20 steps).
        controlnet: a ``ControlNetModel``, or None for text-to-image only.
    """
    from diffusers import PNDMScheduler, StableDiffusionControlNetPipeline, StableDiffusionPipeline, UniPCMultistepScheduler

    if isinstance(scheduler, str):
        kinds = {"unipc": UniPCMultistepScheduler, "pndm": PNDMScheduler}
        if scheduler not in kinds:
            raise ValueError(f"Unknown scheduler {scheduler!r}: use 'unipc', 'pndm' or a scheduler object.")
        scheduler = kinds[scheduler].from_config(SCHEDULER_CONFIG)
    parts = dict(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler, safety_checker=None, feature_extractor=None,
                 requires_safety_checker=False)
    return StableDiffusionControlNetPipeline(controlnet=controlnet, **parts) if controlnet is not None else StableDiffusionPipeline(**parts)
