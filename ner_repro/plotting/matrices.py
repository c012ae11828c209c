"""Panels shared by Fig4–7: decoding matrices, accuracy curves, method styles (the rotation
plots of Fig6/Fig7 are in :mod:`ner_repro.plotting.rotation`).

Sources: ``reference/fig4-7.md`` §2.4 and §3 (the authors' Fig4–7 notebooks and PDFs; the cited
sections are summarised in ``docs/sources.md``). What is
kept from the authors' figures: viridis matrices with fixed colour ranges (R² [0, 1], peak
accuracy [20, 100] %), one panel per method with the title ``'NER: dia=X\\noff-dia=Y'``,
and mean ± SD accuracy curves with the peak of the mean curve in the legend. What is fixed (``fig4-7.md`` §6):
sessions are in canonical order and the tick labels are the rows' own sessions; titles always
state both the diagonal and the off-diagonal mean (``n/a`` where a 1×1 matrix has none); no
×100 slip; legends that carry numbers are drawn. Additions: a colour bar (values outside the
range are marked by its extensions), column ticks, and cell values for small matrices.

Every number drawn is computed here from the analysis files (:mod:`ner_repro.analysis.steps`):
``{decoder}_{metric}`` (n, n) and ``{decoder}_acc_time`` (n, n, t) of
:meth:`~ner_repro.analysis.evaluation.CrossDecoding.arrays`.
"""

from __future__ import annotations

import math
import textwrap
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ner_repro.analysis.evaluation import curve_peak
from ner_repro.core import atomic
from ner_repro.core.config import session_parts
from ner_repro.core.session import BIN_MS
from ner_repro.core.types import PathLike
from ner_repro.plotting import style

#: Matrix metrics drawn by Fig5–7: output name -> (npz metric, colour range, unit).
MATRIX_METRICS: Mapping[str, tuple[str, tuple[float, float], str]] = {
    "vel": ("vel_R2", (0.0, 1.0), "R²"),
    "pos": ("pos_R2", (0.0, 1.0), "R²"),
    "acc": ("peak_dir_acc", (20.0, 100.0), "%"),
}
METRIC_NAMES = {
    "vel": "Velocity R²",
    "pos": "Position R²",
    "acc": "Peak direction accuracy (%)",
}
DECODER_NAMES = {"linear": "linear/logistic", "knn": "kNN"}
CMAP = "viridis"
#: Matrices up to this size show their values in the cells.
ANNOTATE_MAX = 6
_FALLBACK_COLORS = ("#17becf", "#bcbd22", "#7f7f7f", "#8c564b", "#e377c2")


# -- reading -------------------------------------------------------------------------------------
def load_npz(path: PathLike) -> dict[str, Any]:
    """All arrays of an analysis ``.npz``; 0-d strings become ``str``."""
    return {
        key: str(value) if value.ndim == 0 and value.dtype.kind in "US" else value
        for key, value in atomic.load_npz(path, what="an analysis file").items()
    }


def check_mode(arrays: Mapping[str, Any], params: Mapping[str, Any], path: PathLike) -> None:
    """Refuse to draw an analysis of another evaluation mode than the figure states."""
    mode = arrays.get("mode")
    expected = params.get("evaluation")
    if mode is not None and expected is not None and str(mode) != str(expected):
        raise ValueError(
            f"{path}: analysis was computed in evaluation mode {mode!r}, but the figure "
            f"is for {expected!r}"
        )


# -- methods -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Method:
    """A method as a figure shows it: config name, display label, style kind."""

    name: str
    label: str
    kind: str

    @property
    def color(self) -> str:
        return str(method_style(self.kind, self.name)["color"])

    @property
    def marker(self) -> str:
        return str(method_style(self.kind, self.name)["marker"])


