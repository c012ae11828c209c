"""Shared figure styling and the provenance footer every figure carries on its face."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ner_repro.core import atomic
from ner_repro.core.config import session_parts

#: The authors' method colours and markers (Fig4: NER *, CEBRA ^, piVAE d, UMAP w/ label o, UMAP w/o s).
METHOD_STYLE: Mapping[str, Mapping[str, Any]] = {
    "ner": {"color": "#1f77b4", "marker": "*"},
    "cebra": {"color": "#ff7f0e", "marker": "^"},
    "pivae": {"color": "#2ca02c", "marker": "d"},
    "umap_label": {"color": "#9467bd", "marker": "o"},
    "umap": {"color": "#d62728", "marker": "s"},
    "pca": {"color": "#8c564b", "marker": "v"},
    "dpca": {"color": "#e377c2", "marker": "P"},
}
FOOTER_FONTSIZE = 5.5


def direction_color(direction: int | np.ndarray, n: int = 8) -> Any:
    """The authors' colour of a reach direction: ``hsv(direction / 8)``."""
    return plt.cm.hsv(np.asarray(direction) / n)


def angle_color(angle_deg: np.ndarray) -> Any:
    """Per-bin colours ``hsv(angle / 360)``."""
    return plt.cm.hsv(np.asarray(angle_deg, dtype=float) / 360.0)


def coords(points: np.ndarray) -> list[np.ndarray]:
    """The first (up to) three coordinates of ``points`` (..., d), to unpack into ``scatter``
    or ``plot`` of 2-D or 3-D axes."""
    return [points[..., k] for k in range(min(3, points.shape[-1]))]


def plot_direction_averages(
    ax: Any, avg: np.ndarray, s: float, lw: float, alpha: float = 1.0
) -> None:
    """Direction averages ``(t_dur, d, 8)`` (NaN where a direction has no trials): per
    direction a scatter plus a line in the authors' ``hsv(i/8)``."""
    for i in range(avg.shape[2]):
        traj = avg[:, :, i]
        if not np.isfinite(traj).all():
            continue
        color = direction_color(i)
        ax.scatter(*coords(traj), color=color, s=s, alpha=alpha, edgecolors="none")
        ax.plot(*coords(traj), color=color, lw=lw, alpha=alpha)


def blank_3d(ax: Any, elev: float | None = None, azim: float | None = None) -> None:
    """The authors' bare 3-D axes: white, no panes, ticks or axis lines."""
    ax.set_facecolor("white")
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.pane.fill = False
        axis.pane.set_edgecolor("white")
        axis.line.set_color((1, 1, 1, 0))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_zticks([])
    ax.grid(False)
    if elev is not None or azim is not None:
        ax.view_init(elev=elev, azim=azim)


def provenance_text(params: Mapping[str, Any], extra: str | Sequence[str] = ()) -> str:
    """One or two lines saying what data a figure shows.

    Uses the ``params`` the workflow passes to every notebook: ``sessions``, ``skipped``,
    ``example`` (+ ``example_is_substitute``, ``example_requested``), ``evaluation``, ``seed``,
    ``simulated``; ``extra`` adds figure-specific statements (e.g. "from published embeddings").
    The skipped sessions are stated where ``params`` has ``sessions`` or ``skipped`` (the
    workflow's figures), not for figures of one's own files (``ner-embed``).
    """
    parts = []
    if params.get("simulated"):
        parts.append("SIMULATED DATA (offline demo)")
    sessions = params.get("sessions") or []
    if sessions:
        parts.append(f"sessions: {_compact(sessions)}")
    example = params.get("example")
    if example:
        if params.get("example_is_substitute"):
            parts.append(
                f"example session {example} (substitute for {params.get('example_requested')}, not available)"
            )
        else:
            parts.append(f"example session {example}")
    skipped = params.get("skipped") or []
    if "sessions" in params or "skipped" in params:  # not for figures of a user's own files
        parts.append(f"skipped (absent): {_compact(skipped)}" if skipped else "skipped: none")
    cap = params.get("training_cap") or {}
    if cap:
        parts.append("TRAINING CAPPED at " + ", ".join(f"{k}={v}" for k, v in cap.items()))
    if "evaluation" in params:
        parts.append(f"evaluation: {params['evaluation']}")
    if "seed" in params:
        parts.append(f"seed {params['seed']}")
    parts += [extra] if isinstance(extra, str) and extra else list(extra or [])
    return "; ".join(parts)


