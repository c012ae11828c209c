"""Fig3: M1 embeddings of every method, before and after alignment (``fig1-3-demo.md`` §4,
``fig8-baselines.md`` §2.2, §2.3, §2.5).

Per method and session group (the authors' "Chewie2016" and "Chewie2015" sets):

NER, CEBRA, pi-VAE, UMAP, UMAP with labels (from the alignment file of
:func:`ner_repro.analyses.rotate_to_anchor`)
    ``Before``: one row, one panel per session: the 8 direction-averaged training trajectories
    (scatter s=1 plus line lw 0.25, ``hsv(i/8)``, alpha 0.75) in the session's own frame.
    ``After``: two rows: every training bin after the session's single rotation onto the anchor
    (s=0.05 at the authors' session sizes, see :func:`point_size`), and the rotated averages (s=0.5, lw 0.25). 3-D panels without panes, ticks or axis
    lines; 2-D panels for UMAP. Every panel is titled with its session and the RMS distance of its
    averages to the anchor's, before -> after rotation: the number that shows the alignment works.
PCA and dPCA (from the embedding files)
    ``embeddings``: one row of the 8 averaged trajectories per session, not rotated (PCA: the
    projection of the direction-averaged rates, ``extra_avg_train``; dPCA: the stimulus
    components ``Z['s']``, ``extra_Z_s``).

Fixes over the authors' notebooks: titles are on the page (theirs are pushed off by
``subplots_adjust(top=1)``), each figure names its method, session group, anchor and evaluation
mode, and panel widths follow the number of sessions present.

:func:`render_rotation` and :func:`render_averages` are usable for the Fig6/Fig7 rotation panels.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from ner_repro.alignment import trial_averages
from ner_repro.decoding import direction_class
from ner_repro.embedding import EmbeddingRun
from ner_repro.plotting import style

PANEL_WIDTH_IN = 1.33  # the authors' 8 in for 6 sessions
MIN_WIDTH_IN = 3.2
ROW_HEIGHT_IN = 1.5
DPI = 300
ZOOM = 1.2
TITLE_FONTSIZE = 7
PANEL_FONTSIZE = 6.5
MODE_TEXT = {
    "corrected": "one Procrustes fit of the stacked direction averages (train split)",
    "paper": "the authors' get_best_R among the per-direction Procrustes fits",
}


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
    with np.load(path, allow_pickle=False) as npz:
        d = {k: npz[k] for k in npz.files}
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


# -- drawing helpers ------------------------------------------------------------------------------
def _new_axes(fig: plt.Figure, rows: int, cols: int, index: int, dim: int) -> Any:
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


def _xyz(arr: np.ndarray) -> list[np.ndarray]:
    return [arr[..., k] for k in range(min(3, arr.shape[-1]))]


def plot_averages(ax: Any, avg: np.ndarray, s: float, lw: float, alpha: float = 0.75) -> None:
    """Direction averages ``(t_dur, d, 8)``: scatter plus line per direction, ``hsv(i/8)``."""
    for i in range(avg.shape[2]):
        traj = avg[:, :, i]
        if not np.isfinite(traj).all():
            continue
        color = style.direction_color(i)
        ax.scatter(*_xyz(traj), color=color, s=s, alpha=alpha, edgecolors="none")
        ax.plot(*_xyz(traj), color=color, lw=lw, alpha=alpha)


def plot_points(ax: Any, emb: np.ndarray, angles: np.ndarray, s: float) -> None:
    """Every bin coloured by its direction, ``hsv(class/8)``, rasterised in the PDF."""
    colors = style.direction_color(direction_class(angles))
    ax.scatter(*_xyz(emb), c=colors, s=s, alpha=0.75, edgecolors="none", rasterized=True)


def point_size(n_points: int) -> float:
    """The authors' s=0.05 for their ~5,000-33,000 bins per session, larger for fewer bins (up
    to 2) so that a small session's cloud stays visible."""
    return float(np.clip(0.05 * 20000 / max(n_points, 1), 0.05, 2.0))


def _limits(arrays: Sequence[np.ndarray], dim: int) -> list[tuple[float, float]]:
    stacked = np.concatenate([a.reshape(-1, a.shape[-1])[:, :dim] for a in arrays], axis=0)
    stacked = stacked[np.isfinite(stacked).all(axis=1)]
    lo, hi = stacked.min(axis=0), stacked.max(axis=0)
    pad = 0.05 * np.maximum(hi - lo, 1e-12)
    return [(float(a), float(b)) for a, b in zip(lo - pad, hi + pad, strict=True)]


def _set_limits(ax: Any, limits: list[tuple[float, float]]) -> None:
    ax.set_xlim(*limits[0])
    ax.set_ylim(*limits[1])
    if len(limits) > 2 and hasattr(ax, "set_zlim"):
        ax.set_zlim(*limits[2])


