"""Fig4: explained variance per session and direction accuracy over time (``fig4-7.md`` §3, F4.3–F4.4).

Outputs (keys of ``outputs``, from :meth:`ner_repro.plan.Plan._figure_fig4`), per panel
``{name}`` (e.g. ``M1``, ``PMd``, ``S1``):

``{name}:velocities`` / ``{name}:positions``
    In-sample ("explained variance") velocity / position R² of the linear decoders on the
    training split, one marker per session and method (the authors' colours and markers:
    NER ``*``, CEBRA ``^``, pi-VAE ``d``, UMAP with labels ``o``, UMAP ``s``); the legend gives
    each method's median over sessions. Sessions in canonical order, one tick per session.
``{name}:accuracy``
    Direction classification accuracy over time on the training split, mean ± SD over the
    sessions of the accuracy datasets, one curve per method (legend: peak of the mean curve),
    with the mean |vx| (gray) and |vy| (black) of the same sessions' training trials,
    normalised to a peak of 100 %, ± SEM.

The authors' slips are not reproduced (``fig4-7.md`` §6): every point sits at its own
session's tick, legends are shown and unscaled R² carries no '%'. The cited sections of the
specification are summarised in ``docs/sources.md``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ner_repro.core.session import BIN_MS, SessionData
from ner_repro.plotting import matrices as mx
from ner_repro.plotting import style

METRICS = {"velocities": ("vel_R2", "Velocities"), "positions": ("pos_R2", "Positions")}
_SPEED_COLORS = {"vx": "gray", "vy": "black"}


def _decoder(arrays: Mapping[str, Any]) -> str:
    """The decoder whose results the figure shows: linear (the paper's), else the first."""
    if "linear_vel_R2" in arrays:
        return "linear"
    for key in arrays:
        if key.endswith("_vel_R2"):
            return key[: -len("_vel_R2")]
    raise KeyError("explained-variance file has no '<decoder>_vel_R2' array")


def _train_column(arrays: Mapping[str, Any]) -> int:
    splits = [str(s) for s in np.atleast_1d(arrays.get("splits", np.array(["train", "test"])))]
    return splits.index("train")


def _group_title(group: str) -> str:
    """``Chewie2016+Chewie2015_M1`` -> ``Chewie2016+Chewie2015 M1``."""
    datasets, _, area = group.rpartition("_")
    return f"{datasets} {area}" if datasets else group


def explained_variance_figure(
    files: Sequence[tuple[mx.Method, Mapping[str, Any]]],
    metric: str,
    params: Mapping[str, Any],
    *,
    group: str = "",
) -> Figure:
    """Per-session training-split R² of every method, legend with the medians."""
    key, name = METRICS[metric]
    sessions: list[str] = sorted(
        {str(s) for _, arrays in files for s in np.atleast_1d(arrays["sessions"])},
        key=mx.session_sort_key,
    )
    position = {s: i for i, s in enumerate(sessions)}
    labels = mx.session_labels(sessions)
    extra = [
        group,
        "explained variance = in-sample R² of linear decoders on each session's training "
        "split; legend: median over sessions",
    ]
    plot_w = max(3.0, 0.42 * len(sessions) + 1.2)
    legend_w = 2.6
    width = 0.9 + plot_w + legend_w
    xlab_in = mx._text_inches(labels, 10) + 0.55
    foot_in = mx.footer_inches(width, params, extra)
    height = foot_in + xlab_in + 3.6 + 0.45
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes(
        (0.9 / width, (foot_in + xlab_in) / height, plot_w / width, 3.6 / height),
    )
    for method, arrays in files:
        col = _train_column(arrays)
        values = np.asarray(arrays[f"{_decoder(arrays)}_{key}"], dtype=np.float64)[:, col]
        x = [position[str(s)] for s in np.atleast_1d(arrays["sessions"])]
        finite = values[np.isfinite(values)]
        median = float(np.median(finite)) if finite.size else np.nan
        ax.plot(
            x,
            values,
            linestyle="None",
            color=method.color,
            marker=method.marker,
            markersize=10 if method.marker == "o" else 12,
            label=f"{method.label} {mx.format_stat(median, metric)}",
        )
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.set_xticks(np.arange(len(sessions)), labels, rotation=90, fontsize=10)
    ax.set_xlim(-0.6, len(sessions) - 0.4)
    ax.set_xlabel("Recording date (YYMMDD)", fontsize=11)
    ax.set_ylabel("Explained variance (training-split R²)", fontsize=11)
    ax.set_title(f"{name}: {_group_title(group)}", fontsize=12)
    ax.legend(
        loc="center left",
        bbox_to_anchor=(1.02, 0.5),
        fontsize=10,
        frameon=False,
        title="median",
        title_fontsize=9,
    )
    style.add_footer(fig, params, extra)
    return fig


def speed_profiles(paths: Sequence[str]) -> tuple[dict[str, np.ndarray], int, int]:
    """Mean |vx| and |vy| per bin over the training trials of the given session files,
    normalised so the peak is 100 %, and their SEM on the same scale.

    Returns ``({"vx": (mean, sem), "vy": ...}``-like arrays stacked as (2, t), trials, sessions).
    """
    rows: list[np.ndarray] = []
    t_max = 0
    for path in paths:
        session = SessionData.load(path)
        t_dur = session.t_dur
        speed = np.abs(session.split("train")[1][:, :2]).reshape(-1, t_dur, 2)
        rows.append(speed)
        t_max = max(t_max, t_dur)
    padded = [
        np.pad(s, ((0, 0), (0, t_max - s.shape[1]), (0, 0)), constant_values=np.nan) for s in rows
    ]
    trials = np.concatenate(padded, axis=0) if padded else np.zeros((0, t_max, 2))
    out: dict[str, np.ndarray] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        count = np.sum(np.isfinite(trials), axis=0)
        mean = np.nanmean(trials, axis=0)
        sem = np.nanstd(trials, axis=0) / np.sqrt(np.maximum(count, 1))
    for j, axis in enumerate(("vx", "vy")):
        scale = 100.0 / np.nanmax(mean[:, j]) if np.isfinite(mean[:, j]).any() else np.nan
        out[axis] = np.stack([mean[:, j] * scale, sem[:, j] * scale])
    return out, int(trials.shape[0]), len(paths)


def accuracy_figure(
    files: Sequence[tuple[mx.Method, Mapping[str, Any]]],
    profile_paths: Sequence[str],
    params: Mapping[str, Any],
    *,
    group: str = "",
) -> Figure:
    """Training-split direction accuracy over time (mean ± SD over sessions) and speed profiles."""
    curves: list[mx.Curve] = []
    n_sessions = set()
    time_ms = np.zeros(0)
    for method, arrays in files:
        col = _train_column(arrays)
        acc = np.asarray(arrays[f"{_decoder(arrays)}_acc_time"], dtype=np.float64)[:, col, :]
        time_ms = np.asarray(arrays["time_ms"], dtype=np.float64)
        curve, _, _, n = mx.accuracy_curve(method.label, method.color, acc, time_ms)
        curves.append(curve)
        n_sessions.add(n)
    if profile_paths:
        profiles, n_trials, n_files = speed_profiles(profile_paths)
        t = profiles["vx"].shape[1]
        bins = time_ms[:t] if time_ms.size >= t else np.arange(t) * BIN_MS
        for axis, (mean, sem) in profiles.items():
            _, at = mx.curve_peak(mean, time_ms=bins)
            curves.append(
                mx.Curve(
                    f"|{axis}|",
                    bins,
                    mean,
                    sem,
                    _SPEED_COLORS[axis],
                    legend=f"|{axis}| (% of peak, at {at:.0f} ms)",
                )
            )
        speed_note = (
            f"|vx|, |vy|: mean ± SEM over {n_trials} training trials of {n_files} session(s), "
            "normalised to a peak of 100 %"
        )
    else:
        speed_note = "no speed profile (no session files given)"
    n_txt = "/".join(str(n) for n in sorted(n_sessions))
    extra = [
        group,
        "logistic decoders, accuracy on each session's training split; curves: mean ± SD over "
        f"{n_txt} session(s); legend: peak of the mean curve",
        speed_note,
    ]
    return mx.curves_figure(
        curves,
        params,
        title=f"Direction accuracy, training split: {_group_title(group)} ({n_txt} sessions)",
        extra=extra,
        figsize=(7.0, 5.0),
        legend_outside=True,
        fontsize=12.0,
    )


def render(
    inputs: Mapping[str, Sequence[str]], outputs: Mapping[str, str], params: Mapping[str, Any]
) -> None:
    """Write every output of the Fig4 target from its explained-variance analyses."""
    methods = mx.methods_from_params(params.get("methods"))
    panels = params.get("panels") or {}
    for key, path in outputs.items():
        name, _, what = key.rpartition(":")
        group = str(panels.get(name, name))
        if what in METRICS:
            files = mx.match_inputs(inputs[name], methods, params)
            fig = explained_variance_figure(files, what, params, group=group)
        elif what == "accuracy":
            files = mx.match_inputs(inputs[f"{name}:accuracy"], methods, params)
            fig = accuracy_figure(
                files,
                list(inputs.get(f"{name}:profile", [])),
                params,
                group=_accuracy_group(files, group),
            )
        else:
            raise KeyError(f"unknown Fig4 output {key!r}")
        style.save(fig, path)


def _accuracy_group(files: Sequence[tuple[mx.Method, Mapping[str, Any]]], fallback: str) -> str:
    """The group the accuracy analysis records (its ``dataset``), e.g. ``Chewie2016_M1``."""
    for _, arrays in files:
        dataset = arrays.get("dataset")
        if dataset:
            return str(dataset)
    return fallback
