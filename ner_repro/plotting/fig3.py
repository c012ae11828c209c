"""Fig3: M1 embeddings of every method, before and after alignment (``fig1-3-demo.md`` §4,
``fig8-baselines.md`` §2.2, §2.3, §2.5; see ``docs/sources.md``).

Per method and session group (the authors' "Chewie2016" and "Chewie2015" sets):

NER, CEBRA, pi-VAE, UMAP, UMAP with labels (from the alignment file of
:func:`ner_repro.analysis.steps.rotate_to_anchor`)
    ``Before`` (one row: each session's direction-averaged training trajectories in its own
    frame) and ``After`` (two rows: every training bin after the session's single rotation onto
    the anchor, and the rotated averages), drawn by :mod:`ner_repro.plotting.rotation` as for
    Fig6/Fig7; 2-D panels for UMAP. Each session's panel is titled with its date and the RMS
    distance of its averages to the anchor's (``After``: before -> after rotation): the number
    that shows the alignment works.
PCA and dPCA (from the embedding files)
    ``embeddings``: one row of the 8 averaged trajectories per session, not rotated (PCA: the
    projection of the direction-averaged rates, ``extra_avg_train``; dPCA: the stimulus
    components ``Z['s']``, ``extra_Z_s``).

Fixes over the authors' notebooks: titles are on the page (theirs are pushed off by
``subplots_adjust(top=1)``), each figure names its method, session group, anchor and evaluation
mode, and panel widths follow the number of sessions present.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from ner_repro.analysis.alignment import trial_averages
from ner_repro.core.embedding import EmbeddingRun
from ner_repro.core.session import N_DIRECTIONS
from ner_repro.methods.kinds import KINDS
from ner_repro.plotting import rotation, style
from ner_repro.plotting.rotation import DPI, Rotation, load_rotation

MODE_TEXT = {
    "corrected": "one Procrustes fit of the stacked direction averages (train split)",
    "paper": "the authors' get_best_R among the per-direction Procrustes fits",
}


# -- captions -------------------------------------------------------------------------------------
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


# -- figures --------------------------------------------------------------------------------------
def _session_titles(rot: Rotation, after: bool) -> list[str]:
    return [
        f"{style.session_title(session, short=True)}\n{_rmse_text(rot, i, after=after)}"
        for i, session in enumerate(rot.sessions)
    ]


def plot_before(rot: Rotation, label: str, group: str, params: Mapping[str, Any]) -> plt.Figure:
    title = (
        f"{label}, {group}: direction-averaged training trajectories before alignment, "
        f"each session in its own frame{rotation.dims_note(rot.dim)}"
    )
    return rotation.before_figure(rot, _session_titles(rot, after=False), title, params)


def plot_after(rot: Rotation, label: str, group: str, params: Mapping[str, Any]) -> plt.Figure:
    how = MODE_TEXT.get(rot.mode, rot.mode)
    title = (
        f"{label}, {group}: rotated onto anchor {_anchor_text(rot)}"
        f"{rotation.dims_note(rot.dim)}\n"
        f"evaluation {rot.mode}: {how}\n"
        "top: all training bins after rotation; bottom: rotated direction averages"
    )
    return rotation.after_figure(rot, _session_titles(rot, after=True), title, params)


@dataclass
class Averages:
    """One session's direction averages drawn without rotation (PCA, dPCA)."""

    session: str
    averages: np.ndarray  # (t_dur, d, 8), NaN for absent directions
    note: str


def _by_direction(per_dir: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """``(n_dir, t_dur, d)`` in the order of ``directions`` -> ``(t_dur, d, 8)``."""
    _, t_dur, d = per_dir.shape
    out = np.full((t_dur, d, N_DIRECTIONS), np.nan)
    for row, cls in zip(per_dir, np.asarray(directions).astype(int).reshape(-1), strict=True):
        out[:, :, cls] = row
    return out


def session_averages(run: EmbeddingRun) -> Averages:
    """What the authors plot for PCA (``avg_train``) and dPCA (``Z_s``); else trial averages."""
    ex = run.extras
    directions = ex.get("directions", np.arange(N_DIRECTIONS))
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
    fig = rotation.new_figure(n, 1)
    for i, item in enumerate(items):
        ax = rotation.new_axes(fig, 1, n, i + 1, dim)
        style.plot_direction_averages(ax, item.averages, s=1, lw=0.25, alpha=rotation.ALPHA)
        note = f"\n{item.note}" if item.note else ""
        ax.set_title(
            f"{style.session_title(item.session, short=True)}{note}",
            fontsize=rotation.PANEL_FONTSIZE,
        )
    what = {
        "pca": "PCA of the direction-averaged rates (train split)",
        "dpca": "dPCA stimulus components Z['s'] (balanced train trials)",
    }.get(kind, "direction-averaged training trajectories")
    title = f"{label}, {group}: {what}; no alignment{rotation.dims_note(dim)}"
    rotation.finish(fig, title, params)
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
        if (kind in KINDS and not KINDS[kind].rotated) or len(paths) != 1:
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
