"""Fig1: NER vs CEBRA on the example session (``fig1-3-demo.md`` §1; see ``docs/sources.md``).

Per method, from its in-sample analysis file (:func:`ner_repro.analysis.steps.insample`), five PDFs
as in the authors' ``Fig1_Method_{NER,CEBRA}_Lin_Reg_1021`` notebooks:

``train_loss``
    the training loss per iteration (deepskyblue), titled ``iterations=N  final loss=L`` with L the
    mean of the last 10 values; the y label names the loss actually trained (RnC for NER, InfoNCE
    for CEBRA; the authors wrote "RnC Loss" on both).
``Decoding``
    true hand positions (per-trial cumulative sums of the x10 velocities) coloured by target
    direction, next to the positions integrated from the linearly decoded velocity, coloured by
    the logistic-regression direction; ``True vs Pred-R2 vel=%.3g pos=%.3g``.
``Embedding``
    every training bin of the 3-D embedding coloured by direction, next to the 8 trial-averaged
    trajectories.
``X_velocity_real_vs_pred`` / ``Y_velocity_real_vs_pred``
    actual vs predicted velocity per bin with the identity line; R² and the OLS p-values of
    ``[const, z1, z2, z3]`` (``'<1e-100'`` or ``f'{p:.1e}'``).

All decoding is in-sample (training split), as in the paper. Fixes over the authors' code: no
empty legend, the session and method on every panel, the trained loss's name on the y axis, and
axis limits that follow the data when it does not fit the authors' fixed ±300/±250/±200.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from ner_repro.analysis.alignment import trial_averages
from ner_repro.core import atomic
from ner_repro.plotting import style

PANELS = (
    "train_loss",
    "Decoding",
    "Embedding",
    "X_velocity_real_vs_pred",
    "Y_velocity_real_vs_pred",
)
#: The authors' axis limits of the velocity scatters (x10 velocities of Chewie).
AUTHOR_XLIM = 300.0
AUTHOR_YLIM = {"X": 250.0, "Y": 200.0}
VELOCITY_COLOR = {"X": "blue", "Y": "orange"}
#: Scatters with more points than this are rasterised inside the PDF (vector text and axes).
RASTER_ABOVE = 2000
DPI = 250


@dataclass
class InSample:
    """The arrays of one in-sample analysis file."""

    method: str
    session: str
    seed: int
    t_dur: int
    loss: np.ndarray
    loss_name: str
    embedding: np.ndarray
    labels: np.ndarray
    vel_r2: float
    pos_r2: float
    r2_axis: np.ndarray
    pvalues: np.ndarray | None
    true_vel: np.ndarray
    pred_vel: np.ndarray
    true_pos: np.ndarray
    pred_pos: np.ndarray
    pred_dir_deg: np.ndarray | None
    dir_mae_deg: float | None
    dir_acc: float | None

    @property
    def final_loss(self) -> float:
        return final_loss(self.loss)


def load_insample(path: str) -> InSample:
    d = atomic.load_npz(path, what="an in-sample analysis file")

    def opt(key: str) -> Any:
        return d[key] if key in d else None

    return InSample(
        method=str(d["method"]),
        session=str(d["session"]),
        seed=int(d["seed"]),
        t_dur=int(d["t_dur"]),
        loss=np.asarray(d.get("loss", np.zeros(0)), dtype=float).reshape(-1),
        loss_name=str(d.get("loss_name", "")),
        embedding=np.asarray(d["embedding"], dtype=float),
        labels=np.asarray(d["labels"], dtype=float),
        vel_r2=float(d["vel_r2"]),
        pos_r2=float(d["pos_r2"]),
        r2_axis=np.asarray(d["r2_axis"], dtype=float),
        pvalues=opt("pvalues"),
        true_vel=np.asarray(d["true_vel"], dtype=float),
        pred_vel=np.asarray(d["pred_vel"], dtype=float),
        true_pos=np.asarray(d["true_pos"], dtype=float),
        pred_pos=np.asarray(d["pred_pos"], dtype=float),
        pred_dir_deg=opt("pred_dir_deg"),
        dir_mae_deg=None if opt("dir_mae_deg") is None else float(d["dir_mae_deg"]),
        dir_acc=None if opt("dir_acc") is None else float(d["dir_acc"]),
    )


# -- numbers as the authors print them ------------------------------------------------------------
def final_loss(loss: np.ndarray) -> float:
    """The authors' "final loss": mean of the last 10 iterations."""
    loss = np.asarray(loss, dtype=float).reshape(-1)
    return float(np.mean(loss[-10:])) if loss.size else float("nan")


