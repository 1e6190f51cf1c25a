"""``make rehearse``: the learner's path, then every notebook in hub mode, offline, against the Hub-shaped cache;
time and peak memory per notebook.

**The learner's path** (``tools/learner_path.py``; ``--in-place`` leaves it out): a clean clone, a fresh virtual
environment with its own kernel, and each notebook's real first cell (the Colab install cell, which nbclient would
skip by its ``skip-execution`` tag) run against a stand-in ``google.colab``: it installs the package non-editable
from the repository's address (redirected to the clone), and a check cell proves that ``helpers`` and its data come
from that install. Notebook 00 runs its install cell twice (it must be safe to repeat). Then every notebook runs
from a folder outside the clone: in hub mode, and 06, 07, 08 and 09 (whose tiny worlds are the shipped or self-made models) in tiny mode, with the
Chinese 00 (its catalogs and font from the installed package).

Each notebook runs in a fresh kernel, from a working folder other than its own, with
``CONTROLNET_TUTORIAL_MODE=hub``, ``HF_HUB_OFFLINE=1`` and ``HF_HUB_CACHE`` pointing at the cache that
``tools/hub_cache.py`` writes (SD1.5 + the Canny ControlNet at full size, random weights): the code a
learner runs in hub mode, at the real sizes. On a CPU, parameters that keep the run short (image size,
steps) are injected after each notebook's ``parameters`` cell with papermill, as a teacher would,
never by editing the notebook; on a GPU the notebooks' own 512 px defaults run.

For each notebook it records ok/failed, seconds, the kernel's peak RSS, and on a GPU the peak memory
the kernel process held on the device (``nvidia-smi``, CUDA context included). Budgets: a free Colab
machine (about 12.7 GB of RAM, a 15 GB T4). The table goes to ``artifacts/rehearsal.json`` and the
executed notebooks to ``artifacts/rehearsal/``. Exit status 1 when a notebook fails or breaks a budget.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from unittest import mock

import learner_path  # tools/ is on the path: scripts run from it, tests/conftest.py adds it
from estimates import WORK_FILE, save_work
from run_notebook import client, prepared

from helpers.modes import QUICK_ENV

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = ROOT / "artifacts"

RSS_BUDGET_GB = 12.0  # free Colab: about 12.7 GB of RAM, part of it taken by the system
VRAM_BUDGET_GB = 14.0  # free Colab's T4: 15 GB
# A CPU run at full size: small pictures, few steps (the code paths are the same as at 512 px, 20 steps).
# Keys: a notebook's number, or "*" for every notebook (a name is injected only where the notebook has it).
CPU_PARAMETERS = {
    "*": {"SIZE": 64, "STEPS": 2, "MAX_SIDE": 256, "RESOLUTION": 64, "REPEATS": 1, "STEP_COUNTS": [1, 2, 3]},
    "02": {"TRAIN_STEPS": 2},
    "03": {"CFG_SEEDS": [0], "CFG_SCALES": [7.5]},  # section 5: its 4 variants once (make test runs both scales and their check)
    # 04: about 20 pipeline calls of one step and one seed each; the others run UniPC's two-step path
    "04": {"STEPS": 1, "SWEEP_SEEDS": [2], "SCALES": [0.0, 1.0], "WINDOW_STARTS": [0.0], "WINDOW_ENDS": [0.5], "STEP_COUNTS": [1, 2],
           "GUIDANCE_SCALES": [1.0, 7.5]},
    "06": {"ABLATION_STEPS": 0},  # mode-independent (the shipped circles models); make test runs its ablation
    "08": {"SCALES": [1.0]},  # the disagreement grid: 1 call instead of 9 (tiny mode runs the whole grid)
}
GPU_PARAMETERS = {"*": {"REPEATS": 1}}
# `--count-work`: the notebooks' own steps, sweeps and solutions; only the pictures small (the count of denoising
# steps does not depend on the picture size; tools/estimates.py scales the work back to each notebook's size).
COUNT_PARAMETERS = {"*": {"SIZE": 64, "MAX_SIDE": 256, "RESOLUTION": 64}}
# Notebooks that never use hub mode: rehearsing them would repeat `make test`'s run of the same code.
HUB_INDEPENDENT = {"06": "never uses hub mode (it trains and draws with the shipped circles models in both modes); run in tiny mode below",
                   "09": "never uses hub mode (it builds the full-size models on the meta device and runs small ones it makes); run in tiny mode below"}
# The learner's path runs these in tiny mode too, from the installed package: their tiny worlds are the shipped models.
TINY_TOO = ("06", "07", "08", "09")
# ... and these of the Chinese edition (notebooks/zh/): the helpers' catalogs and font, read from the learner's install.
CHINESE_TOO = ("00",)


def parameters_for(notebook: str, table: dict) -> dict:
    """The parameters of ``table`` (see ``CPU_PARAMETERS``) that apply to the notebook named ``notebook``."""
    return {**table.get("*", {}), **table.get(notebook[:2], {})}
# The kernel's own peak RSS: VmHWM of its memory map. (ru_maxrss would not do: Linux carries the parent's
# peak across fork and exec, so a kernel started by a big process would inherit that process's peak.)
PEAK_PROBE = """
import json, re, resource, sys
try:
    _hwm_kb = int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
