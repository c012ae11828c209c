"""Fig8 (MC_Maze straight vs curved reaches): every file of the figure and its spec.

Two source modes (:meth:`ner_repro.plan.layout.Layout.fig8_sources`): ``trained`` (the DANDI 000128
NWB file -- or the demo's synthetic one -- cut into one session per condition set, each
trained by the workflow's ``train_embedding`` rule) and ``published`` (the authors' own Fig8
embeddings, ``data_NER/Fig8/*.npz`` for NER and ``Fig8/Supp_Cebra/*.npz`` for the CEBRA
supplement). Sets whose embedding the authors did not ship are skipped, with the reason:
:func:`analysis_inputs` is the one place that rule is written.

Files (relative to ``results_dir``):

=========================================================  =========================================
``analysis/mcmaze/condition_sets.csv``                     trials per set, type and version
``sessions/MCMaze_<set>.npz``                              one condition set (session contract)
``analysis/mcmaze/MCMaze_<set>/<method>_seed<seed>.npz``   decoding of a run trained here (+ .csv)
``analysis/mcmaze/MCMaze_<set>/<method>_published.npz``    decoding of the authors' run (+ .csv)
``figures/fig8/*.pdf``, ``figures/fig8/Fig8_decoding_R2.csv``  the panels and every number they show
=========================================================  =========================================

The panel order, families and panel ids are the paper's (Fig. 7 of the main text and the CEBRA
supplement figure; the specification's ``reference/fig8-baselines.md`` §1.8, not part of this
repository, summarised in ``docs/sources.md``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ner_repro.data.mcmaze import ConditionSet, condition_sets_from_config, session_name
from ner_repro.data.published_embeddings import published_file
from ner_repro.plan.paths import Paths
from ner_repro.plan.specs import FigureSpec

FIGURE = "fig8"


#: The paper's panel order per family (sets matched by their trial types):
#: fig8-baselines.md §1.8 (docs/sources.md).
PAPER_PANELS: dict[str, tuple[tuple[int, ...], ...]] = {
    "curve-straight": ((38,), (18,), (13,), (13, 38, 18)),
    "curve-up-down": ((31, 38), (34, 18), (37, 1), (37, 1, 31, 38, 34, 18)),
}


#: How the trial-averaged latent trajectories of a family's sets are drawn
#: (fig8-baselines.md §1.8; docs/sources.md): straight (version 0) vs curved (versions 1+2)
#: per angle (7f), or one average per angle (7i).
FAMILY_STYLE = {"curve-straight": "versions", "curve-up-down": "angles"}


#: The authors' file-name stem per family (their PDFs say "straight-curve" for "curve-straight").
FAMILY_FILE = {"curve-straight": "straight-curve", "curve-up-down": "curve-up-down"}


#: Paper panel ids per (method kind, family, panel): NER = main figure, CEBRA = supplement.
PANEL_IDS = {
    ("ner", "curve-straight", "embedding"): "7f",
    ("ner", "curve-straight", "var"): "7g",
    ("ner", "curve-up-down", "embedding"): "7i",
    ("ner", "curve-up-down", "var"): "7j",
    ("cebra", "curve-straight", "embedding"): "S-b",
    ("cebra", "curve-straight", "var"): "S-c",
    ("cebra", "curve-up-down", "embedding"): "S-e",
    ("cebra", "curve-up-down", "var"): "S-f",
    ("ner", "straight", "decoding"): "7b-d",
    ("ner", "straight", "embedding"): "7c",
}


def mcmaze_config(plan: Paths) -> Mapping[str, Any]:
    return plan.config.get("mcmaze") or {}


def condition_sets(plan: Paths) -> list[ConditionSet]:
    """The configured condition sets (the paper's when none are configured)."""
    return condition_sets_from_config(mcmaze_config(plan).get("condition_sets"))


def methods(plan: Paths) -> list[str]:
    return [str(m) for m in mcmaze_config(plan).get("methods") or []]


def sets_table(plan: Paths) -> Path:
    return plan.results / "analysis" / "mcmaze" / "condition_sets.csv"


def session_paths(plan: Paths) -> dict[str, Path]:
    """``{set name: sessions/MCMaze_<set>.npz}`` for every configured set."""
    return {cs.name: plan.session_npz(session_name(cs)) for cs in condition_sets(plan)}


def analysis_path(
    plan: Paths, method: str, cset: ConditionSet | str, seed: int | None, ext: str = "npz"
) -> Path:
    """Decoding of one run: trained here (``seed``) or the authors' (``seed=None``)."""
    stem = f"{method}_published" if seed is None else f"{method}_seed{seed}"
    return plan.results / "analysis" / "mcmaze" / session_name(cset) / f"{stem}.{ext}"


def published_input(plan: Paths, set_name: str, method: str) -> Path:
    """The authors' npz of a configured set for a method (rule ``mcmaze_analysis_published``)."""
    sets = {cs.name: cs for cs in condition_sets(plan)}
    if set_name not in sets:
        raise ValueError(f"condition set {set_name!r} is not configured (mcmaze.condition_sets)")
    folder = Path(plan.config["published_dir"]) / "Fig8"
    found = published_file(plan.workdir / folder, sets[set_name].published, plan.kind(method))
    if found is None:
        raise ValueError(
            f"no published Fig8 embedding of set {set_name} for method {method} under {folder}"
        )
    return found if folder.is_absolute() else folder / found.relative_to(plan.workdir / folder)


def panel_order(family: str, sets: Sequence[ConditionSet]) -> list[ConditionSet]:
    """The paper's panel order for a family (matched by trial types), other sets after, in order."""
    order = {tuple(t): i for i, t in enumerate(PAPER_PANELS.get(family, ()))}
    ranked = sorted(enumerate(sets), key=lambda p: (order.get(p[1].types, len(order)), p[0]))
    return [cs for _, cs in ranked]


def set_label(cset: ConditionSet) -> str:
    """The authors' short label: ``[13, 38, 18]``."""
    return "[" + ", ".join(str(t) for t in cset.types) + "]"


def _unique_labels(plan: Paths, names: Sequence[str]) -> dict[str, str]:
    labels = {m: plan.label(m) for m in names}
    counts = {v: list(labels.values()).count(v) for v in labels.values()}
    return {m: (lab if counts[lab] == 1 else m) for m, lab in labels.items()}


def source_of(sources: Mapping[str, str]) -> str:
    """The source Fig8 uses: ``trained`` when the NWB file is there, else ``published``."""
    return "trained" if "trained" in sources else "published"


def analysis_inputs(
    plan: Paths, *, ext: str = "npz", all_seeds: bool = False
) -> tuple[dict[tuple[str, str], list[Path]], dict[tuple[str, str], str]]:
    """The Fig8 analysis files per (method, condition set), and the runs left out with why.

    Trained here: one file per seed (every seed of the method with ``all_seeds``, else the
    figure's seed). From the authors' embeddings: the ``<method>_published`` analysis, where
    the authors shipped that set's embedding for the method's kind; otherwise the pair is
    skipped -- the one place that rule is written. ``({}, {})`` when Fig8 is not configured
    or has no source.
    """
    sources = plan.fig8_sources()
    if not sources or not mcmaze_config(plan):
        return {}, {}
    source = source_of(sources)
    runs: dict[tuple[str, str], list[Path]] = {}
    skipped: dict[tuple[str, str], str] = {}
    for m in methods(plan):
        seeds = plan.seeds_for(m) if all_seeds else [plan.figure_seed]
        for cs in condition_sets(plan):
            if source == "trained":
                runs[(m, cs.name)] = [analysis_path(plan, m, cs, s, ext) for s in seeds]
                continue
            found = published_file(plan.workdir / sources["published"], cs.published, plan.kind(m))
            if found is None:
                skipped[(m, cs.name)] = (
                    f"no published {plan.label(m)} embedding"
                    if cs.published
                    else "the authors published no embedding of this set"
                )
                continue
            runs[(m, cs.name)] = [analysis_path(plan, m, cs, None, ext)]
    return runs, skipped


def figure_spec(plan: Paths) -> FigureSpec:
    """Inputs, outputs and parameters of the ``fig8`` target (see the module docstring).

    Outputs per method (file names ``<label>_<family>_<panel>.pdf``):

    * ``<method>:curve-straight:embedding`` / ``:var`` (7f / 7g; CEBRA: S-b / S-c) and
      ``<method>:curve-up-down:embedding`` / ``:var`` (7i / 7j; CEBRA: S-e / S-f), each with one
      panel per set of the family that has an input;
    * for every set of any other family (the paper's straight set): ``<method>:<set>:decoding``
      and ``<method>:<set>:embedding`` (7b-d, 7c);
    * ``table``: every number drawn (and the test-split R², which no panel shows).
    """

    spec = FigureSpec(FIGURE)
    sources = plan.fig8_sources()
    mc = mcmaze_config(plan)
    if not sources or not mc:
        return spec
    source = source_of(sources)
    sets = condition_sets(plan)
    names = methods(plan)
    labels = _unique_labels(plan, names)

    runs, skipped_runs = analysis_inputs(plan)
    for (m, set_name), paths in runs.items():
        spec.inputs[f"{m}:{set_name}"] = [str(p) for p in paths]
    skipped: dict[str, str] = {}
    for (_, set_name), why in skipped_runs.items():
        skipped.setdefault(session_name(set_name), "no NWB file; " + why)

    families: dict[str, dict[str, Any]] = {}
    for cs in sets:
        families.setdefault(cs.family or "other", {"sets": []})["sets"].append(cs)
    for family, entry in families.items():
        ordered = panel_order(family, entry["sets"])
        entry["sets"] = [cs.name for cs in ordered]
        entry["style"] = FAMILY_STYLE.get(family, "single")
        entry["file"] = FAMILY_FILE.get(family, family)

    for m in names:
        for family, entry in families.items():
            present = [s for s in entry["sets"] if f"{m}:{s}" in spec.inputs]
            if not present:
                continue
            if entry["style"] == "single":
                for s in present:
                    for panel, stem in (
                        ("decoding", "Decoding_R2_Train"),
                        ("embedding", "Embedding"),
                    ):
                        spec.outputs[f"{m}:{s}:{panel}"] = plan.figure_file(
                            FIGURE, f"{labels[m]}_{s}_{stem}.pdf"
                        )
                continue
            for panel in ("embedding", "var"):
                spec.outputs[f"{m}:{family}:{panel}"] = plan.figure_file(
                    FIGURE, f"{labels[m]}_{entry['file']}_{panel}.pdf"
                )
    if spec.outputs:
        spec.outputs["table"] = plan.figure_file(FIGURE, "Fig8_decoding_R2.csv")

    prov = plan.provenance()
    for key in ("example", "example_is_substitute", "example_requested"):
        prov.pop(key, None)
    prov["sessions"] = []
    prov["skipped"] = sorted(skipped)
    mc_synthetic = bool(mc.get("synthetic"))
    prov["simulated"] = source == "trained" and mc_synthetic
    if source == "published":
        prov.pop("seed", None)  # the authors' runs were not seeded
        prov["seeds"] = []
    spec.params = {
        **prov,
        "source": source,
        "source_path": sources[source],
        "synthetic": source == "trained" and mc_synthetic,
        "skipped_reasons": skipped,
        "sets": {
            cs.name: {
                "family": cs.family,
                "types": list(cs.types),
                "rule": cs.describe(),
                "label": set_label(cs),
                "published": cs.published,
            }
            for cs in sets
        },
        "families": {
            f: {"sets": e["sets"], "style": e["style"], "file": e["file"]}
            for f, e in families.items()
        },
        "methods": {m: {"label": labels[m], "kind": plan.kind(m)} for m in names},
        "labels": labels,
        "panel_ids": {"/".join(k): v for k, v in PANEL_IDS.items()},
    }
    return spec


def spec(plan: Paths) -> FigureSpec:
    """Fig8's spec (the figure table's entry): :func:`figure_spec`."""
    return figure_spec(plan)