def _figure(n_panels: int, rows: int) -> plt.Figure:
    width = max(MIN_WIDTH_IN, PANEL_WIDTH_IN * n_panels)
    fig = plt.figure(figsize=(width, ROW_HEIGHT_IN * rows + 0.6), layout="constrained")
    fig.get_layout_engine().set(w_pad=0.0, h_pad=0.04, wspace=0.0, hspace=0.0)
    return fig


def _finish(fig: plt.Figure, title: str, params: Mapping[str, Any], extra: Any = ()) -> None:
    """Suptitle wrapped to the figure's width, and the provenance footer."""
    chars = max(40, int(fig.get_size_inches()[0] * 72 / (0.6 * TITLE_FONTSIZE)))
    lines = [part for line in title.split("\n") for part in textwrap.wrap(line, chars)]
    fig.suptitle("\n".join(lines), fontsize=TITLE_FONTSIZE)
    style.add_footer_with_room(fig, params, extra)


def _anchor_text(rot: Rotation) -> str:
    method, _, session = rot.anchor.partition("-")
    return f"{method} {style.session_title(session)}" if session else rot.anchor


def _rmse_text(rot: Rotation, i: int, after: bool) -> str:
    if rot.sessions[i] == rot.anchor_session and rot.rmse_before[i] == 0:
        return "anchor"
    if not after:
        return f"RMSE to anchor {rot.rmse_before[i]:.3f}"
    text = f"RMSE {rot.rmse_before[i]:.3f}\u2192{rot.rmse_after[i]:.3f}"
    if rot.mode == "paper" and rot.chosen_direction[i] >= 0:
        text += f"\nR of direction {int(rot.chosen_direction[i])}"
    return text


def _dims_note(dim: int) -> str:
    return "" if dim <= 3 else f"; first 3 of {dim} dimensions shown"


# -- figures --------------------------------------------------------------------------------------
def plot_before(rot: Rotation, label: str, group: str, params: Mapping[str, Any]) -> plt.Figure:
    n = len(rot.sessions)
    fig = _figure(n, 1)
    for i, session in enumerate(rot.sessions):
        ax = _new_axes(fig, 1, n, i + 1, rot.dim)
        plot_averages(ax, rot.averages[i], s=1, lw=0.25)
        ax.set_title(
            f"{style.session_title(session, short=True)}\n{_rmse_text(rot, i, after=False)}",
            fontsize=PANEL_FONTSIZE,
        )
    title = (
        f"{label}, {group}: direction-averaged training trajectories before alignment, "
        f"each session in its own frame{_dims_note(rot.dim)}"
    )
    _finish(fig, title, params)
    return fig


def plot_after(rot: Rotation, label: str, group: str, params: Mapping[str, Any]) -> plt.Figure:
    n = len(rot.sessions)
    fig = _figure(n, 2)
    dim = min(rot.dim, 3)
    point_limits = _limits(rot.aligned, dim)
    avg_limits = _limits([np.moveaxis(rot.aligned_averages, 2, 3)], dim)  # (n, t, 8, d)
    for i, session in enumerate(rot.sessions):
        top = _new_axes(fig, 2, n, i + 1, rot.dim)
        plot_points(top, rot.aligned[i], rot.angles[i], s=point_size(len(rot.aligned[i])))
        _set_limits(top, point_limits)
        top.set_title(
            f"{style.session_title(session, short=True)}\n{_rmse_text(rot, i, after=True)}",
            fontsize=PANEL_FONTSIZE,
        )
        bottom = _new_axes(fig, 2, n, n + i + 1, rot.dim)
        plot_averages(bottom, rot.aligned_averages[i], s=0.5, lw=0.25)
        _set_limits(bottom, avg_limits)
    how = MODE_TEXT.get(rot.mode, rot.mode)
    title = (
        f"{label}, {group}: rotated onto anchor {_anchor_text(rot)}{_dims_note(rot.dim)}\n"
        f"evaluation {rot.mode}: {how}\n"
        "top: all training bins after rotation; bottom: rotated direction averages"
    )
    _finish(fig, title, params)
    return fig


@dataclass
class Averages:
    """One session's direction averages drawn without rotation (PCA, dPCA)."""

    session: str
    averages: np.ndarray  # (t_dur, d, 8), NaN for absent directions
    note: str


