"""Train a tiny Stable-Diffusion-shaped model and a ControlNet on fill circles, on a laptop CPU.

Three stages, each a command (seeded, resumable, with a progress bar):

    python -m helpers.train vae        --steps 800  --out data/models/circles-base
    python -m helpers.train base       --steps 2600 --out data/models/circles-base
    python -m helpers.train controlnet --steps 3400 --out data/models/circles-controlnet
    python -m helpers.train evaluate   # base colour check, ControlNet IoU vs the base model, the jump

The VAE and the base model (text encoder + UNet) learn colours and circles from prompts alone; the
ControlNet, trained on top of the frozen base, learns *where* the circle goes from its outline.
``train_controlnet`` is the one to read: it is the paper's recipe in ~100 lines, with ``accelerate`` so
that ``accelerate launch`` runs it on GPUs unchanged.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .circles import PALETTE, WORDS, FillCircles, disc_mask, fill_mask, iou, render, sample_circle

ROOT = Path(__file__).resolve().parents[1]
BASE_DIR = ROOT / "data" / "models" / "circles-base"
CONTROLNET_DIR = ROOT / "data" / "models" / "circles-controlnet"
REFERENCE_CURVE = ROOT / "data" / "models" / "circles-controlnet-curve.json"
QUICK_ENV = "CONTROLNET_TUTORIAL_QUICK"
VALIDATION_SEED, TEST_SEED = 1, 2  # the training data uses seed 0
# Classifier-free guidance for sampling. Training curves use 3.0 (as the shipped reference curve). For the
# final figures the scale was chosen on 64 validation outlines (seed 1), then reported on test outlines
# (seed 2): the ControlNet follows outlines best at 1.5 (IoU 0.90 vs 0.81 at 3.0), the base model gets
# colours right most often at 3.0.
GUIDANCE = 3.0
CONTROLNET_GUIDANCE = 1.5

VAE_CONFIG = dict(
    in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
    block_out_channels=(16, 32, 32), layers_per_block=1, latent_channels=4, norm_num_groups=8, sample_size=32,
)  # 3 blocks: 4x down, 32x32 images -> 4x8x8 latents
TEXT_CONFIG = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=77, projection_dim=64)
UNET_CONFIG = dict(
    sample_size=8, in_channels=4, out_channels=4, down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"), block_out_channels=(32, 64), layers_per_block=1,
    cross_attention_dim=64, attention_head_dim=8, norm_num_groups=8,
)
HINT_CHANNELS = (16, 32, 64)  # ControlNet's hint encoder: 2 downsamplings = 4x, like this VAE


def quick(steps: int, quick_steps: int) -> int:
    """``steps``, or ``quick_steps`` when ``CONTROLNET_TUTORIAL_QUICK=1`` (CI's short runs)."""
    return quick_steps if os.environ.get(QUICK_ENV, "").strip() in {"1", "true", "yes"} else steps


def batches(dataset: FillCircles, batch_size: int, seed: int) -> torch.utils.data.DataLoader:
    """A shuffled, seeded DataLoader (main process: no worker start-up cost on a laptop)."""
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed), drop_last=True)


def forever(loader):
    while True:
        yield from loader


def make_tokenizer():
    """A CLIP tokenizer whose vocabulary has a whole-word token for every word of the prompts."""
    from .tiny import clip_tokenizer

    return clip_tokenizer(WORDS)


def tokenize(tokenizer, prompts: list[str]) -> torch.Tensor:
    return tokenizer(prompts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt").input_ids


def noise_scheduler():
    """Stable Diffusion's training noise schedule (scaled-linear betas, 1000 steps)."""
    from diffusers import DDPMScheduler

    return DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000)


# ---------------------------------------------------------------------------------------------------
# Stage 1 and 2: the base text-to-image model
# ---------------------------------------------------------------------------------------------------


