"""Fig8: MC_Maze straight vs curved reaches, NER and the CEBRA supplement (``fig8-baselines.md`` §1.8).

Inputs (from :func:`ner_repro.plan.figures.fig8.figure_spec`): ``{method}:{set}`` -> the set's analysis file
(:func:`ner_repro.analysis.mcmaze.analyse`), trained here or decoded from the authors' published embedding.
Outputs, per method (NER -> the paper's panels, CEBRA -> its supplement):

``{method}:curve-straight:embedding`` (7f, S-b)
    One 3-D panel per set ([38], [18], [13], [13, 38, 18]): per target angle, the trial-averaged
    latent trajectory of the straight trials (version 0: 'o', s=5, black line) and of the curved
    ones (versions 1+2 pooled: '*', s=10, thin line in the angle's colour); ``view_init(4, 22)``.
``{method}:curve-straight:var`` (7g, S-c)
    True positions of the family's largest set, then per set the positions decoded from its own
    training-split linear regression; titles ``vel=.. pos=..`` (train-set R², the authors'
    ``round(x, 2)``).
``{method}:curve-up-down:embedding`` / ``:var`` (7i / 7j, S-e / S-f)
    As above for [31, 38], [34, 18], [37, 1] and all six; the embedding panels show one average per
    angle, sorted angles alternating 'o' (s=2) and '*' (s=5); ``view_init(62, 42)``.
``{method}:{set}:decoding`` / ``:embedding`` (7b-d / 7c; sets of any other family, e.g. straight)
    True and decoded positions (titles ``Var-R2 vel=..`` and ``True vs Pred-R2 vel=.. pos=..``,
    3 decimals), and the training embedding coloured by target angle next to the per-angle averages.
``table``
    Every number drawn, per method and set (plus the test-split R² that no panel shows).

Colours are ``hsv(angle / 360)`` (straight trials offset by +0.05 in 7b-d, as the authors did).
Every figure carries the provenance footer: source (trained from the NWB file / the synthetic NWB
file / published embeddings), the sets, the evaluation note (train-set R², as the paper), the seed.
The cited sections of the specification are summarised in ``docs/sources.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ner_repro.core import atomic
from ner_repro.plotting import style
from ner_repro.plotting.matrices import footer_inches

_SPINE = (0.9, 0.9, 0.9, 0.8)
_PANE_EDGE = (0.85, 0.85, 0.85, 1.0)
_TITLE_FS = 5
#: Figure sizes and resolutions of the authors' notebooks (fig8-baselines.md §1.8;
#: docs/sources.md).
EMBEDDING_PANEL_IN = (1.5, 1.6)  # 7f / 7i: figsize (6, 1.6) for 4 panels
VAR_PANEL_IN = (1.5, 1.6)  # 7g / 7j: figsize (7.5, 1.6) for 5 panels
#: 7g / 7j axes width and gap: subplots_adjust(wspace=0.2) within matplotlib's default margins
#: (0.125..0.9 of 7.5 in) gives 1.0-in axes 0.2 in apart.
VAR_AXES_IN = (1.0, 0.2)
MIN_WIDTH_IN = 4.5  # room for the footer when a family has a single set
VIEWS = {"versions": (4, 22), "angles": (62, 42)}
DPI = {"versions": 150, "angles": 500, "var": 500, "decoding": 100, "embedding": 250}


# -- inputs ---------------------------------------------------------------------------------------
def load(path: str) -> dict[str, Any]:
    return atomic.load_npz(path, what="a Fig8 analysis file")


def r2_title(arrays: Mapping[str, Any], digits: int = 2) -> str:
    """The authors' title numbers: ``vel=0.92 pos=0.95`` (``str(round(x, digits))``)."""
    return (
        f"vel={round(float(arrays['vel_r2']), digits)} pos={round(float(arrays['pos_r2']), digits)}"
    )


def _colors(angle: np.ndarray, offset: float = 0.0) -> np.ndarray:
    return plt.cm.hsv(np.mod(offset + np.asarray(angle, dtype=float) / 360.0, 1.0))


def _set_label(params: Mapping[str, Any], name: str) -> str:
    return str((params.get("sets") or {}).get(name, {}).get("label", name))