except (OSError, AttributeError):  # not Linux
    _hwm_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // (1024 if sys.platform == "darwin" else 1)
_peaks = {"rss_gb": _hwm_kb * 1024 / 1e9}
if "torch" in sys.modules and sys.modules["torch"].cuda.is_available():
    _peaks["allocated_gb"] = sys.modules["torch"].cuda.max_memory_allocated() / 1e9
print("REHEARSAL_PEAKS", json.dumps(_peaks))
"""


def counter_cell(dry: bool) -> str:
    """The first cell of every rehearsed kernel: ``tools/work_counter.py`` loaded from its file (the kernel's path is
    the learner's: tools/ is not on it) and started."""
    return (f"import importlib.util as _u\n_spec = _u.spec_from_file_location('work_counter', {str(Path(__file__).with_name('work_counter.py'))!r})\n"
            f"_work_counter = _u.module_from_spec(_spec)\n_spec.loader.exec_module(_work_counter)\n_work_counter.install(dry={dry})\n")


WORK_PROBE = 'import json\nprint("REHEARSAL_WORK", json.dumps(_work_counter.WORK))\n'


class _Sampler(threading.Thread):
    """Polls a process's RSS (and its GPU memory through nvidia-smi) while a notebook runs."""

    def __init__(self, pid: int, interval_s: float = 0.5):
        super().__init__(daemon=True)
        self.pid, self.interval_s = pid, interval_s
        self.rss_gb, self.gpu_gb = 0.0, None
        self.stop = threading.Event()
        self.nvidia_smi = shutil.which("nvidia-smi")

    def _gpu_gb(self) -> float | None:
        query = [self.nvidia_smi, "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"]
        out = subprocess.run(query, capture_output=True, text=True, timeout=10).stdout
        used = [float(mib) for pid, mib in (line.split(",") for line in out.strip().splitlines() if "," in line) if int(pid) == self.pid]
        return sum(used) * 2**20 / 1e9 if used else None

    def run(self) -> None:
        import psutil

        process = psutil.Process(self.pid)
        while not self.stop.is_set():
            try:
                self.rss_gb = max(self.rss_gb, process.memory_info().rss / 1e9)
                if self.nvidia_smi:
                    gpu = self._gpu_gb()
                    if gpu is not None:
                        self.gpu_gb = max(self.gpu_gb or 0.0, gpu)
            except Exception:  # the kernel has gone, or nvidia-smi hiccuped: keep what we have
                pass
            self.stop.wait(self.interval_s)


def last_line(err: Exception) -> str:
    """The last non-empty line of a cell's traceback, uncoloured: the exception and its message."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))  # tracebacks come coloured
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(err).__name__


def run_notebook(path: Path, parameters: dict, workdir: Path, out_path: Path | None = None, timeout_s: int = 1800, skip_solutions: bool = False,
                 dry: bool = False, learner: "learner_path.LearnerPath | None" = None, install_twice: bool = False) -> dict:
    """Execute ``path`` in a fresh kernel in ``workdir`` with ``parameters`` injected; return its record.
    ``skip_solutions`` leaves out the exercises' solution cells (tagged ``solution``). ``dry``: the full-size UNet
    and ControlNets are counted but answer zeros of the right shapes (counting needs the calls, not their results:
    a real forward pass at full size takes seconds on a CPU). ``learner``: run in that environment's kernel, the
    install cell included, followed by ``learner_path.CHECK`` (twice with ``install_twice``)."""
    import nbformat
    from nbclient.exceptions import CellExecutionError

    nb, injected = prepared(path, parameters, skip_solutions)
    if learner is not None:
        install = next(i for i, c in enumerate(nb.cells) if "skip-execution" in c.metadata.get("tags", []))
        extra = [nbformat.v4.new_code_cell(nb.cells[install].source)] * install_twice + [nbformat.v4.new_code_cell(learner_path.CHECK)]
        nb.cells[install + 1:install + 1] = extra
    nb.cells.insert(0, nbformat.v4.new_code_cell(counter_cell(dry)))
    runner = client(nb, workdir, learner.kernel if learner else "python3", timeout_s)
    if learner is not None:
        runner.skip_cells_with_tag = "rehearsal-skips-nothing"  # the install cell runs, as on Colab
    record = {"notebook": path.name, "ok": False, "seconds": None, "peak_rss_gb": None, "peak_gpu_gb": None, "parameters": injected, "error": None,
              "work": None}
    start = time.perf_counter()
    with runner.setup_kernel():
        sampler = _Sampler(runner.km.provisioner.pid)
        sampler.start()
        try:
            for index, cell in enumerate(nb.cells):
                try:
                    runner.execute_cell(cell, index)
                    if learner is not None and cell.source == learner_path.CHECK:
                        record["install"] = learner.check("".join(o.get("text", "") for o in cell.outputs))
                except CellExecutionError as err:
                    # A dry run's pictures are not real: an assert on them may fail, and what is computed from them
                    # (a division by a zero F1). The cell's work up to the error is counted, the run goes on with
                    # the next cell, and the errors are kept with the count.
                    if not dry:
                        raise
                    record.setdefault("dry_errors", []).append(f"cell {index}: {last_line(err)[:200]}")
            record["ok"] = True
        except CellExecutionError as err:
            record["error"] = last_line(err)[:500]
        except Exception as err:  # a dead kernel (out of memory), a timeout, helpers not from the install
            record["error"] = f"{type(err).__name__}: {err}"[:500]
        record["seconds"] = round(time.perf_counter() - start, 1)
        peaks = {}
        nb.cells.append(nbformat.v4.new_code_cell(PEAK_PROBE + WORK_PROBE))  # nbclient executes cells of its notebook only
        try:
            probe = runner.execute_cell(nb.cells[-1], len(nb.cells) - 1)
            text = "".join(o.get("text", "") for o in probe.outputs)
            peaks = json.loads(text.split("REHEARSAL_PEAKS", 1)[1].split("REHEARSAL_WORK")[0])
            record["work"] = {k: round(v, 3) for k, v in json.loads(text.split("REHEARSAL_WORK", 1)[1]).items()}
        except Exception:  # a dead kernel: the sampler's figure stands
            pass
        nb.cells.pop()
        nb.cells.pop(0)
        sampler.stop.set()
        sampler.join()
    record["peak_rss_gb"] = round(max(peaks.get("rss_gb", 0.0), sampler.rss_gb), 2)
    if sampler.gpu_gb is not None or "allocated_gb" in peaks:
        record["peak_gpu_gb"] = round(max(sampler.gpu_gb or 0.0, peaks.get("allocated_gb", 0.0)), 2)
    if out_path is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out_path)
    return record


def over_budget(record: dict) -> list[str]:
    """What a record breaks: the RAM budget, the GPU budget."""
    problems = []
    if record["peak_rss_gb"] is not None and record["peak_rss_gb"] > RSS_BUDGET_GB:
        problems.append(f"peak RSS {record['peak_rss_gb']} GB > {RSS_BUDGET_GB} GB")
    if record["peak_gpu_gb"] is not None and record["peak_gpu_gb"] > VRAM_BUDGET_GB:
        problems.append(f"peak GPU memory {record['peak_gpu_gb']} GB > {VRAM_BUDGET_GB} GB")
    return problems


def format_table(records: list[dict]) -> str:
    lines = ["| notebook | ok | seconds | peak RSS GB | peak GPU GB | parameters | error |", "|---|---|---|---|---|---|---|"]
    for r in records:
        params = ", ".join(f"{k}={v}" for k, v in r["parameters"].items())
        gpu = "" if r["peak_gpu_gb"] is None else r["peak_gpu_gb"]
        ok = "skipped" if r.get("skipped") else "yes" if r["ok"] else "NO"
        lines.append(f"| {r['notebook']} | {ok} | {r['seconds']} | {r['peak_rss_gb'] or ''} | {gpu} | {params} | {r['error'] or r.get('skipped') or ''} |")
    return "\n".join(lines)


def rehearse(cache: Path, only: list[str] | None = None, parameters: dict | None = None, folder: Path = NOTEBOOKS, out: Path = ARTIFACTS,
             solutions: bool | None = None, dry: bool = False, learner: "learner_path.LearnerPath | None" = None,
             modes: tuple[str, ...] = ("hub", "tiny")) -> dict:
    """Run the notebooks in hub mode against ``cache``; write ``out/rehearsal.json``; return the report.
    ``solutions``: run the exercises' solutions too (default: on a GPU only); ``dry``: see ``run_notebook``;
    ``learner``: run in that environment (the install cell included; the first notebook's twice), then ``TINY_TOO``
    in tiny mode; ``modes``: ``("hub",)`` or ``("tiny",)`` for one of the two passes (CI runs them side by side)."""
    import torch

    gpu = torch.cuda.is_available()
    parameters = (GPU_PARAMETERS if gpu else CPU_PARAMETERS) if parameters is None else parameters
    # The kernels inherit this process's environment: set for the rehearsal, put back exactly afterwards. CI's short
    # settings (helpers.modes.quick) on a CPU only: a GPU rehearsal and the count of a learner's work (--count-work)
    # run the notebooks as a learner does.
    settings = {"CONTROLNET_TUTORIAL_MODE": "hub", "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache), "TRANSFORMERS_VERBOSITY": "error"}
    short = not gpu and not dry
    paths = [p for p in sorted(folder.glob("[0-9][0-9]_*.ipynb")) if not only or p.name[:2] in only]
    runs = [(path, "hub") for path in paths if "hub" in modes]
    runs += [(path, "tiny") for path in paths if "tiny" in modes and learner is not None and path.name[:2] in TINY_TOO]
    runs += [(folder / "zh" / path.name, "tiny") for path in paths if "tiny" in modes and learner is not None and path.name[:2] in CHINESE_TOO]
    records = []
    with mock.patch.dict(os.environ, {**settings, **({QUICK_ENV: "1"} if short else {})}), \
            tempfile.TemporaryDirectory(prefix="rehearsal-") as workdir:  # not the notebooks' own folder, nor the clone
        if not short:
            os.environ.pop(QUICK_ENV, None)
        for path, mode in runs:
            if mode == "hub" and path.name[:2] in HUB_INDEPENDENT and not only:
                records.append({"notebook": path.name, "ok": True, "skipped": HUB_INDEPENDENT[path.name[:2]], "seconds": 0.0, "peak_rss_gb": None,
                                "peak_gpu_gb": None, "parameters": {}, "error": None, "over_budget": [], "mode": "hub"})
                print(f"{path.name:<32} skipped: {HUB_INDEPENDENT[path.name[:2]]}", flush=True)
                continue
            os.environ["CONTROLNET_TUTORIAL_MODE"] = mode
            # On a CPU the solutions are left out to keep CI within its budget: make test runs them (tiny mode).
            edition = "zh/" if path.parent.name == "zh" else ""
            name = path.name if mode == "hub" else f"{edition}{path.name} (tiny)"
            record = run_notebook(path, parameters_for(path.name, parameters) if mode == "hub" else {}, Path(workdir),
                                  out / "rehearsal" / (path.name if mode == "hub" else f"tiny-{edition.replace('/', '-')}{path.name}"),
                                  skip_solutions=not (gpu if solutions is None else solutions), dry=dry, learner=learner,
                                  install_twice=learner is not None and not records)
            record["notebook"], record["mode"] = name, mode
            record["over_budget"] = over_budget(record)
            records.append(record)
            status = "ok" if record["ok"] and not record["over_budget"] else "FAILED"
            print(f"{name:<32} {status:<7} {record['seconds']:7.1f} s  peak RSS {record['peak_rss_gb']:5.2f} GB"
                  + ("" if record["peak_gpu_gb"] is None else f"  GPU {record['peak_gpu_gb']:5.2f} GB")
                  + (f"  {record['error']}" if record["error"] else "") + "".join(f"  {p}" for p in record["over_budget"]), flush=True)
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "mode": "hub (offline, Hub-shaped cache with random weights at full size)"
                + (f"; {', '.join(TINY_TOO)} in tiny mode too, and the Chinese {', '.join(CHINESE_TOO)}" if learner else ""),
        "learner_path": None if learner is None else {"clone": "a clean clone, the repository's address redirected to it",
                                                     "install": "each notebook's Colab install cell, non-editable, into a fresh environment",
                                                     "helpers": next((r["install"]["helpers"] for r in records if r.get("install")), None)},
        "cache": str(cache),
        "device": torch.cuda.get_device_name(0) if gpu else f"cpu ({os.cpu_count()} cores)",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "budgets": {"peak_rss_gb": RSS_BUDGET_GB, "peak_gpu_gb": VRAM_BUDGET_GB},
        "parameters": parameters,
        "solutions": "run" if (gpu if solutions is None else solutions) else "left out (make test runs them in tiny mode)",
        "notebooks": records,
        "ok": all(r["ok"] and not r["over_budget"] for r in records) and bool(records),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "rehearsal.json").write_text(json.dumps(report, indent=2) + "\n")
    print()
    print(format_table(records))
    print(f"\nsaved {out / 'rehearsal.json'}; executed notebooks in {out / 'rehearsal'}")
    return report


def main(argv: list[str] | None = None) -> int:
    from hub_cache import default_root, write_hub_cache

    parser = argparse.ArgumentParser(prog="python tools/rehearse.py", description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None, help="a Hub-shaped cache (default: written by tools/hub_cache.py)")
    parser.add_argument("--only", default=None, help="comma-separated notebook numbers, e.g. 02,03")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a parameter (Python literal), e.g. --set SIZE=512")
    parser.add_argument("--in-place", action="store_true", help="leave the learner's path out: the notebooks in this environment's kernel")
    parser.add_argument("--pass", dest="passes", choices=("hub", "tiny", "both"), default="both",
                        help="the learner's path: every notebook in hub mode, 06, 07, 08 and 09 in tiny mode, or both (default)")
    parser.add_argument("--out", type=Path, default=ARTIFACTS, help="where rehearsal.json and the executed notebooks go")
    parser.add_argument("--count-work", action="store_true",
                        help=f"run the notebooks' own steps and sweeps (small pictures), solutions included, the full-size UNet and ControlNets "
                             f"counted but answering zeros, and save the work to {WORK_FILE.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    tiny_only = args.passes == "tiny" and not args.count_work and not args.in_place  # needs no Hub-shaped cache
    cache = args.cache or (default_root("full") if tiny_only else write_hub_cache(default_root("full")))
    print(f"Hub-shaped cache ready in {time.perf_counter() - start:.0f} s: {cache}", flush=True)
    parameters = None
    if args.set:
        import torch

        parameters = json.loads(json.dumps(GPU_PARAMETERS if torch.cuda.is_available() else CPU_PARAMETERS))
        for item in args.set:
            name, _, value = item.partition("=")
            parameters["*"][name] = ast.literal_eval(value)
    only = args.only.split(",") if args.only else None
    if args.count_work:  # the counts need the calls, not the install: in place
        report = rehearse(cache, only, COUNT_PARAMETERS, out=args.out, solutions=True, dry=True)
        if report["ok"]:
            save_work(report)
    elif args.in_place:
        report = rehearse(cache, only, parameters, out=args.out)
    else:
        with tempfile.TemporaryDirectory(prefix="learner-path-") as workdir:
            begun = time.perf_counter()
            learner = learner_path.prepare(Path(workdir))
            learner_path.activate(learner)
            print(f"learner's path ready in {time.perf_counter() - begun:.0f} s: a clean clone, a fresh environment, kernel {learner.kernel!r}", flush=True)
            modes = ("hub", "tiny") if args.passes == "both" else (args.passes,)
            report = rehearse(cache, only, parameters, out=args.out, learner=learner, modes=modes)
    print(f"rehearsal took {time.perf_counter() - start:.0f} s")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
