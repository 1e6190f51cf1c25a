"""Load the tiny trained models, generate with them, and measure how well they follow their control.

The trainers (``helpers.tiny.train``) save a base model (VAE, text encoder, tokenizer, UNet) and a ControlNet
for a world (``helpers.tiny.worlds``); this module loads them with the stock ``from_pretrained``, wraps them in
the stock diffusers pipelines, and scores held-out examples two ways: the world's own score (IoU of the
shapes or disc the picture drew with the ones the control meant) and Canny edge F1 at 2 px
(``helpers.fidelity``, as ControlNet++ measures Canny control).

    python -m helpers.tiny.train evaluate --world shapes   # the figures of data/models/MODEL_CARD.md
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from PIL import Image

from helpers.fidelity import EdgeScore, canny_fidelity
from helpers.i18n import _
from helpers.models.registry import PALETTE, training_curve
from helpers.tiny.worlds import CIRCLES, TEST_SEED, Example, World


def load_base(base_dir: Path | str = CIRCLES.base_dir):
    """``(vae, text_encoder, tokenizer, unet)`` of a saved base model, through ``from_pretrained``."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    base_dir = Path(base_dir)
    if not (base_dir / "model_index.json").exists():
        raise FileNotFoundError(f"No trained base model in {base_dir}: run `python -m helpers.tiny.train vae` then `base` (see data/models/MODEL_CARD.md).")
    return (
        AutoencoderKL.from_pretrained(base_dir / "vae", use_safetensors=True).eval(),
        CLIPTextModel.from_pretrained(base_dir / "text_encoder", use_safetensors=True).eval(),
        CLIPTokenizer.from_pretrained(base_dir / "tokenizer"),
        UNet2DConditionModel.from_pretrained(base_dir / "unet", use_safetensors=True).eval(),
    )


def stock_pipeline(parts, controlnet=None):
    """The stock diffusers pipeline around the given models, with UniPC: ``StableDiffusionControlNetPipeline``
    when a ControlNet is given, else ``StableDiffusionPipeline``."""
    from helpers.models.assembly import assemble_pipeline

    pipe = assemble_pipeline(*parts, scheduler="unipc", controlnet=controlnet)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def generate_examples(pipe, examples: list, controls: list | None = None, steps: int = 20, guidance: float = 3.0, noise_seed: int = 0,
                      size: int | None = None, **pipe_kwargs) -> list[np.ndarray]:
    """uint8 pictures (size, size, 3) for the examples' prompts (anything with ``.prompt``), one fixed generator
    per picture (seed ``noise_seed + i``).

    ``controls``: one uint8 control image per example, or for a Multi-ControlNet pipeline one list per example
    with a control image per ControlNet (diffusers' nested-list convention: ``[[edges_0, map_0], [edges_1, map_1]]``).
    ``size`` defaults to the controls' size, else the UNet's. ``pipe_kwargs`` go to the pipeline
    (``controlnet_conditioning_scale``, ``control_guidance_end``, ...)."""
    generators = [torch.Generator().manual_seed(noise_seed + i) for i in range(len(examples))]
    nested = controls is not None and not isinstance(controls[0], np.ndarray)
    if size is None:
        first = controls[0][0] if nested else controls[0] if controls is not None else None
        size = first.shape[0] if first is not None else pipe.unet.config.sample_size * pipe.vae_scale_factor
    kwargs = dict(prompt=[e.prompt for e in examples], num_inference_steps=steps, guidance_scale=guidance, generator=generators, height=size, width=size,
                  output_type="np", **pipe_kwargs)
    if controls is not None:
        kwargs["image"] = [[Image.fromarray(c) for c in each] if nested else Image.fromarray(each) for each in controls]
    with torch.no_grad():
        images = pipe(**kwargs).images
    return [np.clip(np.rint(image * 255), 0, 255).astype(np.uint8) for image in images]


def generate_circles(pipe, circles: list, controls: list[np.ndarray] | None = None, steps: int = 20, guidance: float = CIRCLES.guidance,
                     noise_seed: int = 0) -> list[np.ndarray]:
    """uint8 pictures (32, 32, 3) for fill circles (notebook 06's name for ``generate_examples``)."""
    return generate_examples(pipe, circles, controls, steps, guidance, noise_seed, size=CIRCLES.size)


@dataclass
class Fidelity:
    """Control fidelity over examples: mean world score (``iou``), mean Canny edge F1 at 2 px (``f1``), pictures,
    and where the world has one, the mean layout IoU (``layout_iou``: where things are, whatever their colours)."""

    iou: float
    f1: float
    images: list[np.ndarray]
    layout_iou: float | None = None

    def __iter__(self):  # ``score, images = control_fidelity(...)`` as before the F1 was added
        return iter((self.iou, self.images))


