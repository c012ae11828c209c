"""The reproduction report: every published number next to ours, with a verdict.

Inputs
------
* ``resources/published_numbers.tsv`` (written by ``tools/extract_published.py`` from the
  spec's reference tables): one row per number the paper reports, plus the published
  Fig5-7 matrices (``statistic == "matrix"``) used to restrict published means to the
  sessions we have.
* Our analysis outputs, for **both** evaluation modes and **all** seeds
  (:func:`report_inputs` lists them; the ``report`` rule depends on exactly these):
  Fig4 ``explained_variance`` tables and arrays, Fig5-7 ``crossdecode`` tables and arrays,
  the Fig1 ``insample`` tables, the embeddings of the Fig3 runs (final training losses),
  the Fig8 ``mcmaze`` tables, and the figure files (embedded in the HTML).

Nothing in the report is typed in: each "ours" number is computed here from those files
every time the report is built, and each published number is read from the TSV.

Outputs
-------
``comparison.csv`` (the full table, one row per published number; columns
:data:`COMPARISON_COLUMNS`), ``report.md`` and a self-contained ``report.html`` (the same
content, with the figures embedded as base64 PNG/GIF).

Verdicts
--------
The ``paper`` mode is the one compared with the published values (``corrected`` is shown for
information). "Ours" is the mean over seeds, the spread the SD over seeds (``ddof=1``). A row
is ``reproduced`` when ``|ours - published| <= max(tolerance, 2 SD)``, else ``not reproduced``
(with the difference and the known causes). ``not comparable``: ours exists but measures
something else (a substitute session, or a group statistic on fewer sessions whose published
per-session values are not available). ``not computable``: no number of ours (session absent,
no matching method, output missing), with the reason. On simulated data every verdict is
``not applicable`` and only our numbers are shown. Tolerances: :data:`TOLERANCES` and
:func:`tolerance_for`; the report text justifies them (:func:`tolerance_text`).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import logging
import math
import os
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ner_repro import atomic
from ner_repro.config import REPO_ROOT, SessionKey
from ner_repro.plan import MODES, Group

if TYPE_CHECKING:
    from ner_repro.plan import Plan

log = logging.getLogger(__name__)
PathLike = str | os.PathLike[str]

PUBLISHED_TSV = REPO_ROOT / "resources" / "published_numbers.tsv"
FIGURE_ORDER = ("Fig1", "Fig3", "Fig4", "Fig5", "Fig6", "Fig7", "Fig8")
FIGURE_TITLES = {
    "Fig1": "Fig1: NER vs CEBRA on the example session (5000 iterations, in-sample)",
    "Fig3": "Fig3 batch runs: final training losses (20000 iterations)",
    "Fig4": "Fig4: explained variance and direction accuracy per session",
    "Fig5": "Fig5: M1 self- and cross-session decoding (Chewie 2015+2016)",
    "Fig6": "Fig6: PMd and M1 self- and cross-session decoding (Chewie 2016)",
    "Fig7": "Fig7: S1 self- and cross-session decoding (Han 2017)",
    "Fig8": "Fig8: MC_Maze straight vs curved reaches (train-set decoding)",
}

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
NOT_COMPARABLE = "not comparable"
NOT_COMPUTABLE = "not computable"
NOT_APPLICABLE = "not applicable (simulated data)"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, NOT_COMPARABLE, NOT_COMPUTABLE, NOT_APPLICABLE)

#: The fewest seeds whose range (min..max) a published value may fall in to be reported so.
MIN_RANGE_SEEDS = 3
#: Base tolerances (absolute), before the 2-SD-over-seeds widening.
TOLERANCES: dict[str, float] = {
    "r2": 0.05,  # R² in the correct argument order
    "r2_swapped": 0.05,  # on the underlying R², propagated through the swap (x (2 - v)^2)
    "accuracy": 5.0,  # percentage points (peak accuracies, accuracy-curve peaks)
    "peak_time_ms": 90.0,  # three 30-ms bins
    "final_loss": 0.03,
}
#: How the report's methods map onto the configured ones: kind and settings that must match.
PUBLISHED_METHODS: dict[str, dict[str, Any]] = {
    "NER": {"kind": "ner", "output_dimension": 3},
    "CEBRA": {"kind": "cebra", "output_dimension": 3},
    "CEBRA_16D": {"kind": "cebra", "output_dimension": 16},
    "piVAE": {"kind": "pivae"},
    "UMAP": {"kind": "umap", "supervised": False},
    "UMAP_label": {"kind": "umap", "supervised": True},
}
#: The 2-SD widening of a tolerance stops at this multiple of the base tolerance.
MAX_WIDENING = 3.0
_SETTING_DEFAULTS = {"output_dimension": 3, "supervised": False}
FIGURE_EXTENSIONS = (".pdf", ".png", ".gif", ".svg", ".jpg")

COMPARISON_COLUMNS = (
    "id",
    "figure",
    "panel",
    "method",
    "session",
    "split",
    "decoder",
    "metric",
    "statistic",
    "r2_order",
    "published",
    "published_display",
    "reference",
    "reference_basis",
    "n_sessions_published",
    "n_sessions_ours",
    "sessions_ours",
    "our_method",
    "paper_mean",
    "paper_sd",
    "paper_n",
    "paper_per_seed",
    "corrected_mean",
    "corrected_sd",
    "corrected_n",
    "corrected_per_seed",
    "difference",
    "tolerance",
    "tolerance_rule",
    "verdict",
    "reason",
    "explanation",
    "note",
    "source",
)
_NUMERIC = {
    "published",
    "reference",
    "n_sessions_published",
    "n_sessions_ours",
    "paper_mean",
    "paper_sd",
    "paper_n",
    "corrected_mean",
    "corrected_sd",
    "corrected_n",
    "difference",
    "tolerance",
}


# -- published numbers ---------------------------------------------------------------------------
def load_published(path: PathLike = PUBLISHED_TSV) -> pd.DataFrame:
    """The published-numbers table; ``value`` as float except on ``matrix`` rows (kept in
    ``matrix_values``)."""
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    is_matrix = table["statistic"] == "matrix"
    table["matrix_values"] = table["value"].where(is_matrix, "")
    table["value"] = pd.to_numeric(table["value"].where(~is_matrix, ""), errors="coerce")
    return table


def published_sessions(published: pd.DataFrame) -> set[str]:
    """Every session name the published per-session numbers and groups mention."""
    names = set()
    for _, row in published.iterrows():
        for s in [row["session"], *row["sessions"].split(";")]:
            if _is_session(s):
                names.add(s)
    return names


def _is_session(name: str) -> bool:
    try:
        SessionKey.parse(name)
    except ValueError:
        return False
    return True


# -- methods and groups of the configuration ---------------------------------------------------------
def _settings_match(spec: Mapping[str, Any], want: Mapping[str, Any]) -> bool:
    return all(
        spec.get(k, _SETTING_DEFAULTS.get(k)) == v if k != "kind" else spec.get("kind") == v
        for k, v in want.items()
    )


def config_method(plan: Plan, published_method: str, candidates: Iterable[str]) -> str | None:
    """The first configured method among ``candidates`` that is the published method (by kind
    and settings: NER = ``ner`` 3-D, CEBRA_16D = ``cebra`` 16-D, UMAP_label = supervised UMAP...)."""
    want = PUBLISHED_METHODS.get(published_method)
    if want is None:
        return None
    for m in candidates:
        spec = plan.config["methods"].get(m)
        if spec is not None and _settings_match(spec, want):
            return str(m)
    return None


def figure_methods(plan: Plan, figure: str, decoder: str = "linear") -> list[str]:
    """The configured methods a published figure's numbers are compared with."""
    figs = plan.config.get("figures", {})
    if figure == "Fig1":
        return list((figs.get("fig1") or {}).get("methods", []))
    if figure == "Fig3":
        names: list[str] = list((figs.get("fig3") or {}).get("methods", []))
        for fig in ("fig4", "fig5", "fig6", "fig7"):
            spec = figs.get(fig) or {}
            for key in ("methods", "linear_methods", "knn_methods"):
                names += [m for m in spec.get(key, []) if m not in names]
        return names
    if figure == "Fig4":
        return list((figs.get("fig4") or {}).get("methods", []))
    if figure in ("Fig5", "Fig6", "Fig7"):
        spec = figs.get(figure.lower()) or {}
        return list(spec.get("knn_methods" if decoder == "knn" else "linear_methods", []) or [])
    if figure == "Fig8":
        return [str(m) for m in (plan.config.get("mcmaze") or {}).get("methods", []) or []]
    return []


def fig4_groups(plan: Plan) -> dict[str, Group]:
    """Fig4 panel groups by area, plus the accuracy groups (``acc:<area>``)."""
    cfg = (plan.config.get("figures") or {}).get("fig4") or {}
    accuracy = set(cfg.get("accuracy_datasets", []))
    out: dict[str, Group] = {}
    for panel in (cfg.get("panels") or {}).values():
        group = Group.of(panel["datasets"], panel["area"])
        out.setdefault(panel["area"], group)
        acc = Group.of([d for d in panel["datasets"] if d in accuracy], panel["area"])
        if acc.datasets:
            out.setdefault(f"acc:{panel['area']}", acc)
    return out