def train_vae(steps: int, batch_size: int = 32, lr: float = 1e-3, seed: int = 0, progress: bool = True):
    """An ``AutoencoderKL`` trained to reconstruct fill-circle images; its latent scale is set to 1/std."""
    from diffusers import AutoencoderKL
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    vae = AutoencoderKL(**VAE_CONFIG)
    optimizer = torch.optim.AdamW(vae.parameters(), lr=lr)
    data = forever(batches(FillCircles(seed=0), batch_size, seed))
    for _ in tqdm(range(steps), desc="VAE", disable=not progress):
        images = next(data)["pixel_values"]
        posterior = vae.encode(images).latent_dist
        loss = F.mse_loss(vae.decode(posterior.sample()).sample, images) + 1e-6 * posterior.kl().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    vae.eval()
    with torch.no_grad():
        latents = torch.cat([vae.encode(next(data)["pixel_values"]).latent_dist.mean for _ in range(4)])
    vae.register_to_config(scaling_factor=float(1.0 / latents.std()))
    return vae


def train_base(vae, steps: int, batch_size: int = 32, lr: float = 1e-3, seed: int = 0, empty_prompt_rate: float = 0.1,
               ema_decay: float = 0.995, progress: bool = True):
    """Train a CLIP text encoder and a UNet together on prompts alone (no outline); return
    ``(text_encoder, unet, tokenizer)`` with their EMA weights. 10% empty prompts teach the
    unconditional prediction that classifier-free guidance needs."""
    from diffusers import UNet2DConditionModel
    from tqdm.auto import tqdm

    from .tiny import clip_text_encoder

    tokenizer = make_tokenizer()
    torch.manual_seed(seed)
    text_encoder = clip_text_encoder(tokenizer, **TEXT_CONFIG)
    unet = UNet2DConditionModel(**UNET_CONFIG)
    models = torch.nn.ModuleList([text_encoder, unet])
    ema = copy.deepcopy(models).requires_grad_(False)
    optimizer = torch.optim.AdamW(models.parameters(), lr=lr)
    scheduler, vae = noise_scheduler(), vae.requires_grad_(False)
    data = forever(batches(FillCircles(seed=0), batch_size, seed))
    rng = np.random.default_rng(seed)
    for _ in tqdm(range(steps), desc="base model", disable=not progress):
        batch = next(data)
        prompts = ["" if rng.random() < empty_prompt_rate else p for p in batch["prompt"]]
        loss = diffusion_loss(vae, text_encoder(tokenize(tokenizer, prompts))[0], unet, scheduler, batch["pixel_values"])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for averaged, current in zip(ema.parameters(), models.parameters()):
                averaged.lerp_(current, 1.0 - ema_decay)
    text_encoder, unet = ema[0].eval(), ema[1].eval()
    return text_encoder, unet, tokenizer


def diffusion_loss(vae, text_embeddings, unet, scheduler, images, controlnet=None, conditioning=None) -> torch.Tensor:
    """Stable Diffusion's training loss: predict the noise added to the latents at a random timestep."""
    with torch.no_grad():
        latents = vae.encode(images).latent_dist.sample() * vae.config.scaling_factor
    noise = torch.randn_like(latents)
    timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (latents.shape[0],))
    noisy = scheduler.add_noise(latents, noise, timesteps)
    down = mid = None
    if controlnet is not None:
        down, mid = controlnet(noisy, timesteps, text_embeddings, controlnet_cond=conditioning, return_dict=False)
    prediction = unet(noisy, timesteps, text_embeddings, down_block_additional_residuals=down, mid_block_additional_residual=mid).sample
    return F.mse_loss(prediction, noise)


def save_base(vae, text_encoder, unet, tokenizer, out: Path) -> None:
    """Save as a Stable Diffusion folder (safetensors), loadable by ``from_pretrained`` like SD1.5."""
    from diffusers import PNDMScheduler, StableDiffusionPipeline

    from .tiny import SCHEDULER_CONFIG

    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=PNDMScheduler(**SCHEDULER_CONFIG),
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(out, safe_serialization=True)


