"""The figures of ``ner-embed``: the loss curve and the training embedding, each with a footer
saying what data, seed and settings it shows (:func:`ner_repro.plotting.style.add_footer_with_room`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ner_repro.plotting import style

__all__ = ["plot_embedding", "plot_loss"]


def plot_loss(
    path: str | os.PathLike[str], loss: np.ndarray, *, title: str, seed: int, footer: Sequence[str]
) -> Path:
    """The training loss per iteration (the NER rank loss, RnC)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.0, 3.4), layout="constrained")
    steps = np.arange(1, len(loss) + 1)
    ax.plot(steps, loss, lw=0.8, color=style.METHOD_STYLE["ner"]["color"])
    ax.set_xlabel("iteration")
    ax.set_ylabel("RnC loss (NER)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    style.add_footer_with_room(fig, {"seed": seed}, list(footer))
    return style.save(fig, path)


def plot_embedding(
    path: str | os.PathLike[str],
    embedding: np.ndarray,
    colour: np.ndarray,
    *,
    colour_name: str,
    circular_period: float | None,
    title: str,
    seed: int,
    footer: Sequence[str],
) -> Path:
    """The first three embedding dimensions of ``embedding`` (fewer if it has fewer: 2-D as a
    plane, 1-D against the bin), one point per bin, coloured by ``colour`` (a cyclic colour
    map where the column is circular)."""
    import matplotlib.pyplot as plt

    dim = embedding.shape[1]
    fig = plt.figure(figsize=(5.0, 4.6), layout="constrained")
    if dim >= 3:
        ax = fig.add_subplot(projection="3d")
        points = style.coords(embedding)
        ax.set_zlabel("dim 3", fontsize=7)
    elif dim == 2:
        ax = fig.add_subplot()
        points = style.coords(embedding)
    else:
        ax = fig.add_subplot()
        points = [np.arange(len(embedding)), embedding[:, 0]]
    if circular_period is not None:
        cmap, vmin, vmax = "hsv", 0.0, circular_period
        colour = np.mod(colour, circular_period)
    else:
        cmap, vmin, vmax = "viridis", None, None
    scatter = ax.scatter(
        *points, c=colour, cmap=cmap, vmin=vmin, vmax=vmax, s=3, alpha=0.8, edgecolors="none"
    )
    ax.set_xlabel("bin" if dim == 1 else "dim 1", fontsize=7)
    ax.set_ylabel("dim 1" if dim == 1 else "dim 2", fontsize=7)
    ax.tick_params(labelsize=6)
    ax.set_title(title, fontsize=9)
    bar = fig.colorbar(scatter, ax=ax, shrink=0.6, pad=0.08)
    bar.set_label(colour_name, fontsize=7)
    bar.ax.tick_params(labelsize=6)
    style.add_footer_with_room(fig, {"seed": seed}, list(footer))
    return style.save(fig, path)