def _method(params: Mapping[str, Any], method: str) -> dict[str, str]:
    entry = (params.get("methods") or {}).get(method, {})
    return {"label": str(entry.get("label", method)), "kind": str(entry.get("kind", ""))}


# -- footer ---------------------------------------------------------------------------------------
def source_text(params: Mapping[str, Any]) -> str:
    """What the figure is drawn from, in words."""
    src = params.get("source")
    path = params.get("source_path", "")
    if src == "published":
        return (
            f"FROM PUBLISHED EMBEDDINGS (the authors' data_NER/Fig8 npz in {path}, decoded here; "
            "MC_Maze NWB file absent, nothing trained)"
        )
    if params.get("synthetic"):
        return f"trained here on a SYNTHETIC MC_Maze-like NWB file ({path})"
    return f"trained here from the MC_Maze NWB file (DANDI 000128, Jenkins; {path})"


def _sets_text(params: Mapping[str, Any], sets: Sequence[str]) -> str:
    """``sets [38], [18] (trial_type in the list, trial_version >= 0)``, one rule per group."""
    info = params.get("sets") or {}
    groups: dict[str, list[str]] = {}
    for name in sets:
        entry = info.get(name, {})
        rule = str(entry.get("rule", ""))
        version = rule.split(" and ", 1)[1] if " and " in rule else rule
        groups.setdefault(version, []).append(str(entry.get("label", name)))
    parts = [f"{', '.join(labels)} ({rule})" for rule, labels in groups.items()]
    return "MC_Maze trial types " + "; ".join(parts)


def footer_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """What :func:`style.provenance_text` states for Fig8: demo flag, sets not drawn (with why),
    evaluation mode, seed (none for the authors' unseeded runs)."""
    reasons = params.get("skipped_reasons") or {}
    out = {k: params[k] for k in ("simulated", "evaluation", "seed") if k in params}
    out["skipped"] = [f"{name} ({why})" for name, why in reasons.items()] or list(
        params.get("skipped") or []
    )
    return out


def footer_extra(
    params: Mapping[str, Any], method: str, sets: Sequence[str], what: str = ""
) -> list[str]:
    """The figure-specific footer statements (after :func:`style.provenance_text`'s)."""
    m = _method(params, method)
    panel = (params.get("panel_ids") or {}).get(what, "")
    out = [
        f"Fig8{' ' + panel if panel else ''} {m['label']}: {source_text(params)}",
        _sets_text(params, sets),
        "R² = linear decoding fitted and scored on the training split (in-sample, as the paper), "
        "positions = per-trial cumsum of velocity",
    ]
    if params.get("source") == "published":
        out.append("seed: none (the authors' runs were unseeded)")
    return out


def _figure(
    width: float, body: float, params: Mapping[str, Any], extra: Sequence[str], dpi: float
) -> tuple[Figure, float, float]:
    """A figure ``width`` wide with ``body`` inches for the panels above the footer.

    Returns the figure, the footer's height as a fraction of the figure and the body's.
    """
    foot = footer_inches(width, footer_params(params), extra)
    height = body + foot
    fig = plt.figure(figsize=(width, height), dpi=dpi)
    return fig, foot / height, body / height


def _bare_3d(ax: Any, view: tuple[float, float] | None) -> None:
    """The authors' 3-D panels: no ticks, grid, pane fill or axis lines (light pane edges, as
    their PDFs show)."""
    style.blank_3d(ax, *(view or (None, None)))
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.pane.set_edgecolor(_PANE_EDGE)


def _bare_2d(ax: Any) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color(_SPINE)


def _default_margins(fig: Figure, foot: float, panel_h: float) -> tuple[float, float]:
    """Bottom and height (figure fractions) of the axes of a ``panel_h``-inch row above the
    footer (``foot``, a fraction) with matplotlib's default margins (bottom 0.11, top 0.88)."""
    h = fig.get_size_inches()[1]
    return foot + 0.11 * panel_h / h, 0.77 * panel_h / h