# ---------------------------------------------------------------------------------------------------
# Stage 3: the ControlNet (the part to read)
# ---------------------------------------------------------------------------------------------------


@dataclass
class TrainingLog:
    """Loss every step; control fidelity (IoU on the fixed validation set) every ``validate_every`` steps."""

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    val_step: list[int] = field(default_factory=list)
    iou: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def jump_step(self, threshold: float = 0.5) -> int | None:
        """First validation step whose IoU reaches ``threshold``: where "sudden convergence" happens."""
        return next((s for s, v in zip(self.val_step, self.iou) if v >= threshold), None)


def train_controlnet(
    base_dir: Path | str = BASE_DIR,
    steps: int = 2000,
    batch_size: int = 32,
    lr: float = 2e-4,
    seed: int = 0,
    init: str = "zero",
    validate_every: int = 100,
    validation_size: int = 16,
    checkpoint_dir: Path | str | None = None,
    on_validation: Callable[[int, float, list], None] | None = None,
    progress: bool = True,
):
    """Train a ControlNet on fill circles on top of the frozen base model in ``base_dir``.

    Args:
        init: ``"zero"`` (the paper) or ``"random"`` (the ablation: zero convs randomly initialised).
        validate_every: steps between control-fidelity measurements (IoU of the generated disc with the
            target disc on ``validation_size`` fixed outlines, fixed noise, 20 UniPC steps).
        checkpoint_dir: if given, state is saved there every ``validate_every`` steps and a run restarted
            with the same folder resumes where it stopped.
        on_validation: called with ``(step, iou, images)`` after each validation (for live plots).

    Returns:
        ``(controlnet, log)``: the trained ``ControlNetModel`` and a ``TrainingLog``.
    """
    from accelerate import Accelerator
    from diffusers import ControlNetModel
    from tqdm.auto import tqdm

    from .concepts import freeze, randomize_zero_convolutions

    accelerator = Accelerator()
    vae, text_encoder, tokenizer, unet = load_base(base_dir)
    for model in (vae, text_encoder, unet):  # the locked copy
        freeze(model).to(accelerator.device)
    torch.manual_seed(seed)
    controlnet = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=HINT_CHANNELS)  # the trainable copy
    if init == "random":
        randomize_zero_convolutions(controlnet, seed=seed)
    elif init != "zero":
        raise ValueError(f"init must be 'zero' or 'random', not {init!r}")
    optimizer = torch.optim.AdamW(controlnet.parameters(), lr=lr)
    loader = batches(FillCircles(seed=0), batch_size, seed)
    controlnet, optimizer, loader = accelerator.prepare(controlnet, optimizer, loader)
    scheduler, log, start = noise_scheduler(), TrainingLog(), 0
    if checkpoint_dir is not None and (Path(checkpoint_dir) / "log.json").exists():  # resume
        accelerator.load_state(str(checkpoint_dir))
        log = TrainingLog(**json.loads((Path(checkpoint_dir) / "log.json").read_text()))
        start = log.step[-1] + 1 if log.step else 0
    validation = validation_set(validation_size)
    data, began = forever(loader), time.perf_counter() - (log.seconds[-1] if log.seconds else 0.0)
    torch.manual_seed(seed + start)  # noise and timesteps: reproducible, also after a resume
    for step in tqdm(range(start, steps), desc="ControlNet", initial=start, total=steps, disable=not progress):
        batch = next(data)
        with torch.no_grad():
            text = text_encoder(tokenize(tokenizer, batch["prompt"]).to(accelerator.device))[0]
        loss = diffusion_loss(vae, text, unet, scheduler, batch["pixel_values"], controlnet, batch["conditioning"])
        optimizer.zero_grad()
        accelerator.backward(loss)
        optimizer.step()
        log.step.append(step)
        log.loss.append(float(loss.detach()))
        if (step + 1) % validate_every == 0 or step + 1 == steps:
            score, images = control_fidelity((vae, text_encoder, tokenizer, unet), accelerator.unwrap_model(controlnet), validation)
            log.val_step.append(step + 1)
            log.iou.append(score)
            log.seconds.append(time.perf_counter() - began)
            if on_validation is not None:
                on_validation(step + 1, score, images)
            if checkpoint_dir is not None:
                accelerator.save_state(str(checkpoint_dir), safe_serialization=True)
                (Path(checkpoint_dir) / "log.json").write_text(json.dumps(asdict(log)))
    return accelerator.unwrap_model(controlnet).eval(), log