def infer_kind(name: str, kind: str | None = None) -> str:
    """The :data:`~ner_repro.plotting.style.METHOD_STYLE` key of a method.

    Uses the config ``kind`` where given (``umap`` split into supervised or not by the name),
    else the method's name (``CEBRA16`` -> ``cebra``, ``UMAP_label`` -> ``umap_label``).
    """
    low = name.lower()
    if kind:
        kind = kind.lower()
        if kind == "umap" and "label" in low:
            return "umap_label"
        return kind
    if "umap" in low:
        return "umap_label" if "label" in low or "sup" in low else "umap"
    # Longest first, so that "dpca" is not taken for "pca".
    for key in sorted(style.METHOD_STYLE, key=len, reverse=True):
        if low.startswith(key) or low.replace("-", "").replace("_", "").startswith(key):
            return key
    return low


def method_style(kind: str, name: str = "") -> Mapping[str, Any]:
    """Colour and marker of a method kind; unknown kinds get a stable fallback colour."""
    if kind in style.METHOD_STYLE:
        return style.METHOD_STYLE[kind]
    index = sum(map(ord, name or kind)) % len(_FALLBACK_COLORS)
    return {"color": _FALLBACK_COLORS[index], "marker": "o"}


def methods_from_params(spec: Mapping[str, Any] | Sequence[str] | None) -> list[Method]:
    """``params["methods"]``-like mappings ``{name: label}`` or ``{name: {label, kind}}``."""
    if not spec:
        return []
    if not isinstance(spec, Mapping):
        spec = {name: name for name in spec}
    out = []
    for name, value in spec.items():
        if isinstance(value, Mapping):
            label = str(value.get("label", name))
            kind = value.get("kind")
        else:
            label, kind = str(value), None
        out.append(Method(str(name), label, infer_kind(str(name), kind)))
    return out


def method_of(arrays: Mapping[str, Any]) -> str:
    """The method name an analysis file records (``method`` or ``methods[0]``)."""
    if "method" in arrays:
        return str(arrays["method"])
    methods = np.atleast_1d(arrays.get("methods", np.array([], dtype=str)))
    return str(methods[0]) if methods.size else ""


def match_inputs(
    paths: Sequence[PathLike], methods: Sequence[Method], params: Mapping[str, Any]
) -> list[tuple[Method, dict[str, Any]]]:
    """Pair each input file with its method (by the method the file records, else by order)."""
    by_name = {m.name: m for m in methods}
    out = []
    for i, path in enumerate(paths):
        arrays = load_npz(path)
        check_mode(arrays, params, path)
        name = method_of(arrays)
        method = by_name.get(name)
        if method is None:
            method = methods[i] if i < len(methods) else Method(name, name, infer_kind(name))
        out.append((method, arrays))
    return out


# -- sessions ------------------------------------------------------------------------------------
def session_sort_key(name: str) -> tuple[str, str, str]:
    """Canonical order (monkey, date, area), as :func:`ner_repro.analysis.evaluation.session_key`."""
    return session_parts(name)


def session_labels(sessions: Sequence[str]) -> list[str]:
    """Short tick labels: ``YYMMDD``, plus the area where areas mix and the monkey where
    monkeys mix (``'160929 M1'``); full names where that is still ambiguous."""
    parts = [session_parts(s) for s in sessions]
    monkeys = {p[0] for p in parts}
    areas = {p[2] for p in parts}
    labels = []
    for monkey, date, area in parts:
        short = date[2:] if len(date) == 8 and date.isdigit() else date
        bits = [monkey] if len(monkeys) > 1 and monkey else []
        bits.append(short)
        if len(areas) > 1 and area:
            bits.append(area)
        labels.append(" ".join(bits))
    if len(set(labels)) != len(labels):
        return [str(s) for s in sessions]
    return labels


