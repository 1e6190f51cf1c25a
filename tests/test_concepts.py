"""The paper's claims, checked on real diffusers modules (tiny sizes, full size on the meta device)."""

import pytest
import torch

from helpers import concepts as C
from helpers.models import weights as W
from helpers.models.anatomy import zero_convolutions


@pytest.fixture
def unet(tiny_model_dirs):
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel.from_pretrained(tiny_model_dirs[0] / "unet", use_safetensors=True)


@pytest.fixture
def controlnet(unet):
    from diffusers import ControlNetModel

    return ControlNetModel.from_unet(unet)


@pytest.fixture
def inputs(unet):
    return C.random_inputs(unet, latent_size=8, seed=0)


def test_trainable_copy_equals_the_encoder(unet, controlnet):
    report = C.compare_with_unet(controlnet, unet)
    assert report.different == []
    assert any(name.startswith("down_blocks.") for name in report.equal)
    assert any(name.startswith("mid_block.") for name in report.equal)
    assert "conv_in.weight" in report.equal
    assert report.new_modules() == ["controlnet_cond_embedding", "controlnet_down_blocks", "controlnet_mid_block"]
    assert not any(name.startswith("up_blocks") for name in controlnet.state_dict())  # encoder only


def test_zero_convs_are_exactly_zero(controlnet):
    convs = zero_convolutions(controlnet)
    assert len(convs) == len(controlnet.controlnet_down_blocks) + 2
    for name, conv in convs:
        assert torch.count_nonzero(conv.weight) == 0 and torch.count_nonzero(conv.bias) == 0, name
    assert C.zero_conv_norm(controlnet) == 0.0


def test_at_init_the_controlnet_changes_nothing_bit_for_bit(unet, controlnet, inputs):
    other = C.Inputs(inputs.latents, inputs.timestep, inputs.text, 1.0 - inputs.control)
    with torch.no_grad():
        alone = C.unet_noise_prediction(unet, inputs)
        for control_inputs in (inputs, other):
            residuals = C.control_residuals(controlnet, control_inputs)
            assert all(torch.count_nonzero(r) == 0 for r in residuals[0]) and torch.count_nonzero(residuals[1]) == 0
            assert torch.equal(C.unet_noise_prediction(unet, control_inputs, residuals), alone)


def test_locked_copy_gets_no_gradient(unet, controlnet, inputs):
    C.freeze(unet)
    assert C.count_parameters(unet, trainable_only=True) == 0
    prediction = C.unet_noise_prediction(unet, inputs, C.control_residuals(controlnet, inputs))
    torch.nn.functional.mse_loss(prediction, torch.zeros_like(prediction)).backward()
    assert all(p.grad is None for p in unet.parameters())


def test_first_step_only_the_residual_zero_convs_have_gradients(unet, controlnet, inputs):
    C.freeze(unet)
    target = torch.randn(inputs.latents.shape, generator=torch.Generator().manual_seed(1))
    prediction = C.unet_noise_prediction(unet, inputs, C.control_residuals(controlnet, inputs))
    torch.nn.functional.mse_loss(prediction, target).backward()
    norms = C.gradient_norms(controlnet)
    assert norms["residual zero convs"] > 0
    # dL/dx = w * dL/dy = 0 behind a zero conv: nothing before them gets a gradient yet
    assert norms["trainable copy"] == 0.0 and norms["hint encoder zero conv"] == 0.0 and norms["hint encoder (rest)"] == 0.0


def test_zero_conv_gradient_is_x_times_upstream_gradient():
    """y = w x + b with w = 0: dL/dw = x dL/dy, non-zero because x is not zero (ControlNet FAQ)."""
    conv = torch.nn.Conv2d(2, 1, kernel_size=1)
    torch.nn.init.zeros_(conv.weight)
    torch.nn.init.zeros_(conv.bias)
    x = torch.tensor([[[[1.0]], [[-3.0]]]])  # (1, 2, 1, 1)
    y = conv(x)
    loss = ((y - 2.0) ** 2).sum()  # dL/dy = 2 (y - 2) = -4
    loss.backward()
    assert torch.equal(conv.weight.grad.flatten(), torch.tensor([-4.0, 12.0]))
    assert conv.bias.grad.item() == -4.0


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.1), ("adamw", 1e-3)])
def test_training_steps_wake_the_zero_convs_and_leave_the_unet_untouched(unet, controlnet, inputs, optimizer, lr):
    before = {k: v.clone() for k, v in unet.state_dict().items()}
    target = torch.randn(inputs.latents.shape, generator=torch.Generator().manual_seed(2))
    trace = C.train_steps(controlnet, unet, inputs, target, steps=3, lr=lr, optimizer=optimizer)
    assert all(p.grad is None for p in controlnet.parameters()), "gradients are freed on return"
    assert len(trace.loss) == 4
    assert trace.zero_conv_norm[0] == 0.0 and trace.output_change[0] == 0.0 and trace.residual[0] == 0.0
    assert trace.zero_conv_norm[1] > 0 and trace.output_change[-1] > trace.output_change[1] > 0
    assert trace.loss[-1] < trace.loss[0]
    for name, tensor in unet.state_dict().items():
        assert torch.equal(tensor, before[name]), name