def _extra_fig4_groups(plan: Plan, published: pd.DataFrame) -> list[Group]:
    """Groups for published Fig4 sessions that no Fig4 panel covers (the Mihili rows)."""
    covered = {
        k.name for g in fig4_groups(plan).values() for k in plan.configured(g.datasets, g.areas)
    }
    wanted: dict[tuple[str, str], None] = {}
    rows = published[(published["figure"] == "Fig4") & (published["statistic"] == "value")]
    for name in sorted(set(rows["session"])):
        if name in covered or not _is_session(name):
            continue
        key = SessionKey.parse(name)
        try:
            dataset = plan.dataset_of(key)
        except KeyError:
            continue
        wanted[(dataset, key.area)] = None
    return [Group.of([d], a) for d, a in wanted]


def _fig4_analysis_groups(plan: Plan, published: pd.DataFrame) -> list[Group]:
    # The accuracy groups need no analysis of their own: per-session accuracy curves are
    # read from the panel groups' arrays.
    panels = [g for k, g in fig4_groups(plan).items() if not k.startswith("acc:")]
    groups: list[Group] = []
    for g in [*panels, *_extra_fig4_groups(plan, published)]:
        if g not in groups and plan.group_sessions(g):
            groups.append(g)
    return groups


def _fig8_sets(plan: Plan) -> list[Any]:
    if not plan.config.get("mcmaze") or not plan.fig8_sources():
        return []
    from ner_repro import fig8

    return fig8.condition_sets(plan)


def _fig8_inputs(plan: Plan) -> tuple[list[str], dict[str, str]]:
    """Fig8 analysis tables (all seeds, or the authors' runs) and the sets left out."""
    sets = _fig8_sets(plan)
    if not sets:
        return [], {}
    from ner_repro import fig8

    sources = plan.fig8_sources()
    paths: list[str] = []
    skipped: dict[str, str] = {}
    for m in fig8.methods(plan):
        for cs in sets:
            if "trained" in sources:
                paths += [str(fig8.analysis_path(plan, m, cs, s, "csv")) for s in plan.seeds_for(m)]
                continue
            found = fig8.published_file(
                plan.workdir / sources["published"], cs.published, plan.kind(m)
            )
            if found is None:
                skipped[f"{m}:{cs.name}"] = (
                    "the MC_Maze NWB file is absent and the authors did not publish "
                    f"this set's {plan.label(m)} embedding"
                )
                continue
            paths.append(str(fig8.analysis_path(plan, m, cs, None, "csv")))
    return paths, skipped


def report_inputs(plan: Plan, published: pd.DataFrame | None = None) -> dict[str, list[str]]:
    """Every file the report reads, by kind (the ``report`` rule's named inputs).

    Both evaluation modes and every seed of: the Fig4 explained-variance analyses of each
    panel group (and of a group for published sessions outside the panels, e.g. Mihili),
    the Fig5-7 cross-decoding analyses of each figure's methods and decoders, the Fig1
    in-sample analyses on the example session, the embeddings of the Fig3 runs (losses),
    the Fig8 analyses, and the figure files of the figures whose notebooks exist.
    """
    published = load_published() if published is None else published
    figs = plan.config.get("figures", {})
    out: dict[str, list[str]] = {"published": [str(PUBLISHED_TSV)]}

    ev_csv, ev_npz = [], []
    for group in _fig4_analysis_groups(plan, published):
        for m in figure_methods(plan, "Fig4"):
            for mode in MODES:
                for s in plan.seeds_for(m):
                    ev_csv.append(str(plan.explained_variance(group.name, m, mode, s, "csv")))
                    ev_npz.append(str(plan.explained_variance(group.name, m, mode, s, "npz")))
    out["explained_variance"], out["explained_variance_npz"] = ev_csv, ev_npz

    cd_csv, cd_npz = [], []
    for fig, group in plan.cross_groups().items():
        if fig not in ("fig5", "fig6", "fig7") or not plan.group_sessions(group):
            continue
        for decoder, key in (("linear", "linear_methods"), ("knn", "knn_methods")):
            for m in (figs.get(fig) or {}).get(key) or []:
                for mode in MODES:
                    for s in plan.seeds_for(m):
                        cd_csv.append(str(plan.crossdecode(group.name, m, decoder, mode, s, "csv")))
                        cd_npz.append(str(plan.crossdecode(group.name, m, decoder, mode, s, "npz")))
    out["crossdecode"], out["crossdecode_npz"] = cd_csv, cd_npz

    example, _ = plan.example
    out["insample"] = (
        [
            str(plan.insample(m, example.name, s, "csv"))
            for m in figure_methods(plan, "Fig1")
            for s in plan.seeds_for(m)
        ]
        if plan.is_available(example.monkey, example.date)
        else []
    )

    loss_methods = [
        m
        for pm in ("NER", "CEBRA", "CEBRA_16D")
        if (m := config_method(plan, pm, figure_methods(plan, "Fig3"))) is not None
    ]
    area = (figs.get("fig3") or {}).get("area", "M1")
    loss_sessions = [k for k in plan.sessions(areas=[area])]
    wanted = published_sessions(published[published["figure"] == "Fig3"])
    if not plan.simulated:
        loss_sessions = [k for k in loss_sessions if k.name in wanted]
    else:
        groups = (figs.get("fig3") or {}).get("groups") or {}
        keep = {k for ds in groups.values() for k in plan.sessions(ds, [area])}
        loss_sessions = [k for k in loss_sessions if k in keep]
    out["embeddings"] = [str(p) for p in plan.embeddings(loss_methods, loss_sessions)]

    out["mcmaze"], _ = _fig8_inputs(plan)
    out["figures"] = report_figures(plan)
    return out


def report_figures(plan: Plan) -> list[str]:
    """The figure files (PDF, GIF, PNG) of every figure whose notebook exists."""
    files: list[str] = []
    for spec in plan.figures():
        if not Path(spec.notebook).is_file():
            continue
        files += [p for p in spec.outputs.values() if p.lower().endswith(FIGURE_EXTENSIONS)]
    return files


def report_outputs(results: PathLike) -> dict[str, str]:
    base = Path(results) / "report"
    return {
        "md": str(base / "report.md"),
        "html": str(base / "report.html"),
        "csv": str(base / "comparison.csv"),
    }


# -- our outputs ---------------------------------------------------------------------------------
@dataclass
class Outputs:
    """Our analysis outputs, loaded once."""

    ev: pd.DataFrame
    cd: pd.DataFrame
    insample: pd.DataFrame
    mcmaze: pd.DataFrame
    ev_curves: dict[tuple[str, str, str, int], tuple[np.ndarray, np.ndarray]]
    cd_curves: dict[tuple[str, str, str, int], tuple[list[str], np.ndarray, np.ndarray]]
    losses: dict[tuple[str, str, int], float]
    missing: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, inputs: Mapping[str, Sequence[str]], workdir: PathLike = ".") -> Outputs:
        workdir = Path(workdir)
        missing: list[str] = []

        def existing(kind: str) -> list[Path]:
            found = []
            for p in inputs.get(kind, []):
                path = workdir / p
                if path.is_file():
                    found.append(path)
                else:
                    missing.append(str(p))
            return found

        def frames(kind: str) -> pd.DataFrame:
            parts = [pd.read_csv(p) for p in existing(kind)]
            parts = [p for p in parts if len(p)]
            return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

        ev = frames("explained_variance")
        cd = frames("crossdecode")
        ins = frames("insample")
        mc = frames("mcmaze")
        ev_curves: dict[tuple[str, str, str, int], tuple[np.ndarray, np.ndarray]] = {}
        for path in existing("explained_variance_npz"):
            with np.load(path, allow_pickle=False) as z:
                if "linear_acc_time" not in z.files:
                    continue
                mode = str(z["mode"])
                acc, t_dur, time_ms = z["linear_acc_time"], z["t_dur"], z["time_ms"]
                for i, (m, s, seed) in enumerate(
                    zip(z["methods"], z["sessions"], z["seeds"], strict=True)
                ):
                    n = int(t_dur[i])
                    ev_curves[(str(m), str(s), mode, int(seed))] = (acc[i, 0, :n], time_ms[:n])
        cd_curves: dict[tuple[str, str, str, int], tuple[list[str], np.ndarray, np.ndarray]] = {}
        for path in existing("crossdecode_npz"):
            with np.load(path, allow_pickle=False) as z:
                mode, method = str(z["mode"]), str(z["method"])
                seeds = {int(s) for s in z["seeds"]}
                for dec in z["decoders"]:
                    key = f"{dec}_acc_time"
                    if key not in z.files or len(seeds) != 1:
                        continue
                    cd_curves[(method, str(dec), mode, seeds.pop() if seeds else -1)] = (
                        [str(s) for s in z["sessions"]],
                        z[key],
                        z["time_ms"],
                    )
        losses: dict[tuple[str, str, int], float] = {}
        for path in existing("embeddings"):
            with np.load(path, allow_pickle=False) as z:
                loss = z["loss"] if "loss" in z.files else np.zeros(0)
                if loss.size:
                    losses[(str(z["method"]), str(z["session"]), int(z["seed"]))] = float(
                        np.mean(loss[-10:])
                    )
        return cls(ev, cd, ins, mc, ev_curves, cd_curves, losses, missing)