# -- numbers -------------------------------------------------------------------------------------
def diag_offdiag(matrix: np.ndarray) -> tuple[float, float]:
    """Mean of the diagonal and of the off-diagonal (NaN where there is none, e.g. 1×1)."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {m.shape}")
    diag = np.diag(m)
    off = m[~np.eye(m.shape[0], dtype=bool)]

    def mean(v: np.ndarray) -> float:
        v = v[np.isfinite(v)]
        return float(np.mean(v)) if v.size else math.nan

    return mean(diag), mean(off)


def format_stat(value: float, metric: str) -> str:
    """R² to 2 decimals, accuracy to 1 decimal with '%'; 'n/a' where undefined."""
    if value is None or not np.isfinite(value):
        return "n/a"
    if metric == "acc":
        return f"{value:.1f}%"
    return f"{value:.2f}"


def matrix_title(label: str, matrix: np.ndarray, metric: str) -> str:
    """``'NER: dia=0.71\\noff-dia=0.64'`` from the matrix itself."""
    dia, off = diag_offdiag(matrix)
    return f"{label}: dia={format_stat(dia, metric)}\noff-dia={format_stat(off, metric)}"


def mean_curve(curves: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Mean and SD (``np.std``) over curves of shape (..., t); NaN-padded bins are ignored.

    Returns (mean, sd, number of curves). For Fig5–7 the curves are all n² (train, test)
    pairs, diagonal included, as the authors averaged them (``fig4-7.md`` §6.11; see
    ``docs/sources.md``).
    """
    arr = np.asarray(curves, dtype=np.float64)
    flat = arr.reshape(-1, arr.shape[-1])
    keep = np.isfinite(flat).any(axis=1)
    flat = flat[keep]
    if not flat.size:
        nan = np.full(arr.shape[-1], np.nan)
        return nan, nan, 0
    with warnings.catch_warnings():  # bins beyond a shorter trial are NaN in every curve
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(flat, axis=0), np.nanstd(flat, axis=0), int(flat.shape[0])


# -- layout --------------------------------------------------------------------------------------
def footer_inches(width_in: float, params: Mapping[str, Any], extra: Any = ()) -> float:
    """Height the provenance footer of :func:`style.add_footer` takes on a figure this wide."""
    text = style.provenance_text(params, extra)
    width = max(40, int(width_in * 22))
    lines = max(1, len(textwrap.wrap(text, width)))
    return lines * style.FOOTER_FONTSIZE * 1.25 / 72 + 0.08


def _text_inches(labels: Sequence[str], fontsize: float) -> float:
    longest = max((len(s) for s in labels), default=0)
    return longest * fontsize * 0.62 / 72


# -- matrices ------------------------------------------------------------------------------------
@dataclass
class MatrixPanel:
    """One method's matrix: element [i, j] = train on ``sessions[i]``, test on ``sessions[j]``."""

    label: str
    sessions: list[str]
    matrix: np.ndarray


