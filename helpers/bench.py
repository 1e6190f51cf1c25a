"""Benchmarks that print figures (never timed assertions).

``python -m helpers.bench`` (or ``make bench``): the set-up time recorded by ``make setup``, each
notebook's execution time in tiny mode, and the tiny pipeline's time for 20 UniPC steps at 64x64 and
256x256.

``python -m helpers.bench ci-notebooks``: each notebook executed as ``make test`` executes it (tiny mode, CI's
short settings, one torch thread), against the 60 s budget per notebook.

``python -m helpers.bench recipes``: the speed/memory recipes of notebook 05 side by side in one process,
at tiny size or at full Stable Diffusion 1.5 + ControlNet size with random weights (timing depends on
the architecture, not on the weights; nothing is downloaded). For each recipe: seconds per image,
denoising steps per second, peak GPU memory, and the fraction of the device's measured matmul peak
reached. The full-size GPU run is one command::

    python -m helpers.bench --json data/bench/gpu_full.json recipes --size full --device cuda

(``--only blog,recommended`` runs a subset; compiling recipes take a minute or two each.)
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .files import data_dir
from .measure import PROMPT, ci_notebooks, flops_per_step, load_pipeline, machine_info, matmul_peak, overview

# ---------------------------------------------------------------------------------------------------
# Recipes
# ---------------------------------------------------------------------------------------------------


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
    in_notebook: bool = True  # notebook 05 runs it (helpers.estimates counts its time); False: the benchmark command only
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
    import torch
    from PIL import Image

    from .devices import pick_dtype
    from .optimizations import apply_optimizations, apply_recommended_recipe, compile_for_gpu, xformers_available
    from .pipeline import generate

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


def recipes(size: str, device_name: str | None, resolution: int | None, steps: int, repeats: int, only: list[str] | None) -> dict:
    from .devices import pick_device

    device = pick_device(device_name)
    resolution = resolution or (512 if size == "full" else 64)
    chosen = [r for r in RECIPES if not only or r.name in only]
    if only and len(chosen) != len(only):
        known = ", ".join(r.name for r in RECIPES)
        raise SystemExit(f"Unknown recipe in {only}; known: {known}")
    print(f"recipes at {size} size, {resolution}x{resolution}, {steps} steps, CFG 7.5, on {device} ({machine_info(device).get('gpu', 'CPU')})")
    peaks: dict = {}
    step_flops: dict = {}
    results = []
    for recipe in chosen:
        start = time.perf_counter()
        results.append(run_recipe(recipe, size, device, resolution, steps, repeats, peaks, step_flops))
        print(f"  {recipe.name:<26} {results[-1].status:<40} ({time.perf_counter() - start:.0f} s)", flush=True)
    table = format_table(results)
    print()
    print(table)
    flops = next(iter(step_flops.values()), None)
    if flops:
        print(f"\none denoising step with CFG (UNet + ControlNet, batch 2): {flops / 1e9:.3f} GFLOP")
    for dtype, peak in peaks.items():
        print(f"measured matmul rate, {str(dtype).removeprefix('torch.')}: {peak / 1e12:.3f} TFLOP/s")
    base = next((r for r in results if r.recipe == BASELINE and r.seconds_per_image), None)
    best = next((r for r in results if r.recipe == "recommended" and r.seconds_per_image), None)
    if base and best:
        memory = "" if best.peak_gib is None else f", peak memory {best.peak_gib:.2f} GiB vs {base.peak_gib:.2f} GiB"
        print(f"recommended recipe vs blog recipe: {base.seconds_per_image / best.seconds_per_image:.2f}x faster per image{memory}")
    return {
        "date": time.strftime("%Y-%m-%d"),
        "size": size,
        "resolution": resolution,
        "steps": steps,
        "guidance_scale": 7.5,
        "device": str(device),
        **machine_info(device),
        "step_gflop": None if not flops else flops / 1e9,
        "matmul_peak_tflops": {str(k).removeprefix("torch."): v / 1e12 for k, v in peaks.items()},
        "results": [asdict(r) for r in results],
        "table": table,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m helpers.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also save the figures to this JSON file")
    sub = parser.add_subparsers(dest="command")
    over = sub.add_parser("overview", help="set-up time, notebooks, tiny pipeline (the default)")
    over.add_argument("--skip-notebooks", action="store_true", help="do not execute the notebooks")
    over.add_argument("--notebooks", default=None, help="comma-separated notebook numbers to time, e.g. 00,01 (default: all)")
    ci = sub.add_parser("ci-notebooks", help="each notebook as make test runs it, against the 60 s budget")
    ci.add_argument("--notebooks", default=None, help="comma-separated notebook numbers, e.g. 04,06 (default: all)")
    rec = sub.add_parser("recipes", help="the optimization recipes side by side")
    rec.add_argument("--size", choices=("tiny", "full"), default="tiny")
    rec.add_argument("--device", default=None, help="cuda or cpu (default: cuda when present)")
    rec.add_argument("--resolution", type=int, default=None, help="image side in pixels (default: 512 full, 64 tiny)")
    rec.add_argument("--steps", type=int, default=20)
    rec.add_argument("--repeats", type=int, default=3)
    rec.add_argument("--only", default=None, help="comma-separated recipe names")
    args = parser.parse_args(argv)
    os.environ.setdefault("CONTROLNET_TUTORIAL_MODE", "tiny")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    if args.command == "recipes":
        only = args.only.split(",") if args.only else None
        figures = recipes(args.size, args.device, args.resolution, args.steps, args.repeats, only)
    elif args.command == "ci-notebooks":
        figures = ci_notebooks(args.notebooks.split(",") if args.notebooks else None)
    else:
        notebooks = getattr(args, "notebooks", None)
        figures = overview(getattr(args, "skip_notebooks", False), notebooks.split(",") if notebooks else None)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")
        print(f"saved {args.json}")
    return figures


if __name__ == "__main__":
    main()
