"""One ControlNet trained twice, by one process and by two processes sharing each batch (accelerate over gloo, on CPUs):
the two must end with the same weights. ``make train-distributed`` runs it and writes ``artifacts/distributed.json``.

    python tools/train_distributed.py [--steps 50] [--batch-size 16] [--world circles] [--out artifacts/distributed.json]

Both runs use ``python -m helpers.tiny.train controlnet`` unchanged: the second through ``accelerate launch
--config_file tools/accelerate/cpu-2-processes.yaml`` with ``ACCELERATE_USE_CPU=1``. The global batch is the same;
each process takes half of it, and every example's randomness is seeded by the example and the step
(``helpers.tiny.train.train_controlnet``). The difference left is the order in which floats are summed.
Exit status 1 when the second run did not form a group of 2 or the weights differ by more than ``--tolerance``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tools" / "accelerate" / "cpu-2-processes.yaml"
PROCESSES = 2


def train(out: Path, processes: int, steps: int, batch_size: int, world: str) -> dict:
    """Train into ``out`` with ``processes`` processes; the curve the trainer wrote beside it, with the wall time."""
    args = ["-m", "helpers.tiny.train", "controlnet", "--world", world, "--steps", str(steps), "--batch-size", str(batch_size),
            "--validate-every", "0", "--out", str(out)]
    env = {**os.environ, "TRANSFORMERS_VERBOSITY": "error"}
    if processes == 1:
        command = [sys.executable, *args]
    else:  # --num_processes must match the config's; ACCELERATE_USE_CPU=1 makes the group form on CPUs
        command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(CONFIG), "--num_processes", str(processes), *args]
        env["ACCELERATE_USE_CPU"] = "1"
    began = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=out.parent, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    curve = json.loads(out.with_name(f"{out.name}-curve.json").read_text())
    return {**curve["log"], "wall_seconds": time.perf_counter() - began}


def relative_difference(a: Path, b: Path) -> float:
    """||a - b|| / ||a|| over every parameter of the two saved ControlNets, as one vector."""
    import torch
    from safetensors.torch import load_file

    first, second = load_file(a / "diffusion_pytorch_model.safetensors"), load_file(b / "diffusion_pytorch_model.safetensors")
    if first.keys() != second.keys():
        raise SystemExit(f"the two ControlNets have different parameters: {sorted(first.keys() ^ second.keys())[:5]}")
    va = torch.cat([first[k].double().flatten() for k in sorted(first)])
    vb = torch.cat([second[k].double().flatten() for k in sorted(first)])
    return float((va - vb).norm() / va.norm())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=16, help="the global batch, split between the processes")
    parser.add_argument("--world", default="circles")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "distributed.json")
    args = parser.parse_args(argv)
    runs = {}
    with tempfile.TemporaryDirectory(prefix="controlnet-distributed-") as folder:
        for processes in (1, PROCESSES):
            out = Path(folder) / f"{processes}-process"
            log = train(out, processes, args.steps, args.batch_size, args.world)
            runs[processes] = {"processes": log["processes"], "steps": len(log["step"]), "seconds_per_step": log["train_seconds"] / len(log["step"]),
                               "wall_seconds": round(log["wall_seconds"], 1), "final_loss": log["loss"][-1]}
            print(f"{processes} process(es) asked, {log['processes']} in the group: {runs[processes]['seconds_per_step']:.3f} s per step,"
                  f" {log['wall_seconds']:.0f} s in all", flush=True)
        difference = relative_difference(Path(folder) / "1-process", Path(folder) / f"{PROCESSES}-process")
    result = {
        "how": f"python tools/train_distributed.py --steps {args.steps} --batch-size {args.batch_size} --world {args.world}",
        "machine": f"{os.cpu_count()} CPU cores",
        "processes": runs[PROCESSES]["processes"],
        "relative_parameter_difference": difference,
        "goal": f"<= {args.tolerance:g}",
        "runs": [runs[1], runs[PROCESSES]],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"relative parameter difference, 1 vs {PROCESSES} processes: {difference:.2e} (goal <= {args.tolerance:g}); written to {args.out}")
    ok = result["processes"] == PROCESSES and difference <= args.tolerance
    if not ok:
        print(f"FAILED: {result['processes']} process(es) in the group, difference {difference:.2e}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
