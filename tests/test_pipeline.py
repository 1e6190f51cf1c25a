import numpy as np
import pytest
import torch
from PIL import Image

from helpers import canny_control_image, generate, resize_for_pipeline
from helpers.devices import DeviceError
from helpers.models.anatomy import activate_zero_convolutions, zero_convolutions
from helpers.modes import ModeError
from helpers.optimizations import apply_optimizations
from helpers.pipeline import load_controlnet_pipeline

PROMPT = "a portrait, best quality"
ON_GPU = torch.cuda.is_available()


@pytest.fixture
def own_pipe(tiny_model_dirs):
    """A tiny pipeline of this test's own, for tests that change it (attention processors): the session's
    ``tiny_pipe`` is shared and must stay as loaded."""
    from diffusers import ControlNetModel, StableDiffusionControlNetPipeline

    base, controlnet_dir = tiny_model_dirs
    pipe = StableDiffusionControlNetPipeline.from_pretrained(base, controlnet=ControlNetModel.from_pretrained(controlnet_dir, use_safetensors=True),
                                                             use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="module")
def control(portrait_module):
    return portrait_module


@pytest.fixture(scope="module")
def portrait_module():
    from helpers import load_portrait

    return resize_for_pipeline(canny_control_image(load_portrait("tiny", max_side=64)), 64)


def test_tiny_folders_look_like_the_hub_repos(tiny_model_dirs):
    base, controlnet = tiny_model_dirs
    assert (base / "model_index.json").exists()
    for part in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        assert (base / part).is_dir()
    weights = sorted(p.name for p in base.rglob("*.safetensors")) + sorted(p.name for p in controlnet.glob("*"))
    assert "diffusion_pytorch_model.safetensors" in weights
    assert not list(base.rglob("*.bin")) and not list(controlnet.rglob("*.bin"))


def test_tokenizer_knows_words_and_falls_back_to_bytes(tiny_pipe):
    tok = tiny_pipe.tokenizer
    ids = tok("sandra oh").input_ids
    assert ids[0] == tok.convert_tokens_to_ids("<|startoftext|>") and ids[-1] == tok.convert_tokens_to_ids("<|endoftext|>")
    assert tok.convert_ids_to_tokens(ids[1:-1]) == ["sandra</w>", "oh</w>"]
    assert len(tok("qzx").input_ids) == 5  # unknown word: one token per byte
    assert tok.model_max_length == 77


def test_output_shape_and_reproducibility(tiny_pipe, control):
    first = generate(tiny_pipe, PROMPT, control, seed=3, steps=4)
    again = generate(tiny_pipe, PROMPT, control, seed=3, steps=4)
    other = generate(tiny_pipe, PROMPT, control, seed=4, steps=4)
    assert len(first) == 1 and first[0].size == control.size and first[0].mode == "RGB"
    assert np.array_equal(np.asarray(first[0]), np.asarray(again[0]))
    assert not np.array_equal(np.asarray(first[0]), np.asarray(other[0]))


def test_one_generator_per_image(tiny_pipe, control):
    batch = generate(tiny_pipe, [PROMPT, PROMPT], control, seed=[3, 4], steps=4)
    single = generate(tiny_pipe, PROMPT, control, seed=4, steps=4)
    assert np.abs(np.asarray(batch[1], dtype=int) - np.asarray(single[0], dtype=int)).max() <= 1
    with pytest.raises(ValueError, match="seed has 3 values but there are 2 prompts"):
        generate(tiny_pipe, [PROMPT, PROMPT], control, seed=[1, 2, 3])


def test_control_image_changes_the_picture(tiny_pipe, control):
    blank = Image.new("RGB", control.size)
    with_edges = generate(tiny_pipe, PROMPT, control, seed=0, steps=4)[0]
    without = generate(tiny_pipe, PROMPT, blank, seed=0, steps=4)[0]
    no_control = generate(tiny_pipe, PROMPT, control, seed=0, steps=4, conditioning_scale=0.0)[0]
    no_control_blank = generate(tiny_pipe, PROMPT, blank, seed=0, steps=4, conditioning_scale=0.0)[0]
    assert not np.array_equal(np.asarray(with_edges), np.asarray(without))
    assert np.array_equal(np.asarray(no_control), np.asarray(no_control_blank))


def test_saved_and_reloaded_pipeline_gives_identical_output(tiny_pipe, control, tmp_path):
    from diffusers import StableDiffusionControlNetPipeline

    before = generate(tiny_pipe, PROMPT, control, seed=7, steps=4)[0]
    tiny_pipe.save_pretrained(tmp_path / "saved", safe_serialization=True)
    reloaded = StableDiffusionControlNetPipeline.from_pretrained(tmp_path / "saved", use_safetensors=True)
    reloaded.set_progress_bar_config(disable=True)
    after = generate(reloaded, PROMPT, control, seed=7, steps=4)[0]
    assert np.array_equal(np.asarray(before), np.asarray(after))