def _row_axes(
    fig: Figure,
    n: int,
    axes_w: float,
    bottom: float,
    height: float,
    *,
    gap: float = 0.0,
    projection: str | None = None,
) -> list[Any]:
    """``n`` axes ``axes_w`` inches wide, ``gap`` inches apart, centred in the figure, from
    ``bottom`` to ``bottom + height`` (figure fractions)."""
    width_in = fig.get_size_inches()[0]
    x0 = (width_in - n * axes_w - (n - 1) * gap) / 2
    return [
        fig.add_axes(
            ((x0 + i * (axes_w + gap)) / width_in, bottom, axes_w / width_in, height),
            projection=projection,
        )
        for i in range(n)
    ]


# -- 7f / 7i: trial-averaged latent trajectories --------------------------------------------------
def draw_versions(ax: Any, arrays: Mapping[str, Any]) -> None:
    """7f: per angle, straight (v0) mean 'o' + black line, curved (v1+v2) mean '*' + thin line."""
    angles = np.asarray(arrays["angles"], dtype=float)
    for k, angle in enumerate(angles):
        if arrays["n_straight"][k]:
            avg = arrays["avg_straight"][k]
            ax.scatter(
                *avg.T[:3],
                marker="o",
                color=_colors(angle),
                edgecolors="none",
                alpha=0.75,
                s=5,
            )
            ax.plot(*avg.T[:3], color="black", linewidth=1, alpha=0.75)
    for k, angle in enumerate(angles):
        if arrays["n_curved"][k]:
            avg = arrays["avg_curved"][k]
            ax.scatter(
                *avg.T[:3],
                marker="*",
                color=_colors(angle),
                edgecolors="none",
                alpha=0.75,
                s=10,
            )
            ax.plot(*avg.T[:3], color=_colors(angle), linewidth=0.25, alpha=1)


def draw_angles(ax: Any, arrays: Mapping[str, Any], sizes: tuple[float, float] = (2, 5)) -> None:
    """7i / 7c: one mean trajectory per angle (sorted), markers alternating 'o' and '*'."""
    angles = np.asarray(arrays["angles"], dtype=float)
    for k, angle in enumerate(angles):
        if not arrays["n_all"][k]:
            continue
        marker, size = ("o", sizes[0]) if k % 2 == 0 else ("*", sizes[1])
        ax.scatter(
            *arrays["avg_all"][k].T[:3],
            marker=marker,
            color=_colors(angle),
            edgecolors="none",
            alpha=0.75,
            s=size,
        )


def family_embedding_figure(
    runs: Sequence[tuple[str, Mapping[str, Any]]],
    how: str,
    params: Mapping[str, Any],
    extra: Sequence[str],
) -> Figure:
    """7f (``how="versions"``) or 7i (``how="angles"``): one 3-D panel per set."""
    panel_w, panel_h = EMBEDDING_PANEL_IN
    width = max(panel_w * len(runs), MIN_WIDTH_IN)
    title_in = 0.14
    fig, foot, body = _figure(width, panel_h + title_in, params, extra, DPI[how])
    title = title_in / fig.get_size_inches()[1]
    axes = _row_axes(fig, len(runs), panel_w, foot, body - title, projection="3d")
    for ax, (name, arrays) in zip(axes, runs, strict=True):
        if arrays["embedding"].shape[1] < 3:
            raise ValueError(f"{name}: a {arrays['embedding'].shape[1]}-D embedding is not 3-D")
        (draw_versions if how == "versions" else draw_angles)(ax, arrays)
        _bare_3d(ax, VIEWS[how])
        pos = ax.get_position()
        fig.text(
            pos.x0 + pos.width / 2,
            pos.y1 + 0.01,
            _set_label(params, name),
            ha="center",
            va="bottom",
            fontsize=_TITLE_FS,
        )
    style.add_footer(fig, footer_params(params), extra)
    return fig


# -- 7g / 7j: decoded positions ------------------------------------------------------------------
def _positions(ax: Any, xy: np.ndarray, arrays: Mapping[str, Any], s: float, v0_offset: float):
    """The authors' position scatter: straight (v0) trials first, then curved ones on top."""
    angle = np.asarray(arrays["target_angle"], dtype=float)
    version = np.asarray(arrays["version"])
    for sel, offset in ((version == 0, v0_offset), (version > 0, 0.0)):
        if sel.any():
            ax.scatter(
                xy[sel, 0],
                xy[sel, 1],
                alpha=1,
                marker=".",
                color=_colors(angle[sel], offset),
                s=s,
            )


