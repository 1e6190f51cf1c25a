"""The speed and memory recipes of notebook 05, each run the same way: a fresh pipeline, the recipe's switches, warm-up,
then the best of a few timed pictures; seconds per image, denoising steps per second, peak GPU memory, and the fraction
of the device's measured matmul peak reached. At tiny size through the normal loader, or at full Stable Diffusion 1.5 +
ControlNet size with random weights (timing depends on the architecture, not on the weights; nothing is downloaded).

The benchmark command (``python tools/bench.py recipes``, in the repository) runs them all and saves the tables
that ship in ``data/bench/``; notebook 05 runs a few of them itself and shows the saved ones.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from helpers.files import data_dir

PROMPT = "a portrait, best quality, extremely detailed"


@dataclass(frozen=True)
class Recipe:
    """One way to run the pipeline. ``dtype="auto"`` means the blog's choice: float16 on a GPU, float32 on a CPU."""

    name: str
    description: str
    dtype: str = "auto"
    scheduler: str = "unipc"
    steps: int | None = None  # None: the run's --steps
    attention: str = "sdpa"
    offload: str | None = None  # "model" or "sequential"
    images_per_prompt: int = 1
    compile_mode: str | None = None  # helpers.optimizations.compile_for_gpu with this mode (channels_last + torch.compile)
    recommended: bool = False  # apply helpers.optimizations.apply_recommended_recipe instead of the switches
    fuse_controlnet: bool = True  # with recommended: fuse the ControlNet's QKV projections too
    in_notebook: bool = True  # notebook 05 runs it (tools/estimates.py counts its time); False: the benchmark command only
    needs_gpu: bool = False
    needs_xformers: bool = False


RECIPES = [
    Recipe("fp32-pndm-50", "float32, default scheduler (PNDM), 50 steps", dtype="float32", scheduler="default", steps=50),
    Recipe("blog", "the blog: fp16 on GPU, UniPC, SDPA"),
    Recipe("blog-fp32", "the blog in float32", dtype="float32"),
    Recipe("blog-fp16", "the blog in float16 (GPU only)", dtype="float16", needs_gpu=True),
    Recipe("blog-bf16", "the blog in bfloat16", dtype="bfloat16"),
    Recipe("blog-plain-attention", "the blog with the unfused attention processor", attention="plain"),
    Recipe("blog-xformers", "the blog with xformers attention", attention="xformers", needs_gpu=True, needs_xformers=True),
    Recipe("blog-model-offload", "the blog + enable_model_cpu_offload()", offload="model", needs_gpu=True),
    Recipe("blog-sequential-offload", "the blog + enable_sequential_cpu_offload()", offload="sequential", needs_gpu=True),
    Recipe("blog-4-per-prompt", "the blog, 4 images per prompt (figures per image)", images_per_prompt=4),
    Recipe("blog-compile", "the blog + channels_last + torch.compile (default mode)", compile_mode="default", needs_gpu=True),
    Recipe("blog-compile-cudagraphs", "the blog + channels_last + torch.compile with CUDA graphs", compile_mode="reduce-overhead", needs_gpu=True),
    Recipe("recommended", "helpers.optimizations.apply_recommended_recipe", recommended=True),
    Recipe("recommended-controlnet-unfused", "the recommended recipe with the ControlNet's QKV projections left unfused",
           recommended=True, fuse_controlnet=False, needs_gpu=True, in_notebook=False),
]
BASELINE = "blog"


@dataclass
class Result:
    recipe: str
    description: str
    status: str = "ok"  # or "skipped: ..." / "failed: ..."
    dtype: str = ""
    steps: int = 0
    seconds_per_image: float | None = None
    steps_per_second: float | None = None
    peak_gib: float | None = None
    peak_fraction: float | None = None
    applied: list[str] = field(default_factory=list)


def results_from_table(table: dict) -> list[Result]:
    """The ``results`` of a saved table as ``Result`` objects (fields a table lacks stay empty)."""
    fields = Result.__dataclass_fields__
    return [Result(**{k: v for k, v in row.items() if k in fields}) for row in table["results"]]


def saved_tables(folder: Path | None = None) -> dict[str, dict]:
    """Benchmark tables shipped with the package (``data/bench/*.json``), by file name."""
    return {path.name: json.loads(path.read_text()) for path in sorted((folder or data_dir() / "bench").glob("*.json"))}