def test_ablation_random_convs_change_the_output_at_step_zero(unet, controlnet, inputs):
    C.randomize_zero_convolutions(controlnet, seed=0)
    assert C.zero_conv_norm(controlnet) > 0
    with torch.no_grad():
        alone = C.unet_noise_prediction(unet, inputs)
        damaged = C.unet_noise_prediction(unet, inputs, C.control_residuals(controlnet, inputs))
    assert (damaged - alone).abs().mean() > 0.01


def test_full_size_counts_without_weights():
    unet, controlnet = C.full_size_models()
    assert next(unet.parameters()).device.type == "meta"
    assert C.count_parameters(unet) == 859_520_964
    assert C.count_parameters(controlnet) == 361_279_120
    shapes = C.residual_shapes(controlnet, C.random_inputs(unet, latent_size=64, device="meta"))
    assert len(shapes) == 13 == len(C.residual_sources(controlnet))
    assert shapes[0] == (1, 320, 64, 64) and shapes[3] == (1, 320, 32, 32) and shapes[-1] == (1, 1280, 8, 8)
    assert C.residual_sources(controlnet)[:2] == ["conv_in", "down_blocks.0.layer0"]


def test_guess_mode_scales_match_the_original_up_to_rounding():
    ours, original = C.guess_mode_scales(13)
    assert ours[0].item() == pytest.approx(0.1) and ours[-1].item() == 1.0
    assert (ours - original).abs().max() < 1e-3


def test_scaling_residuals(unet, inputs):
    from diffusers import ControlNetModel

    from helpers.models.anatomy import activate_zero_convolutions

    controlnet = ControlNetModel.from_unet(unet)
    activate_zero_convolutions(controlnet, seed=0)
    with torch.no_grad():
        residuals = C.control_residuals(controlnet, inputs)
    ones = C.scaled_magnitudes(residuals, 1.0)
    assert C.scaled_magnitudes(residuals, 2.0) == pytest.approx([2 * m for m in ones])
    assert C.scaled_magnitudes(residuals, 0.0) == [0.0] * len(ones)
    mid_only = C.scaled_magnitudes(residuals, 1.0, C.block_profile("only mid block", len(ones)))
    assert mid_only[:-1] == [0.0] * (len(ones) - 1) and mid_only[-1] == ones[-1]
    with torch.no_grad():
        by_diffusers = C.control_residuals(controlnet, inputs, conditioning_scale=0.5)
    assert C.residual_magnitudes(by_diffusers) == pytest.approx(C.scaled_magnitudes(residuals, 0.5))
    with pytest.raises(ValueError, match="5 residuals but 2 block scales"):
        C.scale_residuals(residuals, 1.0, [1.0, 1.0])
    with pytest.raises(ValueError, match="Unknown profile 'loud'"):
        C.block_profile("loud")


def test_residual_scale_widget(unet, inputs):
    from diffusers import ControlNetModel

    from helpers.models.anatomy import activate_zero_convolutions
    from helpers.ui.widgets import ResidualScaleExplorer

    controlnet = ControlNetModel.from_unet(unet)
    activate_zero_convolutions(controlnet, seed=0)
    with torch.no_grad():
        residuals = C.control_residuals(controlnet, inputs)
    explorer = ResidualScaleExplorer(residuals)
    ones, picture = list(explorer.magnitudes), explorer.picture.value
    explorer.scale.value = 0.5
    assert explorer.magnitudes == pytest.approx([m / 2 for m in ones]) and explorer.picture.value != picture
    explorer.profile.value = "only mid block"
    assert explorer.magnitudes[:-1] == [0.0] * (len(ones) - 1) and explorer.magnitudes[-1] == pytest.approx(ones[-1] / 2)


def test_diagram_needs_matching_lists():
    from helpers.ui.plots import controlnet_diagram

    with pytest.raises(ValueError, match="2 sources but 1 shapes"):
        controlnet_diagram(["conv_in", "mid_block"], [(1, 4, 8, 8)])
    fig = controlnet_diagram(["conv_in", "mid_block"], [(1, 4, 8, 8), (1, 8, 4, 4)])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "conv_in  4x8x8" in texts and "+ mid block output  8x4x4" in texts


