"""Fig2: the example session's single-trial and trial-averaged embedding (``fig1-3-demo.md`` §2).

From one embedding file (:mod:`ner_repro.core.embedding`), as the authors' ``Fig2_Example_emb``:

``single_trial_embedding``
    every training trial of each direction, 3-D scatter ``hsv(i/8)``, s=0.5, alpha 0.75;
``average_trial_embedding``
    the 8 trial-averaged trajectories, scatter s=3 plus a line (lw 0.5).

3×3 in, white background, no panes, ticks or axis lines, ``view_init(elev=119, azim=114)``.
Added: the method, session and trial counts in a title, and the provenance footer.
The cited section of the specification is summarised in ``docs/sources.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt

from ner_repro.analysis.alignment import trial_averages
from ner_repro.analysis.decoding import direction_class
from ner_repro.core.embedding import EmbeddingRun
from ner_repro.core.session import N_DIRECTIONS
from ner_repro.plotting import style

ELEV, AZIM = 119, 114
FIGSIZE = (3.0, 3.0)
DPI = 200
#: The authors' 3-D axes leave wide margins in a 3x3 in figure; zoom in a little.
ZOOM = 1.25
PANELS = ("single_trial_embedding", "average_trial_embedding")


def _axes(dim: int) -> tuple[plt.Figure, Any]:
    fig = plt.figure(figsize=FIGSIZE)
    if dim >= 3:
        ax = fig.add_subplot(projection="3d")
        style.blank_3d(ax, elev=ELEV, azim=AZIM)
        ax.set_box_aspect(None, zoom=ZOOM)
    else:
        ax = fig.add_subplot()
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, ax


def _title(
    fig: plt.Figure, run: EmbeddingRun, label: str, what: str, params: Mapping[str, Any]
) -> None:
    dims = f"{run.dim}-D" if run.dim <= 3 else f"first 3 of {run.dim} dims"
    note = style.substitute_note(run.session, params).strip()
    note = f"\n{note}" if note else ""
    fig.suptitle(
        f"{label}, {style.session_title(run.session)}{note}\n{what} ({dims}, seed {run.seed})",
        fontsize=7,
        y=0.985,
    )


def plot_single_trials(run: EmbeddingRun, label: str, params: Mapping[str, Any]) -> plt.Figure:
    fig, ax = _axes(run.dim)
    cls = direction_class(run.labels_train[:, 2])
    for i in range(N_DIRECTIONS):
        sel = cls == i
        if not sel.any():
            continue
        ax.scatter(
            *style.coords(run.train[sel]),
            color=style.direction_color(i),
            s=0.5,
            alpha=0.75,
            edgecolors="none",
            rasterized=True,
        )
    n_trials = len(run.train) // run.t_dur
    _title(fig, run, label, f"single trials: all {n_trials} training trials", params)
    fig.subplots_adjust(left=0, right=1, bottom=0, top=0.88)
    style.add_footer_with_room(fig, params)
    return fig


def plot_averages(run: EmbeddingRun, label: str, params: Mapping[str, Any]) -> plt.Figure:
    fig, ax = _axes(run.dim)
    avg, counts = trial_averages(run.train, run.labels_train, run.t_dur)
    style.plot_direction_averages(ax, avg, s=3, lw=0.5)
    _title(fig, run, label, f"trial averages of 8 directions ({int(counts.sum())} trials)", params)
    fig.subplots_adjust(left=0, right=1, bottom=0, top=0.88)
    style.add_footer_with_room(fig, params)
    return fig


def render(
    inputs: Mapping[str, Any], outputs: Mapping[str, str], params: Mapping[str, Any]
) -> None:
    """Write ``outputs['single_trial_embedding']`` and ``outputs['average_trial_embedding']``."""
    (path,) = inputs["embedding"]
    run = EmbeddingRun.load(path)
    label = str(params.get("label") or run.method)
    unknown = sorted(set(outputs) - set(PANELS))
    if unknown:
        raise KeyError(f"fig2: unknown output(s) {', '.join(unknown)}; known: {', '.join(PANELS)}")
    if "single_trial_embedding" in outputs:
        style.save(
            plot_single_trials(run, label, params), outputs["single_trial_embedding"], dpi=DPI
        )
    if "average_trial_embedding" in outputs:
        style.save(plot_averages(run, label, params), outputs["average_trial_embedding"], dpi=DPI)


def summary(inputs: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    (path,) = inputs["embedding"]
    run = EmbeddingRun.load(path)
    _, counts = trial_averages(run.train, run.labels_train, run.t_dur)
    return {
        "method": run.method,
        "session": run.session,
        "seed": run.seed,
        "dim": run.dim,
        "t_dur": run.t_dur,
        "train_trials_per_direction": counts.tolist(),
    }
