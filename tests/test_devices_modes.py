import os
import time

import pytest
import torch

from helpers import modes
from helpers.devices import DeviceError, pick_device, pick_dtype
from helpers.modes import MODE_ENV, ModeError, choose_mode


def test_default_dtype_per_device():
    assert pick_dtype("cpu") == torch.float32
    assert pick_dtype("cuda") == torch.float16
    assert pick_dtype("cpu", "bf16") == torch.bfloat16
    assert pick_dtype("cuda", torch.float32) == torch.float32


def test_fp16_on_cpu_is_refused_with_advice():
    with pytest.raises(DeviceError, match="float16 was asked for on the CPU"):
        pick_dtype("cpu", "float16")
    with pytest.raises(DeviceError, match="Unknown dtype 'float8'"):
        pick_dtype("cpu", "float8")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_cuda_without_gpu_is_explained():
    assert pick_device() == torch.device("cpu")
    with pytest.raises(DeviceError, match="PyTorch sees no CUDA GPU"):
        pick_device("cuda")


@pytest.fixture
def clean_env(monkeypatch):
    """Online as far as this process knows: the variable off, and huggingface_hub's flag too (make test starts with
    HF_HUB_OFFLINE=1, which the library read at import). Both are restored after the test."""
    import huggingface_hub.constants

    monkeypatch.delenv(MODE_ENV, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    return monkeypatch


def test_env_variable_forces_tiny(clean_env, capsys):
    clean_env.setenv(MODE_ENV, "tiny")
    choice = choose_mode()
    assert choice.mode == "tiny"
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert "tiny mode: CONTROLNET_TUTORIAL_MODE=tiny" in capsys.readouterr().out


def test_tiny_mode_turns_off_an_already_imported_hub_client(clean_env):
    import huggingface_hub.constants

    clean_env.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    clean_env.setenv(MODE_ENV, "tiny")
    choose_mode(verbose=False)
    assert huggingface_hub.constants.HF_HUB_OFFLINE is True


def test_env_variable_forces_hub(clean_env):
    clean_env.setenv(MODE_ENV, "HUB")
    assert choose_mode(verbose=False).mode == "hub"


def test_unknown_mode_name_lists_the_choices(clean_env):
    clean_env.setenv(MODE_ENV, "gpu")
    with pytest.raises(ModeError, match="CONTROLNET_TUTORIAL_MODE='gpu' is not a mode. Use one of: 'hub'"):
        choose_mode()


def test_hf_hub_offline_means_tiny(clean_env):
    clean_env.setenv("HF_HUB_OFFLINE", "1")
    choice = choose_mode(verbose=False)
    assert choice.mode == "tiny" and "HF_HUB_OFFLINE=1" in choice.reason


def test_unreachable_hub_falls_back_fast_with_a_reason(clean_env, capsys):
    clean_env.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing listens
    start = time.perf_counter()
    choice = choose_mode()
    assert time.perf_counter() - start < 3.0
    assert choice.mode == "tiny"
    assert "http://127.0.0.1:9 is not reachable" in capsys.readouterr().out


def test_reachable_endpoint_means_hub(clean_env):
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        clean_env.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
        assert modes.hub_reachable(timeout_s=2.0)
        choice = choose_mode(verbose=False)
        if torch.cuda.is_available():
            assert choice.mode == "hub"
        else:  # Binder: the Hub answers, but SD1.5 on a CPU takes minutes per picture
            assert choice.mode == "tiny" and "PyTorch sees no GPU" in choice.reason and "CONTROLNET_TUTORIAL_MODE=hub" in choice.reason


def test_auto_rule_needs_the_hub_and_a_gpu_for_hub_mode():
    assert modes.auto_choice(reachable=True, gpu=True).mode == "hub"
    assert modes.auto_choice(reachable=False, gpu=True).mode == "tiny"
    no_gpu = modes.auto_choice(reachable=True, gpu=False)
    assert no_gpu.mode == "tiny"
    seconds = modes.cpu_hub_seconds_per_image()  # the measured figure, from data/bench/cpu_full_512.json
    assert seconds is not None and seconds > 10
    assert f"about {seconds:.0f} s ({seconds / 60:.0f} min) per 512x512 image" in no_gpu.reason


def test_bfloat16_only_where_the_gpu_runs_it_natively():
    from helpers.devices import dtype_for_gpu
    from helpers.optimizations import recommended_dtype

    assert dtype_for_gpu((7, 5)) == torch.float16  # T4: is_bf16_supported() says True, but it is emulated
    assert dtype_for_gpu((7, 0)) == torch.float16  # V100
    assert dtype_for_gpu((8, 0)) == torch.bfloat16  # A100
    assert dtype_for_gpu((9, 0)) == torch.bfloat16  # H100, H200
    assert recommended_dtype("cpu") == torch.float32 == pick_dtype("cpu", "fastest")


def test_quick_gives_the_short_value_only_in_ci_runs(monkeypatch):
    monkeypatch.setenv(modes.QUICK_ENV, "1")
    assert modes.quick(2000, 40) == 40 and modes.quick([2, 3], [2]) == [2]
    monkeypatch.setenv(modes.QUICK_ENV, "0")
    assert modes.quick(2000, 40) == 2000 and modes.quick([2, 3], [2]) == [2, 3]
    monkeypatch.delenv(modes.QUICK_ENV)
    assert modes.quick(2000, 40) == 2000


def test_hub_offline_is_huggingface_hubs_answer_or_the_variable_set_since(monkeypatch):
    from huggingface_hub import constants

    from helpers.hub.network import hub_offline

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert not hub_offline()
    for value, expected in [("1", True), ("yes", True), ("ON", True), ("0", False), ("", False), ("offline", False)]:
        monkeypatch.setenv("HF_HUB_OFFLINE", value)
        assert hub_offline() is expected, value
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # what the library read at import stands
    assert hub_offline()


def test_one_noise_schedule_for_sd15_the_tiny_models_and_training():
    import json

    import torch
    from diffusers import DDPMScheduler

    from helpers.models.sd15 import SCHEDULER_CONFIG, configs
    from helpers.tiny.train import noise_scheduler

    saved = configs("full")[0]["scheduler/scheduler_config.json"]
    assert {k: saved[k] for k in SCHEDULER_CONFIG} == SCHEDULER_CONFIG
    # the shipped models were trained with DDPMScheduler(0.00085, 0.012, "scaled_linear", 1000): the same noise
    trained_with = DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000)
    assert torch.equal(noise_scheduler().alphas_cumprod, trained_with.alphas_cumprod)
    from helpers.files import models_dir

    shipped = json.loads((models_dir() / "shapes-base" / "scheduler" / "scheduler_config.json").read_text())
    assert {k: shipped[k] for k in ("beta_start", "beta_end", "beta_schedule", "num_train_timesteps")} == {
        k: SCHEDULER_CONFIG[k] for k in ("beta_start", "beta_end", "beta_schedule", "num_train_timesteps")}


def test_every_function_that_takes_a_mode_refuses_an_unknown_one_with_the_same_words():
    import helpers
    from helpers.conditions import controlnet_source, region_palette
    from helpers.modes import ModeError, checked_mode

    assert checked_mode("hub") == "hub" and checked_mode("tiny") == "tiny"
    for call in (lambda: checked_mode("auto"), lambda: helpers.model_sources("online"), lambda: controlnet_source("canny", "Hub"),
                 lambda: region_palette("tiny "), lambda: helpers.load_portrait("offline"), lambda: helpers.demo_picture("offline")):
        with pytest.raises(ModeError, match=r"Unknown mode '.*': use 'hub' or 'tiny'"):
            call()
