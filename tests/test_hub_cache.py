"""The Hub-shaped offline cache, and hub mode's code path run against it (a real folder, never a mock).

The small scale has the real layout and config keys at a few MB; the full-size configs are checked on
the meta device against the real parameter counts. ``make rehearse`` runs every notebook at full size.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import hub_cache
import pytest

from helpers.hub.ids import HUB_BASE_MODEL, HUB_CONTROLNET, HUB_DOWNLOAD_GB, HUB_MORE_CONDITIONS_GB
from helpers.models import sd15
from helpers.models.anatomy import zero_convolutions

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small_cache(tmp_path_factory):
    return hub_cache.write_hub_cache(tmp_path_factory.mktemp("hub") / "cache", scale="small")


def snapshot(root: Path, repo_id: str) -> Path:
    folder = hub_cache.repo_folder(root, repo_id)
    revision = (folder / "refs" / "main").read_text()
    assert len(revision) == 40 and int(revision, 16) >= 0
    return folder / "snapshots" / revision


def test_layout_is_the_hub_cache_layout_with_every_component(small_cache):
    base = snapshot(small_cache, HUB_BASE_MODEL)
    index = json.loads((base / "model_index.json").read_text())
    components = {k for k in index if not k.startswith("_")}
    assert components == {"feature_extractor", "safety_checker", "scheduler", "text_encoder", "tokenizer", "unet", "vae"}
    assert "requires_safety_checker" not in index  # as the real one: the pipeline's default (True) applies
    for name in ("unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors",
                 "safety_checker/model.safetensors", "tokenizer/vocab.json", "tokenizer/merges.txt", "feature_extractor/preprocessor_config.json",
                 "scheduler/scheduler_config.json"):
        assert (base / name).is_file(), name
    controlnet = snapshot(small_cache, HUB_CONTROLNET)
    assert sorted(p.name for p in controlnet.iterdir()) == ["config.json", "diffusion_pytorch_model.safetensors"]
    assert not list(small_cache.rglob("*.bin")), "safetensors only"


def test_notebook_07s_controlnets_are_in_the_cache_and_load(small_cache):
    """Scribble and segmentation: ControlNet 1.0's config, the Canny one's random weights (hard-linked), loadable."""
    from diffusers import ControlNetModel

    from helpers.hub.ids import HUB_CONTROLNETS

    canny = snapshot(small_cache, HUB_CONTROLNET)
    for name, repo_id in HUB_CONTROLNETS.items():
        folder = snapshot(small_cache, repo_id)
        assert sorted(p.name for p in folder.iterdir()) == ["config.json", "diffusion_pytorch_model.safetensors"], name
        assert (folder / "config.json").read_text() == (canny / "config.json").read_text()
        assert (folder / "diffusion_pytorch_model.safetensors").read_bytes() == (canny / "diffusion_pytorch_model.safetensors").read_bytes()
    model = ControlNetModel.from_pretrained(snapshot(small_cache, HUB_CONTROLNETS["regions"]), use_safetensors=True)
    reference = ControlNetModel.from_pretrained(canny, use_safetensors=True)
    assert model.config.conditioning_embedding_out_channels == reference.config.conditioning_embedding_out_channels


def test_small_scale_changes_sizes_only():
    full, full_cn = sd15.configs("full")
    small, small_cn = sd15.configs("small")
    assert full.keys() == small.keys()
    for path in full:
        assert full[path].keys() == small[path].keys(), path
    assert full_cn["config.json"].keys() == small_cn["config.json"].keys()
    assert full["unet/config.json"]["block_out_channels"] == [320, 640, 1280, 1280]  # configs() copies
    with pytest.raises(ValueError, match="Unknown scale 'huge'"):
        sd15.configs("huge")


def test_tokenizer_has_clips_real_size_and_special_ids(small_cache):
    from transformers import CLIPTokenizer

    tokenizer = CLIPTokenizer.from_pretrained(snapshot(small_cache, HUB_BASE_MODEL) / "tokenizer")
    assert len(tokenizer) == sd15.CLIP_VOCAB_SIZE == 49408
    ids = tokenizer("a portrait of grace hopper").input_ids
    assert ids[0] == 49406 and ids[-1] == 49407  # <|startoftext|>, <|endoftext|> as in CLIP
    assert tokenizer.convert_ids_to_tokens(ids[1:-1]) == ["a</w>", "portrait</w>", "of</w>", "grace</w>", "hopper</w>"]
    assert tokenizer.model_max_length == 77


def test_controlnet_zero_convs_are_small_and_not_zero(small_cache):
    from diffusers import ControlNetModel

    controlnet = ControlNetModel.from_pretrained(snapshot(small_cache, HUB_CONTROLNET), use_safetensors=True)
    for name, conv in zero_convolutions(controlnet):
        assert 0 < conv.weight.abs().max() < 0.5, name


def test_full_size_configs_have_the_real_parameter_counts():
    """Built on the meta device from the configs the cache writes: no memory, no download."""
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig, CLIPTextConfig, CLIPTextModel

    files, controlnet = sd15.configs("full")
    with init_empty_weights():
        models = {
            "unet": UNet2DConditionModel.from_config(files["unet/config.json"]),
            "controlnet": ControlNetModel.from_config(controlnet["config.json"]),
            "vae": AutoencoderKL.from_config(files["vae/config.json"]),
            "text_encoder": CLIPTextModel(CLIPTextConfig.from_dict(files["text_encoder/config.json"])),
            "safety_checker": StableDiffusionSafetyChecker(CLIPConfig.from_dict(files["safety_checker/config.json"])),
        }
    counts = {name: sum(p.numel() for p in model.parameters()) for name, model in models.items()}
    assert counts["unet"] == 859_520_964 and counts["controlnet"] == 361_279_120
    assert counts["vae"] == 83_653_863 and counts["text_encoder"] == 123_060_480
    weights_gb = (sum(counts.values()) * 4 + sum(b.numel() * 4 for m in models.values() for b in m.buffers())) / 1e9
    assert abs(weights_gb - HUB_DOWNLOAD_GB) < 0.05, weights_gb
    controlnet_gb = (counts["controlnet"] * 4 + sum(b.numel() * 4 for b in models["controlnet"].buffers())) / 1e9
    assert abs(2 * controlnet_gb - HUB_MORE_CONDITIONS_GB) < 0.05, controlnet_gb  # notebook 07: scribble + segmentation


HUB_RUN = textwrap.dedent(
    """
    import numpy as np
    import helpers
    from helpers.check import environment_report
    from helpers.pipeline import load_controlnet_pipeline, generate

    choice = helpers.choose_mode()
    print([c.line(color=False) for c in environment_report() if c.name == "Hugging Face Hub"][0])
    portrait = helpers.load_portrait(choice.mode, max_side=64)
    pipe = load_controlnet_pipeline(choice)
    pipe.set_progress_bar_config(disable=True)
    print("components:", sorted(k for k, v in pipe.components.items() if v is not None))
    control = helpers.canny_control_image(portrait)
    image = generate(pipe, "a portrait", control, steps=2)[0]
    print("plain picture, max pixel:", int(np.asarray(image).max()))
    pipe.safety_checker.concept_embeds_weights.data.fill_(-2.0)  # a real checker, made to flag everything
    flagged = generate(pipe, "a portrait", control, steps=2, seed=5)[0]
    print("flagged picture, max pixel:", int(np.asarray(flagged).max()))
    print([c.line(color=False) for c in environment_report() if c.name == "notebook 07 weights"][0])
    from helpers.conditions import load_controlnet
    regions = load_controlnet("regions", "hub")
    print("regions ControlNet from", regions.config._name_or_path, type(regions).__name__)
    """
)


def test_hub_mode_loads_the_cache_offline_and_says_what_it_does(small_cache, tmp_path):
    env = {**os.environ, "HF_HUB_CACHE": str(small_cache), "HF_HUB_OFFLINE": "1", "CONTROLNET_TUTORIAL_MODE": "hub", "HF_ENDPOINT": "http://127.0.0.1:9"}
    run = subprocess.run([sys.executable, "-c", HUB_RUN], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "hub mode: CONTROLNET_TUTORIAL_MODE=hub" in out
    assert "not reachable, but the weights are in the local cache: hub mode runs offline" in out
    assert "Vermeer's painting (the blog's example) is not available: offline (HF_HUB_OFFLINE=1)" in out
    assert "components: ['controlnet', 'feature_extractor', 'safety_checker', 'scheduler', 'text_encoder', 'tokenizer', 'unet', 'vae']" in out
    assert "safety checker: on (StableDiffusionSafetyChecker" in out
    assert "Stable Diffusion 1.5 on a CPU: about" in out
    plain = int(out.split("plain picture, max pixel:")[1].split()[0])
    assert plain > 0
    assert "Image 1 (prompt 'a portrait', seed 5) was flagged by the safety checker and replaced by a black picture" in out
    assert "flagged picture, max pixel: 0" in out
    assert "notebook 07 weights" in out and "scribble and segmentation ControlNets cached" in out
    assert "regions ControlNet from lllyasviel/sd-controlnet-seg ControlNetModel" in out
    # No alarming library notices at a normal offline hub load
    for noise in ("local_dir_use_symlinks", "Could not reach the Hub", "Couldn't connect to the Hub", "Traceback"):
        assert noise not in out, noise


def test_readme_states_the_measured_budgets_and_figures():
    """The README's hub-mode figures are those of the committed measurements, not typed by hand."""
    readme = (ROOT / "README.md").read_text()
    rehearsal = json.loads((ROOT / "data" / "rehearsal-cpu.json").read_text())
    assert rehearsal["ok"] and rehearsal["mode"].startswith("hub")
    names = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    hub = [r for r in rehearsal["notebooks"] if r["mode"] == "hub"]
    assert [r["notebook"] for r in hub] == names, "the committed rehearsal must cover every notebook"
    ran = [r for r in hub if not r.get("skipped")]
    figures = ", ".join(f"{r['notebook'][:2]} {r['peak_rss_gb']:.1f} GB" for r in ran)
    assert figures in readme
    assert all(r["ok"] and r["peak_rss_gb"] < rehearsal["budgets"]["peak_rss_gb"] for r in ran)
    from rehearse import HUB_INDEPENDENT, TINY_TOO

    assert {r["notebook"][:2] for r in hub if r.get("skipped")} == set(HUB_INDEPENDENT)
    # the learner's path: a non-editable install ran every notebook, 06, 07 and 08 in tiny mode too
    tiny = [r for r in rehearsal["notebooks"] if r["mode"] == "tiny" and not r["notebook"].startswith("zh/")]
    assert [r["notebook"][:2] for r in tiny] == list(TINY_TOO) and all(r["ok"] for r in tiny)
    assert all("/site-packages/helpers/" in r["install"]["helpers"] and r["install"]["widget_manager"] for r in ran + tiny)
    assert ", ".join(f"{r['notebook'][:2]} {r['peak_rss_gb']:.1f} GB" for r in tiny) in readme
    from helpers.modes import cpu_hub_seconds_per_image

    assert f"**{cpu_hub_seconds_per_image():.0f} s**" in readme
    assert "compute capability 8.0" in readme and "is_bf16_supported()" in readme


def test_a_staged_folder_appears_whole_or_not_at_all(tmp_path):
    from helpers.files import is_ready, staged_folder

    root = tmp_path / "cache"
    with pytest.raises(RuntimeError, match="interrupted"):
        with staged_folder(root, "test") as staging:
            (staging / "half.bin").write_bytes(b"x")
            raise RuntimeError("interrupted")
    assert not root.exists() and list(tmp_path.iterdir()) == []  # nothing half-written stays
    with staged_folder(root, "first") as staging:
        (staging / "whole.bin").write_bytes(b"x")
    assert is_ready(root) and (root / "whole.bin").exists() and (root / "READY").read_text() == "first\n"
    with staged_folder(root, "second") as staging:  # another process finished first: its folder stands
        (staging / "other.bin").write_bytes(b"y")
    assert (root / "READY").read_text() == "first\n" and not (root / "other.bin").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]
