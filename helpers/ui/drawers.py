"""Draw a condition, watch a tiny trained world paint it: a circle placed with sliders (the circles world) and a
sketch of up to three shapes (the shapes world), thin ipywidgets wiring over ``helpers.tiny``'s functions."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from PIL import Image

from helpers.arguments import real_number, whole_number
from helpers.i18n import _
from helpers.models.registry import PALETTE
from helpers.ui.widgets import to_png


def choice_labels() -> dict[str, str]:
    """The words of the tiny worlds' choices (colours, shapes) in the helpers' language. The values stay English: the
    tiny tokenizers know English words only, and the prompts are built from them."""
    return {"red": _("red"), "green": _("green"), "blue": _("blue"), "yellow": _("yellow"), "white": _("white"), "black": _("black"),
            "orange": _("orange"), "purple": _("purple"), "circle": _("circle"), "square": _("square"), "triangle": _("triangle"),
            "star": _("star"), "none": _("none")}


def choice_options(names=tuple(PALETTE)) -> list[tuple[str, str]]:
    """(label, value) pairs for a Dropdown: ``"红 (red)"`` in Chinese, ``"red"`` in English."""
    labels = choice_labels()
    return [(name if labels[name] == name else f"{labels[name]} ({name})", name) for name in names]


class CircleDrawer:
    """Place a circle's outline with sliders; a fill-circles ControlNet pipeline paints it.

    Thin wiring over ``helpers.tiny.evaluate.generate_circles``; ``control`` and ``image`` hold the last arrays.
    """

    def __init__(self, pipe, scale: int = 8):
        from helpers.tiny.circles import RADII, SIZE

        self.pipe, self.scale = pipe, whole_number("scale", scale, 1, 32)
        self.x = widgets.FloatSlider(value=SIZE / 2, min=0, max=SIZE, step=0.5, description="x", continuous_update=False)
        self.y = widgets.FloatSlider(value=SIZE / 2, min=0, max=SIZE, step=0.5, description="y", continuous_update=False)
        self.radius = widgets.FloatSlider(value=8, min=RADII[0], max=RADII[1], step=0.5, description=_("radius"), continuous_update=False)
        self.fill = widgets.Dropdown(options=choice_options(), value="red", description=_("fill"))
        self.background = widgets.Dropdown(options=choice_options(), value="blue", description=_("background"))
        self.seed = widgets.IntText(value=0, description=_("seed"))
        self.outline_picture, self.picture = widgets.Image(format="png"), widgets.Image(format="png")
        self.status = widgets.HTML()
        self.control: np.ndarray | None = None
        self.image: np.ndarray | None = None
        for control in (self.x, self.y, self.radius, self.fill, self.background, self.seed):
            control.observe(lambda _change: self.update(), names="value")
        controls = widgets.VBox([self.x, self.y, self.radius, self.fill, self.background, self.seed, self.status])
        self.widget = widgets.HBox([controls, self.outline_picture, self.picture])
        self.update()

    def update(self) -> None:
        from helpers.tiny.circles import Circle, picture_and_outline
        from helpers.tiny.evaluate import generate_circles
        from helpers.tiny.worlds import CIRCLES

        if self.fill.value == self.background.value:
            self.status.value = "<span style='color:red'>" + _("pick two different colours") + "</span>"
            return
        circle = Circle(self.x.value, self.y.value, self.radius.value, self.fill.value, self.background.value)
        self.control = picture_and_outline(circle)[1]
        self.image = generate_circles(self.pipe, [circle], [self.control], guidance=CIRCLES.controlnet_guidance, noise_seed=self.seed.value)[0]
        def big(a):
            return Image.fromarray(a).resize((a.shape[1] * self.scale, a.shape[0] * self.scale), Image.Resampling.NEAREST)

        self.outline_picture.value, self.picture.value = to_png(big(self.control)), to_png(big(self.image))
        self.status.value = _("prompt: <i>{prompt}</i>").format(prompt=circle.prompt)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


class ShapeDrawer:
    """Sketch up to three shapes (kind, colour, place, size) on a background; the pipeline draws the scene
    from its prompt and its Canny edges, and the panel shows how well the picture follows (edge F1, IoU).

    Thin wiring over ``helpers.tiny.shapes.scene_from_choices`` and ``helpers.tiny.evaluate.follow_sketch``;
    ``result`` holds the last ``SketchResult``, ``error`` the last message shown in red.
    """

    def __init__(self, pipe, guidance_scale: float = 7.5, steps: int = 20, size: int | None = None, scale: int = 4):
        from helpers.tiny.shapes import DEMO_SCENE, KINDS, RADII, SIZE

        real_number("guidance_scale", guidance_scale, 0), whole_number("steps", steps, 1, 1000), whole_number("scale", scale, 1, 32)
        size is None or whole_number("size", size, 8, 2048)
        self.pipe, self.guidance_scale, self.steps, self.size, self.scale = pipe, guidance_scale, steps, size, scale
        self.result, self.error = None, None
        def slider(value, low, high, name):
            return widgets.FloatSlider(value=value, min=low, max=high, step=1, description=name, continuous_update=False,
                                       layout=widgets.Layout(width="220px"))

        self.rows = []
        for i in range(3):
            shape = DEMO_SCENE.shapes[i] if i < len(DEMO_SCENE.shapes) else None
            self.rows.append((
                widgets.Dropdown(options=choice_options(("none",) + KINDS), value=shape.kind if shape else "none",
                                 description=_("shape {number}").format(number=i + 1),
                                 layout=widgets.Layout(width="190px")),
                widgets.Dropdown(options=choice_options(), value=shape.colour if shape else "red", description=_("colour"),
                                 layout=widgets.Layout(width="170px")),
                slider(shape.cx if shape else SIZE / 2, 0, SIZE, "x"),
                slider(shape.cy if shape else SIZE / 2, 0, SIZE, "y"),
                slider(shape.radius if shape else RADII[0], RADII[0], RADII[1], _("size")),
            ))
        self.background = widgets.Dropdown(options=choice_options(), value=DEMO_SCENE.background, description=_("background"))
        self.seed = widgets.IntText(value=0, description=_("seed"), layout=widgets.Layout(width="170px"))
        self.conditioning_scale = widgets.FloatSlider(value=1.0, min=0.0, max=2.0, step=0.25, description=_("control"), continuous_update=False)
        self.control_picture, self.picture = widgets.Image(format="png"), widgets.Image(format="png")
        self.status = widgets.HTML()
        inputs = [w for row in self.rows for w in row] + [self.background, self.seed, self.conditioning_scale]
        for control in inputs:
            control.observe(lambda _change: self.update(), names="value")
        form = widgets.VBox([widgets.HBox(list(row)) for row in self.rows] + [widgets.HBox([self.background, self.seed, self.conditioning_scale])])
        self.widget = widgets.VBox([form, widgets.HBox([self.control_picture, self.picture]), self.status])
        self.update()

    def update(self) -> None:
        from helpers.tiny.evaluate import follow_sketch
        from helpers.tiny.shapes import scene_from_choices

        chosen = [(k.value, c.value, x.value, y.value, r.value) for k, c, x, y, r in self.rows if k.value != "none"]
        try:
            scene = scene_from_choices(self.background.value, chosen)
            self.result = follow_sketch(self.pipe, scene, seed=self.seed.value, steps=self.steps, conditioning_scale=self.conditioning_scale.value,
                                        guidance_scale=self.guidance_scale, size=self.size)
        except Exception as err:  # shown in the panel: a callback's exception would vanish otherwise
            self.error = f"{type(err).__name__}: {err}"
            self.status.value = f"<span style='color:red'>{self.error}</span>"
            return
        self.error = None
        big = lambda image: image.resize((image.width * self.scale, image.height * self.scale), Image.Resampling.NEAREST) if image.width < 256 else image  # noqa: E731
        self.control_picture.value, self.picture.value = to_png(big(self.result.control)), to_png(big(self.result.picture))
        self.status.value = _("prompt: <i>{prompt}</i>").format(prompt=scene.prompt) + "<br>" + self.result.summary()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