def format_pvalue(p: float) -> str:
    """``'<1e-100'`` below 1e-100, else ``f'{p:.1e}'`` (the authors' format)."""
    if not np.isfinite(p):
        return "nan"
    return "<1e-100" if p < 1e-100 else f"{p:.1e}"


def decoding_title(vel_r2: float, pos_r2: float) -> str:
    """``'True vs Pred-R2 vel=%.3g pos=%.3g'`` of the values rounded to 3 decimals."""
    return f"True vs Pred-R2 vel={round(vel_r2, 3):.3g} pos={round(pos_r2, 3):.3g}"


def loss_title(loss: np.ndarray) -> str:
    return f"iterations={len(loss)}  final loss={final_loss(loss):.7g}"


def velocity_title(axis: str, r2: float, pvalues: Sequence[float] | None) -> str:
    """``Actual vs Predicted X-velocity`` / ``R-squared: 0.84, p-values [const, z1, ...]: [...]``."""
    line = f"R-squared: {r2:.2f}"
    if pvalues is not None:
        names = ["const"] + [f"z{i}" for i in range(1, len(pvalues))]
        values = ", ".join(f"'{format_pvalue(p)}'" for p in pvalues)
        line += f", p-values [{', '.join(names)}]: [{values}]"
    return f"Actual vs Predicted {axis}-velocity\n{line}"


def loss_ylabel(loss_name: str) -> str:
    return f"{loss_name} loss" if loss_name else "loss"


# -- panels --------------------------------------------------------------------------------------
def _header(
    run: InSample,
    label: str,
    params: Mapping[str, Any],
    what: str = "in-sample decoding of the train split",
) -> str:
    session = style.session_title(run.session) + style.substitute_note(run.session, params)
    head = f"{label}, {session}, seed {run.seed}"
    return f"{head} ({what})" if what else head


def _spines(ax: Any) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)


def plot_loss(run: InSample, label: str, params: Mapping[str, Any]) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6, 5), layout="constrained")
    if run.loss.size:
        ax.plot(np.arange(1, run.loss.size + 1), run.loss, color="deepskyblue", lw=0.8)
    else:
        ax.text(0.5, 0.5, "no training loss recorded", transform=ax.transAxes, ha="center")
    ax.set_xlabel("Iterations")
    ax.set_ylabel(loss_ylabel(run.loss_name))
    ax.set_title(f"{_header(run, label, params, '')}\n{loss_title(run.loss)}", fontsize=10)
    _spines(ax)
    style.add_footer_with_room(fig, params)
    return fig


