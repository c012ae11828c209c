"""Before/After rotation plots of the alignment files, for Fig3, Fig6 and Fig7
(``fig1-3-demo.md`` §4, ``fig4-7.md`` §2.4; see ``docs/sources.md``).

Each figure draws one alignment file of :func:`ner_repro.analysis.steps.rotate_to_anchor`, one panel
per session, as the authors did:

``Before``
    One row: the 8 direction-averaged training trajectories of each session in its own frame
    (scatter s=1 plus line lw 0.25, ``hsv(i/8)``, alpha 0.75;
    :func:`ner_repro.plotting.style.plot_direction_averages`).
``After``
    Two rows: every training bin after the session's rotation onto the anchor (the authors'
    s=0.05 at their session sizes, larger for fewer bins, see :func:`point_size`), and the
    rotated direction averages (s=0.5, lw 0.25).

Panels are bare 3-D axes (no panes, ticks or axis lines), or 2-D for a 2-D embedding (UMAP); at
most the first three dimensions are drawn. Fixes over the authors' figures: titles are on the
page and wrapped to its width; panels are the authors' 8 in / 6 sessions wide, and a figure is
at least three panels wide so that its title fits; each row of an ``After`` figure shares its
axis limits over the sessions (all are in the anchor's frame, so equal limits show the
alignment; taken over the embedding dimensions of every point drawn, so nothing is cut off).

The panel and figure titles are the callers': Fig3 (:mod:`ner_repro.plotting.fig3`) names the
session and its RMS distance to the anchor in each top panel; Fig6 and Fig7
(:func:`render_rotations`) name the sessions on the top row and give the RMS distance before ->
after rotation on the bottom row of ``After``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ner_repro.analysis.decoding import direction_class
from ner_repro.core import atomic
from ner_repro.plotting import matrices as mx
from ner_repro.plotting import style

PANEL_WIDTH_IN = 1.33  # the authors' 8 in for 6 sessions
MIN_PANELS = 3  # a figure is at least this many panels wide, so that its titles fit
ROW_HEIGHT_IN = 1.5
DPI = 300
ZOOM = 1.2
TITLE_FONTSIZE = 7
PANEL_FONTSIZE = 6.5
ALPHA = 0.75  # of every point and line, as the authors


@dataclass
class Rotation:
    """The arrays of one alignment file."""

    method: str
    anchor: str
    mode: str
    sessions: list[str]
    aligned: list[np.ndarray]  # per session (T_tr, d)
    angles: list[np.ndarray]  # per session (T_tr,)
    averages: np.ndarray  # (n, t_dur, d, 8)
    aligned_averages: np.ndarray  # (n, t_dur, d, 8)
    rmse_before: np.ndarray
    rmse_after: np.ndarray
    chosen_direction: np.ndarray

    @property
    def dim(self) -> int:
        return int(self.averages.shape[2]) if self.averages.ndim == 4 else 0

    @property
    def anchor_session(self) -> str:
        return self.anchor.split("-", 1)[1] if "-" in self.anchor else self.anchor


def load_rotation(path: str) -> Rotation:
    d = atomic.load_npz(path, what="an alignment file")
    sessions = [str(s) for s in d["sessions"]]
    n = len(sessions)
    return Rotation(
        method=str(d.get("method", "")),
        anchor=str(d.get("anchor", "")),
        mode=str(d.get("mode", "")),
        sessions=sessions,
        aligned=[np.asarray(d[f"{i}_aligned"], dtype=float) for i in range(n)],
        angles=[np.asarray(d[f"{i}_angle"], dtype=float) for i in range(n)],
        averages=np.asarray(d["averages"], dtype=float),
        aligned_averages=np.asarray(d["aligned_averages"], dtype=float),
        rmse_before=np.asarray(d["rmse_before"], dtype=float).reshape(-1),
        rmse_after=np.asarray(d["rmse_after"], dtype=float).reshape(-1),
        chosen_direction=np.asarray(d.get("chosen_direction", np.full(n, -1))).reshape(-1),
    )


# -- drawing --------------------------------------------------------------------------------------
def new_axes(fig: Figure, rows: int, cols: int, index: int, dim: int) -> Any:
    """Panel ``index`` of a ``rows`` x ``cols`` grid: bare 3-D axes, or 2-D for ``dim`` < 3."""
    if dim >= 3:
        ax = fig.add_subplot(rows, cols, index, projection="3d")
        style.blank_3d(ax)
        ax.set_box_aspect(None, zoom=ZOOM)
    else:
        ax = fig.add_subplot(rows, cols, index)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_color("0.8")
            spine.set_linewidth(0.5)
    return ax


def plot_points(ax: Any, emb: np.ndarray, angles: np.ndarray, s: float) -> None:
    """Every bin coloured by its direction, ``hsv(class/8)``, rasterised in the PDF."""
    colors = style.direction_color(direction_class(angles))
    ax.scatter(*style.coords(emb), c=colors, s=s, alpha=ALPHA, edgecolors="none", rasterized=True)


def point_size(n_points: int) -> float:
    """The authors' s=0.05 for their ~5,000-33,000 bins per session, larger for fewer bins (up
    to 2) so that a small session's cloud stays visible."""
    return float(np.clip(0.05 * 20000 / max(n_points, 1), 0.05, 2.0))


