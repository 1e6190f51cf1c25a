"""How long each notebook takes in hub mode on Colab's free T4: an estimate (no T4 is at hand here), stated as one.

The work is counted, the speed is published:

* **Work** (``data/hub-work-cpu.json``, written by ``python tools/rehearse.py --count-work``): every notebook run
  in hub mode against the Hub-shaped cache with its own steps, sweeps and solutions, only the pictures small; a
  counter in the kernel (``tools/work_counter.py``, loaded by the rehearsal) adds up every forward pass of the full-size
  UNet and ControlNets (in 512x512 steps with classifier-free guidance), every VAE decode (in 512x512 pictures) and
  how many full-size models ran. In that run the full-size UNet and ControlNets answer zeros (a real pass takes
  seconds on a CPU; the count needs the calls, not their results), so asserts on pictures may fail there: the
  errors are kept with the count. The work is scaled back to the notebook's own picture size here.
* **Speed** (``T4``): diffusers' own benchmark of a T4 (docs/source/en/optimization/torch2.0.md, "T4 (batch size:
  1)", torch 2.0, float16, no compile): Stable Diffusion 6.9 steps/s, Stable Diffusion + ControlNet 4.89 steps/s.
  A UNet step therefore costs 1/6.9 s and a ControlNet pass the difference; a VAE decode costs what its FLOPs cost
  at the UNet's rate (2.5 TFLOP against 1.61 for a UNet step: ``data/bench/h200_reference.json``). Loading a model
  from the disk onto the GPU is a guess (the download itself is not counted: sizes in ``helpers.hub.ids``).

Notebook 05's benchmarks build their own full-size models on a GPU only, so its counted work (on a CPU) misses
them; ``recipe_seconds`` adds them from ``helpers.recipes.RECIPES`` with the factors below, each a stated guess.
"""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

from helpers.files import data_dir, repository_root

WORK_FILE = data_dir() / "hub-work-cpu.json"

UNET_STEP_S = 1 / 6.9  # diffusers' T4 figure, SD text-to-image, float16, batch 1 (2 latents with guidance)
CONTROLNET_STEP_S = 1 / 4.89 - 1 / 6.9  # SD + ControlNet at 4.89 steps/s, less the UNet's share
VAE_DECODE_S = UNET_STEP_S * 2.5 / 1.61  # FLOPs of one 512x512 decode / of one UNet step with guidance
GUESSES = {
    "unet_load_s": 15.0,  # SD1.5's UNet, text encoder and VAE from Colab's disk onto the GPU in float16 (~2.2 GB)
    "controlnet_load_s": 5.0,  # one ControlNet, ~0.7 GB in float16
    # a T4 multiplies float32 at 8 TFLOP/s, float16 at 65 (tensor cores), and emulates bfloat16 (native from compute
    # capability 8.0 on): both at least 3x slower than float16
    "not_float16_slowdown": 3.0,
    "model_offload_slowdown": 1.8,  # measured on the H200 (1.67 s against 0.92 s per image); PCIe copies
    "sequential_offload_slowdown": 10.0,  # every layer copied to the GPU at every step
    "compile_s": 120.0,  # torch.compile of the UNet: 77 s on the H200 (data/bench/h200_reference.json)
}


def parameters_source(path: Path) -> str:
    """The source of the notebook's ``parameters`` cell (what the work was counted with)."""
    import nbformat

    return next(c.source for c in nbformat.read(path, as_version=4).cells if "parameters" in c.metadata.get("tags", []))


def parameter_values(path: Path) -> dict:
    """The literal values the notebook's ``parameters`` cell assigns, by name, as a learner's run sees them:
    ``quick(2000, 40)`` is 2000 (``helpers.modes.quick``); names assigned otherwise are left out."""
    values = {}
    for node in ast.parse(parameters_source(path)).body:
        if isinstance(node, ast.Assign):
            expression = node.value
            if isinstance(expression, ast.Call) and getattr(expression.func, "id", None) == "quick" and len(expression.args) == 2:
                expression = expression.args[0]
            try:
                value = ast.literal_eval(expression)
            except ValueError:  # another call
                continue
            values.update({t.id: value for t in node.targets if isinstance(t, ast.Name)})
    return values


