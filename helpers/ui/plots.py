"""Small matplotlib figures the notebooks show: rows of images with titles, overlays, bar charts."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from IPython import get_ipython
from IPython.display import display
from PIL import Image

from helpers.i18n import _


def show_images(
    images: Sequence[Image.Image | np.ndarray],
    titles: Sequence[str] | None = None,
    cols: int | None = None,
    size: float = 3.0,
    cmap: str = "gray",
) -> plt.Figure:
    """Show images in a grid (one row by default) with titles; arrays are shown with ``cmap``."""
    count = len(images)
    cols = cols or count
    rows = -(-count // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < count:
            ax.imshow(images[i], cmap=cmap)
            if titles is not None:
                ax.set_title(titles[i], fontsize=10)
    fig.tight_layout()
    return fig


def enlarged_grid(images: Sequence[Image.Image], rows: int, cols: int, min_side: int = 128) -> Image.Image:
    """diffusers' ``make_image_grid``, each picture enlarged (nearest neighbour, whole factors) to at least
    ``min_side`` pixels, so that the tiny models' 64x64 pictures can be seen beside full-size ones."""
    from diffusers.utils import make_image_grid

    scale = max(1, min_side // images[0].width)
    return make_image_grid([im.resize((im.width * scale, im.height * scale), Image.Resampling.NEAREST) for im in images], rows=rows, cols=cols)


def hysteresis_overlay(strong: np.ndarray, weak: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """An RGB picture of Canny's hysteresis (uint8, H x W x 3).

    White: final edges. Red: strong candidates (above ``high``) removed by thinning. Yellow: weak
    candidates (between ``low`` and ``high``) that were dropped, dim blue: all other pixels.
    """
    picture = np.zeros(edges.shape + (3,), dtype=np.uint8)
    picture[:] = (10, 10, 40)
    picture[weak] = (200, 170, 0)
    picture[strong] = (200, 0, 0)
    picture[edges > 0] = (255, 255, 255)
    return picture


def controlnet_diagram(sources: Sequence[str], shapes: Sequence[tuple[int, ...]], title: str = "", targets: Sequence[str] | None = None) -> plt.Figure:
    """Draw where ControlNet's control enters Stable Diffusion's UNet, one row per residual.

    Left: the trainable copy (the ControlNet's encoder), fed with the latents plus the encoded control
    image. Middle: one zero convolution per residual. Right: the locked UNet, whose skip connections to the
    decoder (and mid block) each receive one residual, added. ``sources`` and ``shapes`` come from
    ``helpers.concepts.residual_sources`` and ``residual_shapes``; ``targets`` (optional) from
    ``helpers.models.anatomy.skip_targets``: the decoder resnet that consumes each skip.
    """
    if len(sources) != len(shapes) or (targets is not None and len(targets) != len(sources)):
        raise ValueError(f"{len(sources)} sources but {len(shapes)} shapes" + ("" if targets is None else f" and {len(targets)} targets") + ".")
    rows = len(sources)
    fig, ax = plt.subplots(figsize=(11, 0.55 * rows + 2.2))
    ax.set_xlim(0, 11)
    ax.set_ylim(-rows - 0.2, 2.4)
    ax.axis("off")

    def box(x: float, y: float, w: float, text: str, color: str, size: int = 8) -> None:
        ax.add_patch(plt.Rectangle((x, y - 0.35), w, 0.7, facecolor=color, edgecolor="black", lw=0.8))
        ax.text(x + w / 2, y, text, ha="center", va="center", fontsize=size)

    def arrow(x0: float, y0: float, x1: float, y1: float) -> None:
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops=dict(arrowstyle="->", lw=0.8))

    box(0.1, 1.3, 2.6, _("control image -> hint encoder"), "#fde0c5")
    box(0.1, 0.4, 2.6, _("noisy latents + text + time"), "#e8e8e8")
    box(7.4, 0.4, 3.5, _("the same latents + text + time"), "#e8e8e8")
    ax.text(1.9, 2.0, _("trainable copy (ControlNet)"), ha="center", fontsize=11, color="#b35900", weight="bold")
    ax.text(5.0, 2.0, _("zero convolutions"), ha="center", fontsize=11, color="#555555", weight="bold")
    ax.text(9.15, 2.0, _("locked UNet (frozen)"), ha="center", fontsize=11, color="#1f4e99", weight="bold")
    for i, (source, shape) in enumerate(zip(sources, shapes)):
        y = -i - 0.6
        channels, height, width = shape[-3:]
        box(0.1, y, 3.6, f"{source}  {channels}x{height}x{width}", "#fbd3a9")
        box(4.3, y, 1.4, f"1x1 conv #{i}" if source != "mid_block" else "1x1 conv mid", "#dddddd")
        target = targets[i] if targets is not None else _("mid block output") if source == "mid_block" else _("skip {i} -> decoder").format(i=i)
        box(7.4, y, 3.5, f"+ {target}  {channels}x{height}x{width}", "#c9dbf5")
        arrow(3.7, y, 4.3, y)
        arrow(5.7, y, 7.4, y)
    arrow(1.4, 0.05, 1.4, -0.25)  # inputs -> conv_in of the copy (the hint is added after conv_in)
    arrow(2.7, 1.3, 3.2, -0.25)
    ax.set_title(title or _("{count} down residuals + 1 mid residual").format(count=rows - 1), fontsize=12, pad=4)
    fig.tight_layout()
    return fig


def residual_bars(magnitudes: Sequence[float], title: str = "", ymax: float | None = None) -> plt.Figure:
    """Bar chart of the mean |residual| per block (down residuals, then the mid one)."""
    fig, ax = plt.subplots(figsize=(7, 2.8))
    labels = [str(i) for i in range(len(magnitudes) - 1)] + ["mid"]
    ax.bar(labels, magnitudes, color=["#e08a2c"] * (len(magnitudes) - 1) + ["#8a4f12"])
    ax.set_xlabel(_("residual (0 = conv_in, highest resolution)"))
    ax.set_ylabel(_("mean |residual|"))
    if ymax is not None:
        ax.set_ylim(0, ymax)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def figure_png(fig: plt.Figure) -> bytes:
    """PNG bytes of a figure, which is then closed (for ipywidgets.Image)."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return buffer.getvalue()


def recipe_bars(results: Sequence, title: str = "", metric: str = "seconds_per_image", label: str | None = None) -> plt.Figure:
    """Horizontal bars of one metric per benchmark result (``helpers.recipes.Result`` or its dict);
    skipped or failed recipes are listed with their reason instead of a bar."""
    rows = [r if isinstance(r, dict) else r.__dict__ for r in results]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.0))
    names = [r["recipe"] for r in rows]
    values = [r.get(metric) or 0.0 for r in rows]
    ax.barh(names, values, color="#4c72b0")
    for y, r in enumerate(rows):
        value = r.get(metric)
        text = f" {value:.3g}" if value else f" {r.get('status', 'n/a')}"
        ax.text(value or 0.0, y, text, va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(label or _("seconds per image"))
    ax.set_xlim(0, max(values + [1e-9]) * 1.35)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def fidelity_plot(x: Sequence, f1: Sequence[float], xlabel: str, baseline: float | None = None, kind: str = "line") -> plt.Figure:
    """Edge F1 (2 px) against a knob's values, as a line (numeric knob) or bars (named settings); a dashed
    line marks ``baseline`` (e.g. the pipeline without control), since a fidelity number means little alone."""
    fig, ax = plt.subplots(figsize=(4.5, 2.8))
    if kind == "bar":
        ax.bar([str(v) for v in x], f1)
    else:
        ax.plot(list(x), list(f1), marker="o")
    if baseline is not None:
        ax.axhline(baseline, linestyle="--", color="gray", label=_("no control"))
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(_("edge F1 (2 px)"))
    ax.set_ylim(0, 1)
    fig.tight_layout()
    return fig


def fidelity_heatmap(starts: Sequence[float], ends: Sequence[float], f1: np.ndarray) -> plt.Figure:
    """Edge F1 of a ``control_guidance_start`` x ``control_guidance_end`` grid (NaN where start >= end)."""
    fig, ax = plt.subplots(figsize=(4, 3.2))
    shown = ax.imshow(f1, vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(len(ends)), [f"{e:g}" for e in ends])
    ax.set_yticks(range(len(starts)), [f"{s:g}" for s in starts])
    ax.set_xlabel("control_guidance_end")
    ax.set_ylabel("control_guidance_start")
    for i in range(len(starts)):
        for j in range(len(ends)):
            if not np.isnan(f1[i, j]):
                ax.text(j, i, f"{f1[i, j]:.2f}", ha="center", va="center", color="white" if f1[i, j] < 0.6 else "black", fontsize=9)
    fig.colorbar(shown, ax=ax, label=_("edge F1 (2 px)"))
    fig.tight_layout()
    return fig


def family_bars(rows: Sequence[dict]) -> plt.Figure:
    """The ControlNet family at a glance (rows of ``helpers.family.family_table``): left, parameters of each base model
    and its control model; right, TFLOP of one denoising step at the native size, base and control stacked."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 0.42 * len(rows) + 1.4), sharey=True)
    names = [row["model"] for row in rows]
    y = np.arange(len(rows))
    left.barh(y - 0.2, [row["base_params_m"] / 1e3 for row in rows], height=0.4, color="#1f4e99", label=_("base model"))
    left.barh(y + 0.2, [row["control_params_m"] / 1e3 for row in rows], height=0.4, color="#e08a2c", label=_("control model"))
    left.set(xscale="log", xlabel=_("parameters (billions, log scale)"), yticks=y, yticklabels=names)
    left.invert_yaxis()
    right.barh(y, [row["base_tflop"] for row in rows], color="#1f4e99", label=_("base model"))
    right.barh(y, [row["control_tflop"] for row in rows], left=[row["base_tflop"] for row in rows], color="#e08a2c", label=_("control model"))
    for i, row in enumerate(rows):
        share = row["control_tflop"] / row["base_tflop"]
        right.text(row["base_tflop"] + row["control_tflop"], i, f" +{share:.0%}", va="center", fontsize=8)
    right.set(xlabel=_("TFLOP per denoising step at the native size"))
    right.set_xlim(0, max(row["base_tflop"] + row["control_tflop"] for row in rows) * 1.2)
    left.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


class LiveCurve:
    """A validation curve that draws itself while a model trains: pass ``live.update`` as ``on_validation`` to
    ``train_controlnet``. Each call adds a point, redraws the curve over a reference run (grey) and shows the
    latest pictures beside it, in place in the notebook's output (outside IPython the figure is only kept)."""

    def __init__(self, total_steps: int, reference: tuple[Sequence[int], Sequence[float]] | None = None,
                 baseline: float | None = None, ylabel: str | None = None):
        self.total_steps, self.reference, self.baseline, self.ylabel = total_steps, reference, baseline, ylabel or _("validation IoU")
        self.steps: list[int] = []
        self.scores: list[float] = []
        self._handle = None

    def figure(self, images: Sequence[np.ndarray] = ()) -> plt.Figure:
        """The curve so far (left) and up to 6 of the latest pictures (right, 2 rows of 3)."""
        fig = plt.figure(figsize=(11, 3.4))
        grid = fig.add_gridspec(2, 5)
        ax = fig.add_subplot(grid[:, :2])
        if self.reference is not None:
            ax.plot(*self.reference, color="0.7", marker=".", label=_("reference run"))
        if self.baseline is not None:
            ax.axhline(self.baseline, color="C3", ls="--", label=_("base model alone"))
        ax.plot(self.steps, self.scores, color="C1", marker="o", label=_("this run"))
        ax.set(xlim=(0, self.total_steps), ylim=(0, 1), xlabel=_("step"), ylabel=self.ylabel,
               title=_("step {step}: {score:.2f}").format(step=self.steps[-1], score=self.scores[-1]) if self.steps else _("waiting for the first validation"))
        ax.legend(fontsize=8, loc="upper left")
        for i, image in enumerate(list(images)[:6]):
            picture = fig.add_subplot(grid[i // 3, 2 + i % 3])
            picture.imshow(image)
            picture.axis("off")
        fig.tight_layout()
        return fig

    def update(self, step: int, score: float, images: Sequence[np.ndarray] = ()) -> None:
        self.steps.append(step)
        self.scores.append(score)
        fig = self.figure(images)
        if get_ipython() is not None:
            if self._handle is None:
                self._handle = display(fig, display_id=True)
            else:
                self._handle.update(fig)
        plt.close(fig)