def limits(arrays: Sequence[np.ndarray], dim: int) -> list[tuple[float, float]]:
    """Padded (min, max) of the first ``dim`` coordinates over all points of ``arrays``
    (each ``(..., d)``: the last axis is the embedding dimension)."""
    stacked = np.concatenate([a.reshape(-1, a.shape[-1])[:, :dim] for a in arrays], axis=0)
    stacked = stacked[np.isfinite(stacked).all(axis=1)]
    lo, hi = stacked.min(axis=0), stacked.max(axis=0)
    pad = 0.05 * np.maximum(hi - lo, 1e-12)
    return [(float(a), float(b)) for a, b in zip(lo - pad, hi + pad, strict=True)]


def set_limits(ax: Any, lims: list[tuple[float, float]]) -> None:
    ax.set_xlim(*lims[0])
    ax.set_ylim(*lims[1])
    if len(lims) > 2 and hasattr(ax, "set_zlim"):
        ax.set_zlim(*lims[2])


# -- figures --------------------------------------------------------------------------------------
def new_figure(n_panels: int, rows: int) -> Figure:
    """A constrained-layout figure for ``rows`` rows of ``n_panels`` panels."""
    width = PANEL_WIDTH_IN * max(n_panels, MIN_PANELS)
    fig = plt.figure(figsize=(width, ROW_HEIGHT_IN * rows + 0.6), layout="constrained")
    fig.get_layout_engine().set(w_pad=0.0, h_pad=0.04, wspace=0.0, hspace=0.0)
    return fig


def finish(fig: Figure, title: str, params: Mapping[str, Any], extra: Any = ()) -> None:
    """Suptitle wrapped to the figure's width (each of its lines), and the provenance footer."""
    chars = max(40, int(fig.get_size_inches()[0] * 72 / (0.6 * TITLE_FONTSIZE)))
    lines = [part for line in title.split("\n") for part in textwrap.wrap(line, chars)]
    fig.suptitle("\n".join(lines), fontsize=TITLE_FONTSIZE)
    style.add_footer_with_room(fig, params, extra)


def dims_note(dim: int) -> str:
    return "" if dim <= 3 else f"; first 3 of {dim} dimensions shown"


def before_figure(
    rot: Rotation,
    titles: Sequence[str],
    title: str,
    params: Mapping[str, Any],
    extra: Any = (),
) -> Figure:
    """One row: each session's direction averages in its own frame, panel ``titles[i]``."""
    n = len(rot.sessions)
    fig = new_figure(n, 1)
    for i in range(n):
        ax = new_axes(fig, 1, n, i + 1, rot.dim)
        style.plot_direction_averages(ax, rot.averages[i], s=1, lw=0.25, alpha=ALPHA)
        ax.set_title(titles[i], fontsize=PANEL_FONTSIZE)
    finish(fig, title, params, extra)
    return fig