# ---------------------------------------------------------------------------------------------------
# Loading, generating, measuring
# ---------------------------------------------------------------------------------------------------


def load_base(base_dir: Path | str = BASE_DIR):
    """``(vae, text_encoder, tokenizer, unet)`` of a saved base model, through ``from_pretrained``."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    base_dir = Path(base_dir)
    if not (base_dir / "model_index.json").exists():
        raise FileNotFoundError(f"No trained base model in {base_dir}: run `python -m helpers.train vae` then `base` (see data/models/MODEL_CARD.md).")
    return (
        AutoencoderKL.from_pretrained(base_dir / "vae", use_safetensors=True).eval(),
        CLIPTextModel.from_pretrained(base_dir / "text_encoder", use_safetensors=True).eval(),
        CLIPTokenizer.from_pretrained(base_dir / "tokenizer"),
        UNet2DConditionModel.from_pretrained(base_dir / "unet", use_safetensors=True).eval(),
    )


def circles_pipeline(parts, controlnet=None):
    """The stock diffusers pipeline around the given models, with UniPC: ``StableDiffusionControlNetPipeline``
    when a ControlNet is given, else ``StableDiffusionPipeline``."""
    from diffusers import StableDiffusionControlNetPipeline, StableDiffusionPipeline, UniPCMultistepScheduler

    from .tiny import SCHEDULER_CONFIG

    vae, text_encoder, tokenizer, unet = parts
    common = dict(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=UniPCMultistepScheduler.from_config(SCHEDULER_CONFIG),
                  safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe = StableDiffusionControlNetPipeline(controlnet=controlnet, **common) if controlnet is not None else StableDiffusionPipeline(**common)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def validation_set(count: int, seed: int = VALIDATION_SEED) -> list:
    """``count`` circles never seen in training (another seed), rendered: (circle, target, control)."""
    return [(c, *render(c)) for c in (sample_circle(i, seed) for i in range(count))]


def generate_circles(pipe, circles: list, controls: list[np.ndarray] | None = None, steps: int = 20, guidance: float = GUIDANCE, noise_seed: int = 0) -> list[np.ndarray]:
    """uint8 images (32, 32, 3) for the circles' prompts, one fixed generator per image (seed ``noise_seed + i``)."""
    from PIL import Image

    generators = [torch.Generator().manual_seed(noise_seed + i) for i in range(len(circles))]
    kwargs = dict(prompt=[c.prompt for c in circles], num_inference_steps=steps, guidance_scale=guidance, generator=generators, height=32, width=32, output_type="np")
    if controls is not None:
        kwargs["image"] = [Image.fromarray(c) for c in controls]
    with torch.no_grad():
        images = pipe(**kwargs).images
    return [np.clip(np.rint(image * 255), 0, 255).astype(np.uint8) for image in images]


def control_fidelity(parts, controlnet, validation: list, guidance: float = GUIDANCE) -> tuple[float, list[np.ndarray]]:
    """Mean IoU between each generated disc (pixels nearer the fill colour) and the target disc.
    With ``controlnet=None`` the base model alone is measured (it cannot know where the disc goes)."""
    circles = [v[0] for v in validation]
    controls = [v[2] for v in validation] if controlnet is not None else None
    images = generate_circles(circles_pipeline(parts, controlnet), circles, controls, guidance=guidance)
    scores = [iou(fill_mask(image, c.fill, c.background), disc_mask(c)) for image, c in zip(images, circles)]
    return float(np.mean(scores)), images


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


