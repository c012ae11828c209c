"""The reproduction record: a results folder made into pages that GitHub shows.

``make record RESULTS=<results folder>`` (``python -m ner_repro.report.record``) writes, from
one results folder and nothing typed in:

* ``README.md``: what was run (configuration, code commit, package versions, machine and wall
  time per stage, from ``run/`` and ``report/run.json``), how many published numbers each
  figure and method reproduced, and every number that did not, with its reason;
* one page per figure (``Fig1.md`` ... ``Fig8.md``, ``GIF.md``): each published panel (linked
  at its URL pinned to the authors' commit) beside ours (seed 0, as PNG), the spread of our
  seeds around each published number the panel carries (a PNG), and those numbers in a table;
  then the figure's published numbers that no panel draws;
* ``comparison.csv``: the report's comparison table.

The pages pair panels through :mod:`ner_repro.report.panels` (the same pairing as the
report's HTML) and read the verdicts from the report's ``comparison.csv``, so the record
agrees with the report by construction. Given the same results folder it is written again
byte for byte (no timestamps; images rendered deterministically).
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import logging
import math
import os
import re
import shutil
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from ner_repro.core import atomic
from ner_repro.core.errors import InputError
from ner_repro.core.types import PathLike
from ner_repro.data.published_numbers import FIGURE_ORDER
from ner_repro.plan.report import published_figure_entries
from ner_repro.report.document import (
    _fmt,
    _md_cell,
    _seed_range,
    per_seed_values,
    read_comparison,
)
from ner_repro.report.findings import NOT_INVESTIGATED, finding_numbers, load_findings
from ner_repro.report.panels import (
    FIGURES,
    Pair,
    load_panels,
    pair_panels,
    select_numbers,
    unclaimed_numbers,
    unpaired_ours,
    view_url,
)
from ner_repro.report.render import rasterise_pdf
from ner_repro.report.verdicts import NOT_COMPUTABLE, NOT_REPRODUCED, REPRODUCED

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".pdf", ".png", ".gif", ".svg", ".jpg")
#: A GIF larger than this is copied at half size and every other frame.
MAX_GIF_BYTES = 3_000_000
PAGE_TITLES = {
    "Fig1": "Fig1: NER vs CEBRA on the example session",
    "Fig2": "Fig2: single-trial and trial-averaged NER embedding",
    "Fig3": "Fig3: M1 embeddings of every method before and after alignment",
    "Fig4": "Fig4: explained variance and direction accuracy (M1, PMd, S1)",
    "Fig5": "Fig5: M1 self- and cross-session decoding",
    "Fig6": "Fig6: PMd and M1 cross-session decoding",
    "Fig7": "Fig7: S1 embeddings and decoding",
    "Fig8": "Fig8: MC_Maze straight vs curved reaches",
    "GIF": "The demo GIF",
}
NUMBER_COLUMNS = [
    "method",
    "session / group",
    "split/decoder",
    "number",
    "published",
    "ours: paper, mean ± SD (n)",
    "range over seeds (median)",
    "ours: corrected",
    "verdict",
    "reason",
    "finding (not reproduced only)",
]


# -- what was run ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    rule: str
    wildcards: str
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


_STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
_RULE = re.compile(r"^(?:local)?rule (\w+):$")
_FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: (\w+)\)")


def parse_snakemake_log(path: PathLike) -> list[Job]:
    """The jobs of one Snakemake log (``.snakemake/log/*.snakemake.log``): rule, wildcards,
    start and end (jobs that never finished are left out)."""
    started: dict[str, list[Any]] = {}  # jobid -> [rule, wildcards, start]
    jobs: list[Job] = []
    stamp: datetime | None = None
    rule, current = "", ""
    for line in Path(path).read_text(errors="replace").splitlines():
        line = line.rstrip()
        if m := _STAMP.match(line):
            stamp = datetime.strptime(" ".join(m.group(1).split()), "%a %b %d %H:%M:%S %Y")
            continue
        if m := _RULE.match(line):
            rule, current = m.group(1), ""
            continue
        stripped = line.strip()
        if stripped.startswith("jobid:") and rule and stamp is not None:
            current = stripped.split(":", 1)[1].strip()
            started[current] = [rule, "", stamp]
            rule = ""
        elif stripped.startswith("wildcards:") and current in started:
            started[current][1] = stripped.removeprefix("wildcards:").strip()
        elif (m := _FINISHED.match(stripped)) and stamp is not None:
            begun = started.pop(m.group(1), None)
            if begun is not None:
                jobs.append(Job(begun[0], begun[1], begun[2], stamp))
    return jobs


#: The stage of the UMAP jobs (one job fits both UMAP methods and every seed of a session).
UMAP_STAGE = "training: UMAP (both kinds, compilation included)"


def training_stage(method: str, kind: str = "") -> str:
    """The stage of a training job of ``method`` (of ``kind``, where known), as the wall-time
    table names it; ``benchmarks/bench_pipeline.py`` names its projection's stages the same."""
    return UMAP_STAGE if kind == "umap" else f"training: {method}"


def stage_of(job: Job) -> str:
    """The stage a job belongs to (training split by method)."""
    if job.rule == "train_embedding":
        method = dict(
            kv.split("=", 1) for kv in job.wildcards.replace(" ", "").split(",") if "=" in kv
        ).get("method", "?")
        return training_stage(method)
    if job.rule in ("train_umap", "compile_umap"):
        return UMAP_STAGE
    if job.rule.startswith("render_"):
        return "figures"
    if job.rule in ("ingest_session", "fetch_recordings", "simulate_recording"):
        return "data"
    if job.rule in ("report", "fetch_published_figures"):
        return "report"
    return "analysis"


def timing_table(logs: Sequence[PathLike]) -> tuple[pd.DataFrame, float]:
    """Per stage: jobs, job-hours and the median minutes of one job; and the run's total wall
    hours (the sum over the logs of each one's span, i.e. over the invocations that resumed
    the run). A job that ran in more than one invocation (a resume redoing it) counts once,
    with the time of all its runs (column ``runs``: the runs behind the stage's jobs)."""
    seconds: dict[tuple[str, str], list[float]] = {}
    wall = 0.0
    for path in sorted(logs, key=str):
        jobs = parse_snakemake_log(path)
        if not jobs:
            continue
        wall += (max(j.end for j in jobs) - min(j.start for j in jobs)).total_seconds()
        for j in jobs:
            seconds.setdefault((stage_of(j), f"{j.rule} {j.wildcards}"), []).append(j.seconds)
    if not seconds:
        return pd.DataFrame(columns=["stage", "jobs", "runs", "job_hours", "median_min"]), math.nan
    frame = pd.DataFrame(
        [{"stage": stage, "seconds": sum(s), "runs": len(s)} for (stage, _), s in seconds.items()]
    )
    table = (
        frame.groupby("stage")
        .agg(
            jobs=("seconds", "size"),
            runs=("runs", "sum"),
            job_hours=("seconds", lambda s: s.sum() / 3600),
            median_min=("seconds", lambda s: s.median() / 60),
        )
        .reset_index()
        .sort_values("job_hours", ascending=False, kind="stable")
    )
    return table, wall / 3600


def invocations(results: Path) -> list[tuple[str, str]]:
    """``run/invocations.txt`` (``make paper`` appends one line per invocation): (UTC start,
    commit)."""
    path = results / "run" / "invocations.txt"
    if not path.is_file():
        return []
    out = []
    for line in path.read_text().splitlines():
        when, _, commit = line.strip().partition(" ")
        if when:
            out.append((when, commit or "unknown"))
    return out


def projected_time(results: Path) -> dict[str, Any]:
    """The projected wall time per stage (``benchmarks/bench_pipeline.py --out
    <results>/benchmarks/bench_pipeline.json``, key ``projection``), or an empty dict."""
    path = results / "benchmarks" / "bench_pipeline.json"
    if not path.is_file():
        return {}
    return dict(json.loads(path.read_text()).get("projection") or {})


def run_info(report_dir: Path) -> dict[str, Any]:
    """``run.json`` of a report folder (written by the report rule), or an empty record."""
    path = report_dir / "run.json"
    return json.loads(path.read_text()) if path.is_file() else {}


# -- images ----------------------------------------------------------------------------------------
def _pdf_to_png(pdf: Path, png: Path, dpi: int) -> None:
    data, why = rasterise_pdf(pdf, dpi)
    if data is None:
        raise InputError(pdf, f"cannot render the panel as PNG: {why}")
    png.parent.mkdir(parents=True, exist_ok=True)
    png.write_bytes(data)


def _small_gif(src: Path, dst: Path) -> None:
    from PIL import Image

    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.stat().st_size <= MAX_GIF_BYTES:
        shutil.copyfile(src, dst)
        return
    with Image.open(src) as im:
        frames, durations = [], []
        for i in range(getattr(im, "n_frames", 1)):
            im.seek(i)
            if i % 2:
                continue
            frame = im.convert("RGB")
            frames.append(frame.resize((max(1, frame.width // 2), max(1, frame.height // 2))))
            durations.append(2 * int(im.info.get("duration", 40)))
    buf = io.BytesIO()
    frames[0].save(
        buf, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0
    )
    dst.write_bytes(buf.getvalue())


def image_for(src: Path, out_dir: Path, rel: str, dpi: int) -> str:
    """Our figure file as an image GitHub shows (PDF -> PNG); returns its path under out_dir."""
    suffix = src.suffix.lower()
    target = PurePosixPath("img") / rel
    if suffix == ".pdf":
        target = target.with_suffix(".png")
        _pdf_to_png(src, out_dir / target, dpi)
    elif suffix == ".gif":
        _small_gif(src, out_dir / target)
    else:
        (out_dir / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, out_dir / target)
    return target.as_posix()


def _label(r: Mapping[str, Any]) -> str:
    what = r["metric"] + ("" if r["statistic"] == "value" else f" {r['statistic']}")
    where = "/".join(x for x in (r["split"], r["decoder"]) if x)
    return f"{r['session']} {where} {what}"


def spread_plot(numbers: pd.DataFrame, png: Path, title: str) -> bool:
    """Our seeds around each published number, in units of the number's tolerance (the band
    of +-1 is 'reproduced'); False when no row has a tolerance and seeds to draw."""
    rows = [
        r
        for _, r in numbers.iterrows()
        if np.isfinite(r["tolerance"])
        and r["tolerance"] > 0
        and per_seed_values(r["paper_per_seed"])
    ]
    if not rows:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    height = 0.8 + 0.28 * len(rows)
    fig, ax = plt.subplots(figsize=(7.5, height))
    ax.axvspan(-1, 1, color="#dff0d8", zorder=0)
    ax.axvline(0, color="#c0392b", lw=1, zorder=1)
    labels = []
    for i, r in enumerate(rows):
        y = len(rows) - 1 - i
        tol, ref = float(r["tolerance"]), float(r["reference"])
        seeds = np.array(per_seed_values(r["paper_per_seed"]))
        x = (seeds - ref) / tol
        ax.scatter(x, np.full_like(x, y), s=14, color="#1f4e79", zorder=3)
        mean = (float(r["paper_mean"]) - ref) / tol
        ax.plot([mean], [y], marker="|", ms=12, color="black", zorder=4)
        labels.append(
            f"{_label(r)}  (published {_fmt(ref, r['metric'], r['statistic'])}, "
            f"±{_fmt(tol, r['metric'], r['statistic'])})"
        )
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels[::-1], fontsize=6)
    lim = max(3.0, *(abs(t) for t in ax.get_xlim()))
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel("(ours - published) / tolerance", fontsize=7)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_title(
        f"{title}\ndots: our seeds; bar: their mean; red: published; green: within tolerance",
        fontsize=7,
    )
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    from PIL import Image

    png.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(buf) as im:  # 64 colours: a fifth of the bytes, the same picture
        im.convert("RGB").quantize(colors=64).save(png, format="PNG", optimize=True)
    return True


def spread_images(
    numbers: pd.DataFrame, out_dir: Path, stem: PurePosixPath, title: str
) -> list[str]:
    """One :func:`spread_plot` per method (a readable height each); their paths under out_dir."""
    made = []
    for method, part in numbers.groupby("method", sort=True):
        png = stem.with_name(f"{stem.name}_{_slug(str(method))}_seeds.png")
        if spread_plot(part, out_dir / png, f"{title}: {method}"):
            made.append(png.as_posix())
    return made


# -- pages -----------------------------------------------------------------------------------------
def _ours_text(r: Mapping[str, Any], mode: str) -> str:
    n = pd.to_numeric(r.get(f"{mode}_n"), errors="coerce")
    if not np.isfinite(n) or n == 0:
        return "not measured"
    sd = r[f"{mode}_sd"]
    sd_text = f" ± {_fmt(sd, r['metric'], r['statistic'])}" if np.isfinite(sd) else ""
    return f"{_fmt(r[f'{mode}_mean'], r['metric'], r['statistic'])}{sd_text} ({int(n)})"


def _published_text(r: Mapping[str, Any]) -> str:
    text = _fmt(r["published"], r["metric"], r["statistic"])
    if r.get("reference_basis") and r["reference_basis"] != "published":
        text += f" (vs {_fmt(r['reference'], r['metric'], r['statistic'])}: {r['reference_basis']})"
    return text


@functools.lru_cache(maxsize=1)
def _findings() -> tuple[Any, ...]:
    """resources/findings.tsv, read once per process (every page's tables use it)."""
    return tuple(load_findings())


def _finding_links(numbers: Sequence[int]) -> str:
    """The cell that cites findings: links to their entries further down the same page."""
    return ", ".join(f"[F{n}](#f{n})" for n in numbers) or NOT_INVESTIGATED


def failed_findings(numbers: pd.DataFrame) -> pd.Series:
    """Per number that did not reproduce, the numbers of the findings that explain it."""
    failed = numbers[numbers["verdict"] == NOT_REPRODUCED]
    return finding_numbers(failed, _findings())


def findings_section(numbers: pd.DataFrame, heading: str = "##") -> list[str]:
    """The findings cited by ``numbers`` that did not reproduce, each once, in full: what was
    found, what measures it, and how many of these numbers it explains (a table cites them as
    F1, F2, ... linking here, so a long finding is not repeated on every row)."""
    counts = Counter(n for ns in failed_findings(numbers) for n in ns)
    if not counts:
        return []
    findings = _findings()
    lines = [
        f"{heading} Findings cited above",
        "",
        "From `resources/findings.tsv`: the cause an investigation found, and the command, test "
        "or column that measures it.",
        "",
    ]
    for n in sorted(counts):
        f = findings[n - 1]
        lines += [f"{heading}# F{n}", "", f.text[:1].upper() + f.text[1:] + "."]
        if f.evidence:
            lines += ["", f"Measured by: {f.evidence}."]
        lines += ["", f"Cited by {counts[n]} of the numbers that did not reproduce above.", ""]
    return lines


def number_rows(numbers: pd.DataFrame) -> list[list[str]]:
    rows = []
    causes = failed_findings(numbers)
    for i, r in numbers.iterrows():
        cause = ""
        if r["verdict"] == NOT_REPRODUCED:
            cause = _finding_links(causes[i])
        what = r["metric"] + ("" if r["statistic"] == "value" else f" {r['statistic']}")
        rows.append(
            [
                r["method"],
                r["session"],
                "/".join(x for x in (r["split"], r["decoder"]) if x),
                what,
                _published_text(r),
                _ours_text(r, "paper"),
                _seed_range(r["paper_per_seed"], r["metric"], r["statistic"]),
                _ours_text(r, "corrected"),
                r["verdict"],
                r["reason"],
                cause,
            ]
        )
    return rows


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_md_cell(str(c)) for c in r) + " |" for r in rows]
    return [*lines, ""]


def _verdict_line(numbers: pd.DataFrame) -> str:
    judged = numbers[numbers["verdict"].isin([REPRODUCED, NOT_REPRODUCED])]
    ok = int((judged["verdict"] == REPRODUCED).sum())
    other = len(numbers) - len(judged)
    text = f"{ok} of {len(judged)} directly comparable numbers reproduced"
    return text + (f"; {other} not directly comparable or not measured" if other else "")


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", PurePosixPath(name).stem)


def figure_page(
    figure: str,
    pairs: Sequence[Pair],
    comparison: pd.DataFrame,
    rows_of_table: Sequence[Any],
    results: Path,
    out_dir: Path,
    dpi: int,
) -> list[str]:
    """The Markdown of one figure's page; renders its images under ``out_dir/img``."""
    lines = [f"# {PAGE_TITLES[figure]}", "", "[Back to the record](README.md)", ""]
    shown: list[pd.DataFrame] = []
    part = comparison[comparison["figure"] == figure]
    if len(part):
        lines += [f"Published numbers of {figure}: {len(part)}; {_verdict_line(part)}.", ""]
    for pair in pairs:
        row = pair.row
        lines.append(f"## {row.name}")
        lines.append("")
        if row.published:
            link = view_url(pair.url) if pair.url else ""
            lines.append(
                f"**Authors' panel:** [{row.published}]({link})" if link else row.published
            )
        else:
            lines.append("**Authors' panel:** none (a panel of ours only)")
        lines.append("")
        if row.note and (pair.ours or pair.reason != row.note):
            lines += [f"*{row.note}*", ""]  # (an unpaired panel's note is its reason, below)
        if pair.ours:
            lines.append("**Ours** (seed 0):")
            lines.append("")
            for rel in pair.ours:
                img = image_for(results / "figures" / rel, out_dir, rel, dpi)
                lines.append(f"![{rel}]({img})")
                lines.append("")
        else:
            reason = pair.reason[:1].upper() + pair.reason[1:]
            lines += [f"**Ours:** none. {reason}", ""]
        numbers = select_numbers(row, comparison)
        if len(numbers):
            stem = PurePosixPath("img") / figure.lower() / _slug(row.name)
            for png in spread_images(numbers, out_dir, stem, f"{figure} {row.name}"):
                lines += [f"![spread over seeds]({png})", ""]
            lines.append(f"Numbers this panel carries ({_verdict_line(numbers)}):")
            lines.append("")
            lines += _table(NUMBER_COLUMNS, number_rows(numbers))
            shown.append(numbers)
    rest = unclaimed_numbers(rows_of_table, comparison, figure)
    if len(rest):
        lines += [
            "## Published numbers drawn in no panel",
            "",
            "Numbers the authors stored in their summaries (per-session values, test splits, "
            "kNN curves, final losses) that no published panel shows: "
            f"{_verdict_line(rest)}.",
            "",
        ]
        stem = PurePosixPath("img") / figure.lower() / "unplotted"
        for png in spread_images(rest, out_dir, stem, f"{figure}: numbers in no panel"):
            lines += [f"![spread over seeds]({png})", ""]
        lines += _table(NUMBER_COLUMNS, number_rows(rest))
        shown.append(rest)
    if shown:
        every = pd.concat(shown)
        lines += findings_section(every[~every.index.duplicated()])
    return lines


def summary_rows(comparison: pd.DataFrame) -> list[list[str]]:
    """Per figure and method: reproduced / directly comparable, and the other verdicts."""
    rows = []
    for fig in FIGURE_ORDER:
        part = comparison[comparison["figure"] == fig]
        for method, sub in part.groupby("method", sort=True):
            judged = sub[sub["verdict"].isin([REPRODUCED, NOT_REPRODUCED])]
            ok = int((judged["verdict"] == REPRODUCED).sum())
            share = f" ({100 * ok / len(judged):.0f} %)" if len(judged) else ""
            others = sub["verdict"].value_counts()
            rest = ", ".join(
                f"{v}: {n}" for v, n in others.items() if v not in (REPRODUCED, NOT_REPRODUCED)
            )
            rows.append([fig, str(method), f"{ok} / {len(judged)}{share}", rest, str(len(sub))])
    return rows


def _methods_share(comparison: pd.DataFrame, methods: Sequence[str]) -> tuple[int, int]:
    judged = comparison[
        comparison["method"].isin(list(methods))
        & comparison["verdict"].isin([REPRODUCED, NOT_REPRODUCED])
    ]
    return int((judged["verdict"] == REPRODUCED).sum()), len(judged)


def _reruns_text(timing: pd.DataFrame) -> str:
    again = int((timing["runs"] - timing["jobs"]).sum()) if len(timing) else 0
    if not again:
        return ""
    return (
        f"; {again} runs redid a job an earlier invocation had run (a resume), and a job "
        "counts once with the time of all its runs"
    )


def _side_by_side_text(measured: Mapping[str, Any] | None) -> str:
    """How the projection took jobs running side by side into account."""
    if not measured:
        return (
            " Its steps were timed one process at a time; the run's jobs ran side by side "
            "(`--side-by-side N` measures what that costs)."
        )
    factors = ", ".join(f"{k} {float(v):.2f}x" for k, v in sorted(measured["factor"].items()))
    return (
        f" Its NER and CEBRA steps are scaled by the slowdown measured with "
        f"{measured['copies']} processes at once against one alone ({factors}); the other "
        "stages' are not."
    )


def _timing_lines(timing: pd.DataFrame, projection: Mapping[str, Any]) -> list[str]:
    """The wall-time table, with the projection's jobs, job-hours and minutes per job beside
    the measured ones when ``benchmarks/bench_pipeline.py`` projected this run."""
    measured = ["stage", "jobs", "job-hours", "median job (min)"]

    def own(r: Any) -> list[str]:
        return [r.stage, str(r.jobs), f"{r.job_hours:.2f}", f"{r.median_min:.1f}"]

    if not projection:
        return _table(measured, [own(r) for r in timing.itertuples()])
    stages = projection.get("stages") or {}

    def projected(p: Mapping[str, Any] | None) -> list[str]:
        if not p:
            return ["not projected"] * 3
        jobs, hours = int(p["jobs"]), float(p["job_hours"])
        return [str(jobs), f"{hours:.2f}", f"{60 * hours / jobs:.1f}" if jobs else ""]

    rows = [own(r) + projected(stages.get(r.stage)) for r in timing.itertuples()]
    for stage in sorted(set(stages) - set(timing["stage"])):
        rows.append([stage, "0", "0.00", "", *projected(stages[stage])])
    lines = [
        f"Projected by `benchmarks/bench_pipeline.py` for {projection.get('seeds')} seeds on "
        f"{projection.get('cores')} cores: {float(projection.get('wall_h', math.nan)):.2f} h "
        "of wall time for the training jobs (an extrapolation from short timed runs; the "
        "measured columns are the run's own)." + _side_by_side_text(projection.get("side_by_side")),
        "",
    ]
    return lines + _table(
        [*measured, "projected jobs", "projected job-hours", "projected min per job"], rows
    )


def readme(
    comparison: pd.DataFrame,
    info: Mapping[str, Any],
    timing: pd.DataFrame,
    wall_hours: float,
    pages: Sequence[str],
    pairs: Sequence[Pair],
    results_name: str,
    size_text: str,
    invocations: Sequence[tuple[str, str]] = (),
    projection: Mapping[str, Any] | None = None,
) -> list[str]:
    lines = [
        "# Reproduction record: Neural Embeddings Rank (NeurIPS 2024)",
        "",
        "Generated by `make record` from one results folder of the workflow "
        f"(`{results_name}`); never edited by hand. Each page puts every panel the authors "
        "published beside ours, with the published numbers it carries, our mean ± SD and range "
        "over seeds, and the report's verdict. Verdicts compare the authors' evaluation "
        "(`paper` mode); tolerances are the report's own.",
        "",
        "## What was run",
        "",
    ]
    cfg = info.get("config") or {}
    items = []
    if invocations:
        items.append(
            "Invocations of the run (UTC start, code commit): "
            + "; ".join(f"{when} `{commit}`" for when, commit in invocations)
        )
    if info:
        items.append(f"Code that built the report: commit `{info.get('commit', 'not recorded')}`")
        items.append(
            "Configuration: "
            + ", ".join(
                f"{k} = {cfg[k]}"
                for k in ("evaluation", "seeds", "missing", "train_fraction", "device")
                if k in cfg
            )
            + (
                "; per-method seeds: "
                + ", ".join(
                    f"{m} {spec['seeds']}"
                    for m, spec in (cfg.get("methods") or {}).items()
                    if isinstance(spec, dict) and "seeds" in spec
                )
            )
        )
        if info.get("command"):
            items.append(f"Command: `{info['command']}`")
        if info.get("machine"):
            items.append(f"Machine: {info['machine']}")
        packages = info.get("packages") or {}
        if packages:
            items.append("Packages: " + ", ".join(f"{k} {v}" for k, v in sorted(packages.items())))
        if info.get("sessions"):
            items.append(f"Sessions ({len(info['sessions'])}): " + ", ".join(info["sessions"]))
        if info.get("skipped"):
            items.append(
                f"Sessions of the configuration not available ({len(info['skipped'])}): "
                + ", ".join(info["skipped"])
            )
        absent = info.get("absent_outputs") or []
        if absent:
            items.append(
                f"**Run incomplete**: {len(absent)} analysis outputs the report reads were "
                "absent when it was built; their numbers are 'not computable' below"
            )
    else:
        items.append("report/run.json is absent: configuration and code version not recorded")
    lines += [f"- {i}" for i in items] + [""]
    if np.isfinite(wall_hours):
        lines += [
            f"Wall time (Snakemake's logs, all invocations of the run): {wall_hours:.2f} h. "
            "Per stage, jobs and job-hours (jobs ran side by side, so job-hours exceed wall "
            "hours)" + _reruns_text(timing) + ":",
            "",
        ]
        lines += _timing_lines(timing, projection or {})
    else:
        lines += ["Wall time: not measured (no Snakemake log in the results' run/ folder).", ""]

    lines += ["## Summary", ""]
    all_ok, all_n = _methods_share(comparison, sorted(set(comparison["method"])))
    if all_n:
        lines += [
            f"All methods: {all_ok} of {all_n} directly comparable numbers reproduced "
            f"({100 * all_ok / all_n:.0f} %).",
            "",
        ]
    ner_ok, ner_n = _methods_share(comparison, ["NER", "CEBRA"])
    if ner_n:
        lines += [
            f"NER and CEBRA together: {ner_ok} of {ner_n} directly comparable numbers "
            f"reproduced ({100 * ner_ok / ner_n:.0f} %).",
            "",
        ]
    lines += _table(
        ["figure", "method", "reproduced / directly comparable", "other verdicts", "published"],
        summary_rows(comparison),
    )
    with_partner = [p for p in pairs if p.row.published and p.ours]
    published = [p for p in pairs if p.row.published]
    lines += [
        f"Published panels with a partner of ours in this run: {len(with_partner)} of "
        f"{len(published)}; every other one says why on its page.",
        "",
        "Pages: " + " · ".join(f"[{p}]({p}.md)" for p in pages),
        "",
    ]
    failed = comparison[comparison["verdict"] == NOT_REPRODUCED]
    lines += [f"## What did not reproduce ({len(failed)})", ""]
    if len(failed):
        lines += _table(
            ["figure", "panel", *NUMBER_COLUMNS],
            [
                [r["figure"], r["panel"], *row]
                for (_, r), row in zip(failed.iterrows(), number_rows(failed), strict=True)
            ],
        )
        open_ = int((failed_findings(failed).map(len) == 0).sum())
        lines += [
            f"With a finding from an investigation: {len(failed) - open_} of {len(failed)}; {open_} not "
            "investigated yet (the findings are in resources/findings.tsv).",
            "",
        ]
        lines += findings_section(failed)
    missing = comparison[comparison["verdict"] == NOT_COMPUTABLE]
    if len(missing):
        lines += [
            f"Published numbers without a number of ours in this run: {len(missing)} "
            "(listed on each figure's page with the reason).",
            "",
        ]
    lines += [f"Size of this record: {size_text}.", ""]
    return lines


@dataclass(frozen=True)
class Experiment:
    """A benchmark that compares runs of one method beside the published numbers, read by the
    record from its ``summary_stats.csv`` copied under ``<results>/benchmarks/<folder>*/``
    (columns ``session``, ``split``, ``metric``, ``n``, ``median``, ``min``, ``max``,
    ``published``, the ``column`` that names the variants, optional ``method`` and ``p_column``).
    """

    folder: str
    title: str
    intro: str
    column: str
    columns: Mapping[str, str]  # variant -> header, in the table's order
    metrics: tuple[str, ...]
    p_column: str | None = None


EXPERIMENTS = (
    Experiment(
        folder="pivae_original",
        title="pi-VAE: the authors' original implementation beside ours",
        intro=(
            "The Keras pi-VAE the authors ran (CEBRA's `third_party/pivae`, run from a checkout "
            "by `benchmarks/pivae_original.py`) and our PyTorch port, trained on the same arrays "
            "with the authors' protocol under the same seeds, decoded by the project's paper-mode "
            "Fig4 evaluation: median [range] over seeds (n)."
        ),
        column="implementation",
        columns={"keras_original": "original (Keras)", "ours": "ours (PyTorch)"},
        metrics=("vel_R2", "pos_R2", "peak_dir_acc", "final_loss_last10"),
    ),
    Experiment(
        folder="umap_spread",
        title="UMAP: seeded runs (the workflow's) beside unseeded runs (the authors')",
        intro=(
            "UMAP with the authors' settings fitted many times on the same training split by "
            "`benchmarks/umap_spread.py`: seeded (`random_state` = seed, single-threaded, as the "
            "workflow runs it) and unseeded (`random_state=None` on all cores, as the authors ran "
            "it once per session), and the authors' own stored embedding from their repository "
            "(its labels checked to be ours bin for bin), all decoded by the project's "
            "paper-mode Fig4 evaluation: median [range] over runs (n), and p: the two-sided "
            "Mann-Whitney test of that variant's runs against the seeded ones. knn_overlap: "
            "the mean fraction of each training bin's 10 nearest neighbours in our neural "
            "input kept among its 10 nearest in the embedding (it moves for an embedding of "
            "other input). Further columns, where run: another umap-learn (seeded), and "
            "sqrt_input, the seeded fit of the square root of the input (a monotone change "
            "of the input)."
        ),
        column="variant",
        columns={
            "seeded": "seeded (workflow)",
            "unseeded": "unseeded (authors' way)",
            "authors": "authors' embedding",
        },
        metrics=("pos_R2", "vel_R2", "peak_dir_acc", "knn_overlap"),
        p_column="p_vs_seeded",
    ),
    Experiment(
        folder="authors_embeddings",
        title="The authors' own embeddings decoded by our evaluation, beside our seeds",
        intro=(
            "Each embedding behind a published Fig4 number that the authors' repository stores "
            "for a session here (their labels checked to be ours bin for bin), decoded by the "
            "project's paper-mode Fig4 evaluation (`benchmarks/authors_embeddings.py`), beside "
            "our runs of the same method and session: median [range] over runs (n). Where the "
            "first column equals the published value, the evaluation is ruled out for that "
            "number and what differs is the embedding: their one unseeded training run against "
            "our seeds."
        ),
        column="variant",
        columns={"authors": "authors' embedding, our evaluation", "ours": "ours over seeds"},
        metrics=("pos_R2", "vel_R2", "peak_dir_acc"),
    ),
)


def _spread_cell(stats: pd.Series, metric: str, p_column: str | None = None) -> str:
    """``median [min – max] (n)`` of one row of a benchmark's ``summary_stats.csv``, and
    ``p`` where the row has a finite ``p_column``."""
    cell = (
        f"{_fmt(stats['median'], metric)} [{_fmt(stats['min'], metric)} – "
        f"{_fmt(stats['max'], metric)}] ({int(stats['n'])})"
    )
    if p_column and p_column in stats.index and np.isfinite(float(stats[p_column])):
        cell += f", p {float(stats[p_column]):.2g}"
    return cell


def experiment_section(results: Path, experiment: Experiment) -> list[str]:
    """One benchmark's comparison (:data:`EXPERIMENTS`): per (method,) session, split and
    number, the published value beside the median and range over runs of each variant the
    table holds (and that variant's test against the reference variant, where it has one).
    Empty when the benchmark was not run."""
    tables = sorted((results / "benchmarks").glob(f"{experiment.folder}*/summary_stats.csv"))
    if not tables:
        return []
    lines = [f"## {experiment.title}", "", experiment.intro, ""]
    for path in tables:
        stats = pd.read_csv(path)
        stats = stats[stats["metric"].isin(experiment.metrics)]
        keys = [k for k in ("method", "session", "split", "metric") if k in stats.columns]
        # The experiment's known variants this table holds, then any other, under its name.
        present = set(stats[experiment.column].astype(str))
        variants = {k: v for k, v in experiment.columns.items() if k in present}
        for extra in sorted(present - set(variants)):
            variants[extra] = extra
        rows = []
        for key, part in stats.groupby(keys, sort=True):
            by_variant = part.set_index(experiment.column)
            metric = str(part["metric"].iloc[0])
            cells = [
                _spread_cell(by_variant.loc[variant], metric, experiment.p_column)
                if variant in by_variant.index
                else "not measured"
                for variant in variants
            ]
            published = part["published"].dropna()
            row = [*(str(k) for k in key)]
            row += [_fmt(published.iloc[0], metric) if len(published) else "", *cells]
            rows.append(row)
        headers = [{"metric": "number"}.get(k, k) for k in keys]
        headers += ["published", *variants.values()]
        lines += [f"From `{path.parent.name}`:", ""]
        lines += _table(headers, rows)
    return lines


def _size(out_dir: Path) -> tuple[int, int]:
    files = [p for p in out_dir.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def write_record(
    results: PathLike,
    out_dir: PathLike,
    *,
    dpi: int = 45,
    name: str | None = None,
    summary_in: PathLike | None = None,
    report_dir: PathLike | None = None,
) -> Path:
    """Write the record of ``results`` into ``out_dir`` (replaced as a whole, atomically);
    with ``summary_in`` (the project's README.md), rewrite its summary block too. The report
    is read from ``report_dir`` (default ``<results>/report``, the report rule's; a run still
    going has its report in ``<results>/report-now``, written by ``tools/report_now.py``)."""
    results = Path(results)
    report = Path(report_dir) if report_dir is not None else results / "report"
    csv = report / "comparison.csv"
    if not csv.is_file():
        raise InputError(
            csv,
            "no report here: run `snakemake report` first (or, for a run still going, "
            "tools/report_now.py and then --report <results>/report-now)",
        )
    comparison = read_comparison(csv)
    info = run_info(report)
    logs = sorted((results / "run").glob("*.snakemake.log"))
    timing, wall = timing_table(logs)
    rows = load_panels()
    urls = {n: e.url for n, e in published_figure_entries().items()}
    figures_dir = results / "figures"
    ours = [
        p.relative_to(figures_dir).as_posix()
        for p in sorted(figures_dir.rglob("*"))
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
    ]
    pairs = pair_panels(rows, ours, None, urls)
    out_dir = Path(out_dir)
    with atomic.atomic_dir(out_dir) as tmp:
        pages = []
        for figure in FIGURES:
            page_pairs = [p for p in pairs if p.figure == figure]
            if not page_pairs and comparison[comparison["figure"] == figure].empty:
                continue
            text = figure_page(figure, page_pairs, comparison, rows, results, tmp, dpi)
            (tmp / f"{figure}.md").write_text("\n".join(text).rstrip() + "\n")
            pages.append(figure)
        leftover = unpaired_ours(rows, ours)
        if leftover:
            log.warning("figures no panel row claims: %s", ", ".join(leftover))
        comparison.to_csv(tmp / "comparison.csv", index=False)
        n_files, n_bytes = _size(tmp)
        size_text = f"{n_files + 1} files, {n_bytes / 1e6:.1f} MB before this README"
        text = readme(
            comparison,
            info,
            timing,
            wall,
            pages,
            pairs,
            name or results.name,
            size_text,
            invocations(results),
            projected_time(results),
        )
        for experiment in EXPERIMENTS:
            text += experiment_section(results, experiment)
        if leftover:
            text += [
                "Figures of ours that no row of resources/published_panels.tsv claims: "
                + ", ".join(leftover),
                "",
            ]
        (tmp / "README.md").write_text("\n".join(text).rstrip() + "\n")
    if summary_in is not None:
        link = os.path.relpath(out_dir / "README.md", Path(summary_in).resolve().parent)
        update_readme(
            summary_in,
            readme_summary(
                comparison, info, wall, pairs, invocations(results), Path(link).as_posix()
            ),
        )
    return out_dir


#: The block of README.md that ``make record`` rewrites with :func:`readme_summary`.
SUMMARY_START = "<!-- record-summary:start (written by make record) -->"
SUMMARY_END = "<!-- record-summary:end -->"


def readme_summary(
    comparison: pd.DataFrame,
    info: Mapping[str, Any],
    wall_hours: float,
    pairs: Sequence[Pair],
    runs: Sequence[tuple[str, str]],
    link: str,
) -> list[str]:
    """Five lines for the project's README: what the record was built from, how many
    published numbers reproduced (all, NER and CEBRA), what did not and how many of those
    carry a finding, the panels paired, and the link."""
    when = f"the run started {runs[0][0][:10]}" if runs else "a run"
    commits = sorted({c[:7] for _, c in runs})
    absent = len(info.get("absent_outputs") or [])
    state = (
        f"still going: {absent} of the analyses the report reads were absent"
        if absent
        else "complete"
    )
    wall = (
        f"{wall_hours:.1f} h of wall time" if np.isfinite(wall_hours) else "wall time not measured"
    )
    lines = [
        f"Built from {when} ({len(runs)} invocations at commit {', '.join(commits) or 'unknown'}; "
        f"{wall}; {state})."
    ]
    all_ok, all_n = _methods_share(comparison, sorted(set(comparison["method"])))
    ner_ok, ner_n = _methods_share(comparison, ["NER", "CEBRA"])
    lines.append(
        f"Directly comparable published numbers reproduced: {all_ok} of {all_n}"
        + (f" ({100 * all_ok / all_n:.0f} %)" if all_n else "")
        + f"; NER and CEBRA: {ner_ok} of {ner_n}"
        + (f" ({100 * ner_ok / ner_n:.0f} %)." if ner_n else ".")
    )
    failed = comparison[comparison["verdict"] == NOT_REPRODUCED]
    by_method = failed["method"].value_counts()
    explained = int((failed_findings(failed).map(len) > 0).sum())
    lines.append(
        f"Not reproduced: {len(failed)}"
        + (
            " ("
            + ", ".join(f"{m} {n}" for m, n in sorted(by_method.items(), key=lambda x: -x[1]))
            + ")"
            if len(failed)
            else ""
        )
        + f"; {explained} of them carry the finding of an investigation, given beside each."
    )
    published = [p for p in pairs if p.row.published]
    paired = [p for p in published if p.ours]
    lines.append(
        f"Published panels beside ours: {len(paired)} of {len(published)}; "
        "each other one says why it has no partner."
    )
    lines.append(f"Every number and panel, figure by figure: [{link}]({link}).")
    return [f"* {line}" for line in lines]


def update_readme(path: PathLike, lines: Sequence[str]) -> None:
    """Replace the block between :data:`SUMMARY_START` and :data:`SUMMARY_END` of ``path``."""
    path = Path(path)
    text = path.read_text()
    start, end = text.find(SUMMARY_START), text.find(SUMMARY_END)
    if start < 0 or end < start:
        raise InputError(
            path,
            f"no summary block to update: it needs the lines {SUMMARY_START} and {SUMMARY_END}",
        )
    body = "\n".join([SUMMARY_START, *lines, ""])
    atomic.write_text(path, text[:start] + body + text[end:])


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write the reproduction record of a results folder.")
    ap.add_argument("results", help="the workflow's results folder (with report/ and figures/)")
    ap.add_argument("out", nargs="?", default="docs/reproduction", help="where to write it")
    ap.add_argument("--dpi", type=int, default=45, help="resolution of the PNG panels")
    ap.add_argument(
        "--readme",
        help="also rewrite the summary block of this README (between its record-summary lines)",
    )
    ap.add_argument(
        "--report",
        help="the report folder to read (default RESULTS/report; a run still going: "
        "RESULTS/report-now, from tools/report_now.py)",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        out = write_record(
            args.results, args.out, dpi=args.dpi, summary_in=args.readme, report_dir=args.report
        )
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    n, size = _size(out)
    print(f"wrote {out}: {n} files, {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