def after_figure(
    rot: Rotation,
    titles: Sequence[str],
    title: str,
    params: Mapping[str, Any],
    extra: Any = (),
    bottom_titles: Sequence[str] | None = None,
) -> Figure:
    """Two rows: every training bin after rotation (panel ``titles[i]``), and the rotated
    direction averages (``bottom_titles[i]``, if given); each row with shared limits."""
    n = len(rot.sessions)
    fig = new_figure(n, 2)
    dim = min(rot.dim, 3)
    point_limits = limits(rot.aligned, dim)
    for i in range(n):
        ax = new_axes(fig, 2, n, i + 1, rot.dim)
        plot_points(ax, rot.aligned[i], rot.angles[i], s=point_size(len(rot.aligned[i])))
        set_limits(ax, point_limits)
        ax.set_title(titles[i], fontsize=PANEL_FONTSIZE)
    avg_limits = limits([np.moveaxis(rot.aligned_averages, 2, 3)], dim)  # (n, t, 8, d)
    for i in range(n):
        ax = new_axes(fig, 2, n, n + i + 1, rot.dim)
        style.plot_direction_averages(ax, rot.aligned_averages[i], s=0.5, lw=0.25, alpha=ALPHA)
        set_limits(ax, avg_limits)
        if bottom_titles is not None and bottom_titles[i]:
            ax.set_title(bottom_titles[i], fontsize=PANEL_FONTSIZE)
    finish(fig, title, params, extra)
    return fig


# -- Fig6 and Fig7 --------------------------------------------------------------------------------
def render_rotations(
    inputs: Mapping[str, Sequence[str]],
    outputs: Mapping[str, str],
    params: Mapping[str, Any],
) -> None:
    """Fig6/Fig7 Before/After PDFs (``{key}:{Before,After}``) of every ``{method}:rotate{suffix}``
    input: panels titled with the sessions' short labels, the ``After`` averages with the RMS
    distance to the anchor before -> after rotation."""
    methods = {m.name: m for m in mx.methods_from_params(params.get("rotate_methods"))}
    anchors = params.get("anchors") or {}
    group = str(params.get("rotation_group", params.get("group", "")))
    for key, paths in inputs.items():
        name, sep, rest = key.partition(":")
        if not sep or not rest.startswith("rotate"):
            continue
        wanted = {when: outputs.get(f"{key}:{when}") for when in ("Before", "After")}
        if not any(wanted.values()):
            continue
        rot = load_rotation(paths[0])
        mx.check_mode({"mode": rot.mode} if rot.mode else {}, params, paths[0])
        label = methods.get(name, mx.Method(name, name, mx.infer_kind(name))).label
        anchor = str(anchors.get(key, rot.anchor))
        extra = [group, f"training splits; rotated onto the direction averages of {anchor}"]
        titles = mx.session_labels(rot.sessions)
        dims = dims_note(rot.dim)
        if wanted["Before"]:
            title = f"{label}: direction averages before rotation{dims}\n{group}".rstrip()
            fig = before_figure(rot, titles, title, params, extra)
            style.save(fig, wanted["Before"], dpi=DPI)
        if wanted["After"]:
            rmse = [
                f"RMSE {b:.3g} → {a:.3g}" if np.isfinite(a) else ""
                for b, a in zip(rot.rmse_before, rot.rmse_after, strict=True)
            ]
            title = (
                f"{label}: after rotation onto\n{anchor}{dims}"
                if anchor
                else f"{label}: after rotation{dims}"
            )
            fig = after_figure(rot, titles, title, params, extra, bottom_titles=rmse)
            style.save(fig, wanted["After"], dpi=DPI)