def test_unknown_optimizer_is_named(unet, controlnet, inputs):
    with pytest.raises(ValueError, match="Unknown optimizer 'lion'"):
        C.train_steps(controlnet, unet, inputs, torch.zeros_like(inputs.latents), steps=1, optimizer="lion")


def test_differs_from_saved_compares_bit_for_bit_with_the_file(tiny_model_dirs, unet):
    base = str(tiny_model_dirs[0])
    assert W.differs_from_saved(unet, base, subfolder="unet") == []
    names = dict(W.saved_tensors(W.weights_file(base, "unet")))
    assert names.keys() == unet.state_dict().keys()
    with torch.no_grad():
        unet.conv_in.bias[0] += 1e-7  # the smallest change still counts
    assert W.differs_from_saved(unet, base, subfolder="unet") == ["conv_in.bias"]
    assert W.differs_from_saved(unet.to(torch.float64), base, subfolder="unet") == list(unet.state_dict())  # dtype counts


def test_the_plain_safetensors_reader_agrees_with_the_library(tmp_path):
    """``saved_tensors`` reads a file without a memory map (RSS-light, its docstring says why); the safetensors
    library reads the same names, dtypes and values from a shipped model file, float32 and float16 alike."""
    from safetensors.torch import load_file

    from helpers.models.registry import SHAPES

    path = str(SHAPES.controlnet_dir / "diffusion_pytorch_model.safetensors")
    ours, library = dict(W.saved_tensors(path)), load_file(path)
    assert ours.keys() == library.keys()
    assert all(ours[k].dtype == library[k].dtype and torch.equal(ours[k], library[k]) for k in library)
    from safetensors.torch import save_file

    mixed = {"half": library[next(iter(library))].half(), "count": torch.arange(5), "flag": torch.tensor([True, False]), "empty": torch.zeros(0)}
    save_file(mixed, str(tmp_path / "mixed.safetensors"))
    read = dict(W.saved_tensors(str(tmp_path / "mixed.safetensors")))
    assert all(read[k].dtype == v.dtype and torch.equal(read[k], v) for k, v in mixed.items())


def test_the_papers_resolution_weights_and_the_released_ramp_differ():
    """§3.4: w_i = 64 / h_i at 512 px, a step per resolution; diffusers' guess mode ramps smoothly from 0.1 to 1."""
    sides = [64, 64, 64, 64, 32, 32, 32, 16, 16, 16, 8, 8, 8]  # SD1.5's 13 residuals at 512 px (notebook 02 measures them)
    paper = C.paper_resolution_weights(sides)
    assert paper.tolist() == [1.0] * 4 + [2.0] * 3 + [4.0] * 3 + [8.0] * 3
    relative = paper / paper[-1]
    ramp, _ = C.guess_mode_scales(13)
    assert relative[0] == 0.125 and ramp[0] == pytest.approx(0.1) and (relative - ramp).abs().max() > 0.1
    with pytest.raises(ValueError, match="sides must be"):
        C.paper_resolution_weights([64, 0])


def test_skip_targets_follow_the_unets_own_wiring(unet, controlnet, inputs):
    """Residual i, made a distinctive constant, arrives in the decoder resnet ``skip_targets`` names: the skip is the
    last part of the channels that resnet receives (diffusers concatenates [hidden, skip])."""
    from helpers.models.anatomy import skip_targets

    targets, shapes = skip_targets(unet), C.residual_shapes(controlnet, inputs)
    assert len(targets) == len(shapes) == len(C.residual_sources(controlnet)) and targets[-1] == "mid_block output"
    assert targets[0] == f"up_blocks.{len(unet.up_blocks) - 1}.resnets.{len(unet.up_blocks[-1].resnets) - 1}"  # the first feeds the last
    seen, handles = {}, []
    for j, block in enumerate(unet.up_blocks):
        for k, resnet in enumerate(block.resnets):
            handles.append(resnet.register_forward_pre_hook(lambda _m, args, name=f"up_blocks.{j}.resnets.{k}": seen.__setitem__(name, args[0])))
    down = [torch.full(shape, 1000.0 * (i + 1)) for i, shape in enumerate(shapes[:-1])]
    try:
        with torch.no_grad():
            unet(inputs.latents, inputs.timestep, encoder_hidden_states=inputs.text, down_block_additional_residuals=down,
                 mid_block_additional_residual=torch.zeros(shapes[-1]))
    finally:
        for handle in handles:
            handle.remove()
    for i, target in enumerate(targets[:-1]):
        skip = seen[target][:, -shapes[i][1]:]
        assert abs(skip.mean().item() - 1000.0 * (i + 1)) < 100, (i, target)