def save_work(report: dict, folder: Path | None = None, path: Path = WORK_FILE) -> None:
    """Write the denoising work each notebook did in a ``--count-work`` run, with the parameters cell it had, to
    ``path`` (read by ``tools/estimates.py``; a test fails when a notebook's parameters cell has changed since)."""
    folder = folder or repository_root() / "notebooks"
    old = json.loads(path.read_text())["notebooks"] if path.exists() else {}
    counted = {r["notebook"]: {"work": r["work"], "parameters": r["parameters"], "parameters_cell": parameters_source(folder / r["notebook"]),
                               "dry_errors": r.get("dry_errors", [])} for r in report["notebooks"] if not r.get("skipped")}
    saved = {"how": "python tools/rehearse.py --count-work", "date": report["date"], "device": report["device"],
             "units": "one 512x512 denoising step with classifier-free guidance (2 latents of 64x64) of the SD1.5 UNet / a ControlNet, "
                      "counted at the injected picture size",
             "notebooks": {**old, **counted}}
    path.write_text(json.dumps(saved, indent=1) + "\n")
    print(f"denoising work saved to {path}")


def default_side(notebook: Path) -> int:
    """The picture side a notebook uses in hub mode on a GPU by default: its ``SIZE`` or ``RESOLUTION`` parameter
    (``None`` means 512)."""
    values = parameter_values(notebook)
    return next((values[name] or 512 for name in ("SIZE", "RESOLUTION") if name in values), 512)


def saved_work(path: Path = WORK_FILE) -> dict:
    """The counted work per notebook (``data/hub-work-cpu.json``), by notebook file name."""
    return json.loads(path.read_text())["notebooks"]


def recipe_seconds(repeats: int, steps: int) -> float:
    """Notebook 05's benchmarks on a T4: each recipe that runs there (xformers is not installed on Colab) loads
    full-size models, warms up twice with 3 steps and runs ``repeats`` times, as ``helpers.recipes.run_recipe`` does."""
    from helpers.recipes import RECIPES

    total = 0.0
    for recipe in RECIPES:
        if recipe.needs_xformers or not recipe.in_notebook:
            continue
        n = recipe.steps or steps
        denoising = (2 * min(3, n) + (1 if recipe.offload == "sequential" else repeats) * n) * recipe.images_per_prompt
        per_step = UNET_STEP_S + CONTROLNET_STEP_S
        per_step *= GUESSES["not_float16_slowdown"] if recipe.dtype in ("float32", "bfloat16") else 1.0
        per_step *= {"model": GUESSES["model_offload_slowdown"], "sequential": GUESSES["sequential_offload_slowdown"]}.get(recipe.offload, 1.0)
        total += denoising * per_step + GUESSES["unet_load_s"] + GUESSES["controlnet_load_s"] + (GUESSES["compile_s"] if recipe.compile_mode else 0.0)
    return total


def t4_picture_seconds(steps: int = 20, side: int = 512) -> float:
    """One guided ControlNet picture on a T4 in float16: ``steps`` UNet + ControlNet passes and a VAE decode."""
    return (side / 512) ** 2 * (steps * (UNET_STEP_S + CONTROLNET_STEP_S) + VAE_DECODE_S)


def t4_seconds(notebook: str, work: dict | None = None, folder: Path | None = None) -> float | None:
    """Estimated seconds for ``notebook`` (a file name) top to bottom in hub mode on a T4, the download left out;
    ``None`` when its work was never counted (it never uses hub mode)."""
    record = (work if work is not None else saved_work()).get(notebook)
    if record is None:
        return None
    path = (folder or repository_root() / "notebooks") / notebook
    injected = record["parameters"].get("SIZE") or record["parameters"].get("RESOLUTION")
    scale = (default_side(path) / injected) ** 2 if injected else 1.0
    w = record["work"]
    seconds = scale * (w["unet"] * UNET_STEP_S + w["controlnet"] * CONTROLNET_STEP_S + w["vae_decode"] * VAE_DECODE_S)
    seconds += w["unet_models"] * GUESSES["unet_load_s"] + w["controlnet_models"] * GUESSES["controlnet_load_s"]
    if notebook.startswith("05"):  # its benchmarks build their own full-size models, on a GPU only
        values = parameter_values(path)
        seconds += recipe_seconds(values["REPEATS"], values["STEPS"])
    return seconds


def t4_line(notebook: str, work: dict | None = None) -> str:
    """The T4 half of a notebook's **Runs in:** line (the test of the intros compares them)."""
    seconds = t4_seconds(notebook, work)
    if seconds is None:
        return "hub mode changes nothing here"
    about = "under a minute" if seconds < 60 else f"about {math.ceil(seconds / 60)} min"
    return f"on Colab's T4 in hub mode {about}, the first download left out (an estimate, not a measurement: `tools/estimates.py`)"
