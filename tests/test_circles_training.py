"""The fill-circles data, the trainers (tiny budgets), and the shipped reference models' figures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.tiny import base_training as B
from helpers.tiny import circles as C
from helpers.tiny import evaluate as E
from helpers.tiny import train as T
from helpers.tiny.worlds import CIRCLES


def test_samples_are_deterministic_and_distinct():
    a, b = C.FillCircles(seed=0), C.FillCircles(seed=0)
    for key in ("pixel_values", "conditioning", "mask"):
        assert torch.equal(a[5][key], b[5][key])
    assert a[5]["prompt"] == b[5]["prompt"]
    assert not torch.equal(a[5]["pixel_values"], a[6]["pixel_values"])
    assert not torch.equal(C.FillCircles(seed=1)[5]["pixel_values"], a[5]["pixel_values"])


def test_sample_shapes_ranges_and_prompt():
    item = C.FillCircles(seed=0)[3]
    assert item["pixel_values"].shape == item["conditioning"].shape == (3, 32, 32)
    assert item["pixel_values"].min() >= -1 and item["pixel_values"].max() <= 1
    assert set(item["conditioning"].unique().tolist()) == {0.0, 1.0}
    words = item["prompt"].split()
    assert words[1:3] == ["circle", "with"] and words[-1] == "background" and words[0] in C.PALETTE and words[3] in C.PALETTE
    assert words[0] != words[3]
    with pytest.raises(IndexError):
        C.FillCircles(length=3)[3]


def test_target_colours_follow_the_mask_and_the_outline_hugs_the_disc():
    circle = C.sample_circle(7)
    target, control = C.picture_and_outline(circle)
    disc = C.disc_mask(circle)
    assert np.all(target[disc] == C.PALETTE[circle.fill]) and np.all(target[~disc] == C.PALETTE[circle.background])
    ring = control[..., 0] == 255
    assert ring.sum() > 2 * np.pi * circle.radius  # a closed ring
    y, x = np.nonzero(ring)
    distance = np.hypot(x + 0.5 - circle.cx, y + 0.5 - circle.cy)
    assert np.all(np.abs(distance - circle.radius) < 0.75)
    assert C.RADII[0] <= circle.radius <= C.RADII[1]


def test_metrics_on_ground_truth():
    circles = [C.sample_circle(i, seed=3) for i in range(20)]
    targets = [C.picture_and_outline(c)[0] for c in circles]
    assert all(C.iou(C.fill_mask(t, c.fill, c.background), C.disc_mask(c)) == 1.0 for t, c in zip(targets, circles))
    assert E.colour_accuracy(targets, circles) == 1.0
    swapped = [C.Circle(c.cx, c.cy, c.radius, c.background, c.fill) for c in circles]
    assert E.colour_accuracy(targets, swapped) == 0.0
    assert C.iou(np.zeros((2, 2), bool), np.zeros((2, 2), bool)) == 1.0
    with pytest.raises(ValueError, match="Unknown colour 'teal'"):
        C.circle_from_outline(10, 10, 5, fill="teal")


@pytest.fixture(scope="module")
def untrained_base(tmp_path_factory):
    """A base model folder with freshly initialised (untrained) weights: enough to test the mechanics."""
    from diffusers import AutoencoderKL, UNet2DConditionModel

    from helpers.models.tokenizer import clip_text_encoder

    torch.manual_seed(0)
    tokenizer = B.make_tokenizer()
    text = clip_text_encoder(tokenizer, **CIRCLES.text_config)
    folder = tmp_path_factory.mktemp("base")
    B.save_base(AutoencoderKL(**CIRCLES.vae_config), text, UNet2DConditionModel(**CIRCLES.unet_config), tokenizer, folder)
    return folder


def test_tokenizer_has_a_token_per_prompt_word():
    tokenizer = B.make_tokenizer()
    tokens = tokenizer.convert_ids_to_tokens(tokenizer("purple circle with orange background").input_ids[1:-1])
    assert tokens == ["purple</w>", "circle</w>", "with</w>", "orange</w>", "background</w>"]


def test_controlnet_training_changes_only_the_trainable_copy(untrained_base):
    from helpers.concepts import zero_conv_norm

    before = [{k: v.clone() for k, v in m.state_dict().items()} for m in E.load_base(untrained_base) if isinstance(m, torch.nn.Module)]
    seen = []
    controlnet, log = T.train_controlnet(untrained_base, steps=3, batch_size=4, validate_every=3, validation_size=2, progress=False,
                                         on_validation=lambda s, v, images: seen.append((s, v, len(images))))
    after = [m for m in E.load_base(untrained_base) if isinstance(m, torch.nn.Module)]
    for state, model in zip(before, after):
        assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())  # the saved base is untouched
    assert zero_conv_norm(controlnet) > 0  # zero convs learned
    assert log.step == [0, 1, 2] and len(log.loss) == 3 and log.val_step == [3]
    assert seen[0][0] == 3 and 0.0 <= seen[0][1] <= 1.0 and seen[0][2] == 2


def test_locked_models_stay_bit_identical_during_training(untrained_base, monkeypatch):
    """The models train_controlnet actually trains against (not reloaded copies) must not move."""
    parts = E.load_base(untrained_base)
    snapshot = [{k: v.clone() for k, v in m.state_dict().items()} for m in parts if isinstance(m, torch.nn.Module)]
    monkeypatch.setattr(T, "load_base", lambda _dir: parts)
    T.train_controlnet(untrained_base, steps=2, batch_size=4, validate_every=2, validation_size=1, progress=False)
    for state, model in zip(snapshot, [m for m in parts if isinstance(m, torch.nn.Module)]):
        for k, v in model.state_dict().items():
            assert torch.equal(state[k], v), k
    assert all(not p.requires_grad for m in parts if isinstance(m, torch.nn.Module) for p in m.parameters())


def test_training_resumes_from_its_checkpoint(untrained_base, tmp_path):
    kwargs = dict(batch_size=4, validate_every=2, validation_size=1, progress=False, checkpoint_dir=tmp_path)
    _, first = T.train_controlnet(untrained_base, steps=2, **kwargs)
    assert (tmp_path / "log.json").exists() and (tmp_path / "model.safetensors").exists()
    _, resumed = T.train_controlnet(untrained_base, steps=4, **kwargs)
    assert resumed.step == [0, 1, 2, 3] and resumed.loss[:2] == first.loss and resumed.val_step == [2, 4]


def test_random_init_ablation_and_bad_init(untrained_base):
    from helpers.concepts import zero_conv_norm

    random_start, log = T.train_controlnet(untrained_base, steps=0, init="random", progress=False)
    zero_start, _ = T.train_controlnet(untrained_base, steps=0, init="zero", progress=False)
    assert zero_conv_norm(random_start) > 0 and zero_conv_norm(zero_start) == 0.0 and log.step == []
    with pytest.raises(ValueError, match="init must be 'zero' or 'random'"):
        T.train_controlnet(untrained_base, steps=1, init="ones", progress=False)


def test_empty_prompts_are_one_coin_per_example_whatever_the_batching():
    """The paper's 50% empty prompts (§3.3): each example's coin depends on (seed, epoch, index) only, so two
    processes with half a batch each drop exactly the prompts that one process with the whole batch drops."""
    prompts, indices = [f"prompt {i}" for i in range(1000)], list(range(1000))
    whole = T.with_empty_prompts(prompts, indices, 0.5, seed=0, epoch=0)
    halves = T.with_empty_prompts(prompts[1::2], indices[1::2], 0.5, 0, 0) + T.with_empty_prompts(prompts[::2], indices[::2], 0.5, 0, 0)
    assert sorted(whole) == sorted(halves) and whole[1::2] == halves[:500]
    dropped = [i for i, p in enumerate(whole) if p == ""]
    assert 450 <= len(dropped) <= 550 and all(whole[i] == prompts[i] for i in set(indices) - set(dropped))
    next_epoch = T.with_empty_prompts(prompts, indices, 0.5, seed=0, epoch=1)
    assert next_epoch != whole and 450 <= next_epoch.count("") <= 550  # a fresh coin per epoch
    assert T.with_empty_prompts(prompts, indices, 0.5, seed=1, epoch=0) != whole
    assert T.with_empty_prompts(prompts, indices, 0.0, 0, 0) == prompts and T.with_empty_prompts(prompts, indices, 1.0, 0, 0) == [""] * 1000
    with pytest.raises(ValueError, match=r"empty_prompt_rate must be between 0 and 1 \(the paper uses 0.5\), not 50"):
        T.train_controlnet(steps=1, empty_prompt_rate=50, progress=False)


def test_training_drops_the_prompts_it_says(untrained_base, monkeypatch):
    """train_controlnet encodes the batch's prompts after ``with_empty_prompts``: at rate 1 only "" reaches the
    text encoder, at rate 0 never."""
    seen = []
    real = T.tokenize
    monkeypatch.setattr(T, "tokenize", lambda tokenizer, prompts: seen.append(list(prompts)) or real(tokenizer, prompts))
    for rate in (1.0, 0.0):
        seen.clear()
        T.train_controlnet(untrained_base, steps=2, batch_size=4, empty_prompt_rate=rate, validate_every=100, progress=False)
        assert len(seen) == 2 and all(len(batch) == 4 for batch in seen)
        assert all(p == "" for batch in seen for p in batch) == (rate == 1.0) and any(p == "" for batch in seen for p in batch) == (rate == 1.0)


def test_jump_step():
    log = T.TrainingLog(val_step=[100, 200, 300], iou=[0.2, 0.55, 0.9])
    assert log.jump_step() == 200 and log.jump_step(0.95) is None


def test_live_curve_draws_each_validation_over_the_reference(monkeypatch):
    """``LiveCurve.update`` as ``on_validation``: the points so far over the grey reference, the latest pictures
    beside them, shown once and then updated in place (one output, not one figure per validation)."""
    from types import SimpleNamespace

    from helpers.ui import plots
    from helpers.ui.plots import LiveCurve

    shown = []
    handle = SimpleNamespace(update=lambda fig: shown.append(("update", fig)))
    monkeypatch.setattr(plots, "get_ipython", lambda: object())
    monkeypatch.setattr(plots, "display", lambda fig, display_id: shown.append(("display", fig)) or handle)
    live = LiveCurve(400, reference=([100, 200, 300, 400], [0.1, 0.2, 0.6, 0.8]), baseline=0.15)
    pictures = [np.full((8, 8, 3), i * 20, dtype=np.uint8) for i in range(7)]
    live.update(100, 0.12, pictures)
    live.update(200, 0.58, pictures[:2])
    assert [kind for kind, _ in shown] == ["display", "update"]
    fig = shown[-1][1]
    curve = fig.axes[0]
    ours = [line for line in curve.lines if line.get_label() == "this run"][0]
    reference = [line for line in curve.lines if line.get_label() == "reference run"][0]
    assert list(ours.get_xdata()) == [100, 200] and list(ours.get_ydata()) == [0.12, 0.58]
    assert list(reference.get_ydata()) == [0.1, 0.2, 0.6, 0.8] and curve.get_xlim() == (0, 400)
    assert curve.get_title() == "step 200: 0.58" and len(fig.axes) == 1 + 2  # the curve and the two latest pictures
    assert len(live.figure(pictures).axes) == 1 + 6  # at most 6 pictures


def shipped(name: str) -> dict:
    import json

    return json.loads((CIRCLES.controlnet_dir.parent / name).read_text())


def assert_as_shipped(figures: dict, recorded: dict) -> None:
    """Every figure the evaluate command wrote is what the shipped weights give today (CPU float noise aside)."""
    for key, value in figures.items():
        if isinstance(value, dict):
            for scale, scores in value.items():
                assert recorded[key][scale] == pytest.approx(scores, abs=0.02), (key, scale)
        elif isinstance(value, float):
            assert recorded[key] == pytest.approx(value, abs=0.02), key
        else:
            assert recorded[key] == value, key


def test_shipped_models_reach_the_reference_figures():
    """The reference run's figures, recomputed from the shipped weights on 64 outlines never used in training, are
    those in circles-figures.json (quoted by MODEL_CARD.md and notebook 06)."""
    figures = E.held_out_figures(count=64)
    assert figures["controlnet_iou"] >= 0.85, figures
    assert figures["base_iou"] < 0.45, figures  # the base model alone cannot know where the circle goes
    assert figures["base_colour_accuracy"] >= 0.75, figures  # but it knows the colours
    assert figures["jump_step"] is not None and figures["jump_step"] <= 1000
    assert figures["controlnet_f1_no_prompt"] >= figures["base_f1"] + 0.3, figures  # the outline alone is enough
    assert_as_shipped(figures, shipped("circles-figures.json"))


def test_empty_prompts_in_training_buy_fidelity_without_a_prompt():
    """The paper's §3.3 on the circles: the ControlNet trained with every prompt kept follows outlines worse with no
    prompt, and falls further as guidance grows (its unconditional half never saw the outline with ""); figures as
    shipped in circles-controlnet-without-empty-prompts-figures.json."""
    without = E.held_out_figures(controlnet_dir=CIRCLES.controlnet_variant("without-empty-prompts"), count=64, references=False)
    with_empty = shipped("circles-figures.json")
    assert_as_shipped(without, shipped("circles-controlnet-without-empty-prompts-figures.json"))
    assert with_empty["controlnet_f1_no_prompt"] >= without["controlnet_f1_no_prompt"] + 0.1
    fall = lambda figures: figures["controlnet_by_guidance"]["1.5"]["iou"] - figures["controlnet_by_guidance"]["5"]["iou"]  # noqa: E731
    assert fall(without) >= 2 * fall(with_empty)  # from guidance 1.5 to 5


def test_loader_offers_the_circles_model_by_name():
    import helpers

    pipe = helpers.load_controlnet_pipeline("tiny", tiny_model="circles")
    assert type(pipe).__name__ == "StableDiffusionControlNetPipeline" and type(pipe.scheduler).__name__ == "UniPCMultistepScheduler"
    assert pipe.vae_scale_factor == 4 and tuple(pipe.controlnet.config.conditioning_embedding_out_channels) == CIRCLES.hint_channels
    circle = C.circle_from_outline(12, 20, 7, "yellow", "purple")
    image = E.generate_circles(pipe, [circle], [C.picture_and_outline(circle)[1]], guidance=CIRCLES.controlnet_guidance)[0]
    assert image.shape == (32, 32, 3)
    assert C.iou(C.fill_mask(image, "yellow", "purple"), C.disc_mask(circle)) > 0.6
