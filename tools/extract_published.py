#!/usr/bin/env python3
"""Extract the paper's published numbers into ``resources/published_numbers.tsv``.

The reference files it reads and the columns it writes are documented in
:mod:`ner_repro.data.published_numbers`, which reads the table at run time; the extraction
itself lives here, outside the runtime package, since it needs the specification.

Usage::

    python tools/extract_published.py [--reference DIR] [--out resources/published_numbers.tsv]

``DIR`` defaults to ``$NER_SHARED_DIR/spec/reference`` (``NER_SHARED_DIR`` defaults to
``../shared`` beside the checkout): the specification's reference tables, not part of this
repository (what each holds is summarised in ``docs/sources.md``).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from ner_repro.core.config import REPO_ROOT
from ner_repro.core.types import PathLike
from ner_repro.data.published_numbers import COLUMNS, FIGURE_ORDER, PUBLISHED_TSV

# -- writing it from the reference documents -------------------------------------------------------
METHOD_NAMES = {
    "NER": "NER",
    "Cebra": "CEBRA",
    "CEBRA": "CEBRA",
    "Cebra_16D": "CEBRA_16D",
    "piVAE": "piVAE",
    "UMAP": "UMAP",
    "UMAP_label": "UMAP_label",
}
DECODERS = {"linear": "linear", "kNN": "knn", "knn": "knn"}


def default_reference_dir() -> Path:
    """``$NER_SHARED_DIR/spec/reference`` (``NER_SHARED_DIR`` defaults to ``../shared`` beside
    the checkout)."""
    shared = Path(os.environ.get("NER_SHARED_DIR", REPO_ROOT.parent / "shared"))
    return shared / "spec" / "reference"


# -- helpers ---------------------------------------------------------------------------------------
def _session_name(monkey: str, yymmdd: str, area: str) -> str:
    """``Chewie``, ``161007``, ``M1`` -> ``Chewie_20161007_M1``."""
    yymmdd = str(yymmdd).strip()
    if len(yymmdd) != 6 or not yymmdd.isdigit():
        raise ValueError(f"not a YYMMDD date: {yymmdd!r}")
    return f"{monkey}_20{yymmdd}_{area}"


def _fmt(value: float | str | None) -> str:
    """Full precision, fixed formatting (``repr`` of the float), empty for missing."""
    if value is None or value == "":
        return ""
    x = float(value)
    return "" if math.isnan(x) else repr(x)


def _row(**fields: str) -> dict[str, str]:
    out = {c: str(fields.get(c, "") or "") for c in COLUMNS}
    session = out["session"] + (f">{out['test_session']}" if out["test_session"] else "")
    out["id"] = "/".join(
        [
            out["figure"],
            out["panel"],
            out["method"],
            session,
            out["split"],
            out["decoder"],
            out["metric"],
            out["statistic"],
        ]
    )
    return out


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _section(text: str, heading: str) -> str:
    """The text of the markdown section whose heading starts with ``heading``."""
    lines = text.splitlines()
    start = None
    level = 0
    for i, line in enumerate(lines):
        if start is None:
            m = re.match(r"^(#+)\s+(.*)$", line)
            if m and m.group(2).startswith(heading):
                start, level = i + 1, len(m.group(1))
        else:
            m = re.match(r"^(#+)\s", line)
            if m and len(m.group(1)) <= level:
                return "\n".join(lines[start:i])
    if start is None:
        raise ValueError(f"section {heading!r} not found")
    return "\n".join(lines[start:])


def _table_rows(text: str) -> list[list[str]]:
    """Cells of the markdown table rows in ``text`` (header and separator rows included)."""
    return [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.strip().startswith("|")
    ]


# -- Fig1 ------------------------------------------------------------------------------------------
def fig1_rows(md: str, source: str) -> list[dict[str, str]]:
    """Fig1 (NER and CEBRA, 5000 iterations, Chewie 20161014 M1, in-sample): PDF titles."""
    text = _section(md, "1. `Fig1_Method_NER_Lin_Reg_1021")
    out = []
    found = set()
    for cells in _table_rows(text):
        m = re.match(r"^(NER|CEBRA) 5000 itr$", cells[0])
        if not m or len(cells) < 6:
            continue
        method = m.group(1)
        found.add(method)
        title = cells[3].strip("`")
        vel = re.search(r"vel=([-\d.]+)", title)
        pos = re.search(r"pos=([-\d.]+)", title)
        session = "Chewie_20161014_M1"
        note = "5000 iterations; in-sample (training split) linear decoding"
        common = {
            "figure": "Fig1",
            "method": method,
            "session": session,
            "split": "train",
            "decoder": "linear",
            "statistic": "value",
            "source": f"{source} §1 Reference numbers",
        }
        out.append(
            _row(
                **common,
                panel="train_loss",
                metric="final_loss",
                value=_fmt(cells[2]),
                display=cells[2],
                note="mean of the last 10 iterations; 5000 iterations",
            )
        )
        for metric, match in (("vel_R2", vel), ("pos_R2", pos)):
            if match is None:
                raise ValueError(f"Fig1 {method}: no {metric} in title {title!r}")
            out.append(
                _row(
                    **common,
                    panel="Decoding",
                    metric=metric,
                    r2_order="correct",
                    value=_fmt(match.group(1)),
                    display=f"{metric.split('_')[0]}={match.group(1)}",
                    note=note + "; title rounded to 3 significant digits",
                )
            )
        for metric, cell, panel in (
            ("vel_R2_x", cells[4], "X_velocity_real_vs_pred"),
            ("vel_R2_y", cells[5], "Y_velocity_real_vs_pred"),
        ):
            r2 = cell.split(",")[0].strip()
            out.append(
                _row(
                    **common,
                    panel=panel,
                    metric=metric,
                    r2_order="correct",
                    value=_fmt(r2),
                    display=f"R-squared: {r2}",
                    note=note + "; title rounded to 2 decimals",
                )
            )
    if found != {"NER", "CEBRA"}:
        raise ValueError(f"Fig1 reference rows not found (got {sorted(found)})")
    return out


# -- Fig3 batch (final losses of the 20000-iteration runs) ------------------------------------------
def fig3_loss_rows(md: str, source: str) -> list[dict[str, str]]:
    """Final training losses (mean of the last 10 of 20000 iterations) per M1 session."""
    text = _section(md, "3a. `Fig3_Batch_M1_NER_CEBRA")
    out = []
    common = {
        "figure": "Fig3",
        "panel": "batch_train_loss",
        "split": "train",
        "metric": "final_loss",
        "statistic": "value",
        "source": f"{source} §3a",
    }
    for cells in _table_rows(text):
        if len(cells) != 5 or not re.fullmatch(r"\d{6}", cells[0]):
            continue
        session = _session_name("Chewie", cells[0], "M1")
        for method, cell in (("NER", cells[1]), ("CEBRA", cells[3])):
            out.append(
                _row(
                    **common,
                    method=method,
                    session=session,
                    value=_fmt(cell),
                    note="20000 iterations, 3-D; title of the batch train-loss PDF",
                )
            )
    m = re.search(r"16-D CEBRA runs exist too.*?\n((?:\* .*\n)+)", text)
    if not m:
        raise ValueError("16-D CEBRA final losses not found")
    for date, value in re.findall(r"(\d{6}) (\d+\.\d+)", m.group(1)):
        out.append(
            _row(
                **common,
                method="CEBRA_16D",
                session=_session_name("Chewie", date, "M1"),
                value=_fmt(value),
                note="20000 iterations, 16-D (used only by the kNN matrices of Fig5/6)",
            )
        )
    if len(out) != 30:
        raise ValueError(f"expected 30 Fig3 final losses, got {len(out)}")
    return out


# -- Fig4 ------------------------------------------------------------------------------------------
def fig4_session_rows(path: Path) -> list[dict[str, str]]:
    out = []
    for r in _read_csv(path):
        session = _session_name(r["monkey"], r["session"], r["area"])
        method = METHOD_NAMES[r["method"]]
        unused = r["panel"].endswith("_unused")
        for metric in ("pos_R2", "vel_R2", "peak_dir_acc"):
            order = ""
            if metric.endswith("R2"):
                order = "swapped" if (metric == "vel_R2" and r["split"] == "test") else "correct"
            notes = []
            if unused:
                notes.append("unused by the paper's figures (stored Mihili summary)")
            if r["split"] == "test":
                notes.append("test split (the figures plot the train column)")
            if order == "swapped":
                notes.append("r2_score(pred, true) as in the authors' code")
            out.append(
                _row(
                    figure="Fig4",
                    panel=r["panel"],
                    method=method,
                    session=session,
                    split=r["split"],
                    decoder="linear",
                    metric=metric,
                    statistic="value",
                    r2_order=order,
                    value=_fmt(r[metric]),
                    source=f"{path.name} ({r['file']})",
                    note="; ".join(notes),
                )
            )
    return out


def _fig4_group(group: str, by_key: dict[tuple[str, str, str], list[str]]) -> tuple[str, str]:
    """(label, sessions) of a group string of fig4-7-fig4-summary.csv."""
    m = re.match(r"^(Chewie|Han) (M1|PMd|S1) ([\d+]+) \((\d+) sess", group)
    if not m:
        raise ValueError(f"unknown Fig4 group {group!r}")
    monkey, area, years, n = m.group(1), m.group(2), m.group(3).split("+"), int(m.group(4))
    sessions = sorted(s for year in years for s in by_key.get((monkey, area, year[2:]), []))
    if len(sessions) != n:
        raise ValueError(f"group {group!r}: {len(sessions)} sessions found, expected {n}")
    label = f"{monkey}-{'+'.join(sorted(years))}-{area}"
    return label, ";".join(sessions)


def fig4_summary_rows(path: Path, per_session: Path) -> list[dict[str, str]]:
    by_key: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for r in _read_csv(per_session):
        if r["panel"].endswith("_unused") or r["split"] != "train" or r["method"] != "NER":
            continue
        by_key[(r["monkey"], r["area"], r["session"][:2])].append(
            _session_name(r["monkey"], r["session"], r["area"])
        )
    out = []
    for r in _read_csv(path):
        if r["figure"] != "Fig4":
            continue
        label, sessions = _fig4_group(r["group"], by_key)
        stat = r["statistic"]
        pdf = r["pdf"]
        notes = []
        if "not in repo" in pdf:
            notes.append("the PDF is not in the authors' repository")
        elif "hidden" in stat or "6PMd+3S1" in pdf:
            notes.append("the legend holding this value is hidden in the PDF")
        if stat.startswith("median"):
            metric = "vel_R2" if "vel_R2" in stat else "pos_R2"
            statistic, order = "median", "correct"
            if "x100" in stat and "no x100" not in stat:
                notes.append("the legend text is the median x100")
        elif stat.startswith("peak of mean acc curve"):
            metric, statistic, order = "acc_curve", "peak", ""
        elif stat.startswith("time (ms) of peak"):
            metric, statistic, order = "acc_curve", "peak_time_ms", ""
        else:
            raise ValueError(f"unknown Fig4 statistic {stat!r}")
        out.append(
            _row(
                figure="Fig4",
                panel=Path(pdf.split(" ")[0]).stem,
                method=METHOD_NAMES[r["method"]],
                session=label,
                sessions=sessions,
                split="train",
                decoder="linear",
                metric=metric,
                statistic=statistic,
                r2_order=order,
                value=_fmt(r["value"]),
                display=r["legend"],
                source=f"{path.name}",
                note="; ".join(notes),
            )
        )
    return out


# -- Fig5/6/7 --------------------------------------------------------------------------------------
def _matrix_session(figure: str, label: str) -> str:
    """Session labels of fig4-7-crossdecode-matrices-long.csv -> session names."""
    if figure == "Fig5":
        return _session_name("Chewie", label, "M1")
    if figure == "Fig6":
        date, area = label.split("_")
        return _session_name("Chewie", date, area)
    if figure == "Fig7":
        return _session_name("Han", label, "S1")
    raise ValueError(f"unknown figure {figure!r}")


def _pdf_title_overrides(md: str) -> dict[tuple[str, str, str, str], tuple[str, str]]:
    """PDF titles that differ from the rounded means (the Fig6 kNN piVAE position title x100)."""
    out = {}
    m = re.search(r"\| kNN pos \|[^\n]*\*\*([\d.]+) / ([\d.]+)\*\* \(bug", md)
    if m:
        out[("Fig6", "knn", "piVAE", "pos_R2")] = (m.group(1), m.group(2))
    return out


def crossdecode_rows(summary: Path, long: Path, md: str) -> list[dict[str, str]]:
    labels = {"Fig5": "Chewie-2015+2016-M1", "Fig6": "Chewie-2016-M1+PMd", "Fig7": "Han-2017-S1"}
    # Every element, grouped into one row per matrix (row-major over the sorted sessions):
    # the report uses them to restrict the published means to the sessions it has.
    elements: dict[tuple[str, str, str, str], dict[tuple[str, str], float]] = defaultdict(dict)
    files: dict[tuple[str, str, str, str], str] = {}
    for r in _read_csv(long):
        key = (r["figure"], DECODERS[r["decoder"]], METHOD_NAMES[r["method"]], r["metric"])
        a = _matrix_session(r["figure"], r["train_session"])
        b = _matrix_session(r["figure"], r["test_session"])
        elements[key][(a, b)] = float(r["value"])
        files[key] = r["file"]
    sessions: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    out = []
    for key, values in elements.items():
        fig, dec, method, metric = key
        order = sorted({s for pair in values for s in pair})
        if len(values) != len(order) ** 2:
            raise ValueError(f"{key}: {len(values)} elements for {len(order)} sessions")
        sessions[(fig, dec, method)].update(order)
        out.append(
            _row(
                figure=fig,
                panel="matrix",
                method=method,
                session=labels[fig],
                sessions=";".join(order),
                split="test",
                decoder=dec,
                metric=metric,
                statistic="matrix",
                r2_order=("swapped" if metric == "vel_R2" else "correct")
                if metric.endswith("R2")
                else "",
                value=";".join(f"{values[(a, b)]:.8g}" for a in order for b in order),
                source=f"{long.name} ({files[key]})",
                note="every element [train i, test j], row-major over `sessions`",
            )
        )
    overrides = _pdf_title_overrides(md)
    for r in _read_csv(summary):
        fig, dec, method = r["figure"], DECODERS[r["decoder"]], METHOD_NAMES[r["method"]]
        group = sessions[(fig, dec, method)]
        if len(group) != int(r["n_sessions"]):
            raise ValueError(f"{fig} {dec} {method}: {len(group)} sessions in the elements")
        common = {
            "figure": fig,
            "method": method,
            "session": labels[fig],
            "sessions": ";".join(sorted(group)),
            "split": "test",
            "decoder": dec,
            "source": f"{summary.name}",
        }
        if r["metric"].startswith("acc_curve_peak"):
            plotted = dec == "linear"
            note = "mean accuracy curve over all n*n train/test pairs (diagonal included)"
            if not plotted:
                note += "; not plotted (only the linear curves are)"
            for statistic, value, display in (
                ("peak", r["diag_max"], r["title_dia"] if plotted else ""),
                ("peak_time_ms", r["offdiag_max"], ""),
            ):
                out.append(
                    _row(
                        **common,
                        panel="accuracy",
                        metric="acc_curve",
                        statistic=statistic,
                        value=_fmt(value),
                        display=display,
                        note=note,
                    )
                )
            continue
        metric = r["metric"]
        order = ("swapped" if metric == "vel_R2" else "correct") if metric.endswith("R2") else ""
        shown = not (fig == "Fig7" and metric == "peak_dir_acc")
        title = overrides.get((fig, dec, method, metric))
        for statistic, key, tkey, k in (
            ("diag_mean", "diag_mean", "title_dia", 0),
            ("offdiag_mean", "offdiag_mean", "title_offdia", 1),
        ):
            notes = []
            if order == "swapped":
                notes.append("r2_score(pred, true) as in the authors' code")
            if not shown:
                notes.append("not shown in a figure (Fig7 has no accuracy matrix)")
            display = r[tkey] if shown else ""
            if title is not None:
                display = title[k]
                notes.append("the PDF title shows this value x100 (plotting bug)")
            out.append(
                _row(
                    **common,
                    panel="matrix",
                    metric=metric,
                    statistic=statistic,
                    r2_order=order,
                    value=_fmt(r[key]),
                    display=display,
                    note="; ".join(notes),
                )
            )
    return out


# -- Fig8 ------------------------------------------------------------------------------------------
def _fig8_set(label: str) -> str:
    """'straight-curve [38]' -> 'curve-straight-38'; 'curve-up-down all 6' -> all six types."""
    label = label.strip()
    if label.startswith("curve-up-down all"):
        return "curve-up-down-37-1-31-38-34-18"
    m = re.match(r"^(straight-curve|curve-up-down|straight) \[([\d, ]+)\]", label)
    if not m:
        raise ValueError(f"unknown Fig8 set {label!r}")
    family = {"straight-curve": "curve-straight"}.get(m.group(1), m.group(1))
    types = [t.strip() for t in m.group(2).split(",")]
    return f"{family}-{'-'.join(types)}"


def _fig8_loss_set(label: str) -> str:
    label = label.strip()
    if label.startswith("six-type"):
        return "curve-up-down-37-1-31-38-34-18"
    types = [t.strip() for t in label.strip("[]").split(",")]
    family = "curve-up-down" if len(types) == 2 else "curve-straight"
    return f"{family}-{'-'.join(types)}"


def fig8_rows(md: str, source: str) -> list[dict[str, str]]:
    text = _section(md, "1.10 Reported numbers")
    out = []
    for cells in _table_rows(text):
        if len(cells) < 7 or cells[0] in ("set",) or set(cells[0]) <= {"-"}:
            continue
        cond = _fig8_set(cells[0])
        panel = (
            "straight_Decoding"
            if cond.startswith("straight-")
            else (
                "straight-curve_var" if cond.startswith("curve-straight") else "curve-up-down_var"
            )
        )
        for method, pdf, recomputed, supp in (
            ("NER", cells[1], cells[2], ""),
            ("CEBRA", cells[4], cells[5], "Supp_Cebra "),
        ):
            if pdf.startswith("n/a"):
                continue
            if pdf.startswith("vel "):
                m = re.match(r"vel ([\d.]+), pos ([\d.]+)", pdf)
                shown = [m.group(1), m.group(2)] if m else []
                values = shown
                note = "from the PDF file name (7b-d); the npz of this set is not published"
            else:
                shown = [s.strip() for s in pdf.split("/")]
                values = [s.strip() for s in recomputed.split("/")]
                note = (
                    "value recomputed from the authors' npz (3 dp); display = PDF title "
                    "(2 decimals)"
                )
            if len(shown) != 2 or len(values) != 2:
                raise ValueError(f"Fig8 row not understood: {cells}")
            for metric, v, d in zip(("vel_R2", "pos_R2"), values, shown, strict=True):
                out.append(
                    _row(
                        figure="Fig8",
                        panel=supp + panel,
                        method=method,
                        session=cond,
                        split="train",
                        decoder="linear",
                        metric=metric,
                        statistic="value",
                        r2_order="correct",
                        value=_fmt(v),
                        display=f"{metric.split('_')[0]}={d}",
                        source=f"{source} §1.10",
                        note="5000 iterations; in-sample (training split); " + note,
                    )
                )
    m = re.search(r"Mean of the last 10 loss values, NER / CEBRA: (.*)", text)
    if not m:
        raise ValueError("Fig8 final losses not found")
    pattern = r"(\[[\d,]+\]|six-type set) (\d+\.\d+)/(\d+\.\d+)"
    for label, ner, cebra in re.findall(pattern, m.group(1)):
        cond = _fig8_loss_set(label)
        for method, value in (("NER", ner), ("CEBRA", cebra)):
            out.append(
                _row(
                    figure="Fig8",
                    panel="train_loss",
                    method=method,
                    session=cond,
                    split="train",
                    metric="final_loss",
                    statistic="value",
                    value=_fmt(value),
                    source=f"{source} §1.10",
                    note="mean of the last 10 of 5000 iterations (from the authors' npz)",
                )
            )
    return out


# -- all -------------------------------------------------------------------------------------------
def extract(reference: PathLike) -> list[dict[str, str]]:
    """Every published number of the reference documents in ``reference``, one row each
    (:data:`COLUMNS`), sorted by figure (:data:`FIGURE_ORDER`), matrices last, then id."""
    reference = Path(reference)
    fig13 = (reference / "fig1-3-demo.md").read_text()
    fig47 = (reference / "fig4-7.md").read_text()
    fig8 = (reference / "fig8-baselines.md").read_text()
    per_session = reference / "fig4-7-fig4-per-session.csv"
    rows: list[dict[str, str]] = []
    rows += fig1_rows(fig13, "fig1-3-demo.md")
    rows += fig3_loss_rows(fig13, "fig1-3-demo.md")
    rows += fig4_session_rows(per_session)
    rows += fig4_summary_rows(reference / "fig4-7-fig4-summary.csv", per_session)
    rows += crossdecode_rows(
        reference / "fig4-7-crossdecode-summary.csv",
        reference / "fig4-7-crossdecode-matrices-long.csv",
        fig47,
    )
    rows += fig8_rows(fig8, "fig8-baselines.md")
    ids = [r["id"] for r in rows]
    dupes = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
    if dupes:
        raise ValueError(f"duplicate identifiers: {dupes[:5]}")
    order = {f: i for i, f in enumerate(FIGURE_ORDER)}
    return sorted(rows, key=lambda r: (order[r["figure"]], r["statistic"] == "matrix", r["id"]))


def write_tsv(rows: Iterable[dict[str, str]], out: PathLike) -> None:
    """Write ``rows`` as the tab-separated table (header :data:`COLUMNS`), atomically."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    with open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS), delimiter="\t", lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow(r)
    tmp.replace(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", type=Path, default=default_reference_dir())
    parser.add_argument("--out", type=Path, default=PUBLISHED_TSV)
    args = parser.parse_args(argv)
    if not args.reference.is_dir():
        print(f"reference folder not found: {args.reference}", file=sys.stderr)
        return 1
    rows = extract(args.reference)
    write_tsv(rows, args.out)
    print(f"{len(rows)} published numbers -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