def evaluate(base_dir: Path | str = BASE_DIR, controlnet_dir: Path | str = CONTROLNET_DIR, count: int = 64) -> dict:
    """The reference figures: the base model's colour accuracy, and the control-fidelity IoU of the
    ControlNet vs the base model alone on ``count`` fresh outlines (seed never used in training)."""
    from diffusers import ControlNetModel

    parts = load_base(base_dir)
    test = validation_set(count, seed=TEST_SEED)
    _, base_images = control_fidelity(parts, None, test, guidance=GUIDANCE)
    base_iou, _ = control_fidelity(parts, None, test, guidance=CONTROLNET_GUIDANCE)
    controlnet = ControlNetModel.from_pretrained(controlnet_dir, use_safetensors=True).eval()
    controlnet_iou, controlnet_images = control_fidelity(parts, controlnet, test, guidance=CONTROLNET_GUIDANCE)
    circles = [t[0] for t in test]
    figures = {
        "outlines": count,
        "base_colour_accuracy": colour_accuracy(base_images, circles),
        "base_iou": base_iou,
        "controlnet_iou": controlnet_iou,
        "controlnet_colour_accuracy": colour_accuracy(controlnet_images, circles),
    }
    if REFERENCE_CURVE.exists():
        figures["jump_step"] = TrainingLog(**json.loads(REFERENCE_CURVE.read_text())["log"]).jump_step()
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m helpers.train", description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=("vae", "base", "controlnet", "evaluate"))
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--base", type=Path, default=BASE_DIR, help="the base model folder (read by base's VAE step and controlnet)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--checkpoints", type=Path, default=None, help="controlnet: resumable checkpoint folder")
    parser.add_argument("--init", choices=("zero", "random"), default="zero")
    args = parser.parse_args(argv)
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    start = time.perf_counter()
    if args.stage == "vae":
        vae = train_vae(args.steps or 800, args.batch_size, seed=args.seed)
        out = args.out or args.base
        vae.save_pretrained(out / "vae", safe_serialization=True)
        print(f"VAE saved to {out / 'vae'} in {time.perf_counter() - start:.0f} s")
    elif args.stage == "base":
        from diffusers import AutoencoderKL

        vae = AutoencoderKL.from_pretrained(args.base / "vae", use_safetensors=True)
        text_encoder, unet, tokenizer = train_base(vae, args.steps or 2600, args.batch_size, seed=args.seed)
        save_base(vae, text_encoder, unet, tokenizer, args.out or args.base)
        print(f"base model saved to {args.out or args.base} in {time.perf_counter() - start:.0f} s")
    elif args.stage == "controlnet":
        controlnet, log = train_controlnet(args.base, args.steps or 3400, args.batch_size, seed=args.seed, init=args.init, checkpoint_dir=args.checkpoints,
                                           on_validation=lambda s, v, _: print(f"step {s}: validation IoU {v:.3f}", flush=True))
        out = args.out or CONTROLNET_DIR
        controlnet.save_pretrained(out, safe_serialization=True)
        curve = {"how": f"python -m helpers.train controlnet --steps {args.steps or 3400} --seed {args.seed} --init {args.init}",
                 "machine": f"{os.cpu_count()} CPU cores, torch {torch.__version__}, {torch.get_num_threads()} threads",
                 "wall_seconds": time.perf_counter() - start, "log": asdict(log)}
        (out.parent / f"{out.name}-curve.json").write_text(json.dumps(curve))
        print(f"ControlNet saved to {out}; jump (IoU >= 0.5) at step {log.jump_step()}; {time.perf_counter() - start:.0f} s")
    else:
        for key, value in evaluate(args.base, args.out or CONTROLNET_DIR).items():
            print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")


if __name__ == "__main__":
    main()