def edge_f1_of(picture: np.ndarray, example: Example) -> float:
    """Canny edge F1 (2 px) of a generated uint8 picture against the example's edges (its control image unless
    the control is something else, such as a colour layout)."""
    edges = example.control if example.edges is None else example.edges
    return canny_fidelity(Image.fromarray(picture), Image.fromarray(edges)).f1


def control_fidelity(parts, controlnet, examples: list[Example], guidance: float = CIRCLES.guidance, world: World = CIRCLES,
                     prompt: str | None = None) -> Fidelity:
    """Generate each example's prompt (with its control when ``controlnet`` is given) and score the pictures.
    With ``controlnet=None`` the base model alone is measured: it cannot know where things go (chance level).

    ``prompt``: one prompt for every example instead of each one's own; ``""`` is the paper's "no prompt" setting.
    Then both halves of classifier-free guidance see the same empty prompt, so ``guidance`` changes nothing, and a
    score that needs the prompt's colours (the circles' IoU) means nothing: read the edge F1."""
    controls = [e.control for e in examples] if controlnet is not None else None
    asked = examples if prompt is None else [SimpleNamespace(prompt=prompt)] * len(examples)
    images = generate_examples(stock_pipeline(parts, controlnet), asked, controls, guidance=guidance, size=world.size)
    return score_pictures(images, examples, world)


def score_pictures(images: list[np.ndarray], examples: list[Example], world: World = CIRCLES) -> Fidelity:
    """The ``Fidelity`` of uint8 pictures, one per example."""
    mean = lambda score: float(np.mean([score(image, e) for image, e in zip(images, examples)]))  # noqa: E731
    return Fidelity(iou=mean(world.score), f1=mean(edge_f1_of), images=images, layout_iou=mean(world.layout) if world.layout else None)


def colour_accuracy(images: list[np.ndarray], circles: list) -> float:
    """Share of images whose most common colour (nearest palette entry per pixel) is the prompt's
    background and whose fill colour covers at least 3% of the pixels."""
    names = list(PALETTE)
    palette = np.array([PALETTE[n] for n in names], np.float32)
    good = 0
    for image, circle in zip(images, circles):
        nearest = np.argmin(np.linalg.norm(image.reshape(-1, 1, 3).astype(np.float32) - palette, axis=-1), axis=1)
        counts = np.bincount(nearest, minlength=len(names)) / nearest.size
        good += names[int(counts.argmax())] == circle.background and counts[names.index(circle.fill)] >= 0.03
    return good / len(images)


def vae_ceiling(vae, examples: list[Example], world: World = CIRCLES) -> Fidelity:
    """The targets through the VAE and back (encode, decode): the best any model on these latents can score."""
    pixels = torch.stack([torch.from_numpy(e.target.copy()).permute(2, 0, 1).float() / 127.5 - 1.0 for e in examples])
    with torch.no_grad():
        decoded = vae.decode(vae.encode(pixels).latent_dist.mean).sample
    images = [np.clip(np.rint((d.permute(1, 2, 0).numpy() + 1) * 127.5), 0, 255).astype(np.uint8) for d in decoded]
    return score_pictures(images, examples, world)


@dataclass
class TrainingLog:
    """Loss every step; control fidelity on the fixed validation examples every ``validate_every`` steps:
    the world's score (``iou``: shape or disc IoU) and the Canny edge F1 at 2 px (``f1``)."""

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    val_step: list[int] = field(default_factory=list)
    iou: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    f1: list[float] = field(default_factory=list)
    train_seconds: float = 0.0  # the optimisation steps alone, validations left out (seconds per step: / len(step))
    processes: int = 1  # how many processes shared each batch (accelerate)

    def jump_step(self, threshold: float = 0.5) -> int | None:
        """First validation step whose IoU reaches ``threshold``: where "sudden convergence" happens."""
        return next((s for s, v in zip(self.val_step, self.iou) if v >= threshold), None)


CIRCLES_GUIDANCE_SWEEP = (1.5, 2.0, 3.0, 5.0)  # the scales the circles' figures are reported at (notebook 06's sweep)


def _iou_and_f1(fidelity: Fidelity) -> dict:
    return {"iou": fidelity.iou, "f1": fidelity.f1}


