"""A Hub-shaped offline cache of SD1.5 and its ControlNets, with random weights: hub mode, rehearsed.

``python tools/hub_cache.py`` writes ``stable-diffusion-v1-5/stable-diffusion-v1-5`` and the ControlNets of
``helpers.hub.ids.HUB_CONTROLNETS`` (Canny, scribble, segmentation) the way huggingface_hub caches them
(``models--org--name/refs/main`` holding a revision, ``snapshots/<revision>/<component>/...``), with
every component the real repositories have, their configs at the real sizes and values, a CLIP
tokenizer with the real vocabulary size (49,408), and random weights in safetensors. Nothing is
downloaded. With ``HF_HUB_CACHE`` pointing at it and ``HF_HUB_OFFLINE=1``, the learner's own hub-mode
code (``load_controlnet_pipeline("hub")``) loads it through the real ``from_pretrained``: the
rehearsal (``tools/rehearse.py``) runs every notebook that way.

Random weights make noise pictures, but the sizes, memory, time and every code path are the real
ones. The ControlNet's zero convolutions hold small non-zero values, as a trained model's do, so the
control image visibly changes the output. The three ControlNets share one config (ControlNet 1.0's) and, here,
one weights file (hard-linked: no extra disk).

``scale="small"`` writes the same layout with the same keys at a few-MB size, for unit tests.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import torch

from helpers.files import cache_dir, is_ready, staged_folder
from helpers.hub.ids import HUB_BASE_MODEL, HUB_CONTROLNET, HUB_CONTROLNETS
from helpers.models.sd15 import CLIP_VOCAB_SIZE, SCALES, build_model, configs
from helpers.models.tokenizer import write_clip_tokenizer_files

CACHE_FORMAT = 2  # bump when the layout or the configs in helpers.models.sd15 change


def repo_folder(root: Path, repo_id: str) -> Path:
    """``models--org--name``: where huggingface_hub caches ``repo_id`` under ``root`` (its own naming)."""
    from huggingface_hub.file_download import repo_folder_name

    return Path(root) / repo_folder_name(repo_id=repo_id, repo_type="model")


def _revision(repo_id: str, scale: str) -> str:
    return hashlib.sha1(f"{repo_id}@rehearsal-{CACHE_FORMAT}-{scale}".encode()).hexdigest()


def _write_json(path: Path, content: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")


def _save_weights(model: torch.nn.Module, path: Path) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(path), metadata={"format": "pt"})


def _write_sd15(snapshot: Path, files: dict[str, dict], seed: int) -> torch.nn.Module:
    """Write every file of the SD1.5 repository; return the UNet (the ControlNet is made from it). One model at a
    time, each freed once saved: the full-size cache is written in a few GB of RAM."""
    for path, content in files.items():
        _write_json(snapshot / path, content)
    write_clip_tokenizer_files(snapshot / "tokenizer", vocab_size=CLIP_VOCAB_SIZE)
    weights = {"text_encoder": "model.safetensors", "safety_checker": "model.safetensors", "vae": "diffusion_pytorch_model.safetensors",
               "unet": "diffusion_pytorch_model.safetensors"}
    for offset, (part, file_name) in enumerate(weights.items()):
        torch.manual_seed(seed + offset)
        model = build_model(f"{part}/config.json", files[f"{part}/config.json"])
        _save_weights(model, snapshot / part / file_name)
    return model  # the UNet, last


def _write_controlnet(snapshot: Path, files: dict[str, dict], unet: torch.nn.Module, seed: int) -> None:
    from helpers.models.anatomy import activate_zero_convolutions

    _write_json(snapshot / "config.json", files["config.json"])
    controlnet = build_model("config.json", files["config.json"])
    # The trainable copy starts as the UNet's encoder (as in training); the zero convolutions get small
    # non-zero values, as a trained ControlNet's have, so the control image changes the picture.
    controlnet.load_state_dict({**controlnet.state_dict(), **{k: v for k, v in unet.state_dict().items() if k in controlnet.state_dict()}})
    activate_zero_convolutions(controlnet, seed=seed + 4)
    _save_weights(controlnet, snapshot / "diffusion_pytorch_model.safetensors")


def write_hub_cache(root: Path, scale: str = "full", seed: int = 0) -> Path:
    """Write every repository under ``root`` (a ``HF_HUB_CACHE`` folder) unless already there; return ``root``.

    Written to a staging folder first and renamed: a half-written cache is never taken as ready.
    """
    root = Path(root)
    if is_ready(root):
        return root
    with staged_folder(root, f"tools/hub_cache.py, scale {scale}, seed {seed}: random weights, real layout and configs") as staging:
        _write_repositories(staging, scale, seed)
    return root


def _write_repositories(staging: Path, scale: str, seed: int) -> None:
    sd15_files, controlnet_files = configs(scale)
    snapshots = {}
    for repo_id in (HUB_BASE_MODEL, *HUB_CONTROLNETS.values()):
        revision = _revision(repo_id, scale)
        folder = repo_folder(staging, repo_id)
        (folder / "refs").mkdir(parents=True)
        (folder / "refs" / "main").write_text(revision)
        snapshots[repo_id] = folder / "snapshots" / revision
    unet = _write_sd15(snapshots[HUB_BASE_MODEL], sd15_files, seed)
    _write_controlnet(snapshots[HUB_CONTROLNET], controlnet_files, unet, seed)
    for repo_id in HUB_CONTROLNETS.values():
        if repo_id != HUB_CONTROLNET:  # same config; the same random weights, hard-linked (a copy where links fail)
            _write_json(snapshots[repo_id] / "config.json", controlnet_files["config.json"])
            weights = snapshots[HUB_CONTROLNET] / "diffusion_pytorch_model.safetensors"
            try:
                os.link(weights, snapshots[repo_id] / "diffusion_pytorch_model.safetensors")
            except OSError:
                shutil.copyfile(weights, snapshots[repo_id] / "diffusion_pytorch_model.safetensors")


def default_root(scale: str = "full") -> Path:
    """``<tutorial cache>/hub-rehearsal-<scale>-v<format>``; never the learner's own Hugging Face cache."""
    return cache_dir() / f"hub-rehearsal-{scale}-v{CACHE_FORMAT}"


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="python tools/hub_cache.py", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None,
                        help="the HF_HUB_CACHE folder to write (default: hub-rehearsal-<scale>-v<format> in the tutorial cache)")
    parser.add_argument("--scale", choices=SCALES, default="full")
    args = parser.parse_args(argv)
    root = args.root or default_root(args.scale)
    start = time.perf_counter()
    write_hub_cache(root, args.scale)
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 1e9
    print(f"Hub-shaped cache ({args.scale}, random weights): {root} ({size:.2f} GB, {time.perf_counter() - start:.0f} s)")
    print(f"use it with: HF_HUB_CACHE={root} HF_HUB_OFFLINE=1 CONTROLNET_TUTORIAL_MODE=hub")
    return root


if __name__ == "__main__":
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    main()