def matrix_figure(
    panels: Sequence[MatrixPanel],
    metric: str,
    params: Mapping[str, Any],
    *,
    extra: Any = (),
    suptitle: str = "",
) -> Figure:
    """1×k viridis matrices with the authors' titles, labelled rows and columns, a colour bar."""
    if metric not in MATRIX_METRICS:
        raise ValueError(f"metric must be one of {sorted(MATRIX_METRICS)}, got {metric!r}")
    if not panels:
        raise ValueError("no matrices to draw")
    _, (vmin, vmax), unit = MATRIX_METRICS[metric]
    k = len(panels)
    n_max = max(len(p.sessions) for p in panels)
    same_rows = all(p.sessions == panels[0].sessions for p in panels)
    labels = [session_labels(p.sessions) for p in panels]
    tick_fs = float(np.clip(150 / max(n_max, 1), 7, 11))
    title_fs = 13.0
    panel_in = float(np.clip(0.3 * n_max + 1.6, 2.0, 3.2))
    ylab_in = _text_inches([s for lab in labels for s in lab], tick_fs) + 0.45
    xlab_in = _text_inches([s for lab in labels for s in lab], tick_fs) + 0.35
    gap_in = ylab_in if not same_rows else 0.3
    cbar_w, cbar_gap, cbar_lab = 0.14, 0.2, 0.75
    title_in = 2 * title_fs * 1.3 / 72 + 0.2
    sup_in = 0.35 if suptitle else 0.0
    width = 0.15 + ylab_in + k * panel_in + (k - 1) * gap_in + cbar_gap + cbar_w + cbar_lab
    foot_in = footer_inches(width, params, extra)
    height = foot_in + xlab_in + panel_in + title_in + sup_in + 0.1
    fig = plt.figure(figsize=(width, height))
    cmap = plt.get_cmap(CMAP).with_extremes(bad="0.85")
    bottom = (foot_in + xlab_in) / height
    h_frac = panel_in / height
    image = None
    finite = np.concatenate([np.asarray(p.matrix, float).ravel() for p in panels])
    finite = finite[np.isfinite(finite)]
    for i, (panel, tick_labels) in enumerate(zip(panels, labels, strict=True)):
        left = (0.15 + ylab_in + i * (panel_in + gap_in)) / width
        ax = fig.add_axes((left, bottom, panel_in / width, h_frac))
        m = np.asarray(panel.matrix, dtype=np.float64)
        n = m.shape[0]
        if m.shape != (len(panel.sessions), len(panel.sessions)):
            raise ValueError(
                f"{panel.label}: matrix {m.shape} does not match {len(panel.sessions)} sessions"
            )
        image = ax.imshow(
            np.ma.masked_invalid(m),
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            interpolation="none",
            aspect="equal",
        )
        ax.set_title(matrix_title(panel.label, m, metric), fontsize=title_fs)
        ax.set_xticks(np.arange(n), tick_labels, rotation=90, fontsize=tick_fs)
        if i == 0 or not same_rows:
            ax.set_yticks(np.arange(n), tick_labels, fontsize=tick_fs)
            ax.set_ylabel("trained on", fontsize=tick_fs + 1)
        else:
            ax.set_yticks(np.arange(n), [""] * n)
        ax.set_xlabel("tested on", fontsize=tick_fs + 1)
        ax.tick_params(length=2)
        if n <= ANNOTATE_MAX:
            _annotate(ax, m, metric, vmin, vmax, cmap, fontsize=float(np.clip(36 / n, 7, 12)))
    cax = fig.add_axes(
        (
            (0.15 + ylab_in + k * panel_in + (k - 1) * gap_in + cbar_gap) / width,
            bottom,
            cbar_w / width,
            h_frac,
        )
    )
    extend = _extend(finite, vmin, vmax)
    cbar = fig.colorbar(image, cax=cax, extend=extend)
    cbar.set_label(METRIC_NAMES[metric] if unit == "%" else unit, fontsize=10)
    cbar.ax.tick_params(labelsize=8)
    if suptitle:
        fig.text(0.5, 1 - 0.06 / height, suptitle, ha="center", va="top", fontsize=11)
    style.add_footer(fig, params, extra)
    return fig


def _extend(values: np.ndarray, vmin: float, vmax: float) -> str:
    low = bool(values.size and values.min() < vmin)
    high = bool(values.size and values.max() > vmax)
    return {(False, False): "neither", (True, False): "min", (False, True): "max"}.get(
        (low, high), "both"
    )


def _annotate(
    ax: Any, m: np.ndarray, metric: str, vmin: float, vmax: float, cmap: Any, fontsize: float
) -> None:
    for (i, j), value in np.ndenumerate(m):
        if not np.isfinite(value):
            text, color = "n/a", "black"
        else:
            text = f"{value:.0f}" if metric == "acc" else f"{value:.2f}"
            frac = (min(max(value, vmin), vmax) - vmin) / (vmax - vmin)
            r, g, b, _ = cmap(frac)
            color = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"
        ax.text(j, i, text, ha="center", va="center", fontsize=fontsize, color=color)


# -- accuracy curves -----------------------------------------------------------------------------
@dataclass
class Curve:
    """A mean curve with its ±band (SD for accuracies, SEM for speed profiles)."""

    label: str
    time_ms: np.ndarray
    mean: np.ndarray
    band: np.ndarray
    color: str
    legend: str = ""  # full legend text; default '<label> <peak>% (<time> ms)'
    linewidth: float = 2.0