def plot_decoding(run: InSample, label: str, params: Mapping[str, Any]) -> plt.Figure:
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(10, 5), layout="constrained", sharex=True, sharey=True
    )
    n = len(run.true_pos)
    raster = n > RASTER_ABOVE
    left.scatter(
        run.true_pos[:, 0],
        run.true_pos[:, 1],
        c=style.angle_color(run.labels[:, 2]),
        s=0.3,
        rasterized=raster,
    )
    true_title = f"True positions, {style.session_title(run.session)}"
    if run.dir_acc is not None and run.dir_mae_deg is not None:
        true_title += f"\ndirection decoding acc={run.dir_acc:.1f}% MAE={run.dir_mae_deg:.1f} deg"
    left.set_title(true_title, fontsize=10)
    pred_colour_angle = run.pred_dir_deg if run.pred_dir_deg is not None else run.labels[:, 2]
    right.scatter(
        run.pred_pos[:, 0],
        run.pred_pos[:, 1],
        c=style.angle_color(pred_colour_angle),
        s=0.3,
        rasterized=raster,
    )
    right.set_title(
        f"{label} decoded positions\n{decoding_title(run.vel_r2, run.pos_r2)}", fontsize=10
    )
    for ax in (left, right):
        _spines(ax)
        ax.set_xlabel("X position (cumulative 10·vx)")
    left.set_ylabel("Y position (cumulative 10·vy)")
    fig.suptitle(_header(run, label, params), fontsize=10)
    extra = () if run.pred_dir_deg is not None else "right panel coloured by true direction"
    style.add_footer_with_room(fig, params, extra)
    return fig


def _scatter_embedding(ax: Any, emb: np.ndarray, colors: Any, **kw: Any) -> None:
    ax.scatter(*style.coords(emb), c=colors, **kw)


def _bare(ax: Any) -> None:
    ax.grid(False)
    ax.set_xticks([])
    ax.set_yticks([])
    if hasattr(ax, "set_zticks"):
        ax.set_zticks([])


def plot_embedding(run: InSample, label: str, params: Mapping[str, Any]) -> plt.Figure:
    emb = run.embedding
    d = emb.shape[1]
    proj = "3d" if d >= 3 else None
    fig = plt.figure(figsize=(10, 5))
    left = fig.add_subplot(1, 2, 1, projection=proj)
    right = fig.add_subplot(1, 2, 2, projection=proj)
    _scatter_embedding(
        left,
        emb,
        style.angle_color(run.labels[:, 2]),
        s=0.3,
        alpha=0.75,
        edgecolors="none",
        rasterized=len(emb) > RASTER_ABOVE,
    )
    avg, counts = trial_averages(emb, run.labels, run.t_dur)
    style.plot_direction_averages(right, avg, s=3, lw=0.5)
    dims = "" if d <= 3 else f" (first 3 of {d} dimensions)"
    left.set_title(f"all {len(emb)} training bins{dims}", fontsize=10)
    right.set_title(
        f"trial averages per direction ({int(counts.sum())} trials, {run.t_dur} bins)",
        fontsize=10,
    )
    for ax in (left, right):
        _bare(ax)
        if d >= 3:
            ax.set_aspect("equal")
    fig.suptitle(_header(run, label, params, "embedding of the train split"), fontsize=11)
    fig.subplots_adjust(left=0.02, right=0.98, top=0.88, bottom=0.02, wspace=0.05)
    style.add_footer_with_room(fig, params)
    return fig


def _velocity_limits(true: np.ndarray, pred: np.ndarray, axis: str) -> tuple[float, float]:
    """The authors' limits (widened so that no point is cut off) where the data fills at least
    30 % of them; otherwise symmetric limits around the data."""
    t_max = float(np.abs(true).max()) if true.size else 0.0
    p_max = float(np.abs(pred).max()) if pred.size else 0.0
    if max(t_max, p_max) >= 0.3 * AUTHOR_YLIM[axis]:
        return max(AUTHOR_XLIM, 1.05 * t_max), max(AUTHOR_YLIM[axis], 1.05 * p_max)
    lim = 1.1 * max(t_max, p_max, 1e-12)
    return lim, lim