def _by_direction(per_dir: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """``(n_dir, t_dur, d)`` in the order of ``directions`` -> ``(t_dur, d, 8)``."""
    _, t_dur, d = per_dir.shape
    out = np.full((t_dur, d, 8), np.nan)
    for row, cls in zip(per_dir, np.asarray(directions).astype(int).reshape(-1), strict=True):
        out[:, :, cls] = row
    return out


def session_averages(run: EmbeddingRun) -> Averages:
    """What the authors plot for PCA (``avg_train``) and dPCA (``Z_s``); else trial averages."""
    ex = run.extras
    directions = ex.get("directions", np.arange(8))
    if "avg_train" in ex:  # PCA (n_dir, t_dur, k)
        avg = _by_direction(np.asarray(ex["avg_train"], dtype=float), directions)
        evr = ex.get("explained_variance_ratio")
        note = "" if evr is None else f"EV {100 * float(np.sum(evr)):.0f}% (3 PCs)"
        return Averages(run.session, avg, note)
    if "Z_s" in ex:  # dPCA (k, n_dir, t_dur)
        z = np.asarray(ex["Z_s"], dtype=float).transpose(1, 2, 0)
        lam = ex.get("lambda")
        note = "" if lam is None else f"\u03bb={float(lam):.2g}"
        return Averages(run.session, _by_direction(z, directions), note)
    avg, _ = trial_averages(run.train, run.labels_train, run.t_dur)
    return Averages(run.session, avg, "trial averages")


def plot_session_averages(
    items: Sequence[Averages], label: str, kind: str, group: str, params: Mapping[str, Any]
) -> plt.Figure:
    n = len(items)
    dim = max(item.averages.shape[1] for item in items)
    fig = _figure(n, 1)
    for i, item in enumerate(items):
        ax = _new_axes(fig, 1, n, i + 1, dim)
        plot_averages(ax, item.averages, s=1, lw=0.25)
        note = f"\n{item.note}" if item.note else ""
        ax.set_title(
            f"{style.session_title(item.session, short=True)}{note}", fontsize=PANEL_FONTSIZE
        )
    what = {
        "pca": "PCA of the direction-averaged rates (train split)",
        "dpca": "dPCA stimulus components Z['s'] (balanced train trials)",
    }.get(kind, "direction-averaged training trajectories")
    title = f"{label}, {group}: {what}; no alignment{_dims_note(dim)}"
    _finish(fig, title, params)
    return fig


# -- entry points ---------------------------------------------------------------------------------
def render_rotation(
    path: str,
    before: str | None,
    after: str | None,
    label: str,
    group: str,
    params: Mapping[str, Any],
) -> Rotation:
    """Before/After PDFs of one alignment file (either may be ``None``)."""
    rot = load_rotation(path)
    if not rot.sessions:
        raise ValueError(f"{path}: the alignment holds no sessions")
    if before:
        style.save(plot_before(rot, label, group, params), before, dpi=DPI)
    if after:
        style.save(plot_after(rot, label, group, params), after, dpi=DPI)
    return rot


def render_averages(
    paths: Sequence[str], out: str, label: str, kind: str, group: str, params: Mapping[str, Any]
) -> list[Averages]:
    """One row of un-rotated direction averages, one panel per embedding file."""
    items = [session_averages(EmbeddingRun.load(p)) for p in paths]
    if not items:
        raise ValueError(f"fig3: no embeddings for {label} {group}")
    style.save(plot_session_averages(items, label, kind, group, params), out, dpi=DPI)
    return items


def _targets(outputs: Mapping[str, str]) -> dict[tuple[str, str], dict[str, str]]:
    targets: dict[tuple[str, str], dict[str, str]] = {}
    for key, path in outputs.items():
        parts = key.rsplit(":", 2)
        if len(parts) != 3 or parts[2] not in ("Before", "After", "embeddings"):
            raise KeyError(f"fig3: unexpected output key {key!r}")
        targets.setdefault((parts[0], parts[1]), {})[parts[2]] = path
    return targets


def render(
    inputs: Mapping[str, Any], outputs: Mapping[str, str], params: Mapping[str, Any]
) -> None:
    """Write every ``{method}:{group}:{Before|After|embeddings}`` PDF of ``outputs``."""
    methods = params.get("methods") or {}
    groups = params.get("groups") or {}
    for (method, title), what in _targets(outputs).items():
        paths = list(inputs[f"{method}:{title}"])
        info = methods.get(method, {})
        label = str(info.get("label", method))
        group = str(groups.get(title, title))
        if "embeddings" in what:
            render_averages(
                paths, what["embeddings"], label, str(info.get("kind", "")), group, params
            )
        if "Before" in what or "After" in what:
            if len(paths) != 1:
                raise ValueError(f"fig3: {method}:{title} needs one alignment file, got {paths}")
            render_rotation(paths[0], what.get("Before"), what.get("After"), label, group, params)


def summary(inputs: Mapping[str, Any], params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """RMSE of the direction averages to the anchor, before and after rotation, per session."""
    rows = []
    for key, paths in inputs.items():
        method, title = key.rsplit(":", 1)
        kind = (params.get("methods") or {}).get(method, {}).get("kind", "")
        if kind in ("pca", "dpca") or len(paths) != 1:
            continue
        rot = load_rotation(paths[0])
        for i, session in enumerate(rot.sessions):
            rows.append(
                {
                    "method": method,
                    "group": title,
                    "session": session,
                    "anchor": rot.anchor,
                    "mode": rot.mode,
                    "rmse_before": float(rot.rmse_before[i]),
                    "rmse_after": float(rot.rmse_after[i]),
                    "chosen_direction": int(rot.chosen_direction[i]),
                }
            )
    return rows