def accuracy_curve(
    label: str, color: str, curves: np.ndarray, time_ms: np.ndarray
) -> tuple[Curve, float, float, int]:
    """A :class:`Curve` of mean ± SD over ``curves`` (…, t), its legend carrying the peak."""
    mean, sd, n = mean_curve(curves)
    time_ms = np.asarray(time_ms, dtype=np.float64)[: mean.size]
    peak, at = curve_peak(mean, time_ms=time_ms)
    legend = f"{label} {format_stat(peak, 'acc')}" + (f" at {at:.0f} ms" if np.isfinite(at) else "")
    return Curve(label, time_ms, mean, sd, color, legend), peak, at, n


def curves_figure(
    curves: Sequence[Curve],
    params: Mapping[str, Any],
    *,
    title: str = "",
    ylabel: str = "Direction classification accuracy (%)",
    extra: Any = (),
    figsize: tuple[float, float] = (6.0, 5.0),
    legend_outside: bool = False,
    fontsize: float = 11.0,
) -> Figure:
    """Mean curves with shaded bands (alpha 0.075, as the authors), legend with the peaks."""
    width = figsize[0] + (2.6 if legend_outside else 0.0)
    foot_in = footer_inches(width, params, extra)
    height = figsize[1] + foot_in
    fig = plt.figure(figsize=(width, height))
    top_in = 0.55 if title else 0.25
    left_in, right_in, xlab_in = 0.85, 0.25 + (2.6 if legend_outside else 0.0), 0.6
    ax = fig.add_axes(
        (
            left_in / width,
            (foot_in + xlab_in) / height,
            (width - left_in - right_in) / width,
            (height - foot_in - xlab_in - top_in) / height,
        )
    )
    for c in curves:
        ax.plot(c.time_ms, c.mean, color=c.color, linewidth=c.linewidth, label=c.legend or c.label)
        ax.fill_between(c.time_ms, c.mean - c.band, c.mean + c.band, color=c.color, alpha=0.075)
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.set_xlabel("Time from go cue (ms)", fontsize=fontsize)
    ax.set_ylabel(ylabel, fontsize=fontsize)
    ax.tick_params(labelsize=fontsize - 1)
    if title:
        ax.set_title(title, fontsize=fontsize)
    if legend_outside:
        ax.legend(
            loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=fontsize - 2, frameon=False
        )
    else:
        ax.legend(fontsize=fontsize - 2)
    ax.grid(False)
    style.add_footer(fig, params, extra)
    return fig


# -- the authors' published matrices (for comparison only) -----------------------------------------
def from_published(path: PathLike, decoder: str = "linear") -> dict[str, Any]:
    """The authors' Fig5–7 summary ``.npz`` (``date_subjects``, ``vel_R_2D``, ``pos_R_2D``,
    ``peak_acc_2D``, ``acc_time_2D`` (t, n·n) with column i·n + j) as our analysis arrays.

    Their row order and labels are kept as stored (``date_subjects[::n]``; some are broken,
    ``fig4-7.md`` §6.3–6.4, see ``docs/sources.md``); this is for checking styling and titles
    against the paper.
    """
    raw = load_npz(path)
    n = raw["pos_R_2D"].shape[0]
    acc = np.asarray(raw["acc_time_2D"], dtype=np.float64)
    t = acc.shape[0]
    labels = [str(s) for s in np.asarray(raw["date_subjects"])[::n]]
    return {
        "sessions": np.array(labels),
        f"{decoder}_vel_R2": raw["vel_R_2D"],
        f"{decoder}_pos_R2": raw["pos_R_2D"],
        f"{decoder}_peak_dir_acc": raw["peak_acc_2D"],
        f"{decoder}_acc_time": acc.T.reshape(n, n, t),
        "time_ms": np.arange(t) * BIN_MS,
        "mode": "paper",
    }


