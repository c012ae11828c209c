"""The demo GIF: hand velocity next to the 3-D latent trajectory (``fig1-3-demo.md`` §5).

Citations of the specification here are summarised in ``docs/sources.md``.

As the authors' ``Demo_Example_emb_movie_Left_20161014``: the first ``n_trials`` (95) training
trials of the example session; left, each trial's x10 hand velocity (vx, vy); right, the same
trial's path through the 3-D embedding; colour ``hsv_to_rgb([direction/8, 1, 1])``, lw 0.5.
Trial ``i`` starts at frame ``int(sum_{k<i} delay_k)`` with ``delay_k = max(20 - 19 k / n, 1)``
and is drawn over ``t_dur`` frames, so trials come slowly at first and then quickly; the
authors' timeline has ``int(sum delay) + t_dur`` frames (1047 for 95 trials of 40 bins) at
200 fps. Figure 8x4 in; right axes enlarged ``[x0-0.04, y0-0.18, 1.4 w, 1.4 h]``, view
``(elev=119, azim=114)``.

Changes: the view rotates (``rotate_deg`` over the whole GIF; METHODS §7 "rotating 3D latent
trajectory"), and the timeline is sampled every ``frame_stride``-th frame at ``200 /
frame_stride`` fps, so the GIF lasts as long as the authors' but has fewer frames, and its
frame delay (20 ms at the default stride 4) is one that viewers honour (GIF delays are whole
centiseconds; the authors' 5 ms is stored as 0 and browsers show 0-delay frames for 100 ms).
Titles name the session and method; the provenance footer is on every frame.

Optional ``params`` (defaults in brackets): ``n_trials`` [95], ``frame_stride`` [4],
``dpi`` [80], ``rotate_deg`` [360].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.animation import PillowWriter
from matplotlib.collections import LineCollection
from matplotlib.colors import hsv_to_rgb
from mpl_toolkits.mplot3d.art3d import Line3DCollection
from PIL import Image

from ner_repro.analysis.decoding import direction_class
from ner_repro.core import atomic
from ner_repro.core.embedding import EmbeddingRun
from ner_repro.core.session import N_DIRECTIONS
from ner_repro.plotting import style

N_TRIALS = 95
FRAME_STRIDE = 4
BASE_FPS = 200
DPI = 80
ROTATE_DEG = 360.0
ELEV, AZIM = 119, 114
FIGSIZE = (8, 4)


def direction_rgb(direction: int) -> np.ndarray:
    """The authors' GIF colour of a direction: ``hsv_to_rgb([direction / 8, 1, 1])``."""
    return hsv_to_rgb([direction / 8.0, 1.0, 1.0])


def gif_palette() -> Image.Image:
    """A fixed palette for every frame: greys, and each direction colour blended with white.

    The frames hold white, grey text and the 8 line colours (anti-aliased against white), so
    mapping each frame onto these colours loses nothing visible; it is much faster than
    Pillow's per-frame median cut, and one shared palette compresses far better.
    """
    colours = [np.full(3, g) for g in np.linspace(0.0, 1.0, 40)]
    for i in range(N_DIRECTIONS):
        rgb = direction_rgb(i)
        colours += [a * rgb + (1 - a) for a in np.linspace(0.1, 1.0, 12)]
        colours += [a * rgb for a in (0.35, 0.6, 0.8)]  # overlaps and dark edges
    flat = np.clip(np.round(np.array(colours) * 255), 0, 255).astype(np.uint8).reshape(-1)
    pal = Image.new("P", (1, 1))
    pal.putpalette(flat.tolist() + [255] * (768 - flat.size))
    return pal


class _GifWriter(PillowWriter):
    """matplotlib's PillowWriter, fed from the canvas after blitting (:meth:`grab_canvas`) and
    mapping every frame onto :func:`gif_palette` (no dithering); it names the GIF format to
    Pillow because the file is written under a temporary ``.part`` name."""

    def setup(self, fig: Any, outfile: Any, dpi: float | None = None) -> None:
        super().setup(fig, outfile, dpi=dpi)
        self._palette = gif_palette()

    def _append(self, image: Image.Image) -> None:
        rgb = image.convert("RGB")
        self._frames.append(rgb.quantize(palette=self._palette, dither=Image.Dither.NONE))

    def grab_frame(self, **savefig_kwargs: Any) -> None:
        super().grab_frame(**savefig_kwargs)
        self._append(self._frames.pop())

    def grab_canvas(self) -> None:
        """The canvas as it is now (after ``restore_region`` / ``draw_artist``), no redraw."""
        canvas = self.fig.canvas
        size = canvas.get_width_height(physical=True)
        self._append(Image.frombuffer("RGBA", size, canvas.buffer_rgba(), "raw", "RGBA", 0, 1))

    def finish(self) -> None:
        self._frames[0].save(
            self.outfile,
            format="GIF",
            save_all=True,
            append_images=self._frames[1:],
            duration=round(1000 / self.fps),
            loop=0,
        )


def trial_starts(n_trials: int) -> tuple[np.ndarray, float]:
    """Start frame of each trial and the summed delay (authors: ``max(20 - 19 k / n, 1)``)."""
    k = np.arange(n_trials)
    delays = np.maximum(20.0 - 19.0 * k / n_trials, 1.0)
    cum = np.concatenate([[0.0], np.cumsum(delays)])
    return cum[:-1].astype(np.int64), float(cum[-1])


def timeline(n_trials: int, t_dur: int) -> tuple[np.ndarray, int]:
    """``(start frame per trial, total frames)``; 1047 frames for 95 trials of 40 bins."""
    starts, total_delay = trial_starts(n_trials)
    return starts, int(total_delay) + t_dur


