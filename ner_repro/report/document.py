"""The report as a document: what data were used, the tables, and what the verdicts mean.

:func:`build_document` turns the comparison table (:func:`ner_repro.report.ours.compare`),
the data summary (:func:`data_summary`: sessions used, skipped and absent, the example and
its substitute, the Fig8 source) and our numbers without a published counterpart
(:func:`extra_numbers`) into a list of :class:`Block` (headings, paragraphs, lists, tables,
figures) that :mod:`ner_repro.report.render` writes as Markdown and HTML. The same number
formatting serves the README table of a report CSV (:func:`read_comparison`,
:func:`measured_table`, printed by ``tools/measured_table.py``).
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ner_repro.analysis.controls import CHANCE_R2
from ner_repro.core.types import PathLike
from ner_repro.data.published_numbers import FIGURE_ORDER, published_sessions
from ner_repro.plan.report import fig8_inputs
from ner_repro.report.ours import _NUMERIC, COMPARISON_COLUMNS, Context
from ner_repro.report.panels import FIGURES as PANEL_FIGURES
from ner_repro.report.panels import Pair, relative_to_figures, select_numbers, unpaired_ours
from ner_repro.report.verdicts import (
    KNOWN_CAUSES,
    NOT_COMPARABLE,
    NOT_COMPUTABLE,
    NOT_REPRODUCED,
    REPRODUCED,
    VERDICTS,
    tolerance_text,
)

if TYPE_CHECKING:
    from ner_repro.plan import Plan

FIGURE_TITLES = {
    "Fig1": "Fig1: NER vs CEBRA on the example session (5000 iterations, in-sample)",
    "Fig3": "Fig3 batch runs: final training losses (20000 iterations)",
    "Fig4": "Fig4: explained variance and direction accuracy per session",
    "Fig5": "Fig5: M1 self- and cross-session decoding (Chewie 2015+2016)",
    "Fig6": "Fig6: PMd and M1 self- and cross-session decoding (Chewie 2016)",
    "Fig7": "Fig7: S1 self- and cross-session decoding (Han 2017)",
    "Fig8": "Fig8: MC_Maze straight vs curved reaches (train-set decoding)",
}


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
    _, fig8_skipped = fig8_inputs(plan) if sources else ([], {})
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


# -- document model and tables ---------------------------------------------------------------------
@dataclass
class Block:
    """One block of the report: a heading, paragraph, list, table or list of figure files."""

    kind: str  # h1 h2 h3 p ul table figures pair
    text: str = ""
    items: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    #: A ``pair`` block: the published panel (local file, or "") and its public URL.
    published: str = ""
    url: str = ""


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


def per_seed_values(text: Any) -> list[float]:
    """The values of a ``*_per_seed`` cell of the comparison (``"seed:value;..."``), in its
    order; empty for an empty cell."""
    if not isinstance(text, str) or not text:
        return []
    return [float(part.split(":", 1)[1]) for part in text.split(";") if ":" in part]


def _seed_range(text: Any, metric: str, statistic: str) -> str:
    """``"lo – hi (median m)"`` of a ``paper_per_seed`` cell (``"seed:value;..."``); empty
    for fewer than 2 seeds."""
    values = per_seed_values(text)
    if len(values) < 2:
        return ""
    lo, hi, mid = min(values), max(values), float(np.median(values))
    return (
        f"{_fmt(lo, metric, statistic)} – {_fmt(hi, metric, statistic)}"
        f" (median {_fmt(mid, metric, statistic)})"
    )


def read_comparison(path: PathLike) -> pd.DataFrame:
    """The report's CSV (:func:`ner_repro.report.write_report`) back as
    :func:`~ner_repro.report.ours.compare`'s frame."""
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
    """A Markdown summary of a report CSV (:func:`~ner_repro.report.ours.compare`'s frame) for
    the README.

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
    controls: pd.DataFrame | None = None,
    pairs: Sequence[Pair] | None = None,
    figures_root: str = "",
) -> list[Block]:
    doc: list[Block] = [
        Block("h1", "Reproduction report: Neural Embeddings Rank (NeurIPS 2024)"),
        Block(
            "p",
            "Every published number next to ours in both evaluation modes, with the spread over "
            f"seeds and a verdict. Seeds: {', '.join(map(str, summary['seeds']))}. Figures are "
            f"drawn in the '{summary['evaluation']}' mode. Built "
            f"{_dt.datetime.now(_dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} from the "
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

    doc.extend(control_blocks(controls))

    if pairs:
        doc += pair_blocks(pairs, frame, figures_root, figures)
        return doc
    doc.append(Block("h2", "Figures"))
    if figures:
        doc.append(Block("figures", files=list(figures)))
    else:
        doc.append(Block("p", "No figure files (no figure notebook has been written yet)."))
    return doc


PAIR_COLUMNS = [
    "method",
    "session / group",
    "split/decoder",
    "number",
    "published",
    "ours: paper (mean ± SD, n)",
    "range over seeds (median)",
    "verdict",
    "reason",
]


def pair_blocks(
    pairs: Sequence[Pair], frame: pd.DataFrame, figures_root: str, figures: Sequence[str]
) -> list[Block]:
    """Every published panel beside ours (:mod:`ner_repro.report.panels`), figure by figure,
    each with the published numbers it carries; then our figures that no panel row claims."""
    blocks = [
        Block("h2", "Figures: each published panel beside ours"),
        Block(
            "p",
            "Left the authors' panel (their NER_Figs_pdf at commit c8bdb72, from the "
            "published_figures_dir folder; its public URL is linked), right ours (the first "
            "seed), paired by resources/published_panels.tsv; below, the published numbers the "
            "panel carries with our mean ± SD over seeds and the verdict. A side left empty "
            "says why.",
        ),
    ]
    rows = [p.row for p in pairs]
    for figure in PANEL_FIGURES:
        part = [p for p in pairs if p.figure == figure]
        if not part:
            continue
        blocks.append(Block("h3", figure))
        for pair in part:
            numbers = select_numbers(pair.row, frame)
            notes = [n for n in (pair.row.note, pair.reason) if n]
            blocks.append(
                Block(
                    "pair",
                    text=pair.row.name,
                    items=list(dict.fromkeys(notes)),
                    files=[str(Path(figures_root) / f) for f in pair.ours],
                    published=str(pair.published_path or ""),
                    url=pair.url,
                    columns=PAIR_COLUMNS if len(numbers) else [],
                    rows=[
                        [
                            *_row_label(r)[1:],
                            _published_cell(r),
                            _ours_cell(r, "paper"),
                            _seed_range(r["paper_per_seed"], r["metric"], r["statistic"]),
                            r["verdict"],
                            r["reason"],
                        ]
                        for _, r in numbers.iterrows()
                    ],
                )
            )
    root = Path(figures_root)
    leftover = unpaired_ours(rows, relative_to_figures(figures, root))
    if leftover:
        blocks.append(Block("h3", "Our figures without a row in resources/published_panels.tsv"))
        blocks.append(Block("figures", files=[str(root / f) for f in leftover]))
    return blocks


def control_blocks(controls: pd.DataFrame | None) -> list[Block]:
    """The report's section on the shuffled-label control (``None``: not configured)."""
    doc = [Block("h2", "Control: shuffled labels")]
    if controls is None:
        doc.append(
            Block(
                "p",
                "Not measured: the shuffled-label control has not been run (`snakemake "
                "controls`, or config controls.shuffled_labels.in_report: true; README, "
                "'Use NER on your own data').",
            )
        )
        return doc
    if controls.empty:
        doc.append(Block("p", "Not measured: the control's table is missing."))
        return doc
    doc.append(
        Block(
            "p",
            "Each method trained on the example session's real labels and on the same "
            "training labels permuted in time (one seeded permutation of the training bins, "
            "the shuffle of CEBRA's guide). Velocity R² of a linear decoder fitted on the "
            "training embedding: held-out = scored on the test trials against the real "
            "velocities; in-sample = on the training bins, against the real velocities and "
            "against the labels the method was trained on.",
        )
    )
    columns = [
        "method",
        "labels",
        "session",
        "seed",
        "held-out R²",
        "in-sample R²",
        "in-sample R² (trained labels)",
    ]
    rows = [
        [
            str(r["label"]),
            str(r["labels"]),
            str(r["session"]),
            str(r["seed"]),
            f"{r['vel_R2_test']:.3f}",
            f"{r['vel_R2_train']:.3f}",
            f"{r['vel_R2_train_fit']:.3f}",
        ]
        for _, r in controls.iterrows()
    ]
    doc.append(Block("table", columns=columns, rows=rows))
    items = []
    for _, sh in controls[controls["labels"] == "shuffled"].iterrows():
        real = controls[(controls["labels"] == "real") & (controls["label"] == sh["label"])]
        base = f" (real labels: {real['vel_R2_test'].iloc[0]:.3f})" if len(real) else ""
        verdict = "at chance" if sh["vel_R2_test"] <= CHANCE_R2 else f"above chance (> {CHANCE_R2})"
        items.append(
            f"{sh['label']} trained on shuffled labels: held-out velocity R² "
            f"{sh['vel_R2_test']:.3f}{base}, {verdict}; in-sample R² against the shuffled "
            f"labels it was trained on {sh['vel_R2_train_fit']:.3f}, against the real ones "
            f"{sh['vel_R2_train']:.3f}."
        )
    doc.append(Block("ul", items=items))
    return doc


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
