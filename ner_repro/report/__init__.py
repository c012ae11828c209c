"""The reproduction report: every published number next to ours, with a verdict.

The report reads the published numbers (:mod:`ner_repro.data.published_numbers`:
``resources/published_numbers.tsv``, one row per number the paper reports, plus the published
Fig5-7 matrices used to restrict published means to the sessions we have) and our analysis
outputs for both evaluation modes and all seeds (the files
:func:`ner_repro.plan.report.report_inputs` lists; the ``report`` rule depends on exactly
these). Nothing is typed in: each "ours" number is computed from those files every time the
report is built. It writes ``comparison.csv`` (one row per published number), ``report.md``
and a self-contained ``report.html`` (:func:`write_report`).

What belongs in this package is judging and presenting the comparison; which files it reads
and writes is the plan's (:mod:`ner_repro.plan.report`). Its modules, each importing only
those above it in this list:

* :mod:`~ner_repro.report.verdicts` -- verdict names, tolerances, :func:`judge`, the known
  causes of differences and the tolerance text;
* :mod:`~ner_repro.report.ours` -- our outputs (:class:`Outputs`), our number for each
  published number and :func:`compare` (the comparison table);
* :mod:`~ner_repro.report.document` -- the data summary, the tables, "what this means", the
  document model (:class:`Block`, :func:`build_document`) and the README table
  (:func:`measured_table`);
* :mod:`~ner_repro.report.render` -- Markdown and HTML rendering of the document.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ner_repro.core import atomic
from ner_repro.core.provenance import code_version, machine_description, package_versions
from ner_repro.core.types import PathLike
from ner_repro.data.published_numbers import PUBLISHED_TSV, load_published
from ner_repro.plan.report import (
    published_figure_entries,
    published_figures,
    published_figures_absent,
    report_inputs,
)
from ner_repro.report.document import (
    Block,
    build_document,
    data_summary,
    extra_numbers,
    meaning,
    measured_table,
    read_comparison,
)
from ner_repro.report.ours import COMPARISON_COLUMNS, Context, NotComputable, Ours, Outputs, compare
from ner_repro.report.panels import Pair, load_panels, pair_panels, relative_to_figures
from ner_repro.report.render import figure_image, render_html, render_markdown
from ner_repro.report.verdicts import (
    KNOWN_CAUSES,
    MAX_WIDENING,
    MIN_RANGE_SEEDS,
    NOT_APPLICABLE,
    NOT_COMPARABLE,
    NOT_COMPUTABLE,
    NOT_REPRODUCED,
    REPRODUCED,
    TOLERANCES,
    VERDICTS,
    explanation,
    judge,
    rounding_tolerance,
    tolerance_for,
    tolerance_text,
)

if TYPE_CHECKING:
    from ner_repro.plan import Plan

__all__ = [
    "COMPARISON_COLUMNS",
    "KNOWN_CAUSES",
    "MAX_WIDENING",
    "MIN_RANGE_SEEDS",
    "NOT_APPLICABLE",
    "NOT_COMPARABLE",
    "NOT_COMPUTABLE",
    "NOT_REPRODUCED",
    "REPRODUCED",
    "TOLERANCES",
    "VERDICTS",
    "Block",
    "Context",
    "NotComputable",
    "Ours",
    "Outputs",
    "build_document",
    "compare",
    "data_summary",
    "explanation",
    "extra_numbers",
    "figure_image",
    "judge",
    "meaning",
    "measured_table",
    "read_comparison",
    "render_html",
    "render_markdown",
    "rounding_tolerance",
    "tolerance_for",
    "tolerance_text",
    "write_report",
]

log = logging.getLogger(__name__)


def write_report(
    plan: Plan,
    md: PathLike,
    html_path: PathLike,
    csv: PathLike,
    *,
    published: PathLike = PUBLISHED_TSV,
    inputs: Mapping[str, Sequence[str]] | None = None,
    run_json: PathLike | None = None,
) -> pd.DataFrame:
    """Build the report from the analysis outputs; returns the comparison table.

    ``run_json`` receives what was run (configuration, code commit, packages, machine,
    sessions), which the reproduction record (:mod:`ner_repro.report.record`) reads."""
    table = load_published(published)
    inputs = report_inputs(plan, table) if inputs is None else inputs
    outputs = Outputs.load(inputs, plan.workdir)
    frame = compare(plan, table, outputs)
    summary = data_summary(plan, table)
    ctx = Context(plan, table, outputs)
    extra = extra_numbers(ctx)
    figures = [str(plan.workdir / f) for f in inputs.get("figures", [])]
    pairs = panel_pairs(plan, inputs.get("figures", []))
    doc = build_document(
        frame,
        summary,
        extra,
        figures,
        outputs.missing,
        controls=outputs.controls if inputs.get("controls") else None,
        pairs=pairs,
        figures_root=str(plan.workdir / plan.results / "figures"),
    )
    out_dir = Path(md).parent
    with atomic.atomic_path(csv, suffix=".csv") as tmp:
        frame.to_csv(tmp, index=False)
    with atomic.atomic_path(md, suffix=".md") as tmp:
        Path(tmp).write_text(render_markdown(doc, out_dir))
    with atomic.atomic_path(html_path, suffix=".html") as tmp:
        Path(tmp).write_text(render_html(doc))
    if run_json is not None:
        record = {**run_record(plan), "absent_outputs": sorted(outputs.missing)}
        with atomic.atomic_path(run_json, suffix=".json") as tmp:
            Path(tmp).write_text(json.dumps(record, indent=1, sort_keys=True, default=str))
    counts = Counter(frame["verdict"])
    log.info("report: %s", ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    return frame


def panel_pairs(plan: Plan, figure_files: Sequence[str]) -> list[Pair]:
    """The authors' published panels paired with this run's figures
    (:mod:`ner_repro.report.panels`), with the published files present locally."""
    ours = relative_to_figures(figure_files, Path(plan.results) / "figures")
    urls = {n: e.url for n, e in published_figure_entries().items()}
    present = {name: plan.workdir / p for name, p in published_figures(plan).items()}
    return pair_panels(
        load_panels(), ours, present, urls, published_absent=published_figures_absent(plan)
    )


def run_record(plan: Plan) -> dict[str, object]:
    """What was run, for the reproduction record: configuration, code commit, packages,
    machine, the sessions used and those skipped."""
    return {
        "config": plan.config,
        "commit": code_version(),
        "packages": package_versions(),
        "machine": machine_description(),
        "sessions": [k.name for k in plan.sessions()],
        "skipped": [s.session.name for s in plan.skipped()],
    }
