"""A canvas to draw a scribble on (ipycanvas), wired to the pipeline: draw, see the control image, generate.

Thin wiring over ``helpers.conditions.scribble_image``: the canvas records strokes as points in [0, 1],
the control image is made from them by that tested function, and the pipeline is called by
``helpers.pipeline.generate``. The stroke handlers (``begin``, ``extend``, ``finish``) are plain methods, so
tests drive them without a browser; in JupyterLab the mouse calls them.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from PIL import Image

from helpers.conditions import BUNDLED_SCRIBBLES, scribble_image
from helpers.i18n import _
from helpers.ui.widgets import to_png

PAD_SIZE = 256  # the canvas on screen, in pixels (the control image is made at the pipeline's size)


class ScribblePad:
    """Draw white strokes on black with the mouse (or start from a bundled drawing), then generate.

    Attributes:
        strokes: the strokes so far, each a list of (x, y) in [0, 1].
        control: the last control image (``scribble_image`` at ``size``); ``picture``: the last generated one.
        error: the last message shown in red, or None.
    """

    def __init__(self, pipe, prompt: str, size: int | None = None, steps: int = 20, guidance_scale: float = 7.5, start: str = "house"):
        from ipycanvas import Canvas

        from helpers.arguments import one_of, real_number, text, whole_number

        text("prompt", prompt), whole_number("steps", steps, 1, 1000), real_number("guidance_scale", guidance_scale, 0)
        size is None or whole_number("size", size, 8, 2048)
        one_of("start", start, ("(blank)", *BUNDLED_SCRIBBLES))
        self.pipe, self.steps, self.guidance_scale = pipe, steps, guidance_scale
        self.size = size or pipe.unet.config.sample_size * pipe.vae_scale_factor
        self.strokes: list[list[tuple[float, float]]] = []
        self.control, self.picture, self.error = None, None, None
        self.canvas = Canvas(width=PAD_SIZE, height=PAD_SIZE, layout=widgets.Layout(width=f"{PAD_SIZE}px", height=f"{PAD_SIZE}px"))
        self.canvas.on_mouse_down(self.begin)
        self.canvas.on_mouse_move(self.extend)
        self.canvas.on_mouse_up(self.finish)
        self.drawing = widgets.Dropdown(options=[(_("(blank)"), "(blank)"), *((name, name) for name in BUNDLED_SCRIBBLES)],
                                        value=start if start in BUNDLED_SCRIBBLES else "(blank)", description=_("start from"))
        self.drawing.observe(lambda _change: self.load(self.drawing.value), names="value")
        self.clear_button = widgets.Button(description=_("clear"), icon="eraser")
        self.clear_button.on_click(lambda _b: self.load("(blank)"))
        self.prompt = widgets.Text(value=prompt, description=_("prompt"), layout=widgets.Layout(width="480px"))
        self.seed = widgets.IntText(value=0, description=_("seed"), layout=widgets.Layout(width="160px"))
        self.generate_button = widgets.Button(description=_("generate"), button_style="primary", icon="paint-brush")
        self.generate_button.on_click(lambda _b: self.generate())
        self.control_view, self.picture_view = widgets.Image(format="png", width=PAD_SIZE), widgets.Image(format="png", width=PAD_SIZE)
        self.picture_view.value = to_png(Image.new("RGB", (PAD_SIZE, PAD_SIZE), (48, 48, 48)))  # grey until the first picture
        self.status = widgets.HTML()
        self.widget = widgets.VBox([
            widgets.HBox([self.drawing, self.clear_button]),
            widgets.HBox([self.canvas, self.control_view, self.picture_view]),
            widgets.HBox([self.prompt, self.seed, self.generate_button]),
            self.status,
        ])
        self._pen_down = False
        self.load(self.drawing.value)

    # --- strokes (the mouse calls these with canvas pixels) ---

    def _point(self, x: float, y: float) -> tuple[float, float]:
        return (min(max(x / (PAD_SIZE - 1), 0.0), 1.0), min(max(y / (PAD_SIZE - 1), 0.0), 1.0))

    def begin(self, x: float, y: float) -> None:
        self._pen_down = True
        self.strokes.append([self._point(x, y)])

    def extend(self, x: float, y: float) -> None:
        if not self._pen_down:
            return
        (x0, y0), (x1, y1) = self.strokes[-1][-1], self._point(x, y)
        self.strokes[-1].append((x1, y1))
        self.canvas.stroke_line(x0 * (PAD_SIZE - 1), y0 * (PAD_SIZE - 1), x1 * (PAD_SIZE - 1), y1 * (PAD_SIZE - 1))

    def finish(self, x: float, y: float) -> None:
        if self._pen_down:
            self.extend(x, y)
            self._pen_down = False
            self.update_control()

    def load(self, name: str) -> None:
        """Start over from a bundled drawing (``"(blank)"``: an empty canvas)."""
        self.strokes = [list(s) for s in BUNDLED_SCRIBBLES.get(name, [])]
        self._redraw()
        self.update_control()

    def _redraw(self) -> None:
        from ipycanvas import hold_canvas

        with hold_canvas():
            self.canvas.fill_style, self.canvas.stroke_style, self.canvas.line_width = "black", "white", 3
            self.canvas.fill_rect(0, 0, PAD_SIZE, PAD_SIZE)
            for stroke in self.strokes:
                self.canvas.stroke_lines([(x * (PAD_SIZE - 1), y * (PAD_SIZE - 1)) for x, y in stroke])

    # --- control image and picture ---

    def update_control(self) -> None:
        self.control = scribble_image(self.strokes, self.size)
        white = int((np.asarray(self.control)[..., 0] > 127).sum())
        self.control_view.value = to_png(self.control.resize((PAD_SIZE, PAD_SIZE), Image.Resampling.NEAREST))
        self.status.value = _("{strokes} strokes, {white} white pixels in the {size}x{size} control image").format(
            strokes=len(self.strokes), white=white, size=self.size)

    def generate(self) -> None:
        from helpers.fidelity import canny_fidelity
        from helpers.pipeline import generate

        try:
            if not self.strokes:
                raise ValueError(_("The canvas is empty: draw something first, or start from a bundled drawing."))
            self.picture = generate(self.pipe, self.prompt.value, self.control, seed=self.seed.value, steps=self.steps, guidance_scale=self.guidance_scale)[0]
        except Exception as err:  # shown in the panel: a callback's exception would vanish otherwise
            self.error = f"{type(err).__name__}: {err}"
            self.status.value = f"<span style='color:red'>{self.error}</span>"
            return
        self.error = None
        self.picture_view.value = to_png(self.picture.resize((PAD_SIZE, PAD_SIZE), Image.Resampling.NEAREST))
        score = canny_fidelity(self.picture, self.control)
        self.status.value = _("{strokes} strokes; the picture's Canny edges vs your lines: F1 (2 px) {f1:.2f}").format(strokes=len(self.strokes), f1=score.f1)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