def run_recipe(recipe: Recipe, size: str, device, resolution: int, steps: int, repeats: int, peaks: dict, step_flops: dict) -> Result:
    """Run one recipe; ``peaks`` and ``step_flops`` cache the device's matmul peaks and each resolution's FLOPs per step
    across recipes. A failing recipe comes back with its error in ``status`` (the others' figures are kept)."""
    import torch
    from PIL import Image

    from helpers.devices import pick_dtype
    from helpers.optimizations import apply_optimizations, apply_recommended_recipe, compile_for_gpu, xformers_available
    from helpers.pipeline import generate

    result = Result(recipe.name, recipe.description)
    if recipe.needs_gpu and device.type != "cuda":
        result.status = "skipped: needs a GPU"
        return result
    if recipe.needs_xformers and not xformers_available():
        result.status = "skipped: xformers not installed"
        return result
    dtype = pick_dtype(device, "fastest" if recipe.recommended else None if recipe.dtype == "auto" else recipe.dtype)
    result.dtype, result.steps = str(dtype).removeprefix("torch."), recipe.steps or steps
    try:
        pipe = load_pipeline(size, device, dtype, recipe.scheduler)
        if recipe.recommended:
            result.applied = apply_recommended_recipe(pipe, verbose=False, fuse_controlnet=recipe.fuse_controlnet)
        else:
            result.applied = apply_optimizations(pipe, attention=recipe.attention, verbose=False)
            if recipe.compile_mode:
                result.applied += compile_for_gpu(pipe, recipe.compile_mode)
            if recipe.offload == "model":
                pipe.enable_model_cpu_offload()
            elif recipe.offload == "sequential":
                pipe.enable_sequential_cpu_offload()
        control = Image.new("RGB", (resolution, resolution))
        prompts = [PROMPT]
        marks: list[float] = []

        def mark(_pipe, _step, _t, kwargs):
            if device.type == "cuda":
                torch.cuda.synchronize()
            marks.append(time.perf_counter())
            return kwargs

        # Hand-timed, not torch.utils.benchmark.Timer: its timeit() warms up with two full calls of the statement,
        # minutes at full size on a CPU; a recipe warms up with short calls instead.
        def once(n_steps: int) -> float:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            generate(pipe, prompts, control, steps=n_steps, seed=0, num_images_per_prompt=recipe.images_per_prompt, callback_on_step_end=mark)
            if device.type == "cuda":
                torch.cuda.synchronize()
            return time.perf_counter() - start

        warmups = 2 if device.type == "cuda" else 1  # GPU: kernels, autotuning, compilation, CUDA graphs
        for _ in range(warmups):
            once(min(3, result.steps))
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        best, best_rate = float("inf"), 0.0
        for _ in range(1 if recipe.offload == "sequential" else repeats):
            marks.clear()
            seconds = once(result.steps)
            best = min(best, seconds)
            if len(marks) > 1:
                best_rate = max(best_rate, (len(marks) - 1) / (marks[-1] - marks[0]))
        result.seconds_per_image = best / recipe.images_per_prompt
        result.steps_per_second = best_rate * recipe.images_per_prompt if best_rate else None
        if device.type == "cuda":
            result.peak_gib = torch.cuda.max_memory_allocated(device) / 2**30
        if not peaks:
            # The device's best: bf16/fp16 tensor cores on a GPU; float32 on a CPU (its fastest matmul).
            candidates = [torch.float32] + ([torch.bfloat16, torch.float16] if device.type == "cuda" else [])
            peaks.update({d: matmul_peak(device, d) for d in candidates})
        if resolution not in step_flops:
            step_flops[resolution] = flops_per_step(pipe, resolution)
        flops_per_image = step_flops[resolution] * result.steps  # the VAE and text encoder are left out
        result.peak_fraction = flops_per_image / result.seconds_per_image / max(peaks.values())
        pipe = None  # free the models before the next recipe
    except Exception as err:  # one failing recipe must not lose the others' figures
        result.status = f"failed: {type(err).__name__}: {str(err).splitlines()[0][:200]}"
    finally:
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return result


def format_table(results: list[Result]) -> str:
    """The results as a Markdown table, with the speed-up over the baseline recipe."""
    baseline = next((r for r in results if r.recipe == BASELINE and r.seconds_per_image), None)
    lines = [
        "| recipe | dtype | steps | s/image | speed-up vs blog | steps/s | peak GiB | % of best matmul FLOP/s | status |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def fmt(value, pattern):
        return "" if value is None else pattern.format(value)

    for r in results:
        speedup = baseline.seconds_per_image / r.seconds_per_image if baseline and r.seconds_per_image else None
        lines.append(
            f"| {r.recipe} | {r.dtype} | {r.steps or ''} | {fmt(r.seconds_per_image, '{:.3f}')} | {fmt(speedup, '{:.2f}x')} | "
            f"{fmt(r.steps_per_second, '{:.1f}')} | {fmt(r.peak_gib, '{:.2f}')} | {fmt(r.peak_fraction and 100 * r.peak_fraction, '{:.1f}')} | {r.status} |"
        )
    return "\n".join(lines)


def load_pipeline(size: str, device, dtype, scheduler: str):
    """A fresh pipeline for one recipe: the tiny one through the normal loader, or full size from configs."""
    import torch

    if size == "tiny":
        from helpers.pipeline import load_controlnet_pipeline

        pipe = load_controlnet_pipeline("tiny", device=str(device), dtype=dtype, scheduler=scheduler, verbose=False)
    else:
        from helpers.models.assembly import full_size_pipeline

        pipe = full_size_pipeline(device, dtype)
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
    """Measured FLOP/s of a large square matmul in ``dtype``: the practical peak of this device
    (``torch.utils.benchmark.Timer``: warm-up and CUDA synchronisation included)."""
    import torch
    from torch.utils.benchmark import Timer

    n = 8192 if device.type == "cuda" else 1024
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    seconds = Timer("a @ b", globals={"a": a, "b": b}).timeit(20 if device.type == "cuda" else 5).mean
    return 2 * n**3 / seconds