# -- one comparison row ---------------------------------------------------------------------------
class NotComputable(Exception):
    """No number of ours for a published number (the message says why)."""


@dataclass
class Ours:
    """Our value of one published number: per mode, per seed."""

    values: dict[str, dict[int, float]]
    sessions: list[str] = field(default_factory=list)
    method: str = ""
    notes: list[str] = field(default_factory=list)
    #: True where ours decodes the authors' own embedding (Fig8 without the NWB file): the
    #: only difference left is the rounding of the published value.
    same_embedding: bool = False

    def stats(self, mode: str) -> tuple[float, float, int, str]:
        per_seed = {s: v for s, v in sorted(self.values.get(mode, {}).items()) if np.isfinite(v)}
        vals = np.array(list(per_seed.values()), dtype=np.float64)
        if vals.size == 0:
            return math.nan, math.nan, 0, ""
        sd = float(np.std(vals, ddof=1)) if vals.size > 1 else math.nan
        text = ";".join(f"{s}:{v:.6g}" for s, v in per_seed.items())
        return float(np.mean(vals)), sd, int(vals.size), text


def tolerance_for(row: Mapping[str, Any]) -> tuple[float, str]:
    """Base tolerance of a published number and the rule's name (before the 2-SD widening)."""
    metric, statistic = row["metric"], row["statistic"]
    if metric.endswith(("R2", "R2_x", "R2_y")):
        if row.get("r2_order") == "swapped":
            v = float(row["value"])
            return TOLERANCES["r2_swapped"] * (2.0 - v) ** 2, "R² swapped: 0.05 x (2 - published)²"
        return TOLERANCES["r2"], "R²: 0.05"
    if metric == "final_loss":
        return TOLERANCES["final_loss"], "loss: 0.03"
    if statistic == "peak_time_ms":
        return TOLERANCES["peak_time_ms"], "time of peak: 90 ms"
    if metric in ("peak_dir_acc", "acc_curve"):
        return TOLERANCES["accuracy"], "accuracy: 5 points"
    raise ValueError(f"no tolerance for metric {metric!r} / {statistic!r}")


def rounding_tolerance(value: float) -> float:
    """Half a unit of the last decimal of a published value (0.925 -> 0.0005)."""
    text = repr(float(value))
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 6
    return 0.5 * 10.0 ** (-decimals) + 1e-9


def judge(
    reference: float,
    mean: float,
    sd: float,
    base: float,
    seed_values: Sequence[float] = (),
) -> tuple[str, float, float, str]:
    """(verdict, difference, tolerance used, reason) of ours (``mean`` ± ``sd`` over seeds)
    against ``reference``.

    The base tolerance is widened to 2 SD over seeds where that is larger, but to at most
    :data:`MAX_WIDENING` times the base: beyond that our own runs disagree too much for an
    agreement to mean anything, and the reason says so. With ``seed_values`` (ours per
    seed), a published value inside the range of at least :data:`MIN_RANGE_SEEDS` seeds is
    reported as such, and counts as reproduced where the mean alone misses it, provided the
    range is no wider than ``2 * MAX_WIDENING`` times the base (a wider range would admit
    almost anything).
    """
    if not np.isfinite(mean):
        return NOT_COMPUTABLE, math.nan, math.nan, "no value of ours"
    spread = 2 * sd if np.isfinite(sd) else 0.0
    tol = max(base, min(spread, MAX_WIDENING * base))
    diff = mean - reference
    widened = " (2 SD over seeds)" if tol > base else ""
    unstable = (
        f"; our seeds disagree (SD {sd:.3g}, more than {MAX_WIDENING / 2:g}x the tolerance)"
        if spread > MAX_WIDENING * base
        else ""
    )
    vals = np.asarray([v for v in seed_values if np.isfinite(v)], dtype=np.float64)
    in_range = ""
    range_ok = False
    if vals.size >= MIN_RANGE_SEEDS and vals.min() <= reference <= vals.max():
        lo, hi = float(vals.min()), float(vals.max())
        range_ok = hi - lo <= 2 * MAX_WIDENING * base
        in_range = f"; inside the range of our {vals.size} seeds [{lo:.3g}, {hi:.3g}]" + (
            "" if range_ok else " (a range wider than the tolerance allows: it says little)"
        )
    if abs(diff) <= tol:
        return (
            REPRODUCED,
            diff,
            tol,
            f"within ±{tol:.3g}{widened} (difference {diff:+.3g}){unstable}{in_range}",
        )
    if range_ok:
        return (
            REPRODUCED,
            diff,
            tol,
            in_range[2:] + f" (the mean differs by {diff:+.3g}, outside ±{tol:.3g}{widened})",
        )
    return (
        NOT_REPRODUCED,
        diff,
        tol,
        f"differs by {diff:+.3g}, outside ±{tol:.3g}{widened}{unstable}{in_range}",
    )


#: Known causes that bear on published numbers (the spec's list of the authors' defects and
#: of what cannot be the same here), by the short tag the tables show.
KNOWN_CAUSES: dict[str, str] = {
    "swapped R²": (
        "the published value is r2_score(pred, true) (the authors' swapped arguments): it "
        "penalises low-variance predictions and is not an explained variance (why CEBRA shows "
        "about -3); the paper mode reproduces it, the corrected mode gives r2_score(true, pred)"
    ),
    "get_best_R": (
        "paper-mode cross-decoding picks one of 8 per-direction Procrustes rotations by "
        "floating-point noise (on another machine only 20-50% of the authors' own off-diagonal "
        "elements reproduce, spec fig4-7.md §0) and aligns with the test trials"
    ),
    "pi-VAE": (
        "pi-VAE is re-implemented in PyTorch after the Keras code the authors ran (CEBRA's "
        "vendored copy: same model, loss, initialisation and optimiser, and their protocol "
        "with protocol: paper); their one unseeded run is compared with our seeds, whose "
        "spread is large; its paper-mode test embedding uses the test labels"
    ),
    "UMAP test fit": "the authors' UMAP test embedding is a separate fit (an unrelated frame)",
    "lbfgs": "LogisticRegression/lbfgs moves peak accuracies by 1-2 trials across versions",
    "unused": "the published number is in a stored summary but drawn in no figure",
}


def explanation(row: Mapping[str, Any]) -> str:
    """The tags of :data:`KNOWN_CAUSES` that bear on a published number (``; ``-separated)."""
    tags = []
    statistic, method = row["statistic"], row["method"]
    if row.get("r2_order") == "swapped":
        tags.append("swapped R²")
    if row["figure"] in ("Fig5", "Fig6", "Fig7") and (
        statistic == "offdiag_mean" or row["metric"] == "acc_curve"
    ):
        tags.append("get_best_R")
    if method == "piVAE":
        tags.append("pi-VAE")
    if method.startswith("UMAP") and row.get("split") == "test":
        tags.append("UMAP test fit")
    if row["metric"] in ("peak_dir_acc", "acc_curve"):
        tags.append("lbfgs")
    if "unused by the paper" in row.get("note", ""):
        tags.append("unused")
    return "; ".join(tags)