def _compact(names: Sequence[str]) -> str:
    """``Chewie_20160929_M1, Chewie_20161007_M1`` -> ``Chewie 20160929 M1, 20161007 M1``."""
    out, last_monkey = [], None
    for name in names:
        monkey, date, area = session_parts(name)
        if not monkey:
            out.append(name)
        elif monkey == last_monkey:
            out.append(f"{date} {area}")
        else:
            out.append(f"{monkey} {date} {area}")
            last_monkey = monkey
    return ", ".join(out)


def add_footer(
    fig: Figure,
    params: Mapping[str, Any],
    extra: str | Sequence[str] = (),
    width: int | None = None,
) -> None:
    """Write :func:`provenance_text` along the bottom edge of ``fig``, wrapped to its width."""
    text = provenance_text(params, extra)
    w_in = fig.get_size_inches()[0]
    width = width or max(40, int(w_in * 22))
    lines = textwrap.wrap(text, width)
    fig.text(
        0.005,
        0.002,
        "\n".join(lines),
        fontsize=FOOTER_FONTSIZE,
        color="0.35",
        ha="left",
        va="bottom",
        family="sans-serif",
    )


def save(fig: Figure, path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """Save ``fig`` atomically (PDF, PNG or GIF by suffix) and close it."""
    path = Path(path)
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip("."), **kwargs)
    plt.close(fig)
    return path


# -- additions for Fig1-3 and the demo GIF (also usable by the other figures) ----------------------
def session_title(name: str, short: bool = False) -> str:
    """``Chewie_20161014_M1`` -> ``Chewie 20161014 M1`` (``short``: ``20161014``)."""
    monkey, date, area = session_parts(name)
    if monkey:
        return date if short else f"{monkey} {date} {area}"
    return name.replace("_", " ")


def add_footer_with_room(
    fig: Figure,
    params: Mapping[str, Any],
    extra: str | Sequence[str] = (),
    width: int | None = None,
    pad_pt: float = 3.0,
    fontsize: float | None = None,
) -> Any:
    """:func:`add_footer`, then move the axes up so nothing overlaps it; returns the footer Text.

    Call it once the axes are laid out, just before saving. With a constrained layout the
    layout's rectangle is shrunk; otherwise every axes is squeezed into the space above.
    ``fontsize`` overrides the footer's (e.g. for a GIF, shown at 80 dpi).
    """
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    add_footer(fig, params, extra, width)
    text = fig.texts[-1]
    if fontsize is not None:
        text.set_fontsize(fontsize)
    height_px = text.get_window_extent(fig.canvas.get_renderer()).height
    frac = (height_px + pad_pt * fig.dpi / 72.0) / (fig.get_size_inches()[1] * fig.dpi)
    engine = fig.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        engine.set(rect=(0.0, frac, 1.0, 1.0 - frac))
    else:
        for ax in fig.axes:
            pos = ax.get_position()
            ax.set_position(
                [pos.x0, frac + pos.y0 * (1 - frac), pos.width, pos.height * (1 - frac)]
            )
    return text


def substitute_note(session: str, params: Mapping[str, Any]) -> str:
    """``" (substitute for Chewie 20161014 M1)"`` when ``session`` is the example session
    standing in for the unavailable requested one, else ``""`` (for panel titles)."""
    if params.get("example_is_substitute") and session == params.get("example"):
        return f" (substitute for {session_title(str(params.get('example_requested', '')))})"
    return ""
