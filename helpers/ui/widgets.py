"""ipywidgets wiring for the notebooks: sliders and buttons over the plain functions of ``helpers``.

No logic lives here that is not also a tested function elsewhere: a widget only reads its inputs,
calls one function, and shows the result. (ipywidgets swallows exceptions raised in callbacks, so
the functions are tested directly, and the wiring is tested through ``.value`` and the results.)
"""

from __future__ import annotations

import io

import ipywidgets as widgets
import numpy as np
from PIL import Image

from helpers.arguments import ArgumentError, one_of, real_number, text, whole_number
from helpers.arguments import control_image as check_control_image
from helpers.canny import auto_thresholds, canny_edges, check_thresholds, edge_density, to_gray
from helpers.i18n import _

BLUR_CHOICES = (0, 3, 5, 7, 9, 11)


def to_png(image: Image.Image | np.ndarray) -> bytes:
    """PNG bytes of an image or a uint8 array, for ``ipywidgets.Image``."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def canny_preview(image: Image.Image, low: int, high: int, blur: int) -> tuple[Image.Image, float]:
    """The picture the explorer shows: the photo and its edge map side by side, and the edge density."""
    edges = canny_edges(image, low, high, blur)
    side_by_side = np.concatenate([to_gray(image), edges], axis=1)
    return Image.fromarray(side_by_side), edge_density(edges)


class CannyExplorer:
    """Sliders for Canny's thresholds and blur, an image choice and an auto-threshold button.

    Attributes ``image``, ``low``, ``high``, ``blur``, ``auto``, ``picture`` and ``status`` are the
    widgets; ``density`` is the current edge density; ``widget`` is the box to display.
    """

    def __init__(self, images: dict[str, Image.Image], low: int = 100, high: int = 200, blur: int = 0):
        if not isinstance(images, dict) or not images:
            raise ArgumentError(_("images must be a dict of at least one named image, e.g. {'portrait': load_portrait()}."))
        self.images = {name: check_control_image(f"images[{name!r}]", image) for name, image in images.items()}
        check_thresholds(low, high)
        one_of("blur", blur, BLUR_CHOICES)
        self.image = widgets.Dropdown(options=list(images), description=_("image"))
        self.low = widgets.IntSlider(value=low, min=0, max=255, description=_("low"), continuous_update=False)
        self.high = widgets.IntSlider(value=high, min=0, max=255, description=_("high"), continuous_update=False)
        self.blur = widgets.Dropdown(options=list(BLUR_CHOICES), value=blur, description=_("blur"))
        self.auto = widgets.Button(description=_("auto thresholds"), tooltip=_("thresholds from the median intensity"))
        # Controls above the picture, which shrinks to the notebook's width: the sliders are never squeezed.
        self.picture = widgets.Image(format="png", layout=widgets.Layout(max_width="100%", object_fit="contain"))
        self.status = widgets.HTML()
        self.density = 0.0
        for control in (self.image, self.low, self.high, self.blur):
            control.observe(self._on_change, names="value")
        self.auto.on_click(self._on_auto)
        controls = widgets.HBox([widgets.VBox([self.image, self.low, self.high]), widgets.VBox([self.blur, self.auto, self.status])])
        self.widget = widgets.VBox([controls, self.picture])
        self.update()

    def _on_change(self, change: dict) -> None:
        # Keep low <= high by moving the other slider, so a drag can never produce an invalid pair.
        if change["owner"] is self.low and self.low.value > self.high.value:
            self.high.value = self.low.value  # triggers update through its own observer
            return
        if change["owner"] is self.high and self.high.value < self.low.value:
            self.low.value = self.high.value
            return
        self.update()

    def _on_auto(self, _button: widgets.Button | None = None) -> None:
        low, high = auto_thresholds(to_gray(self.images[self.image.value]))
        with self.low.hold_trait_notifications(), self.high.hold_trait_notifications():
            self.low.value, self.high.value = 0, 255  # widen first so the new pair is never crossed
            self.low.value, self.high.value = low, high
        self.update()

    def update(self) -> None:
        """Recompute the edge map for the current settings and show it."""
        preview, self.density = canny_preview(self.images[self.image.value], self.low.value, self.high.value, self.blur.value)
        self.picture.value = to_png(preview)
        self.status.value = _("edge density <b>{density:.1%}</b> (low={low}, high={high}, blur={blur})").format(
            density=self.density, low=self.low.value, high=self.high.value, blur=self.blur.value)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


class ResidualScaleExplorer:
    """A conditioning-scale slider and a per-block profile over fixed ControlNet residuals.

    ``residuals`` are the ControlNet's outputs for one input (``helpers.concepts.control_residuals``);
    the widget shows ``helpers.concepts.scaled_magnitudes`` as a bar chart.
    """

    PROFILES = ("uniform", "guess mode", "only highest resolution", "only mid block")  # helpers.concepts.block_profile's names

    def __init__(self, residuals, conditioning_scale: float = 1.0):
        from helpers.concepts import residual_magnitudes

        real_number("conditioning_scale", conditioning_scale, 0, 2)
        self.residuals = residuals
        self.ymax = 2.0 * max(residual_magnitudes(residuals)) or 1.0
        self.scale = widgets.FloatSlider(value=conditioning_scale, min=0.0, max=2.0, step=0.05, description=_("scale"), continuous_update=False)
        labels = (_("uniform"), _("guess mode"), _("only highest resolution"), _("only mid block"))
        self.profile = widgets.ToggleButtons(options=list(zip(labels, self.PROFILES)), description=_("per block"))
        self.picture = widgets.Image(format="png")
        self.magnitudes: list[float] = []
        self.scale.observe(lambda _change: self.update(), names="value")
        self.profile.observe(lambda _change: self.update(), names="value")
        self.widget = widgets.VBox([self.scale, self.profile, self.picture])
        self.update()

    def update(self) -> None:
        """Rescale, measure and redraw."""
        from helpers.concepts import block_profile, scaled_magnitudes
        from helpers.ui.plots import figure_png, residual_bars

        count = len(self.residuals[0]) + 1
        self.magnitudes = scaled_magnitudes(self.residuals, self.scale.value, block_profile(self.profile.value, count))
        title = _("conditioning scale {scale:.2f}, {profile}").format(scale=self.scale.value, profile=self.profile.label)
        self.picture.value = figure_png(residual_bars(self.magnitudes, title, self.ymax))

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


class GenerationPanel:
    """Prompt, negative prompt, seed, steps, conditioning scale, guidance scale, a Generate button and
    a progress bar, over ``helpers.pipeline.generate`` with a fixed control image.

    After a click, ``image`` holds the result (also shown in ``picture``) and ``error`` the message of a
    failure (shown in ``status``): ipywidgets would otherwise swallow the exception.
    """

    def __init__(self, pipe, control_image: Image.Image, prompt: str = "", negative_prompt: str = "", steps: int = 20):
        text("prompt", prompt), text("negative_prompt", negative_prompt), whole_number("steps", steps, 1, 50)
        self.pipe, self.control_image = pipe, check_control_image("control_image", control_image)
        control_image = self.control_image
        self.prompt = widgets.Textarea(value=prompt, description=_("prompt"), layout=widgets.Layout(width="95%"))
        self.negative_prompt = widgets.Text(value=negative_prompt, description=_("negative"), layout=widgets.Layout(width="95%"))
        self.seed = widgets.IntText(value=0, description=_("seed"))
        self.steps = widgets.IntSlider(value=steps, min=1, max=50, description=_("steps"))
        self.conditioning_scale = widgets.FloatSlider(value=1.0, min=0.0, max=2.0, step=0.05, description=_("control"))
        self.guidance_scale = widgets.FloatSlider(value=7.5, min=1.0, max=15.0, step=0.5, description=_("guidance"))
        self.button = widgets.Button(description=_("Generate"), button_style="primary")
        self.progress = widgets.IntProgress(value=0, min=0, max=steps, description=_("progress"))
        self.status = widgets.HTML()
        self.picture = widgets.Image(format="png")
        self.image: Image.Image | None = None
        self.error: str | None = None
        self.button.on_click(self._on_click)
        controls = widgets.VBox(
            [self.prompt, self.negative_prompt, self.seed, self.steps, self.conditioning_scale, self.guidance_scale, self.button, self.progress, self.status]
        )
        self.widget = widgets.HBox([controls, widgets.VBox([widgets.Image(value=to_png(control_image), format="png"), self.picture])])

    def _step_done(self, _pipe, step: int, _timestep, callback_kwargs: dict) -> dict:
        self.progress.value = step + 1
        return callback_kwargs

    def _on_click(self, _button=None) -> None:
        from helpers.pipeline import generate

        self.error = None
        self.progress.max, self.progress.value = self.steps.value, 0
        self.button.disabled = True
        self.status.value = _("generating...")
        try:
            self.image = generate(
                self.pipe,
                self.prompt.value,
                self.control_image,
                negative_prompt=self.negative_prompt.value or None,
                seed=self.seed.value,
                steps=self.steps.value,
                guidance_scale=self.guidance_scale.value,
                conditioning_scale=self.conditioning_scale.value,
                callback_on_step_end=self._step_done,
            )[0]
            self.picture.value = to_png(self.image)
            self.status.value = _("seed {seed}, {steps} steps: done").format(seed=self.seed.value, steps=self.steps.value)
        except Exception as err:  # shown in the panel: a callback's exception would vanish otherwise
            self.error = f"{type(err).__name__}: {err}"
            self.status.value = f"<span style='color:red'>{self.error}</span>"
        finally:
            self.button.disabled = False

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