@dataclass
class Context:
    plan: Plan
    published: pd.DataFrame
    outputs: Outputs

    @property
    def simulated(self) -> bool:
        return bool(self.plan.simulated)

    def status(self, session: str) -> str | None:
        """Why a published session has no data of ours (None when it is available)."""
        if not _is_session(session):
            return f"{session} is not a session name"
        key = SessionKey.parse(session)
        try:
            self.plan.dataset_of(key)
        except KeyError:
            return f"{session} is not part of this configuration"
        if not self.plan.is_available(key.monkey, key.date):
            return f"{session}: recording absent from {self.plan.data_dir} (skipped)"
        return None

    def method(self, row: Mapping[str, Any]) -> str:
        candidates = figure_methods(self.plan, row["figure"], row.get("decoder") or "linear")
        m = config_method(self.plan, row["method"], candidates)
        if m is None:
            where = {
                "Fig1": "figures.fig1.methods",
                "Fig3": "the figures' method lists",
                "Fig4": "figures.fig4.methods",
                "Fig8": "mcmaze.methods",
            }.get(row["figure"], f"figures.{row['figure'].lower()}.{row.get('decoder')}_methods")
            raise NotComputable(f"no configured method in {where} is {row['method']}")
        return m

    def group_sessions(self, row: Mapping[str, Any]) -> tuple[list[str], list[str]]:
        """(our sessions for a group statistic, reasons for published sessions left out)."""
        published = [s for s in row["sessions"].split(";") if s]
        if self.simulated:
            return self._simulated_group(row), []
        ours, why = [], []
        for s in published:
            reason = self.status(s)
            if reason is None:
                ours.append(s)
            else:
                why.append(reason)
        return ours, why

    def _simulated_group(self, row: Mapping[str, Any]) -> list[str]:
        """On simulated data: the configured group standing in for the published one."""
        fig = row["figure"]
        if fig == "Fig4":
            area = row["session"].rsplit("-", 1)[-1]
            groups = fig4_groups(self.plan)
            key = f"acc:{area}" if row["metric"] == "acc_curve" else area
            group = groups.get(key) or groups.get(area)
        else:
            group = self.plan.cross_groups().get(fig.lower())
        if group is None:
            return []
        return [k.name for k in self.plan.group_sessions(group)]

    def published_value(self, row: Mapping[str, Any], sessions: Sequence[str]) -> float:
        """The published statistic restricted to ``sessions`` (NaN where not derivable)."""
        pub = self.published
        if row["figure"] == "Fig4" and row["statistic"] == "median":
            sel = pub[
                (pub["figure"] == "Fig4")
                & (pub["statistic"] == "value")
                & (pub["method"] == row["method"])
                & (pub["split"] == row["split"])
                & (pub["metric"] == row["metric"])
                & (pub["session"].isin(list(sessions)))
            ]
            return float(np.median(sel["value"])) if len(sel) == len(sessions) else math.nan
        if row["statistic"] in ("diag_mean", "offdiag_mean"):
            sel = pub[
                (pub["figure"] == row["figure"])
                & (pub["statistic"] == "matrix")
                & (pub["method"] == row["method"])
                & (pub["decoder"] == row["decoder"])
                & (pub["metric"] == row["metric"])
            ]
            if len(sel) != 1:
                return math.nan
            order = sel["sessions"].iloc[0].split(";")
            values = np.array([float(v) for v in sel["matrix_values"].iloc[0].split(";")])
            matrix = values.reshape(len(order), len(order))
            idx = [order.index(s) for s in sessions if s in order]
            if len(idx) != len(sessions):
                return math.nan
            sub = matrix[np.ix_(idx, idx)]
            if row["statistic"] == "diag_mean":
                return float(np.mean(np.diag(sub)))
            if len(idx) < 2:
                return math.nan
            return float(np.mean(sub[~np.eye(len(idx), dtype=bool)]))
        return math.nan


def _by_mode_seed(frame: pd.DataFrame, modes: Sequence[str] = MODES) -> dict[str, dict[int, float]]:
    out: dict[str, dict[int, float]] = {m: {} for m in modes}
    for (mode, seed), part in frame.groupby(["mode", "seed"]):
        out.setdefault(str(mode), {})[int(seed)] = float(part["value"].iloc[0])
    return out


def _ours_fig4_session(ctx: Context, row: Mapping[str, Any]) -> Ours:
    m = ctx.method(row)
    reason = ctx.status(row["session"])
    if reason is not None:
        raise NotComputable(reason)
    ev = ctx.outputs.ev
    if ev.empty:
        raise NotComputable("no Fig4 explained-variance output of ours")
    sel = ev[
        (ev["method"] == m)
        & (ev["train_session"] == row["session"])
        & (ev["split"] == row["split"])
        & (ev["metric"] == row["metric"])
        & (ev["decoder"] == "linear")
    ].drop_duplicates(["mode", "seed"])
    if sel.empty:
        raise NotComputable(f"no explained-variance output for {m} on {row['session']}")
    return Ours(_by_mode_seed(sel), [row["session"]], m)


def _ours_fig4_median(ctx: Context, row: Mapping[str, Any]) -> Ours:
    m = ctx.method(row)
    sessions, why = ctx.group_sessions(row)
    if not sessions:
        raise NotComputable("none of its sessions is available: " + "; ".join(why))
    ev = ctx.outputs.ev
    if ev.empty:
        raise NotComputable("no Fig4 explained-variance output of ours")
    sel = ev[
        (ev["method"] == m)
        & (ev["train_session"].isin(sessions))
        & (ev["split"] == row["split"])
        & (ev["metric"] == row["metric"])
        & (ev["decoder"] == "linear")
    ].drop_duplicates(["mode", "seed", "train_session"])
    have = [s for s in sessions if s in set(sel["train_session"])]
    if not have:
        raise NotComputable(f"no explained-variance output for {m}")
    notes = [f"no output of ours for {s}" for s in sessions if s not in have]
    values: dict[str, dict[int, float]] = {mode: {} for mode in MODES}
    for (mode, seed), part in sel.groupby(["mode", "seed"]):
        if len(part) < len(have):
            notes.append(f"{mode} seed {seed}: {len(part)} of {len(have)} sessions")
        values[str(mode)][int(seed)] = float(np.median(part["value"]))
    return Ours(values, have, m, notes)


def _mean_curve_peak(curves: Sequence[np.ndarray], time_ms: np.ndarray) -> tuple[float, float]:
    mean = np.nanmean(np.stack(curves), axis=0)
    k = int(np.nanargmax(mean))
    return float(mean[k]), float(time_ms[k])


def _ours_fig4_curve(ctx: Context, row: Mapping[str, Any]) -> Ours:
    m = ctx.method(row)
    sessions, why = ctx.group_sessions(row)
    if not sessions:
        raise NotComputable("none of its sessions is available: " + "; ".join(why))
    curves = ctx.outputs.ev_curves
    have = [s for s in sessions if any(k[0] == m and k[1] == s for k in curves)]
    if not have:
        raise NotComputable(f"no explained-variance arrays for {m}")
    notes = [f"no output of ours for {s}" for s in sessions if s not in have]
    values: dict[str, dict[int, float]] = {mode: {} for mode in MODES}
    for mode in MODES:
        for seed in ctx.plan.seeds_for(m):
            found = [curves[k] for s in have if (k := (m, s, mode, seed)) in curves]
            if not found:
                continue
            if len(found) < len(have):
                notes.append(f"{mode} seed {seed}: {len(found)} of {len(have)} sessions")
            t = min(len(c) for c, _ in found)
            peak, when = _mean_curve_peak([c[:t] for c, _ in found], found[0][1][:t])
            values[mode][seed] = peak if row["statistic"] == "peak" else when
    return Ours(values, have, m, notes)


def _ours_matrix_mean(ctx: Context, row: Mapping[str, Any]) -> Ours:
    m = ctx.method(row)
    sessions, why = ctx.group_sessions(row)
    if not sessions:
        raise NotComputable("none of its sessions is available: " + "; ".join(why))
    if row["statistic"] == "offdiag_mean" and len(sessions) < 2:
        raise NotComputable(f"only {len(sessions)} session available, no off-diagonal element")
    cd = ctx.outputs.cd
    if cd.empty:
        raise NotComputable("no cross-decoding output of ours")
    sel = cd[
        (cd["method"] == m)
        & (cd["decoder"] == row["decoder"])
        & (cd["metric"] == row["metric"])
        & (cd["train_session"].isin(sessions))
        & (cd["test_session"].isin(sessions))
    ].drop_duplicates(["mode", "seed", "train_session", "test_session"])
    present = set(sel["train_session"]) & set(sel["test_session"])
    have = [s for s in sessions if s in present]
    if not have or (row["statistic"] == "offdiag_mean" and len(have) < 2):
        raise NotComputable(f"no cross-decoding output for {m} ({row['decoder']})")
    notes = [f"no output of ours for {s}" for s in sessions if s not in have]
    sel = sel[sel["train_session"].isin(have) & sel["test_session"].isin(have)]
    diag = sel["train_session"] == sel["test_session"]
    sel = sel[diag] if row["statistic"] == "diag_mean" else sel[~diag]
    expected = len(have) if row["statistic"] == "diag_mean" else len(have) * (len(have) - 1)
    values: dict[str, dict[int, float]] = {mode: {} for mode in MODES}
    for (mode, seed), part in sel.groupby(["mode", "seed"]):
        if len(part) < expected:
            notes.append(f"{mode} seed {seed}: {len(part)} of {expected} elements")
        values[str(mode)][int(seed)] = float(part["value"].mean())
    return Ours(values, have, m, notes)


def _ours_matrix_curve(ctx: Context, row: Mapping[str, Any]) -> Ours:
    m = ctx.method(row)
    sessions, why = ctx.group_sessions(row)
    if not sessions:
        raise NotComputable("none of its sessions is available: " + "; ".join(why))
    curves = {
        (mode, seed): found
        for mode in MODES
        for seed in ctx.plan.seeds_for(m)
        if (found := ctx.outputs.cd_curves.get((m, row["decoder"], mode, seed))) is not None
    }
    have = [s for s in sessions if any(s in order for order, _, _ in curves.values())]
    if not have:
        raise NotComputable(f"no cross-decoding arrays for {m} ({row['decoder']})")
    notes = [f"no output of ours for {s}" for s in sessions if s not in have]
    values: dict[str, dict[int, float]] = {mode: {} for mode in MODES}
    for (mode, seed), (order, acc, time_ms) in curves.items():
        idx = [order.index(s) for s in have if s in order]
        if len(idx) < len(have):
            notes.append(f"{mode} seed {seed}: {len(idx)} of {len(have)} sessions")
        if not idx:
            continue
        sub = acc[np.ix_(idx, idx)].reshape(-1, acc.shape[-1])
        peak, when = _mean_curve_peak(list(sub), time_ms)
        values[mode][seed] = peak if row["statistic"] == "peak" else when
    return Ours(values, have, m, notes)


