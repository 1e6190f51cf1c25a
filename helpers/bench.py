"""Benchmarks that print figures (never timed assertions): ``python -m helpers.bench`` or ``make bench``.

Prints the set-up time recorded by ``make setup``, each notebook's execution time in tiny mode, and the
tiny pipeline's time for 20 UniPC steps at 64x64 and 256x256. ``--json PATH`` saves the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETUP_STAMP = ROOT / ".venv" / ".installed"


def setup_seconds() -> float | None:
    """Seconds ``make setup`` took, as written in the venv's stamp file (None if unknown)."""
    try:
        return float(SETUP_STAMP.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def time_notebooks(folder: Path = ROOT / "notebooks") -> dict[str, float]:
    """Execute every numbered notebook in a fresh kernel, in its own folder; seconds per notebook."""
    import nbformat
    from nbclient import NotebookClient

    times = {}
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
        times[path.name] = time.perf_counter() - start
    return times


def time_tiny_pipeline(sizes: tuple[int, ...] = (64, 256), steps: int = 20, repeats: int = 3) -> dict[int, float]:
    """Best-of-``repeats`` seconds for one image of ``steps`` UniPC steps at each square size, tiny models."""
    from PIL import Image

    from .pipeline import generate, load_controlnet_pipeline

    pipe = load_controlnet_pipeline("tiny")
    pipe.set_progress_bar_config(disable=True)
    results = {}
    for size in sizes:
        control = Image.new("RGB", (size, size))
        generate(pipe, "warm-up", control, steps=2)
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            generate(pipe, "a portrait, best quality", control, steps=steps)
            best = min(best, time.perf_counter() - start)
        results[size] = best
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-notebooks", action="store_true", help="do not execute the notebooks")
    parser.add_argument("--json", type=Path, help="also save the figures to this JSON file")
    args = parser.parse_args(argv)
    os.environ.setdefault("CONTROLNET_TUTORIAL_MODE", "tiny")

    import torch

    figures: dict = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}",
        "torch": torch.__version__,
    }
    setup = setup_seconds()
    figures["setup_s"] = setup
    print(f"set-up (make setup): {'unknown' if setup is None else f'{setup:.0f} s'}")
    if not args.skip_notebooks:
        figures["notebooks_s"] = time_notebooks()
        for name, seconds in figures["notebooks_s"].items():
            print(f"notebook {name:<32} {seconds:6.1f} s")
    figures["tiny_pipeline_20_unipc_steps_s"] = time_tiny_pipeline()
    for size, seconds in figures["tiny_pipeline_20_unipc_steps_s"].items():
        print(f"tiny pipeline, 20 UniPC steps, {size}x{size}: {seconds:.2f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
        print(f"saved {args.json}")
    return figures


if __name__ == "__main__":
    main()
