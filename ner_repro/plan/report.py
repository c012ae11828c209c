"""Every file of the reproduction report: its inputs (the ``report`` rule's) and its outputs.

The report (:mod:`ner_repro.report`) reads, for **both** evaluation modes and **all** seeds:
the Fig4 ``explained_variance`` tables and arrays, the Fig5-7 ``crossdecode`` tables and
arrays, the Fig1 ``insample`` tables, the embeddings of the Fig3 runs (final training losses),
the Fig8 ``mcmaze`` tables and the figure files (:func:`report_inputs`); it writes
``report/report.md``, ``report/report.html`` and ``report/comparison.csv``
(:func:`report_outputs`).

Which configured method stands for which of the paper's methods (:data:`PUBLISHED_METHODS`,
:func:`config_method`) and which figure's methods a published number is compared with
(:func:`figure_methods`) are decided here too, since they decide which files are read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ner_repro.core.config import MODES, SessionKey
from ner_repro.core.types import PathLike
from ner_repro.data.acquire import Entry, read_manifest
from ner_repro.data.mcmaze import ConditionSet
from ner_repro.data.published_numbers import (
    PUBLISHED_TSV,
    _is_session,
    load_published,
    published_sessions,
)
from ner_repro.methods.kinds import ENTRY_KEYS, KINDS
from ner_repro.plan.figures import fig8 as mcmaze
from ner_repro.plan.outputs import Plan
from ner_repro.plan.specs import Group

#: How the report's methods map onto the configured ones: kind and settings that must match.
PUBLISHED_METHODS: dict[str, dict[str, Any]] = {
    "NER": {"kind": "ner", "output_dimension": 3},
    "CEBRA": {"kind": "cebra", "output_dimension": 3},
    "CEBRA_16D": {"kind": "cebra", "output_dimension": 16},
    "piVAE": {"kind": "pivae"},
    "UMAP": {"kind": "umap", "supervised": False},
    "UMAP_label": {"kind": "umap", "supervised": True},
}
FIGURE_EXTENSIONS = (".pdf", ".png", ".gif", ".svg", ".jpg")


# -- methods and groups of the configuration ---------------------------------------------------------
def _settings_match(spec: Mapping[str, Any], want: Mapping[str, Any]) -> bool:
    """Whether a config entry has the kind and settings of ``want`` (unset = the kind's default)."""
    if spec.get("kind") != want["kind"]:
        return False
    settings = KINDS[want["kind"]].resolve({k: v for k, v in spec.items() if k not in ENTRY_KEYS})
    return all(settings.get(k) == v for k, v in want.items() if k != "kind")


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


# -- Fig8 ------------------------------------------------------------------------------------------
def fig8_sets(plan: Plan) -> list[ConditionSet]:
    """The configured MC_Maze condition sets; none without an ``mcmaze`` section or a source
    (neither the NWB file nor the authors' published embeddings)."""
    if not plan.config.get("mcmaze") or not plan.fig8_sources():
        return []
    return mcmaze.condition_sets(plan)


def fig8_inputs(plan: Plan) -> tuple[list[str], dict[str, str]]:
    """Fig8 analysis tables (all seeds, or the authors' runs) and the sets left out.

    The tables come from :func:`ner_repro.plan.figures.fig8.analysis_inputs` (the one place the
    "published embedding missing -> skipped" rule is written), in its order: methods, sets,
    seeds. The sets left out are keyed ``<method>:<set>``, with the report's reason.
    """
    files, skipped = mcmaze.analysis_inputs(plan, ext="csv", all_seeds=True)
    paths = [str(p) for run_files in files.values() for p in run_files]
    reasons = {
        f"{m}:{name}": (
            "the MC_Maze NWB file is absent and the authors did not publish "
            f"this set's {plan.label(m)} embedding"
        )
        for m, name in skipped
    }
    return paths, reasons


# -- the report rule's files -----------------------------------------------------------------------
def report_inputs(plan: Plan, published: pd.DataFrame | None = None) -> dict[str, list[str]]:
    """Every file the report reads, by kind (the ``report`` rule's named inputs).

    Both evaluation modes and every seed of: the Fig4 explained-variance analyses of each
    panel group (and of a group for published sessions outside the panels, e.g. Mihili),
    the Fig5-7 cross-decoding analyses of each figure's methods and decoders, the Fig1
    in-sample analyses on the example session, the embeddings of the Fig3 runs (losses),
    the Fig8 analyses, the shuffled-label control if configured, and the figure files of
    the figures whose notebooks exist.
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

    out["mcmaze"], _ = fig8_inputs(plan)
    # The control when it is to be built with the report, or has been built (`controls`).
    control = plan.shuffled_control()
    wanted = control and (control["in_report"] or (plan.workdir / control["csv"]).is_file())
    out["controls"] = [control["csv"]] if wanted else []
    out["figures"] = report_figures(plan)
    present = published_figures(plan)
    out["published_figures"] = [
        str(p) for p in sorted({*present.values(), *missing_published_figures(plan)})
    ]
    return out


# -- the authors' published panels -----------------------------------------------------------------
def published_figure_entries() -> dict[str, Entry]:
    """The authors' published panels of ``data/manifest.tsv`` (kind ``figure``), by name."""
    return {name: e for name, e in read_manifest().items() if e.kind == "figure"}


def published_figures_dir(plan: Plan) -> Path | None:
    """The configured folder of the authors' published panels (``published_figures_dir``),
    or ``None``: not configured, or a simulated run (nothing to set beside it)."""
    where = plan.config.get("published_figures_dir")
    if not where or plan.simulated:
        return None
    return Path(where)


def published_figures(plan: Plan) -> dict[str, Path]:
    """The published panels present locally: manifest name -> path (under the workdir)."""
    folder = published_figures_dir(plan)
    if folder is None:
        return {}
    return {
        name: folder / name
        for name in published_figure_entries()
        if (plan.workdir / folder / name).is_file()
    }


def missing_published_figures(plan: Plan) -> list[Path]:
    """Published panels to download (``missing: error`` only; ``skip`` leaves them out and
    the report says so, with their URLs)."""
    folder = published_figures_dir(plan)
    if folder is None or plan.config["missing"] == "skip":
        return []
    return [
        folder / name
        for name in published_figure_entries()
        if not (plan.workdir / folder / name).is_file()
    ]


def published_figure_targets(paths: Iterable[PathLike], folder: PathLike) -> dict[Path, Entry]:
    """``{path: manifest entry}`` for published panels under ``folder`` (the fetch rule's)."""
    entries = published_figure_entries()
    out: dict[Path, Entry] = {}
    for p in paths:
        name = Path(p).relative_to(Path(folder)).as_posix()
        if name not in entries:
            raise KeyError(f"{p} is not a published panel of data/manifest.tsv")
        out[Path(p)] = entries[name]
    return out


def published_figures_absent(plan: Plan) -> str:
    """Why published panels may be absent locally, for the report (empty when configured)."""
    folder = published_figures_dir(plan)
    if plan.simulated:
        return "simulated data: nothing to set the published panels beside"
    if folder is None:
        return "config key published_figures_dir is not set"
    return f"not in {folder}; missing: skip leaves them out (fetch them with missing: error)"


def report_figures(plan: Plan) -> list[str]:
    """The figure files (PDF, GIF, PNG) of every figure whose notebook exists."""
    files: list[str] = []
    for spec in plan.figures():
        if not Path(spec.notebook).is_file():
            continue
        files += [p for p in spec.outputs.values() if p.lower().endswith(FIGURE_EXTENSIONS)]
    return files


def report_outputs(where: Plan | PathLike) -> dict[str, str]:
    """The report's files (``md``, ``html``, ``csv`` and ``run``: what was run, for the
    reproduction record) under ``<results>/report``; ``where`` is the plan or its results folder."""
    results = where.results if hasattr(where, "results") else where
    base = Path(results) / "report"
    return {
        "md": str(base / "report.md"),
        "html": str(base / "report.html"),
        "csv": str(base / "comparison.csv"),
        "run": str(base / "run.json"),
    }