def _ours_fig1(ctx: Context, row: Mapping[str, Any]) -> Ours:
    m = ctx.method(row)
    example, _ = ctx.plan.example
    ins = ctx.outputs.insample
    if ins.empty:
        raise NotComputable(f"no in-sample (Fig1) output of ours on {example.name}")
    sel = ins[
        (ins["method"] == m) & (ins["session"] == example.name) & (ins["metric"] == row["metric"])
    ].drop_duplicates(["seed"])
    if sel.empty:
        raise NotComputable(f"no in-sample output for {m} on {example.name}")
    per_seed = {int(s): float(v) for s, v in zip(sel["seed"], sel["value"], strict=True)}
    return Ours({mode: dict(per_seed) for mode in MODES}, [example.name], m)


def _ours_loss(ctx: Context, row: Mapping[str, Any]) -> Ours:
    m = ctx.method(row)
    reason = ctx.status(row["session"])
    if reason is not None:
        raise NotComputable(reason)
    per_seed = {
        seed: v
        for (method, session, seed), v in ctx.outputs.losses.items()
        if method == m and session == row["session"]
    }
    if not per_seed:
        raise NotComputable(f"no training loss of {m} on {row['session']}")
    return Ours({mode: dict(per_seed) for mode in MODES}, [row["session"]], m)


def _fig8_set_key(name: str) -> tuple[str, frozenset[int]]:
    """'curve-up-down-37-1' -> ('curve-up-down', {37, 1})."""
    parts = name.split("-")
    i = next(i for i, p in enumerate(parts) if p.isdigit())
    return "-".join(parts[:i]), frozenset(int(p) for p in parts[i:])


def _ours_fig8(ctx: Context, row: Mapping[str, Any]) -> Ours:
    m = ctx.method(row)
    sets = _fig8_sets(ctx.plan)
    if not sets:
        raise NotComputable("no MC_Maze source: neither the NWB file nor the published embeddings")
    want = _fig8_set_key(row["session"])
    match = [cs for cs in sets if (cs.family, frozenset(cs.types)) == want]
    if not match:
        raise NotComputable(f"condition set {row['session']} is not configured (mcmaze)")
    cs = match[0]
    _, skipped = _fig8_inputs(ctx.plan)
    if f"{m}:{cs.name}" in skipped:
        raise NotComputable(skipped[f"{m}:{cs.name}"])
    mc = ctx.outputs.mcmaze
    if mc.empty:
        raise NotComputable("no Fig8 output of ours")
    sel = mc[
        (mc["method"] == m)
        & (mc["set"] == cs.name)
        & (mc["split"] == row["split"])
        & (mc["metric"] == row["metric"])
    ].drop_duplicates(["seed", "source"])
    if sel.empty:
        raise NotComputable(f"no Fig8 output for {m} on {cs.name}")
    per_seed = {int(s): float(v) for s, v in zip(sel["seed"], sel["value"], strict=True)}
    notes = []
    same = bool((sel["source"] == "published").all())
    if same:
        notes.append(
            "ours = our decoding of the authors' published embedding (MC_Maze NWB absent): "
            "checks the decoding, not the training"
        )
    return Ours({mode: dict(per_seed) for mode in MODES}, [cs.name], m, notes, same)


def _ours(ctx: Context, row: Mapping[str, Any]) -> Ours:
    fig, stat, metric = row["figure"], row["statistic"], row["metric"]
    if fig == "Fig1":
        return _ours_fig1(ctx, row)
    if fig == "Fig3":
        return _ours_loss(ctx, row)
    if fig == "Fig4":
        if stat == "value":
            return _ours_fig4_session(ctx, row)
        if stat == "median":
            return _ours_fig4_median(ctx, row)
        return _ours_fig4_curve(ctx, row)
    if fig in ("Fig5", "Fig6", "Fig7"):
        if metric == "acc_curve":
            return _ours_matrix_curve(ctx, row)
        return _ours_matrix_mean(ctx, row)
    if fig == "Fig8":
        return _ours_fig8(ctx, row)
    raise NotComputable(f"no comparison defined for {fig}")


def compare(plan: Plan, published: pd.DataFrame, outputs: Outputs) -> pd.DataFrame:
    """The comparison table: one row per published number (:data:`COMPARISON_COLUMNS`)."""
    ctx = Context(plan, published, outputs)
    example, substitute = plan.example
    rows = []
    for _, pub in published[published["statistic"] != "matrix"].iterrows():
        row = pub.to_dict()
        base, rule = tolerance_for(row)
        published_sessions_ = [s for s in row["sessions"].split(";") if s]
        out: dict[str, Any] = {
            c: (math.nan if c in _NUMERIC else row.get(c, "")) for c in COMPARISON_COLUMNS
        }
        out.update(
            published=row["value"],
            published_display=row["display"],
            n_sessions_published=len(published_sessions_) or 1,
            tolerance_rule=rule,
        )
        try:
            ours = _ours(ctx, row)
        except NotComputable as exc:
            out.update(
                verdict=NOT_APPLICABLE if ctx.simulated else NOT_COMPUTABLE,
                reason=(
                    "simulated data: comparison to published values not applicable; "
                    f"not computable: {exc}"
                    if ctx.simulated
                    else f"not computable: {exc}"
                ),
                explanation=explanation(row),
            )
            rows.append(out)
            continue
        out["our_method"] = ours.method
        out["sessions_ours"] = ";".join(ours.sessions)
        out["n_sessions_ours"] = len(ours.sessions)
        for mode in MODES:
            mean, sd, n, text = ours.stats(mode)
            out.update(
                {
                    f"{mode}_mean": mean,
                    f"{mode}_sd": sd,
                    f"{mode}_n": n,
                    f"{mode}_per_seed": text,
                }
            )
        mean, sd = out["paper_mean"], out["paper_sd"]
        notes = list(ours.notes)
        reference, basis = float(row["value"]), "published"
        comparable = True
        why_not = ""
        if ctx.simulated:
            verdict, reason = (
                NOT_APPLICABLE,
                "simulated data: comparison to published values not applicable",
            )
            if published_sessions_:
                reason += f"; ours from the {len(ours.sessions)} simulated sessions standing in"
            diff = tol = math.nan
        else:
            if row["figure"] == "Fig1" and example.name != row["session"]:
                comparable = False
                why_not = (
                    f"the published value is for {row['session']}, ours for "
                    f"{example.name}"
                    + (
                        " (the configured substitute; the paper's session is absent)"
                        if substitute
                        else ""
                    )
                )
            elif published_sessions_ and len(ours.sessions) < len(published_sessions_):
                subset = ctx.published_value(row, ours.sessions)
                k, n = len(ours.sessions), len(published_sessions_)
                if np.isfinite(subset):
                    reference = subset
                    basis = f"published restricted to our {k} of {n} sessions"
                else:
                    comparable = False
                    why_not = (
                        f"ours covers {k} of {n} sessions and the published per-session values "
                        "needed to restrict the published statistic to them are not published"
                    )
            if comparable:
                if ours.same_embedding:
                    base = rounding_tolerance(row["value"])
                    out["tolerance_rule"] = "same embedding: rounding of the published value"
                verdict, diff, tol, reason = judge(
                    reference, mean, sd, base, list(ours.values.get("paper", {}).values())
                )
            else:
                verdict, diff, tol, reason = NOT_COMPARABLE, mean - reference, math.nan, why_not
        if notes:
            reason = reason + " [" + "; ".join(notes) + "]"
        out.update(
            reference=reference,
            reference_basis=basis,
            difference=diff,
            tolerance=tol,
            verdict=verdict,
            reason=reason,
            explanation=explanation(row),
        )
        rows.append(out)
    frame = pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
    for c in _NUMERIC:
        frame[c] = pd.to_numeric(frame[c], errors="coerce")
    order = {f: i for i, f in enumerate(FIGURE_ORDER)}
    frame["_o"] = frame["figure"].map(order)
    return frame.sort_values(["_o", "id"], kind="stable").drop(columns="_o").reset_index(drop=True)


