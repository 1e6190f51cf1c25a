"""Shared fixtures: a real tiny model folder built once per test session (no mocks, no network)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
# The repository's own tooling (tools/: the rehearsal, the address of the repository, learner copies) is not part of
# the installed package; the tests import it from there.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import pytest


@pytest.fixture(scope="session")
def tiny_model_dirs(tmp_path_factory):
    """(base_dir, controlnet_dir) written by ``ensure_tiny_models`` into a fresh temporary folder."""
    from helpers.models.random_tiny import ensure_tiny_models

    return ensure_tiny_models(tmp_path_factory.mktemp("tiny") / "models")


@pytest.fixture(scope="session")
def tiny_pipe(tiny_model_dirs):
    """The tiny pipeline loaded through the same ``from_pretrained`` calls as hub mode."""
    from diffusers import ControlNetModel, StableDiffusionControlNetPipeline, UniPCMultistepScheduler

    base, controlnet_dir = tiny_model_dirs
    controlnet = ControlNetModel.from_pretrained(controlnet_dir, use_safetensors=True)
    pipe = StableDiffusionControlNetPipeline.from_pretrained(base, controlnet=controlnet, use_safetensors=True)
    pipe.scheduler = UniPCMultistepScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture
def portrait():
    from helpers import load_portrait

    return load_portrait("tiny", max_side=128)