def points_shown(frame: int, starts: np.ndarray, t_dur: int) -> np.ndarray:
    """How many bins of each trial are drawn at ``frame`` (0 before its start, then 1..t_dur)."""
    return np.clip(frame - starts + 1, 0, t_dur)


def sampled_frames(total: int, stride: int) -> list[int]:
    """Every ``stride``-th frame of the authors' timeline, always ending on the last one."""
    frames = list(range(0, total, max(1, stride)))
    if frames[-1] != total - 1:
        frames.append(total - 1)
    return frames


def _limits(arr: np.ndarray, pad: float = 0.03) -> tuple[float, float]:
    lo, hi = float(arr.min()), float(arr.max())
    span = hi - lo or 1.0
    return lo - pad * span, hi + pad * span


def render(
    inputs: Mapping[str, Any], outputs: Mapping[str, str], params: Mapping[str, Any]
) -> None:
    """Write ``outputs['gif']`` from ``inputs['embedding']`` (one embedding file)."""
    (path,) = inputs["embedding"]
    unknown = sorted(set(outputs) - {"gif"})
    if unknown:
        raise KeyError(f"demo_gif: unknown output(s) {', '.join(unknown)}")
    run = EmbeddingRun.load(path)
    label = str(params.get("label") or run.method)
    n_avail = len(run.train) // run.t_dur
    n_trials = min(int(params.get("n_trials", N_TRIALS)), n_avail)
    stride = int(params.get("frame_stride", FRAME_STRIDE))
    dpi = int(params.get("dpi", DPI))
    rotate = float(params.get("rotate_deg", ROTATE_DEG))
    t_dur = run.t_dur
    n_bins = n_trials * t_dur
    emb = run.train[:n_bins, :3]
    vel = run.labels_train[:n_bins, :2]
    cls = direction_class(run.labels_train[:n_bins, 2]).reshape(n_trials, t_dur)[:, 0]
    emb_t = emb.reshape(n_trials, t_dur, -1)
    vel_t = vel.reshape(n_trials, t_dur, 2)
    starts, total = timeline(n_trials, t_dur)
    frames = sampled_frames(total, stride)
    fps = BASE_FPS / stride

    fig, (left, right2d) = plt.subplots(1, 2, figsize=FIGSIZE, dpi=dpi)
    x0, y0, w, h = right2d.get_position().bounds
    right2d.remove()
    right = fig.add_axes((x0 - 0.04, y0 - 0.18, w * 1.4, h * 1.4), projection="3d")
    style.blank_3d(right, elev=ELEV, azim=AZIM)
    left.set_xlim(*_limits(vel))
    left.set_ylim(*_limits(vel))
    left.set_xticks([])
    left.set_yticks([])
    for spine in left.spines.values():
        spine.set_visible(False)
    right.set_xlim(*_limits(emb[:, 0]))
    right.set_ylim(*_limits(emb[:, 1]))
    if emb.shape[1] >= 3:
        right.set_zlim(*_limits(emb[:, 2]))
    session = style.session_title(run.session) + style.substitute_note(run.session, params)
    left.set_title(f"Hand velocity (x10), {session}", fontsize=9)
    dims = "3-D" if run.dim == 3 else f"first 3 of {run.dim} dims"
    fig.text(0.75, 0.93, f"{label} latent embedding ({dims})", ha="center", fontsize=9)
    counter = fig.text(0.02, 0.95, "", fontsize=8, color="0.3")
    colors = [direction_rgb(int(c)) for c in cls]
    # One collection per panel (one artist to draw, not one per trial); trials not yet
    # started are empty segments.
    vel_lines = LineCollection([np.zeros((0, 2))] * n_trials, colors=colors, linewidths=0.5)
    left.add_collection(vel_lines)
    emb_lines = Line3DCollection([np.zeros((0, 3))] * n_trials, colors=colors, linewidths=0.5)
    right.add_collection3d(emb_lines)
    emb3 = (
        emb_t
        if emb_t.shape[2] == 3
        else np.concatenate([emb_t, np.zeros((*emb_t.shape[:2], 3 - emb_t.shape[2]))], axis=2)
    )
    extra = (
        f"first {n_trials} training trials of {n_avail}; authors' timing "
        f"({total} frames at {BASE_FPS} fps) shown every {stride}th frame at {fps:g} fps"
    )
    style.add_footer_with_room(fig, params, extra, width=140, fontsize=7)

    # Everything but the two line collections and the trial counter is static (the 3-D axes
    # has no panes, ticks or axis lines, so rotating it changes nothing else): draw it once
    # and blit the moving parts onto it for every frame.
    for artist in (vel_lines, emb_lines, counter):
        artist.set_animated(True)
    fig.canvas.draw()
    background = fig.canvas.copy_from_bbox(fig.bbox)
    writer = _GifWriter(fps=fps)
    with atomic.atomic_path(outputs["gif"]) as tmp, writer.saving(fig, str(tmp), dpi):
        for frame in frames:
            shown = points_shown(frame, starts, t_dur)
            vel_lines.set_segments([vel_t[i, :k] for i, k in enumerate(shown)])
            emb_lines.set_segments([emb3[i, :k] for i, k in enumerate(shown)])
            counter.set_text(f"trial {int(np.count_nonzero(shown))}/{n_trials}")
            right.view_init(elev=ELEV, azim=AZIM + rotate * frame / max(total - 1, 1))
            right.M = right.get_proj()
            right.invM = np.linalg.inv(right.M)
            emb_lines.do_3d_projection()
            fig.canvas.restore_region(background)
            left.draw_artist(vel_lines)
            right.draw_artist(emb_lines)
            fig.draw_artist(counter)
            writer.grab_canvas()
    plt.close(fig)