# -- what was used ---------------------------------------------------------------------------------
def data_summary(plan: Plan, published: pd.DataFrame) -> dict[str, Any]:
    """Sessions used, skipped and absent, the example and its substitute, the Fig8 source."""
    example, substitute = plan.example
    requested = plan.config["figures"]["example"]["session"]
    used = [k.name for k in plan.sessions()]
    skipped = [(s.session.name, s.reason) for s in plan.skipped()]
    configured = {k.name for k in plan.configured()}
    pub = sorted(published_sessions(published))
    not_configured = [s for s in pub if s not in configured]
    sources = plan.fig8_sources() if plan.config.get("mcmaze") else {}
    _, fig8_skipped = _fig8_inputs(plan) if sources else ([], {})
    fig1 = published[published["figure"] == "Fig1"]["session"]
    return {
        "paper_example": str(fig1.iloc[0]) if len(fig1) else "",
        "simulated": bool(plan.simulated),
        "used": used,
        "skipped": skipped,
        "published_not_configured": not_configured,
        "example": example.name,
        "example_requested": requested,
        "example_is_substitute": substitute,
        "fig8_source": next(iter(sources), ""),
        "fig8_path": next(iter(sources.values()), ""),
        "fig8_skipped": fig8_skipped,
        "seeds": list(plan.seeds),
        "method_seeds": {
            m: plan.seeds_for(m)
            for m in plan.config["methods"]
            if "seeds" in plan.config["methods"][m]
        },
        "evaluation": plan.mode,
        "training_cap": plan.training_cap,
    }


# -- document model and rendering ------------------------------------------------------------------
@dataclass
class Block:
    kind: str  # h1 h2 h3 p ul table figures
    text: str = ""
    items: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def _fmt(value: Any, metric: str = "", statistic: str = "") -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)) or value == "":
        return ""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if statistic == "peak_time_ms":
        return f"{x:.0f}"
    if metric in ("peak_dir_acc", "acc_curve"):
        return f"{x:.1f}"
    if metric == "final_loss":
        return f"{x:.4f}"
    return f"{x:.3f}"


def _ours_cell(row: Mapping[str, Any], mode: str) -> str:
    n = row.get(f"{mode}_n") or 0
    if not n or (isinstance(n, float) and not np.isfinite(n)):
        return ""
    mean = _fmt(row[f"{mode}_mean"], row["metric"], row["statistic"])
    sd = row[f"{mode}_sd"]
    sd_text = (
        f" ± {_fmt(sd, row['metric'], row['statistic'])}"
        if isinstance(sd, float) and np.isfinite(sd)
        else ""
    )
    return f"{mean}{sd_text} (n={int(n)})"


def _row_label(row: Mapping[str, Any]) -> list[str]:
    what = row["metric"] + ("" if row["statistic"] == "value" else f" {row['statistic']}")
    return [
        row["panel"],
        row["method"],
        row["session"],
        "/".join(x for x in (row["split"], row["decoder"]) if x),
        what,
    ]


TABLE_COLUMNS = [
    "panel",
    "method",
    "session / group",
    "split/decoder",
    "number",
    "published",
    "compared with",
    "ours: paper (mean ± SD over seeds)",
    "ours: corrected",
    "tolerance",
    "verdict",
    "reason",
    "known causes",
]
MISSING_COLUMNS = [
    "panel",
    "method",
    "session / group",
    "split/decoder",
    "number",
    "published",
    "verdict",
    "reason",
]


def _published_cell(r: Mapping[str, Any]) -> str:
    published = _fmt(r["published"], r["metric"], r["statistic"])
    if r["published_display"] and r["published_display"] != published:
        published += f" [shown: {r['published_display']}]"
    return published


def _table_rows(frame: pd.DataFrame) -> list[list[str]]:
    rows = []
    for _, r in frame.iterrows():
        metric, stat = r["metric"], r["statistic"]
        reference = ""
        if r["reference_basis"] and r["reference_basis"] != "published":
            reference = f"{_fmt(r['reference'], metric, stat)} ({r['reference_basis']})"
        rows.append(
            [
                *_row_label(r),
                _published_cell(r),
                reference,
                _ours_cell(r, "paper"),
                _ours_cell(r, "corrected"),
                f"±{_fmt(r['tolerance'], metric, stat)}" if np.isfinite(r["tolerance"]) else "",
                r["verdict"],
                r["reason"],
                r["explanation"],
            ]
        )
    return rows


def _seed_range(text: Any, metric: str, statistic: str) -> str:
    """``"lo – hi (median m)"`` of a ``paper_per_seed`` cell (``"seed:value;..."``); empty
    for fewer than 2 seeds."""
    if not isinstance(text, str) or not text:
        return ""
    values = [float(part.split(":", 1)[1]) for part in text.split(";") if ":" in part]
    if len(values) < 2:
        return ""
    lo, hi, mid = min(values), max(values), float(np.median(values))
    return (
        f"{_fmt(lo, metric, statistic)} – {_fmt(hi, metric, statistic)}"
        f" (median {_fmt(mid, metric, statistic)})"
    )


