"""The base text-to-image model a tiny ControlNet sits on (stages 1 and 2 of ``helpers.tiny.train``), and the
pieces of Stable Diffusion training both stages share with the ControlNet's: seeded batches, the tokenizer of a
world's words, the noise schedule and the noise-prediction loss.

    python -m helpers.tiny.train vae  --world shapes   # train_vae
    python -m helpers.tiny.train base --world shapes   # train_base, save_base
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from helpers.tiny.evaluate import load_base
from helpers.tiny.worlds import CIRCLES, World


def batches(dataset: torch.utils.data.Dataset, batch_size: int, seed: int) -> torch.utils.data.DataLoader:
    """A shuffled, seeded DataLoader (main process: no worker start-up cost on a laptop)."""
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed), drop_last=True)


def forever(loader):
    while True:
        yield from loader


def make_tokenizer(world: World = CIRCLES):
    """A CLIP tokenizer whose vocabulary has a whole-word token for every word of the world's prompts."""
    from helpers.models.tokenizer import clip_tokenizer

    return clip_tokenizer(world.words)


def tokenize(tokenizer, prompts: list[str]) -> torch.Tensor:
    return tokenizer(prompts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt").input_ids


def noise_scheduler():
    """Stable Diffusion's training noise schedule (scaled-linear betas, 1000 steps: ``sd15.SCHEDULER_CONFIG``)."""
    from diffusers import DDPMScheduler

    from helpers.models.sd15 import SCHEDULER_CONFIG

    return DDPMScheduler.from_config(SCHEDULER_CONFIG)


def train_vae(steps: int, batch_size: int = 32, lr: float = 1e-3, seed: int = 0, progress: bool = True, world: World = CIRCLES):
    """An ``AutoencoderKL`` trained to reconstruct the world's pictures; its latent scale is set to 1/std."""
    from accelerate import Accelerator
    from diffusers import AutoencoderKL
    from tqdm.auto import tqdm

    accelerator = Accelerator()  # as train_controlnet: `accelerate launch` runs it on GPUs unchanged
    torch.manual_seed(seed)
    vae = AutoencoderKL(**world.vae_config)
    optimizer = torch.optim.AdamW(vae.parameters(), lr=lr)
    vae, optimizer, loader = accelerator.prepare(vae, optimizer, batches(world.dataset(seed=0), batch_size, seed))
    data = forever(loader)
    for _ in tqdm(range(steps), desc="VAE", disable=not progress):
        images = next(data)["pixel_values"]
        posterior = vae.encode(images).latent_dist
        loss = F.mse_loss(vae.decode(posterior.sample()).sample, images) + 1e-6 * posterior.kl().mean()
        optimizer.zero_grad()
        accelerator.backward(loss)
        optimizer.step()
    vae = accelerator.unwrap_model(vae).eval()
    with torch.no_grad():
        latents = torch.cat([vae.encode(next(data)["pixel_values"]).latent_dist.mean for _ in range(4)])
    vae.register_to_config(scaling_factor=float(1.0 / latents.std()))
    return vae


def train_base(vae, steps: int, batch_size: int = 32, lr: float = 1e-3, seed: int = 0, empty_prompt_rate: float = 0.1,
               ema_decay: float = 0.995, progress: bool = True, world: World = CIRCLES, start_from: Path | str | None = None):
    """Train a CLIP text encoder and a UNet together on prompts alone (no outline); return
    ``(text_encoder, unet, tokenizer)`` with their EMA weights. 10% empty prompts teach the
    unconditional prediction that classifier-free guidance needs. ``start_from``: a saved base model to go on
    training (its weights, a fresh optimizer, the EMA starting from them) instead of random weights."""
    from accelerate import Accelerator
    from diffusers import UNet2DConditionModel
    from tqdm.auto import tqdm

    from helpers.models.tokenizer import clip_text_encoder

    accelerator = Accelerator()
    if start_from is not None:
        _, text_encoder, tokenizer, unet = load_base(start_from)
        text_encoder.train(), unet.train()
        torch.manual_seed(seed)
    else:
        torch.manual_seed(seed)
        tokenizer = make_tokenizer(world)
        text_encoder = clip_text_encoder(tokenizer, **world.text_config)
        unet = UNet2DConditionModel(**world.unet_config)
    models = torch.nn.ModuleList([text_encoder, unet])
    # A hand-written EMA with a constant decay: the shipped base models were trained with it. diffusers' EMAModel ramps
    # its decay ((1 + step) / (10 + step)), which would change their recipes (MODEL_CARD.md) for no gain at this size.
    ema = copy.deepcopy(models).requires_grad_(False)
    optimizer = torch.optim.AdamW(models.parameters(), lr=lr)
    scheduler, vae = noise_scheduler(), vae.requires_grad_(False).to(accelerator.device)
    models, optimizer, loader = accelerator.prepare(models, optimizer, batches(world.dataset(seed=0), batch_size, seed))
    text_encoder, unet = accelerator.unwrap_model(models)
    data = forever(loader)
    rng = np.random.default_rng(seed)
    for _ in tqdm(range(steps), desc="base model", disable=not progress):
        batch = next(data)
        prompts = ["" if rng.random() < empty_prompt_rate else p for p in batch["prompt"]]
        loss = diffusion_loss(vae, text_encoder(tokenize(tokenizer, prompts).to(accelerator.device))[0], unet, scheduler, batch["pixel_values"])
        optimizer.zero_grad()
        accelerator.backward(loss)
        optimizer.step()
        with torch.no_grad():
            for averaged, current in zip(ema.parameters(), models.parameters()):
                averaged.lerp_(current.to(averaged.device), 1.0 - ema_decay)
    text_encoder, unet = ema[0].eval(), ema[1].eval()
    return text_encoder, unet, tokenizer


def example_seed(seed: int, step: int, index: int) -> int:
    """The seed of one example's randomness at one step: the same whichever process or batch slice it lands in."""
    return int(np.random.SeedSequence([seed, step, index]).generate_state(1)[0])


def diffusion_loss(vae, text_embeddings, unet, scheduler, images, controlnet=None, conditioning=None, example_seeds=None) -> torch.Tensor:
    """Stable Diffusion's training loss: predict the noise added to the latents at a random timestep.

    ``example_seeds`` (one per image, ``example_seed``): each example draws its VAE sample, its noise and its timestep
    from its own generator, so a batch split over several processes sees the same numbers as one process (without
    them, the process's global generator is used)."""
    with torch.no_grad():
        posterior = vae.encode(images).latent_dist
    levels = scheduler.config.num_train_timesteps
    if example_seeds is None:
        latents = posterior.sample() * vae.config.scaling_factor
        noise, timesteps = torch.randn_like(latents), torch.randint(0, levels, (latents.shape[0],))
    else:  # per example, in this order: the VAE sample, the noise, the timestep
        generators = [torch.Generator().manual_seed(s) for s in example_seeds]
        draw = lambda shape: torch.stack([torch.randn(shape, generator=g) for g in generators]).to(images.device)  # noqa: E731
        latents = (posterior.mean + posterior.std * draw(posterior.mean.shape[1:])) * vae.config.scaling_factor
        noise = draw(latents.shape[1:])
        timesteps = torch.stack([torch.randint(0, levels, (), generator=g) for g in generators]).to(images.device)
    noisy = scheduler.add_noise(latents, noise, timesteps)
    down = mid = None
    if controlnet is not None:
        down, mid = controlnet(noisy, timesteps, text_embeddings, controlnet_cond=conditioning, return_dict=False)
    prediction = unet(noisy, timesteps, text_embeddings, down_block_additional_residuals=down, mid_block_additional_residual=mid).sample
    return F.mse_loss(prediction, noise)


def save_base(vae, text_encoder, unet, tokenizer, out: Path) -> None:
    """Save as a Stable Diffusion folder (safetensors), loadable by ``from_pretrained`` like SD1.5."""
    from helpers.models.assembly import assemble_pipeline

    assemble_pipeline(vae, text_encoder, tokenizer, unet, scheduler="pndm").save_pretrained(out, safe_serialization=True)