def family_var_figure(
    runs: Sequence[tuple[str, Mapping[str, Any]]],
    reference: tuple[str, Mapping[str, Any]],
    params: Mapping[str, Any],
    extra: Sequence[str],
) -> Figure:
    """7g / 7j: true positions of ``reference`` (the family's largest set), then the positions
    each set's own training regression decodes, titled with its train-set R²."""
    n = len(runs) + 1
    panel_w, panel_h = VAR_PANEL_IN
    width = max(panel_w * n, MIN_WIDTH_IN)
    # 0.1 in more than the authors' figure on top: our titles name the set on a second line
    fig, foot, _ = _figure(width, panel_h + 0.1, params, extra, DPI["var"])
    # the authors' subplots_adjust(wspace=0.2) with matplotlib's default margins
    bottom, height = _default_margins(fig, foot, panel_h)
    axes = _row_axes(fig, n, VAR_AXES_IN[0], bottom, height, gap=VAR_AXES_IN[1])
    ref_name, ref = reference
    _positions(axes[0], ref["true_pos"], ref, 0.05, 0.0)
    axes[0].set_title(f"true {_set_label(params, ref_name)}", fontsize=_TITLE_FS)
    _bare_2d(axes[0])
    for ax, (name, arrays) in zip(axes[1:], runs, strict=True):
        _positions(ax, arrays["pred_pos"], arrays, 0.05, 0.0)
        ax.set_title(f"{_set_label(params, name)}\n{r2_title(arrays)}", fontsize=_TITLE_FS)
        _bare_2d(ax)
    style.add_footer(fig, footer_params(params), extra)
    return fig


# -- 7b-d / 7c: one set ---------------------------------------------------------------------------
def decoding_figure(
    name: str,
    arrays: Mapping[str, Any],
    label: str,
    params: Mapping[str, Any],
    extra: Sequence[str],
) -> Figure:
    """7b-d: true positions (title ``Var-R2 vel=..``) and decoded ones on the same axes limits
    (``True vs Pred-R2 vel=.. pos=..``), 3 decimals as the authors' titles. The notebook that made
    the published PDF is lost; its layout (cell 12 of the training notebook) and the PDF's look
    (light frame, no ticks) are followed."""
    width, panel_h = 10.0, 5.0
    fig, foot, _ = _figure(width, panel_h, params, extra, DPI["decoding"])
    bottom, height = _default_margins(fig, foot, panel_h)
    ax1 = fig.add_axes((0.125, bottom, 0.3525, height))
    ax2 = fig.add_axes((0.5475, bottom, 0.3525, height))
    _positions(ax1, arrays["true_pos"], arrays, 0.5, 0.05)
    _positions(ax2, arrays["pred_pos"], arrays, 0.5, 0.05)
    for ax in (ax1, ax2):  # as the published 7b-d PDF: light frame, no ticks
        _bare_2d(ax)
    ax2.set_xlim(ax1.get_xlim())
    ax2.set_ylim(ax1.get_ylim())
    vel, pos = round(float(arrays["vel_r2"]), 3), round(float(arrays["pos_r2"]), 3)
    ax1.set_title(f"Var-R2 vel={vel}")
    ax2.set_title(f"True vs Pred-R2 vel={vel} pos={pos}")
    fig.suptitle(f"{label} {_set_label(params, name)}: training split", fontsize=9, y=1 - 0.02)
    style.add_footer(fig, footer_params(params), extra)
    return fig


def single_embedding_figure(
    name: str,
    arrays: Mapping[str, Any],
    label: str,
    params: Mapping[str, Any],
    extra: Sequence[str],
) -> Figure:
    """7c: every training bin coloured by target angle, and the per-angle trial averages."""
    width, panel_h = 4.0, 2.0
    fig, foot, body = _figure(width, panel_h, params, extra, DPI["embedding"])
    title = 0.18 / fig.get_size_inches()[1]
    ax1, ax2 = _row_axes(fig, 2, width / 2, foot, body - title, projection="3d")
    emb = np.asarray(arrays["embedding"])
    ax1.scatter(
        *emb.T[:3],
        color=_colors(arrays["target_angle"]),
        edgecolors="none",
        alpha=0.5,
        s=0.3,
    )
    draw_angles(ax2, arrays)
    for ax in (ax1, ax2):
        _bare_3d(ax, None)
    fig.text(
        0.5,
        foot + body - 0.01,
        f"{label} {_set_label(params, name)}: training bins by target angle | trial averages",
        ha="center",
        va="top",
        fontsize=_TITLE_FS + 1,
    )
    style.add_footer(fig, footer_params(params), extra)
    return fig


