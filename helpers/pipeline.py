"""Loading the Stable Diffusion 1.5 + Canny ControlNet pipeline, and generating with it (``helpers.optimizations``
holds the switches that make it fast).

One loader for both worlds: in hub mode the model ids are Hub repositories, in tiny mode they are
local folders (the shipped trained models, or the random ones ``helpers.models.random_tiny`` writes); the
``from_pretrained`` calls are the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import torch
from PIL import Image

from helpers.devices import pick_device, pick_dtype
from helpers.hub.ids import HUB_BASE_MODEL, HUB_DOWNLOAD_GB
from helpers.hub.loading import quiet_hub_load, safety_checker_note
from helpers.i18n import _
from helpers.models.registry import WORLD_MODELS
from helpers.modes import ModeChoice, ModeError, checked_mode, choose_mode, cpu_hub_warning, require_hub_weights

if TYPE_CHECKING:  # diffusers takes seconds to import: only where needed
    from diffusers import StableDiffusionControlNetPipeline

def default_image_size(mode: str) -> int:
    """Longest image side for the demos: 512 (SD1.5's training size) with real weights, 96 in tiny mode
    (random weights look no better larger, and a CPU stays quick)."""
    return 512 if mode == "hub" else 96


TINY_MODELS = ("random", "circles", "shapes")
DEMO_SCENE_FILE = "shapes-demo.png"  # helpers.tiny.shapes.render(DEMO_SCENE), saved (tests/test_shapes.py compares)


def demo_picture(mode: str, max_side: int | None = None) -> Image.Image:
    """The picture the demos take their Canny edges from. Hub mode: the blog's portrait (``load_portrait``) at
    ``max_side`` (None: 512). Tiny mode: the shapes world's demo scene at 64x64, the only kind of picture the
    shipped tiny shapes model has learned to draw (``helpers.tiny.shapes.DEMO_SCENE``, shipped as a picture:
    ``data/shapes-demo.png``)."""
    from helpers.images import data_path, load_portrait, load_rgb_image

    return load_portrait(mode, max_side=max_side or 512) if checked_mode(mode) == "hub" else load_rgb_image(data_path(DEMO_SCENE_FILE))


def model_sources(mode: str, tiny_model: str = "random") -> tuple[str, str]:
    """``(base model, controlnet)`` as Hub ids (hub mode) or local folders (tiny mode).

    Tiny models: ``"random"`` (SD1.5-shaped, random weights, built on first use: for mechanics), or one
    trained by this repository and shipped in ``data/models`` (``helpers.models.registry``), whose pictures mean
    something: ``"shapes"`` (a true Canny ControlNet for 64x64 pictures of flat shapes in named colours) or
    ``"circles"`` (notebook 06's: it follows circle outlines, not Canny edges).
    """
    from helpers.conditions import controlnet_source

    if checked_mode(mode) == "hub":
        return HUB_BASE_MODEL, controlnet_source("canny", "hub")
    if tiny_model not in TINY_MODELS:
        raise ModeError(f"Unknown tiny model {tiny_model!r}: use one of {TINY_MODELS}.")
    if tiny_model == "random":
        from helpers.models.random_tiny import ensure_tiny_models

        return tuple(str(folder) for folder in ensure_tiny_models())
    world = WORLD_MODELS[tiny_model]
    for folder in world.missing_folders():
        raise FileNotFoundError(f"The shipped {tiny_model} model is missing: {folder}. Reinstall the package, "
                                "or retrain it (data/models/MODEL_CARD.md).")
    return str(world.base_dir), str(world.controlnet_dir)


def load_controlnet_pipeline(
    mode: str | ModeChoice | None = None,
    device: str | None = None,
    dtype: str | torch.dtype | None = None,
    scheduler: str = "unipc",
    tiny_model: str = "random",
    verbose: bool = True,
) -> "StableDiffusionControlNetPipeline":
    """Load ``StableDiffusionControlNetPipeline`` with the Canny ControlNet, ready to call.

    Args:
        mode: ``"hub"``, ``"tiny"``, a ``ModeChoice``, or ``None`` to decide with ``choose_mode()``.
        device: ``"cuda"`` / ``"cpu"``; ``None`` picks CUDA when present.
        dtype: ``None`` for float16 on CUDA and float32 on CPU (see ``helpers.devices.pick_dtype``).
        scheduler: ``"unipc"`` (UniPCMultistepScheduler, 20 steps are enough) or ``"default"``
            (the model's own, PNDM for SD1.5, which wants ~50 steps).
        tiny_model: in tiny mode, ``"random"`` or ``"circles"`` (see ``model_sources``).
        verbose: print one line on the safety checker (see ``safety_checker_note``).

    Returns:
        The pipeline on ``device`` in ``dtype``; weights read from safetensors only.

    Raises:
        ModeError: hub mode without a reachable Hub and without cached weights.
        DeviceError: a CUDA device without a GPU, or float16 on a CPU.
    """
    from helpers import arguments as check

    check.one_of("scheduler", scheduler, ("unipc", "default"))
    check.one_of("tiny_model", tiny_model, TINY_MODELS)
    check.flag("verbose", verbose)
    if mode is None:
        mode = choose_mode()
    mode = check.one_of("mode", mode.mode if isinstance(mode, ModeChoice) else mode, ("hub", "tiny"))
    torch_device = pick_device(device)
    torch_dtype = pick_dtype(torch_device, dtype)
    if mode == "hub":
        require_hub_weights(("canny",), download=f"{HUB_DOWNLOAD_GB} GB")
    base, controlnet_source = model_sources(mode, tiny_model)

    from diffusers import ControlNetModel, StableDiffusionControlNetPipeline

    with quiet_hub_load():
        controlnet = ControlNetModel.from_pretrained(controlnet_source, dtype=torch_dtype, use_safetensors=True)
        pipe = StableDiffusionControlNetPipeline.from_pretrained(
            base, controlnet=controlnet, dtype=torch_dtype, use_safetensors=True
        )
    if scheduler == "unipc":
        from diffusers import UniPCMultistepScheduler

        pipe.scheduler = UniPCMultistepScheduler.from_config(pipe.scheduler.config)
    if verbose:
        print(safety_checker_note(pipe))
        if mode == "hub" and torch_device.type == "cpu":
            print(cpu_hub_warning())
    return pipe.to(torch_device)


# What ``generate`` sets itself; any other keyword must be one of the pipeline's own.
_SET_BY_GENERATE = {"prompt", "image", "negative_prompt", "num_inference_steps", "guidance_scale", "controlnet_conditioning_scale", "generator",
                    "num_images_per_prompt", "width", "height"}


def checked_arguments(pipe, prompt, control_image, negative_prompt, seed, steps, guidance_scale, conditioning_scale, num_images_per_prompt,
                      kwargs) -> tuple[list[str], list[str] | None, list[int], list[Image.Image], dict]:
    """``generate``'s arguments checked before the pipeline runs (``helpers.arguments``): prompts, negative prompts,
    seeds, control images (one per ControlNet), and the extra keywords; raises ``ArgumentError`` naming the argument."""
    import inspect

    from helpers import arguments as check

    prompts = check.texts("prompt", prompt)
    if negative_prompt is not None:
        negative_prompt = check.one_or_each("negative_prompt", negative_prompt, len(prompts), check.text, "prompts")
    seeds = check.one_or_each("seed", seed, len(prompts), lambda n, v: check.whole_number(n, v, 0, 2**63 - 1), "prompts")
    check.whole_number("steps", steps, 1, 1000)  # UniPC and PNDM need one step at least; SD1.5 has 1000 noise levels
    check.real_number("guidance_scale", guidance_scale, 0)
    check.whole_number("num_images_per_prompt", num_images_per_prompt, 1, 64)
    nets = len(getattr(pipe.controlnet, "nets", [None]))
    if nets > 1:
        if not isinstance(control_image, (list, tuple)) or len(control_image) != nets:
            raise check.ArgumentError(_("control_image must be a list of {nets} images, one per ControlNet of this pipeline "
                                        "(in the order of pipe.controlnet.nets).").format(nets=nets))
        controls = [check.control_image(f"control_image[{i}]", image) for i, image in enumerate(control_image)]
    elif isinstance(control_image, (list, tuple)):
        raise check.ArgumentError(_("control_image must be one image: this pipeline has one ControlNet (a list of {given} was given).").format(
            given=len(control_image)))
    else:
        controls = [check.control_image("control_image", control_image)]
    if len({c.size for c in controls}) > 1:
        raise check.ArgumentError(_("The control images differ in size ({sizes}): resize them to one size first.").format(sizes=[c.size for c in controls]))
    check.one_or_each("conditioning_scale", conditioning_scale, nets, lambda n, v: check.real_number(n, v, 0), "ControlNets")
    allowed = set(inspect.signature(pipe.__call__).parameters) - _SET_BY_GENERATE
    for name, value in kwargs.items():
        if name not in allowed:
            raise check.ArgumentError(_("generate() got an unknown keyword {name}; the pipeline's others are: {allowed}.").format(
                name=repr(name), allowed=", ".join(sorted(allowed))))
        if name == "guess_mode":
            check.flag(name, value)
    window = [check.one_or_each(name, kwargs.get(name, default), nets, lambda n, v: check.real_number(n, v, 0, 1), "ControlNets")
              for name, default in (("control_guidance_start", 0.0), ("control_guidance_end", 1.0))]
    for s, e in zip(*window):
        if s >= e:
            message = _("control_guidance_start ({start}) must be below control_guidance_end ({end}): the ControlNet acts from start to end.")
            raise check.ArgumentError(message.format(start=s, end=e))
    return prompts, negative_prompt, seeds, controls, kwargs


def generate(
    pipe: "StableDiffusionControlNetPipeline",
    prompt: str | Sequence[str],
    control_image: Image.Image | Sequence[Image.Image],
    negative_prompt: str | Sequence[str] | None = None,
    seed: int | Sequence[int] = 0,
    steps: int = 20,
    guidance_scale: float = 7.5,
    conditioning_scale: float | Sequence[float] = 1.0,
    num_images_per_prompt: int = 1,
    **kwargs,
) -> list[Image.Image]:
    """Run the pipeline with one ``torch.Generator`` per image so each image is reproducible by its seed.

    Args:
        prompt: one prompt, or one per image.
        control_image: the control image (for a Multi-ControlNet pipeline, one per ControlNet, in the order of
            ``pipe.controlnet.nets``); its size (rounded to multiples of 8) is the output size.
        conditioning_scale: ``controlnet_conditioning_scale``: one number, or one per ControlNet.
        seed: one seed, or one per prompt. Image ``j`` of a prompt with seed ``s`` uses seed ``s + j``.
        num_images_per_prompt: images per prompt (a larger batch uses the GPU better).
        kwargs: passed to the pipeline (``control_guidance_start``, ``guess_mode``, ...).

    Returns:
        ``len(prompts) * num_images_per_prompt`` PIL images, grouped by prompt.
    """
    from helpers.images import resize_for_pipeline

    prompts, negative_prompt, seeds, controls, kwargs = checked_arguments(
        pipe, prompt, control_image, negative_prompt, seed, steps, guidance_scale, conditioning_scale, num_images_per_prompt, kwargs)
    controls = [resize_for_pipeline(image, max_side=None) for image in controls]
    control_image = controls if len(controls) > 1 else controls[0]
    device = getattr(pipe, "_execution_device", pipe.device)
    generator_device = "cpu" if device.type == "mps" else device
    generators = [torch.Generator(device=generator_device).manual_seed(s + j) for s in seeds for j in range(num_images_per_prompt)]
    result = pipe(
        prompts,
        image=control_image,
        negative_prompt=negative_prompt,
        num_inference_steps=steps,
        guidance_scale=guidance_scale,
        controlnet_conditioning_scale=conditioning_scale,
        generator=generators,
        num_images_per_prompt=num_images_per_prompt,
        width=controls[0].width,
        height=controls[0].height,
        **kwargs,
    )
    for k, flagged in enumerate(result.nsfw_content_detected or []):
        if flagged:  # the pipeline has already replaced it by a black picture: say so, never silently
            p, j = divmod(k, num_images_per_prompt)
            print(
                f"Image {k + 1} (prompt {prompts[p][:40]!r}, seed {seeds[p] + j}) was flagged by the safety checker "
                "and replaced by a black picture. Try another seed or prompt."
            )
    return result.images