def test_loader_uses_the_tiny_folder_and_unipc(monkeypatch, tmp_path, tiny_model_dirs):
    monkeypatch.setenv("CONTROLNET_TUTORIAL_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pipe = load_controlnet_pipeline("tiny")
    assert type(pipe).__name__ == "StableDiffusionControlNetPipeline"
    assert type(pipe.scheduler).__name__ == "UniPCMultistepScheduler"
    expected = (torch.float16, "cuda") if ON_GPU else (torch.float32, "cpu")
    assert (pipe.unet.dtype, pipe.device.type) == expected
    assert len(list(tmp_path.glob("tiny-*/READY"))) == 1
    # The same seeded configs give the same weights as the session's folder.
    from diffusers import UNet2DConditionModel

    reference = UNet2DConditionModel.from_pretrained(tiny_model_dirs[0] / "unet", use_safetensors=True)
    for (name, a), (_, b) in zip(pipe.unet.state_dict().items(), reference.state_dict().items()):
        assert torch.equal(a, b), name


@pytest.mark.skipif(ON_GPU, reason="float16 is legal on a GPU")
def test_loader_refuses_fp16_on_cpu(monkeypatch):
    with pytest.raises(DeviceError, match="float16 was asked for on the CPU"):
        load_controlnet_pipeline("tiny", dtype="float16")


def test_hub_mode_without_hub_or_cache_is_explained(monkeypatch, tmp_path):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    with pytest.raises(ModeError, match="Hub is not reachable .* CONTROLNET_TUTORIAL_MODE=tiny"):
        load_controlnet_pipeline("hub")


def test_fresh_controlnet_has_exact_zero_convs_and_activation_fills_them(tiny_pipe):
    from diffusers import ControlNetModel

    fresh = ControlNetModel.from_unet(tiny_pipe.unet)
    convs = zero_convolutions(fresh)
    assert len(convs) == len(fresh.controlnet_down_blocks) + 2
    assert all(conv.weight.abs().max() == 0 and conv.bias.abs().max() == 0 for _, conv in convs)
    activate_zero_convolutions(fresh, std=0.05, seed=1)
    assert all(conv.weight.abs().max() > 0 for _, conv in convs)
    weights = torch.cat([conv.weight.flatten() for _, conv in convs])
    assert 0.04 < weights.std().item() < 0.06


@pytest.mark.skipif(ON_GPU, reason="checks what a CPU cannot run")
def test_optimizations_on_cpu_explain_what_cannot_run(own_pipe, capsys):
    tiny_pipe = own_pipe
    done = apply_optimizations(tiny_pipe, attention="xformers", cpu_offload=True)
    out = capsys.readouterr().out
    assert "model CPU offload skipped: it needs a GPU" in out
    assert any(line.startswith("xformers") for line in done)
    assert "attention: SDPA" in out
    from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0

    assert all(isinstance(p, AttnProcessor2_0) for p in tiny_pipe.unet.attn_processors.values())
    apply_optimizations(tiny_pipe, attention="plain", verbose=False)
    assert all(type(p) is AttnProcessor for p in tiny_pipe.unet.attn_processors.values())


@pytest.mark.skipif(ON_GPU, reason="offload is legal on a GPU")
def test_strict_offload_raises_without_a_gpu(tiny_pipe):
    with pytest.raises(DeviceError, match="needs a GPU"):
        apply_optimizations(tiny_pipe, cpu_offload=True, strict=True, verbose=False)


def test_unknown_attention_is_refused(tiny_pipe):
    with pytest.raises(ValueError, match="Unknown attention 'flash'"):
        apply_optimizations(tiny_pipe, attention="flash")


def test_sdpa_and_plain_attention_agree(own_pipe, control):
    tiny_pipe = own_pipe
    apply_optimizations(tiny_pipe, attention="plain", verbose=False)
    plain = np.asarray(generate(tiny_pipe, PROMPT, control, seed=1, steps=3)[0], dtype=int)
    apply_optimizations(tiny_pipe, attention="sdpa", verbose=False)
    sdpa = np.asarray(generate(tiny_pipe, PROMPT, control, seed=1, steps=3)[0], dtype=int)
    assert np.abs(plain - sdpa).max() <= 2


def test_unknown_tiny_model_is_refused():
    from helpers.pipeline import model_sources

    with pytest.raises(ModeError, match="Unknown tiny model 'faces'"):
        model_sources("tiny", tiny_model="faces")


def test_a_fidelity_sweep_shows_one_bar_and_leaves_the_pipelines_bars_as_they_were(own_pipe, control, capsys):
    from helpers.fidelity import fidelity_sweep

    own_pipe.set_progress_bar_config(leave=True)
    settings = [{"conditioning_scale": 0.0}, {"conditioning_scale": 0.5}, {"conditioning_scale": 1.0}]
    points = fidelity_sweep(own_pipe, "a portrait", control, settings, [0], steps=2)
    bars = capsys.readouterr().err
    assert "settings: 100%" in bars and "3/3" in bars  # one bar over the three settings
    assert "2/2" not in bars  # and none of the pipeline's own (2 steps per picture)
    assert own_pipe._progress_bar_config == {"leave": True}
    assert [p.setting for p in points] == settings and all(len(p.pictures) == 1 and 0.0 <= p.f1 <= 1.0 for p in points)
    assert points[0].pictures[0].tobytes() != points[2].pictures[0].tobytes()  # the scale reached the pipeline
