"""Measuring for the benchmarks (``helpers.bench``): what machine it is, how long set-up, each notebook and the
tiny pipeline take, how many FLOPs one denoising step costs, how fast the device multiplies matrices, and
full-size SD1.5 + ControlNet built from configs (random weights, nothing downloaded) so that a GPU can be
timed at the real size.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

from .files import NoCheckoutError, repository_root

PROMPT = "a portrait, best quality, extremely detailed"


# ---------------------------------------------------------------------------------------------------
# Overview: set-up, notebooks, tiny pipeline
# ---------------------------------------------------------------------------------------------------


def setup_seconds() -> float | None:
    """Seconds ``make setup`` took, as written in the venv's stamp file (None if unknown)."""
    try:
        return float((repository_root() / ".venv" / ".installed").read_text().split()[0])
    except (OSError, ValueError, IndexError, NoCheckoutError):
        return None


def time_notebooks(folder: Path | None = None, only: list[str] | None = None) -> dict[str, float]:
    """Execute every numbered notebook (or those whose number is in ``only``) in a fresh kernel, in its own
    folder, as a learner's Run All does; seconds per notebook."""
    import nbformat
    from nbclient import NotebookClient

    folder = folder or repository_root() / "notebooks"
    times = {}
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        if only and path.name[:2] not in only:
            continue
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
        times[path.name] = time.perf_counter() - start
    return times


# How `make test` runs a notebook (the Makefile's TEST_ENV and its one torch thread per worker; a test keeps the two
# the same), and the time each notebook may take that way (issue: "each under 60 s in CI mode").
CI_ENV = {"CONTROLNET_TUTORIAL_MODE": "tiny", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error", "CONTROLNET_TUTORIAL_QUICK": "1",
          "OMP_NUM_THREADS": "1"}
CI_NOTEBOOK_BUDGET_S = 60.0


def ci_notebooks(only: list[str] | None = None, budget_s: float = CI_NOTEBOOK_BUDGET_S, folder: Path | None = None) -> dict:
    """Every numbered notebook in ``folder`` (or those in ``only``) executed as ``make test`` executes it (``CI_ENV``: tiny mode,
    CI's short settings, one torch thread), one after the other in fresh kernels, nothing else running; seconds
    per notebook against ``budget_s``. Under ``make test`` itself two workers and the hub rehearsal share the cores,
    so pytest's durations there are longer than these."""
    from unittest import mock

    import torch

    with mock.patch.dict(os.environ, CI_ENV):  # the kernels inherit them; put back as they were afterwards
        times = time_notebooks(folder, only)
    over = [name for name, seconds in times.items() if seconds > budget_s]
    for name, seconds in times.items():
        print(f"notebook {name:<32} {seconds:6.1f} s{'  OVER the budget' if name in over else ''}")
    print(f"slowest {max(times.values()):.1f} s; budget {budget_s:.0f} s per notebook: {'over in ' + ', '.join(over) if over else 'all within'}")
    machine = {**machine_info(torch.device("cpu")), "cpu": f"{platform.machine()}, {os.cpu_count()} cores, 1 torch thread per kernel"}
    return {"date": time.strftime("%Y-%m-%d %H:%M"), **machine, "how": "python -m helpers.bench ci-notebooks",
            "settings": CI_ENV, "budget_s": budget_s, "notebooks_s": times, "over_budget": over}


def time_tiny_pipeline(sizes: tuple[int, ...] = (64, 256), steps: int = 20, repeats: int = 3) -> dict[int, float]:
    """Best-of-``repeats`` seconds for one image of ``steps`` UniPC steps at each square size, tiny models."""
    from PIL import Image

    from .pipeline import generate, load_controlnet_pipeline

    pipe = load_controlnet_pipeline("tiny", verbose=False)
    pipe.set_progress_bar_config(disable=True)
    results = {}
    for size in sizes:
        control = Image.new("RGB", (size, size))
        generate(pipe, "warm-up", control, steps=2)
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            generate(pipe, PROMPT, control, steps=steps)
            best = min(best, time.perf_counter() - start)
        results[size] = best
    return results