# -- the table ------------------------------------------------------------------------------------
def table(runs: Mapping[str, Mapping[str, Any]], params: Mapping[str, Any]) -> pd.DataFrame:
    """One row per method and set: the numbers the panels show (and the test-split R²)."""
    rows = []
    sets = params.get("sets") or {}
    for key, arrays in runs.items():
        method, name = key.split(":", 1)
        m = _method(params, method)
        rows.append(
            {
                "method": method,
                "label": m["label"],
                "kind": m["kind"],
                "set": name,
                "family": sets.get(name, {}).get("family", ""),
                "types": _set_label(params, name),
                "source": str(arrays.get("source", params.get("source", ""))),
                "seed": int(arrays["seed"]) if "seed" in arrays else None,
                "n_train_trials": int(arrays["n_train_trials"]),
                "n_test_trials": int(arrays["n_test_trials"]),
                "vel_R2_train": float(arrays["vel_r2"]),
                "pos_R2_train": float(arrays["pos_r2"]),
                "vel_R2_test": float(arrays["vel_r2_test"]),
                "pos_R2_test": float(arrays["pos_r2_test"]),
                "final_loss": float(arrays["final_loss"]),
                "title": r2_title(arrays),
            }
        )
    return pd.DataFrame(rows)


def _largest(
    runs: Sequence[tuple[str, Mapping[str, Any]]], params: Mapping[str, Any]
) -> tuple[str, Mapping[str, Any]]:
    """The set with the most trial types (the last on ties): the authors' panel-1 truth."""
    sets = params.get("sets") or {}
    ranked = [
        (len(sets.get(name, {}).get("types", [])), i, (name, arrays))
        for i, (name, arrays) in enumerate(runs)
    ]
    return max(ranked, key=lambda r: (r[0], r[1]))[2]


# -- entry point ----------------------------------------------------------------------------------
def render(
    inputs: Mapping[str, Sequence[str]], outputs: Mapping[str, str], params: Mapping[str, Any]
) -> None:
    """Write every output of the Fig8 target from its analysis files."""
    runs = {key: load(paths[0]) for key, paths in inputs.items()}
    families = params.get("families") or {}
    for key, path in outputs.items():
        if key == "table":
            frame = table(runs, params)
            with atomic.atomic_path(path, suffix=".csv") as tmp:
                frame.to_csv(tmp, index=False)
            continue
        method, what, panel = key.rsplit(":", 2)
        kind = _method(params, method)["kind"]
        label = _method(params, method)["label"]
        if what in families:
            entry = families[what]
            names = [s for s in entry["sets"] if f"{method}:{s}" in runs]
            if not names:
                raise KeyError(f"output {key!r}: no input for any set of family {what!r}")
            chosen = [(s, runs[f"{method}:{s}"]) for s in names]
            extra = footer_extra(params, method, names, f"{kind}/{what}/{panel}")
            if panel == "embedding":
                fig = family_embedding_figure(chosen, entry["style"], params, extra)
            elif panel == "var":
                reference = _largest(chosen, params)
                fig = family_var_figure(chosen, reference, params, extra)
            else:
                raise KeyError(f"unknown Fig8 panel {key!r}")
        else:
            arrays = runs[f"{method}:{what}"]
            family = (params.get("sets") or {}).get(what, {}).get("family", "")
            extra = footer_extra(params, method, [what], f"{kind}/{family}/{panel}")
            if panel == "decoding":
                fig = decoding_figure(what, arrays, label, params, extra)
            elif panel == "embedding":
                fig = single_embedding_figure(what, arrays, label, params, extra)
            else:
                raise KeyError(f"unknown Fig8 panel {key!r}")
        style.save(fig, path)