def plot_velocity(run: InSample, label: str, axis: str, params: Mapping[str, Any]) -> plt.Figure:
    k = "XY".index(axis)
    true, pred = run.true_vel[:, k], run.pred_vel[:, k]
    fig, ax = plt.subplots(figsize=(10, 6), layout="constrained")
    ax.scatter(
        true,
        pred,
        color=VELOCITY_COLOR[axis],
        s=10,
        alpha=0.1,
        edgecolors="none",
        rasterized=len(true) > RASTER_ABOVE,
    )
    xlim, ylim = _velocity_limits(true, pred, axis)
    ax.plot([-xlim, xlim], [-xlim, xlim], "k--", lw=1)
    ax.set_xlim(-xlim, xlim)
    ax.set_ylim(-ylim, ylim)
    ax.set_xlabel(f"Actual {axis} velocity (x10)")
    ax.set_ylabel(f"Predicted {axis} velocity (x10)")
    pv = None if run.pvalues is None else np.asarray(run.pvalues)[k]
    ax.set_title(
        f"{_header(run, label, params)}\n{velocity_title(axis, float(run.r2_axis[k]), pv)}",
        fontsize=10,
    )
    _spines(ax)
    style.add_footer_with_room(fig, params)
    return fig


def draw_panel(run: InSample, label: str, panel: str, params: Mapping[str, Any]) -> plt.Figure:
    if panel == "train_loss":
        return plot_loss(run, label, params)
    if panel == "Decoding":
        return plot_decoding(run, label, params)
    if panel == "Embedding":
        return plot_embedding(run, label, params)
    if panel in ("X_velocity_real_vs_pred", "Y_velocity_real_vs_pred"):
        return plot_velocity(run, label, panel[0], params)
    raise KeyError(f"unknown Fig1 panel {panel!r}; known: {', '.join(PANELS)}")


def _runs(inputs: Mapping[str, Sequence[str]], params: Mapping[str, Any]) -> list[tuple]:
    paths = list(inputs["insample"])
    runs = [load_insample(p) for p in paths]
    methods = list(params.get("methods") or [r.method for r in runs])
    labels = list(params.get("labels") or methods)
    if len(methods) != len(runs) or len(labels) != len(runs):
        raise ValueError(
            f"fig1: {len(runs)} in-sample files but methods {methods} and labels {labels}"
        )
    for method, run, path in zip(methods, runs, paths, strict=True):
        if run.method != method:
            raise ValueError(f"fig1: {path} holds method {run.method!r}, expected {method!r}")
    return list(zip(methods, labels, runs, strict=True))


def render(
    inputs: Mapping[str, Any], outputs: Mapping[str, str], params: Mapping[str, Any]
) -> None:
    """Write every ``{method}:{panel}`` PDF of ``outputs`` from ``inputs['insample']``."""
    runs = _runs(inputs, params)
    done = set()
    for method, label, run in runs:
        for panel in PANELS:
            key = f"{method}:{panel}"
            if key in outputs:
                style.save(draw_panel(run, label, panel, params), outputs[key], dpi=DPI)
                done.add(key)
    missing = sorted(set(outputs) - done)
    if missing:
        raise KeyError(f"fig1: no panel for output(s) {', '.join(missing)}")


def summary(inputs: Mapping[str, Any], params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The numbers on the figure, one row per method (for the notebook's display cell)."""
    rows = []
    for method, label, run in _runs(inputs, params):
        row = {
            "method": method,
            "label": label,
            "session": run.session,
            "seed": run.seed,
            "iterations": len(run.loss),
            "loss": run.loss_name,
            "final_loss": run.final_loss,
            "vel_R2": run.vel_r2,
            "pos_R2": run.pos_r2,
            "vel_R2_x": float(run.r2_axis[0]),
            "vel_R2_y": float(run.r2_axis[1]),
            "dir_acc_pct": run.dir_acc,
            "dir_MAE_deg": run.dir_mae_deg,
        }
        if run.pvalues is not None:
            for axis, pv in zip("xy", np.asarray(run.pvalues), strict=True):
                row[f"p_{axis}"] = [format_pvalue(p) for p in pv]
        rows.append(row)
    return rows