# -- Fig5-7 rendering ----------------------------------------------------------------------------
def _decoder_panels(
    files: Sequence[tuple[Method, Mapping[str, Any]]], decoder: str, metric: str
) -> list[MatrixPanel]:
    key = f"{decoder}_{MATRIX_METRICS[metric][0]}"
    panels = []
    for method, arrays in files:
        if key not in arrays:
            raise KeyError(f"{method.name}: analysis has no {key!r} matrix")
        label = method.label if decoder == "linear" else f"{method.label} {DECODER_NAMES[decoder]}"
        sessions = [str(s) for s in np.atleast_1d(arrays["sessions"])]
        panels.append(MatrixPanel(label, sessions, np.asarray(arrays[key], dtype=np.float64)))
    return panels


def matrix_note(decoder: str, metric: str, params: Mapping[str, Any]) -> str:
    """What a matrix shows, for the footer."""
    _, (vmin, vmax), _ = MATRIX_METRICS[metric]
    note = (
        f"{DECODER_NAMES[decoder]} decoders; element [i, j]: fit on session i's training split "
        f"(aligned to j), scored on session j's test split; colour range [{vmin:g}, {vmax:g}]"
    )
    if metric == "vel":
        if params.get("evaluation") == "paper":
            note += "; velocity R² = r2_score(pred, true) as in the paper"
        else:
            note += "; R² = r2_score(true, pred)"
    return note


def render_cross(
    inputs: Mapping[str, Sequence[PathLike]],
    outputs: Mapping[str, PathLike],
    params: Mapping[str, Any],
    *,
    accuracy_title: str = "",
) -> None:
    """Fig5–7 matrices (``{decoder}:{metric}``) and the accuracy curves (``accuracy``)."""
    group = str(params.get("group", ""))
    loaded: dict[str, list[tuple[Method, dict[str, Any]]]] = {}
    for decoder in ("linear", "knn"):
        if inputs.get(decoder):
            methods = methods_from_params(params.get(f"{decoder}_methods"))
            loaded[decoder] = match_inputs(inputs[decoder], methods, params)
    for key, path in outputs.items():
        decoder, _, metric = key.partition(":")
        if decoder not in ("linear", "knn") or metric not in MATRIX_METRICS:
            continue
        if decoder not in loaded:
            raise KeyError(f"output {key!r} needs inputs[{decoder!r}]")
        panels = _decoder_panels(loaded[decoder], decoder, metric)
        fig = matrix_figure(
            panels,
            metric,
            params,
            extra=[group, matrix_note(decoder, metric, params)],
            suptitle=f"{METRIC_NAMES[metric]}, {DECODER_NAMES[decoder]} decoders: {group}",
        )
        style.save(fig, path)
    if "accuracy" in outputs:
        decoder = "linear" if "linear" in loaded else next(iter(loaded))
        fig = cross_accuracy_figure(loaded[decoder], decoder, params, title=accuracy_title)
        style.save(fig, outputs["accuracy"])


def cross_accuracy_figure(
    files: Sequence[tuple[Method, Mapping[str, Any]]],
    decoder: str,
    params: Mapping[str, Any],
    *,
    title: str = "",
) -> Figure:
    """Mean ± SD over all n² (train, test) pairs of the accuracy-over-time curves."""
    curves, n_pairs = [], set()
    for method, arrays in files:
        curve, _, _, n = accuracy_curve(
            method.label, method.color, arrays[f"{decoder}_acc_time"], arrays["time_ms"]
        )
        curves.append(curve)
        n_pairs.add(n)
    group = str(params.get("group", ""))
    pairs = "/".join(str(n) for n in sorted(n_pairs))
    title = title or f"Mean and SD over {pairs} train→test session pairs\n{group}"
    extra = [
        group,
        f"{DECODER_NAMES[decoder]} decoders; curves: mean ± SD over all (train, test) pairs, "
        "diagonal included, as in the paper; legend: peak of the mean curve",
    ]
    return curves_figure(curves, params, title=title, extra=extra)