def held_out_figures(base_dir: Path | str | None = None, controlnet_dir: Path | str | None = None, count: int = 64, world: World = CIRCLES,
             references: bool = True) -> dict:
    """The reference figures on ``count`` test examples (a seed never used in training): the VAE's ceiling,
    the base model alone (it cannot know where), the ControlNet; IoU and edge F1 each, at the world's
    ControlNet guidance. For circles also the colour accuracy (the base model's at guidance 3.0), the ControlNet's
    edge F1 with an empty prompt, its IoU and F1 at each of ``CIRCLES_GUIDANCE_SWEEP``, and for a ControlNet whose training curve lies beside it, the jump step.
    ``references=False`` leaves out the ceiling and the base model (the same for worlds that share a base model)."""
    from diffusers import ControlNetModel

    parts = load_base(base_dir or world.base_dir)
    test = world.examples(count, TEST_SEED)
    controlnet = ControlNetModel.from_pretrained(controlnet_dir or world.controlnet_dir, use_safetensors=True).eval()
    controlled = control_fidelity(parts, controlnet, test, world.controlnet_guidance, world)
    figures = {"examples": count, "guidance": world.controlnet_guidance, "controlnet_iou": controlled.iou, "controlnet_f1": controlled.f1}
    if world.layout is not None:
        figures["controlnet_layout_iou"] = controlled.layout_iou
    if references:
        ceiling = vae_ceiling(parts[0], test, world)
        base = control_fidelity(parts, None, test, world.controlnet_guidance, world)
        figures.update(vae_ceiling_iou=ceiling.iou, vae_ceiling_f1=ceiling.f1, base_iou=base.iou, base_f1=base.f1)
        if world.layout is not None:
            figures.update(vae_ceiling_layout_iou=ceiling.layout_iou, base_layout_iou=base.layout_iou)
    if world is CIRCLES:
        items = [e.item for e in test]
        if references:
            figures["base_colour_accuracy"] = colour_accuracy(control_fidelity(parts, None, test, world.guidance, world).images, items)
        figures["controlnet_colour_accuracy"] = colour_accuracy(controlled.images, items)
        # The paper's "no prompt" setting: the outline alone. The disc IoU needs the prompt's colours; the edge F1 does not.
        figures["controlnet_f1_no_prompt"] = control_fidelity(parts, controlnet, test, world.controlnet_guidance, world, prompt="").f1
        # With the prompt, across guidance scales: CFG subtracts the unconditional half, which a ControlNet trained with
        # every prompt has never learned (notebook 06, section 6).
        figures["controlnet_by_guidance"] = {f"{g:g}": _iou_and_f1(controlled if g == world.controlnet_guidance else
                                                                   control_fidelity(parts, controlnet, test, g, world)) for g in CIRCLES_GUIDANCE_SWEEP}
    curve = training_curve(Path(controlnet_dir or world.controlnet_dir))
    if curve.exists():
        figures["jump_step"] = TrainingLog(**json.loads(curve.read_text())["log"]).jump_step()
    return figures


@dataclass
class SketchResult:
    """What ``follow_sketch`` made: the control image, the generated picture, and how well it follows."""

    scene: Any
    control: Image.Image
    picture: Image.Image
    edges: EdgeScore  # Canny edge F1 (2 px) of the picture against the control
    shape_iou: float  # IoU of the picture's shape-coloured pixels with the sketched shapes

    def summary(self) -> str:
        return _("edge F1 (2 px) {f1:.2f}, shape IoU {iou:.2f}").format(f1=self.edges.f1, iou=self.shape_iou)


def follow_sketch(pipe, scene, seed: int = 0, steps: int = 20, conditioning_scale: float = 1.0, guidance_scale: float = 7.5,
                  size: int | None = None) -> SketchResult:
    """Draw ``scene`` (a ``helpers.tiny.shapes.Scene``), take its Canny edges, generate from its prompt, and score.

    The sketch is drawn at 64x64 and enlarged to ``size`` (default: the pipeline's native size, 64 for the
    tiny shapes model, 512 for Stable Diffusion 1.5), so the same call works in both modes.
    """
    from helpers import arguments as check
    from helpers.canny import canny_control_image
    from helpers.pipeline import generate
    from helpers.tiny.shapes import SIZE, render, shape_iou

    size = check.whole_number("size", size, 8, 2048) if size is not None else pipe.unet.config.sample_size * pipe.vae_scale_factor
    control = canny_control_image(render(scene).resize((size, size), Image.Resampling.NEAREST), 100, 200)
    picture = generate(pipe, scene.prompt, control, seed=seed, steps=steps, guidance_scale=guidance_scale, conditioning_scale=conditioning_scale)[0]
    edges = canny_fidelity(picture, control)
    return SketchResult(scene, control, picture, edges, shape_iou(picture.resize((SIZE, SIZE), Image.Resampling.BILINEAR), scene))
