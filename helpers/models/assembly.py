"""One pipeline assembly: Stable Diffusion's parts into the stock diffusers pipeline, without a safety checker.

Every model this repository builds or trains itself (the random tiny models, the trained shapes and circles
models, full-size SD1.5 with random weights for benchmarks) becomes a pipeline here, and only here: a
``StableDiffusionControlNetPipeline`` when a ControlNet is given, else a ``StableDiffusionPipeline``. The
safety checker is left out because these models cannot draw anything it looks for (hub mode loads the real
one with ``from_pretrained``).
"""

from __future__ import annotations

from typing import Any

from helpers.models.sd15 import SCHEDULER_CONFIG, build_model, configs  # SD1.5: its schedule (UniPC swaps in as with SD1.5), configs


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


def full_size_pipeline(device, dtype):
    """SD1.5 + Canny ControlNet at full size with random weights, built on ``device`` (nothing downloaded): what a
    benchmark times (timing depends on the architecture, not on the weights). The tokenizer is the offline one
    (tokenization costs nothing) and there is no safety checker (the benchmark times the generation itself)."""
    import torch
    from diffusers import ControlNetModel, PNDMScheduler

    from helpers.models.tokenizer import clip_tokenizer

    sd15, _ = configs("full")
    torch.manual_seed(0)
    with torch.device(device):  # initialise directly on the GPU: seconds instead of a minute
        unet = build_model("unet/config.json", sd15["unet/config.json"])
        controlnet = ControlNetModel.from_unet(unet)
        vae = build_model("vae/config.json", sd15["vae/config.json"])
        text_encoder = build_model("text_encoder/config.json", sd15["text_encoder/config.json"])
    scheduler = PNDMScheduler.from_config(sd15["scheduler/scheduler_config.json"])
    return assemble_pipeline(vae, text_encoder, clip_tokenizer(), unet, scheduler, controlnet).to(device=device, dtype=dtype)