def read_comparison(path: PathLike) -> pd.DataFrame:
    """The report's CSV (:func:`write_report`) back as :func:`compare`'s frame."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COMPARISON_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: not a report CSV (columns missing: {', '.join(missing)})")
    for c in _NUMERIC:
        frame[c] = pd.to_numeric(frame[c], errors="coerce")
    return frame


def measured_table(
    frame: pd.DataFrame,
    figures: Sequence[str] | None = None,
    *,
    include_not_computable: bool = False,
) -> str:
    """A Markdown summary of a report CSV (:func:`compare`'s frame) for the README.

    Per figure (``figures``: all by default) and method, how many of the directly
    comparable numbers (verdict reproduced or not reproduced) reproduced; then one row per
    published number: ours in paper mode (mean ± SD over seeds, n), the range over seeds,
    the verdict and its reason. Rows without a number of ours are left out unless
    ``include_not_computable``.
    """
    sel = frame if figures is None else frame[frame["figure"].isin(list(figures))]
    if not include_not_computable:
        sel = sel[sel["verdict"] != NOT_COMPUTABLE]
    judged = sel[sel["verdict"].isin([REPRODUCED, NOT_REPRODUCED])]
    lines = ["| figure | method | reproduced / directly comparable |", "|---|---|---|"]
    for (fig, method), part in judged.groupby(["figure", "method"], sort=False):
        ok = int((part["verdict"] == REPRODUCED).sum())
        lines.append(f"| {fig} | {method} | {ok} / {len(part)} ({100 * ok / len(part):.0f} %) |")
    ok = int((judged["verdict"] == REPRODUCED).sum())
    if len(judged):
        lines.append(f"| all | all | {ok} / {len(judged)} ({100 * ok / len(judged):.0f} %) |")
    lines += [
        "",
        "| figure | panel | method | session / group | split/decoder | number | published "
        "| ours: paper (mean ± SD, n seeds) | range over seeds (median) | verdict | reason |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in sel.iterrows():
        metric, stat = r["metric"], r["statistic"]
        cells = [
            r["figure"],
            *_row_label(r),
            _published_cell(r),
            _ours_cell(r, "paper"),
            _seed_range(r["paper_per_seed"], metric, stat),
            r["verdict"],
            r["reason"],
        ]
        lines.append("| " + " | ".join(_md_cell(str(c)) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _missing_rows(frame: pd.DataFrame) -> list[list[str]]:
    return [
        [*_row_label(r), _published_cell(r), r["verdict"], r["reason"]] for _, r in frame.iterrows()
    ]


def tolerance_text() -> list[str]:
    t = TOLERANCES
    return [
        f"R² (position, training velocity, Fig1 and Fig8 values, medians, diagonal and "
        f"off-diagonal means in the correct argument order): ±{t['r2']} absolute. Every NER, "
        "CEBRA, pi-VAE and UMAP run is retrained here under other seeds, on other hardware and "
        "library versions (the authors set no seed), so no number can be bit-exact; the spec "
        "(fig4-7.md §0) measured ≤0.02 for off-diagonal means of NER/CEBRA even on the authors' "
        "own embeddings, and retraining adds the run-to-run spread.",
        f"Swapped R² (the authors' r2_score(pred, true): Fig4 test velocity and every Fig5-7 "
        f"velocity matrix): ±{t['r2_swapped']} on the underlying R², propagated through the swap. "
        "For a least-squares decoder Var(pred) ≈ R²·Var(true), so the swapped score is about "
        "s = 2 - 1/R² and ds/dR² = 1/R⁴ = (2 - s)²: the tolerance is 0.05·(2 - published)². "
        "It is ±0.08 for NER's 0.71 but ±1.3 for CEBRA's -3.08: the swapped value amplifies "
        "small differences in the variance of the predictions.",
        f"Accuracy (peak direction accuracy, peaks of mean accuracy curves): ±{t['accuracy']:g} "
        "percentage points (one trial is 1-3 points in the smaller sessions; lbfgs alone moves "
        "peaks by 1-2 trials across versions).",
        f"Time of an accuracy-curve peak: ±{t['peak_time_ms']:g} ms (3 bins; the curves are flat "
        "near their maxima).",
        f"Final training loss (mean of the last 10 iterations): ±{t['final_loss']:g} (the "
        "published NER losses of the 10 M1 sessions span 0.016, CEBRA's 0.14; a retrained run "
        "lands near the same value, not on it).",
        "Every tolerance is widened to 2 SD over our seeds where that is larger, so a number is "
        "not called irreproducible because of our own run-to-run spread; the widening stops at "
        f"{MAX_WIDENING:g}x the base tolerance (a larger spread means our own runs disagree, "
        "and agreement within it would mean nothing; the reason then says so).",
        "Verdicts use the paper mode, which reproduces the authors' evaluation choices; the "
        "corrected mode is shown for information (it differs only in test-split velocity R², "
        "cross-session alignment and the UMAP/pi-VAE test embeddings).",
        "Where ours decodes the authors' own embeddings (Fig8 without the MC_Maze NWB file), "
        "nothing is retrained and the tolerance is the rounding of the published value (half a "
        "unit of its last decimal).",
        "Where some of a group's sessions are absent, ours is computed on the sessions present "
        "and compared with the published statistic recomputed on the same sessions from the "
        "published per-session values or matrix elements; where those are not published "
        "(accuracy curves), the row is 'not comparable'.",
    ]


def _counts_table(frame: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    figures = [f for f in FIGURE_ORDER if f in set(frame["figure"])]
    present = [v for v in VERDICTS if v in set(frame["verdict"])]
    rows = []
    for fig in figures:
        c = Counter(frame.loc[frame["figure"] == fig, "verdict"])
        rows.append([fig, *[str(c.get(v, 0)) for v in present], str(sum(c.values()))])
    c = Counter(frame["verdict"])
    rows.append(["all", *[str(c.get(v, 0)) for v in present], str(len(frame))])
    return ["figure", *present, "total"], rows


def meaning(frame: pd.DataFrame, summary: Mapping[str, Any]) -> list[str]:
    """The "what this means" paragraph(s), computed from the verdict counts."""
    c = Counter(frame["verdict"])
    total = len(frame)
    has_ours = int((frame["paper_n"].fillna(0) > 0).sum())
    if summary["simulated"]:
        return [
            "This run uses simulated data (the offline demo): comparison to published values "
            f"not applicable. Of the {total} published numbers, {has_ours} have a counterpart "
            "computed from the simulated analyses (shown for illustration only); "
            f"{total - has_ours} concern sessions or conditions that the simulated configuration "
            "does not have."
        ]
    judged = c[REPRODUCED] + c[NOT_REPRODUCED]
    paras = []
    if judged:
        share = c[REPRODUCED] / judged
        paras.append(
            f"Of the {total} published numbers, {judged} could be compared directly: "
            f"{c[REPRODUCED]} ({share:.0%}) are reproduced within tolerance and "
            f"{c[NOT_REPRODUCED]} are not. {c[NOT_COMPARABLE]} have a number of ours that "
            f"measures something else (substitute session, or fewer sessions without published "
            f"per-session values), and {c[NOT_COMPUTABLE]} cannot be computed here "
            "(mostly absent recordings)."
        )
    else:
        paras.append(
            f"None of the {total} published numbers could be compared directly "
            f"({c[NOT_COMPARABLE]} not comparable, {c[NOT_COMPUTABLE]} not computable)."
        )
    failed = frame[frame["verdict"] == NOT_REPRODUCED]
    if len(failed):
        by_fig = Counter(failed["figure"])
        swapped = int((failed["r2_order"] == "swapped").sum())
        offdiag = int((failed["statistic"] == "offdiag_mean").sum())
        pivae = int((failed["method"] == "piVAE").sum())
        umap = int(failed["method"].str.startswith("UMAP").sum())
        core = failed[
            failed["method"].isin(["NER", "CEBRA", "CEBRA_16D"])
            & (failed["r2_order"] != "swapped")
            & (failed["statistic"] != "offdiag_mean")
        ]
        paras.append(
            "Not reproduced, by figure: "
            + ", ".join(f"{f} {n}" for f, n in sorted(by_fig.items()))
            + f". Of these, {swapped} are swapped-R² values (the authors' bug drives them), "
            f"{offdiag} are off-diagonal means (noise-driven rotation choice), {pivae} concern "
            f"pi-VAE and {umap} UMAP (re-implemented or unseeded baselines); {len(core)} are "
            "NER/CEBRA numbers outside those known causes."
        )
    ner = frame[(frame["method"] == "NER") & frame["verdict"].isin([REPRODUCED, NOT_REPRODUCED])]
    if len(ner):
        ok = int((ner["verdict"] == REPRODUCED).sum())
        paras.append(
            f"For NER itself, {ok} of {len(ner)} directly comparable numbers are reproduced."
        )
    return paras


def build_document(
    frame: pd.DataFrame,
    summary: Mapping[str, Any],
    extra: pd.DataFrame,
    figures: Sequence[str],
    missing: Sequence[str],
) -> list[Block]:
    doc: list[Block] = [
        Block("h1", "Reproduction report: Neural Embeddings Rank (NeurIPS 2024)"),
        Block(
            "p",
            "Every published number next to ours in both evaluation modes, with the spread over "
            f"seeds and a verdict. Seeds: {', '.join(map(str, summary['seeds']))}. Figures are "
            f"drawn in the '{summary['evaluation']}' mode. Built "
            f"{_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} from the "
            "analysis outputs; published values from resources/published_numbers.tsv.",
        ),
    ]
    cap = summary.get("training_cap") or {}
    if cap:
        doc.append(
            Block(
                "p",
                "TRAINING CAPPED: every method trained for at most "
                + " and ".join(
                    f"{v} {'iterations' if k == 'max_iterations' else k}"
                    for k, v in sorted(cap.items())
                )
                + " (config training_cap), fewer than the paper's settings; verdicts compare "
                "these shorter runs with the published values.",
            )
        )
    if summary["simulated"]:
        doc.append(
            Block(
                "p",
                "SIMULATED DATA: this run uses simulated sessions (the offline demo). "
                "Comparison to published values is not applicable; our numbers are shown for "
                "illustration only.",
            )
        )
    doc.append(Block("h2", "Data used"))
    items = []
    paper_example = summary["paper_example"]
    if summary["simulated"]:
        items.append(
            f"Example session (Fig1, Fig2, demo GIF, alignment anchor): the simulated "
            f"{summary['example']} stands in for the paper's {paper_example}."
        )
    elif summary["example_is_substitute"]:
        items.append(
            f"Example session (Fig1, Fig2, demo GIF, alignment anchor): the paper's "
            f"{summary['example_requested']} is absent; the configured substitute "
            f"{summary['example']} is used."
        )
    elif summary["example"] == paper_example:
        items.append(f"Example session: {summary['example']} (as in the paper).")
    else:
        items.append(
            f"Example session: {summary['example']} (configured; the paper's is {paper_example})."
        )
    items.append(
        f"Sessions used ({len(summary['used'])}): " + (", ".join(summary["used"]) or "none")
    )
    if summary["skipped"]:
        items.append(
            f"Sessions skipped ({len(summary['skipped'])}, recording absent): "
            + ", ".join(f"{s}" for s, _ in summary["skipped"])
        )
    else:
        items.append("Sessions skipped: none.")
    if summary["published_not_configured"]:
        items.append(
            f"Sessions of the paper not in this configuration "
            f"({len(summary['published_not_configured'])}): "
            + ", ".join(summary["published_not_configured"])
        )
    if summary["fig8_source"] == "published":
        items.append(
            f"Fig8: the MC_Maze NWB file is absent; Fig8 numbers are our decoding of the "
            f"authors' published embeddings ({summary['fig8_path']}), which checks the decoding "
            "but not the training."
        )
    elif summary["fig8_source"] == "trained":
        items.append(f"Fig8: trained here from {summary['fig8_path']}.")
    else:
        items.append("Fig8: no MC_Maze source (neither the NWB file nor published embeddings).")
    for key, why in sorted(summary["fig8_skipped"].items()):
        items.append(f"Fig8 {key} left out: {why}.")
    if missing:
        items.append(
            f"Analysis outputs expected but absent ({len(missing)}"
            + (", the first 10" if len(missing) > 10 else "")
            + "): "
            + ", ".join(missing[:10])
        )
    doc.append(Block("ul", items=items))

    doc.append(Block("h2", "Summary"))
    cols, rows = _counts_table(frame)
    doc.append(Block("table", columns=cols, rows=rows))
    doc.append(Block("h3", "What this means"))
    doc += [Block("p", p) for p in meaning(frame, summary)]

    doc.append(Block("h2", "Tolerances and how to read the tables"))
    doc.append(
        Block(
            "p",
            "'published' is the authors' number (full precision where known; the text the "
            "figure shows in brackets). 'ours' is the mean over seeds ± SD over seeds (n = "
            "seeds); paper = the authors' evaluation choices, corrected = the fixed evaluation. "
            "'compared with' appears when the reference is the published statistic restricted "
            "to the sessions we have. comparison.csv holds every column (per-seed values, "
            "differences, sessions used, sources).",
        )
    )
    doc.append(Block("ul", items=tolerance_text()))
    doc.append(Block("h3", "Known causes (the 'known causes' column)"))
    doc.append(Block("ul", items=[f"{tag}: {text}" for tag, text in KNOWN_CAUSES.items()]))

    for fig in FIGURE_ORDER:
        part = frame[frame["figure"] == fig]
        if part.empty:
            continue
        doc.append(Block("h2", FIGURE_TITLES[fig]))
        c = Counter(part["verdict"])
        doc.append(Block("p", "; ".join(f"{v}: {c[v]}" for v in VERDICTS if c[v])))
        missing = part["paper_n"].fillna(0) == 0
        if (~missing).any():
            doc.append(Block("table", columns=TABLE_COLUMNS, rows=_table_rows(part[~missing])))
        if missing.any():
            doc.append(Block("h3", f"{fig}: published numbers without a number of ours"))
            doc.append(Block("table", columns=MISSING_COLUMNS, rows=_missing_rows(part[missing])))

    if len(extra):
        doc.append(Block("h2", "Our numbers without a published counterpart"))
        doc.append(
            Block(
                "p",
                "Per-session results of sessions the published tables do not have (all of them "
                "on simulated data), mean ± SD over seeds.",
            )
        )
        doc.append(
            Block("table", columns=list(extra.columns), rows=extra.astype(str).values.tolist())
        )

    doc.append(Block("h2", "Figures"))
    if figures:
        doc.append(Block("figures", files=list(figures)))
    else:
        doc.append(Block("p", "No figure files (no figure notebook has been written yet)."))
    return doc


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(doc: Sequence[Block], out_dir: PathLike) -> str:
    lines: list[str] = []
    for b in doc:
        if b.kind in ("h1", "h2", "h3"):
            lines += ["#" * int(b.kind[1]) + " " + b.text, ""]
        elif b.kind == "p":
            lines += [b.text, ""]
        elif b.kind == "ul":
            lines += [f"- {i}" for i in b.items] + [""]
        elif b.kind == "table":
            lines.append("| " + " | ".join(_md_cell(c) for c in b.columns) + " |")
            lines.append("|" + "---|" * len(b.columns))
            lines += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in b.rows]
            lines.append("")
        elif b.kind == "figures":
            for f in b.files:
                rel = os.path.relpath(f, out_dir)
                lines.append(f"- [{Path(f).name}]({rel})")
            lines.append("")
    return "\n".join(lines)


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em;
max-width:1600px;color:#222}
table{border-collapse:collapse;font-size:12px;margin:0.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:2px 5px;vertical-align:top}
th{background:#f0f0f0;position:sticky;top:0}
td.v-reproduced{background:#dff0d8} td.v-not-reproduced{background:#f2dede}
td.v-not-comparable{background:#fcf8e3} td.v-not-computable{background:#eee}
.banner{background:#fcf8e3;border:1px solid #e0c060;padding:0.6em;font-weight:bold}
figure{display:inline-block;margin:0.5em;vertical-align:top;max-width:48%}
figure img,figure embed{max-width:100%;border:1px solid #ddd}
figcaption{font-size:11px;color:#555}
"""


def figure_image(path: PathLike, dpi: int = 60) -> tuple[str, str]:
    """(mime type, base64 data) of a figure for embedding: PDFs are rasterised to PNG with
    ``pdftoppm`` (poppler) when it is installed, else embedded as PDF."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".pdf" and shutil.which("pdftoppm"):
        with tempfile.TemporaryDirectory() as tmp:
            stem = Path(tmp) / "page"
            proc = subprocess.run(
                ["pdftoppm", "-png", "-singlefile", "-r", str(dpi), str(path), str(stem)],
                capture_output=True,
                text=True,
                check=False,
            )
            png = stem.with_suffix(".png")
            if proc.returncode == 0 and png.is_file():
                return "image/png", base64.b64encode(png.read_bytes()).decode("ascii")
            log.warning("pdftoppm failed on %s: %s", path, proc.stderr.strip())
    mime = {
        ".pdf": "application/pdf",
        ".png": "image/png",
        ".gif": "image/gif",
        ".svg": "image/svg+xml",
        ".jpg": "image/jpeg",
    }.get(suffix, "application/octet-stream")
    return mime, base64.b64encode(path.read_bytes()).decode("ascii")


def render_html(doc: Sequence[Block]) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        "<title>NER reproduction report</title>",
        f"<style>{CSS}</style></head><body>",
    ]
    for b in doc:
        if b.kind in ("h1", "h2", "h3"):
            anchor = "".join(ch if ch.isalnum() else "-" for ch in b.text.lower())[:60]
            parts.append(f"<{b.kind} id='{anchor}'>{e(b.text)}</{b.kind}>")
        elif b.kind == "p":
            cls = " class='banner'" if b.text.startswith("SIMULATED DATA") else ""
            parts.append(f"<p{cls}>{e(b.text)}</p>")
        elif b.kind == "ul":
            parts.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in b.items) + "</ul>")
        elif b.kind == "table":
            head = "".join(f"<th>{e(c)}</th>" for c in b.columns)
            body = []
            vcol = b.columns.index("verdict") if "verdict" in b.columns else -1
            for r in b.rows:
                cells = []
                for i, c in enumerate(r):
                    cls = ""
                    if i == vcol:
                        cls = f" class='v-{str(c).split(' (')[0].replace(' ', '-')}'"
                    cells.append(f"<td{cls}>{e(str(c))}</td>")
                body.append("<tr>" + "".join(cells) + "</tr>")
            parts.append(
                f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            )
        elif b.kind == "figures":
            current = None
            for f in b.files:
                folder = Path(f).parent.name
                if folder != current:
                    parts.append(f"<h3>{e(folder)}</h3>")
                    current = folder
                if not Path(f).is_file():
                    parts.append(f"<p>missing: {e(f)}</p>")
                    continue
                mime, data = figure_image(f)
                src = f"data:{mime};base64,{data}"
                tag = (
                    f"<embed src='{src}' type='application/pdf' width='600' height='450'>"
                    if mime == "application/pdf"
                    else f"<img src='{src}' alt='{e(Path(f).name)}'>"
                )
                parts.append(f"<figure>{tag}<figcaption>{e(Path(f).name)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)


def extra_numbers(ctx: Context) -> pd.DataFrame:
    """Our per-session Fig4 values and losses for sessions without published numbers."""
    published = published_sessions(ctx.published)
    rows = []
    ev = ctx.outputs.ev
    if not ev.empty:
        sel = ev[
            (ev["decoder"] == "linear")
            & (ev["metric"].isin(["vel_R2", "pos_R2", "peak_dir_acc"]))
            & (~ev["train_session"].isin(list(published)))
        ].drop_duplicates(["method", "train_session", "split", "metric", "mode", "seed"])
        for (method, session, split, metric), part in sel.groupby(
            ["method", "train_session", "split", "metric"], sort=True
        ):
            row = {"method": method, "session": session, "split": split, "number": metric}
            for mode in ("paper", "corrected"):
                vals = part.loc[part["mode"] == mode, "value"].to_numpy(dtype=np.float64)
                row[f"ours: {mode}"] = _mean_sd(vals, metric)
            rows.append(row)
    by_run: dict[tuple[str, str], list[float]] = {}
    for (method, session, _), v in ctx.outputs.losses.items():
        if session not in published:
            by_run.setdefault((method, session), []).append(v)
    for (method, session), vals in sorted(by_run.items()):
        text = _mean_sd(np.array(vals), "final_loss")
        rows.append(
            {
                "method": method,
                "session": session,
                "split": "train",
                "number": "final_loss",
                **{f"ours: {mode}": text for mode in ("paper", "corrected")},
            }
        )
    return pd.DataFrame(rows)


def _mean_sd(vals: np.ndarray, metric: str) -> str:
    if vals.size == 0:
        return ""
    sd = f" ± {_fmt(float(np.std(vals, ddof=1)), metric)}" if vals.size > 1 else ""
    return f"{_fmt(float(np.mean(vals)), metric)}{sd} (n={vals.size})"


def write_report(
    plan: Plan,
    md: PathLike,
    html_path: PathLike,
    csv: PathLike,
    *,
    published: PathLike = PUBLISHED_TSV,
    inputs: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Build the report from the analysis outputs; returns the comparison table."""
    table = load_published(published)
    inputs = report_inputs(plan, table) if inputs is None else inputs
    outputs = Outputs.load(inputs, plan.workdir)
    frame = compare(plan, table, outputs)
    summary = data_summary(plan, table)
    ctx = Context(plan, table, outputs)
    extra = extra_numbers(ctx)
    figures = [str(plan.workdir / f) for f in inputs.get("figures", [])]
    doc = build_document(frame, summary, extra, figures, outputs.missing)
    out_dir = Path(md).parent
    with atomic.atomic_path(csv, suffix=".csv") as tmp:
        frame.to_csv(tmp, index=False)
    with atomic.atomic_path(md, suffix=".md") as tmp:
        Path(tmp).write_text(render_markdown(doc, out_dir))
    with atomic.atomic_path(html_path, suffix=".html") as tmp:
        Path(tmp).write_text(render_html(doc))
    counts = Counter(frame["verdict"])
    log.info("report: %s", ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    return frame