def overview(skip_notebooks: bool = False, only: list[str] | None = None) -> dict:
    import torch

    figures: dict = {"date": time.strftime("%Y-%m-%d"), **machine_info(torch.device("cpu"))}
    setup = setup_seconds()
    figures["setup_s"] = setup
    print(f"set-up (make setup): {'unknown' if setup is None else f'{setup:.0f} s'}")
    if not skip_notebooks:
        figures["notebooks_s"] = time_notebooks(only=only)
        for name, seconds in figures["notebooks_s"].items():
            print(f"notebook {name:<32} {seconds:6.1f} s")
    figures["tiny_pipeline_20_unipc_steps_s"] = time_tiny_pipeline()
    for size, seconds in figures["tiny_pipeline_20_unipc_steps_s"].items():
        print(f"tiny pipeline, 20 UniPC steps, {size}x{size}: {seconds:.2f} s")
    return figures


# ---------------------------------------------------------------------------------------------------
# Devices and pipelines at full size
# ---------------------------------------------------------------------------------------------------


def machine_info(device) -> dict:
    import diffusers
    import torch
    import transformers

    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "transformers": transformers.__version__,
        "cpu": f"{platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads",
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
    return info


def build_full_size_pipeline(device, dtype):
    """SD1.5 + Canny ControlNet at full size with random weights, built on ``device`` (nothing downloaded).

    The configs are those of ``stable-diffusion-v1-5/stable-diffusion-v1-5`` and
    ``lllyasviel/sd-controlnet-canny`` (``helpers.hub_cache``); the tokenizer is the tiny one (tokenization
    costs nothing) and there is no safety checker (the benchmark times the generation itself).
    """
    import torch
    from diffusers import AutoencoderKL, ControlNetModel, PNDMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from .assembly import assemble_pipeline
    from .sd15 import configs
    from .tiny import clip_tokenizer

    sd15, _ = configs("full")
    tokenizer = clip_tokenizer()
    torch.manual_seed(0)
    with torch.device(device):  # initialise directly on the GPU: seconds instead of a minute
        unet = UNet2DConditionModel.from_config(sd15["unet/config.json"])
        controlnet = ControlNetModel.from_unet(unet)
        vae = AutoencoderKL.from_config(sd15["vae/config.json"])
        text_encoder = CLIPTextModel(CLIPTextConfig.from_dict(sd15["text_encoder/config.json"]))
    scheduler = PNDMScheduler.from_config(sd15["scheduler/scheduler_config.json"])
    return assemble_pipeline(vae, text_encoder, tokenizer, unet, scheduler, controlnet).to(device=device, dtype=dtype)


def load_pipeline(size: str, device, dtype, scheduler: str):
    """A fresh pipeline for one recipe: the tiny one through the normal loader, or full size from configs."""
    import torch

    if size == "tiny":
        from .pipeline import load_controlnet_pipeline

        pipe = load_controlnet_pipeline("tiny", device=str(device), dtype=dtype, scheduler=scheduler, verbose=False)
    else:
        pipe = build_full_size_pipeline(device, dtype)
        if scheduler == "unipc":
            from diffusers import UniPCMultistepScheduler

            pipe.scheduler = UniPCMultistepScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return pipe


def flops_per_step(pipe, resolution: int) -> float:
    """FLOPs of one denoising step with classifier-free guidance (UNet + ControlNet at batch 2),
    counted with ``torch.utils.flop_counter`` on the meta device: shapes only, no compute."""
    import copy

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    latent = resolution // 8
    unet, controlnet = copy.deepcopy(pipe.unet).to("meta"), copy.deepcopy(pipe.controlnet).to("meta")
    x = torch.empty(2, 4, latent, latent, device="meta")
    text = torch.empty(2, 77, unet.config.cross_attention_dim, device="meta")
    hint = torch.empty(2, 3, resolution, resolution, device="meta")
    t = torch.tensor([500, 500], device="meta")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        down, mid = controlnet(x, t, encoder_hidden_states=text, controlnet_cond=hint, return_dict=False)
        unet(x, t, encoder_hidden_states=text, down_block_additional_residuals=down, mid_block_additional_residual=mid)
    return float(counter.get_total_flops())


def matmul_peak(device, dtype) -> float:
    """Measured FLOP/s of a large square matmul in ``dtype``: the practical peak of this device."""
    import torch

    n = 8192 if device.type == "cuda" else 1024
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    repeats = 20 if device.type == "cuda" else 5
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    if device.type == "cuda":
        torch.cuda.synchronize()
    return 2 * n**3 * repeats / (time.perf_counter() - start)
