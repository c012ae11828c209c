"""Every panel the authors published, paired with ours (``resources/published_panels.tsv``).

The authors published each panel of the paper as a file of their ``NER_Figs_pdf`` folder
(88 PDFs and the demo GIF; ``data/manifest.tsv`` lists them as kind ``figure`` with their
URLs pinned to the authors' commit and their SHA-256). The panel table says, for each one,
which of our figure files is its partner (glob patterns under a results folder's
``figures/``), which published numbers it carries (a selector on the report's
``comparison.csv``) and, where there is no partner, why. Rows without a published file are
our panels the authors did not publish.

:func:`pair_panels` resolves the table against one run's figure files and the published
files present; the report's HTML (:mod:`ner_repro.report.render`) and the reproduction
record (:mod:`ner_repro.report.record`) both show the result, so the pairing lives only here.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pandas as pd

from ner_repro.core.errors import InputError
from ner_repro.core.types import PathLike

PANELS_TSV = Path(__file__).resolve().parents[2] / "resources" / "published_panels.tsv"
PANEL_COLUMNS = ["published", "figure", "ours", "numbers", "note"]
#: The pages of the paper, in order (the demo GIF last).
FIGURES = ("Fig1", "Fig2", "Fig3", "Fig4", "Fig5", "Fig6", "Fig7", "Fig8", "GIF")


@dataclass(frozen=True)
class PanelRow:
    """One row of the panel table."""

    published: str  # path under the published-figures folder ("" for ours-only panels)
    figure: str  # Fig1..Fig8 or GIF
    ours: tuple[str, ...]  # glob patterns under figures/
    numbers: tuple[tuple[str, tuple[str, ...]], ...]  # (comparison column, accepted values)
    note: str

    @property
    def name(self) -> str:
        """A short label: the published file name, else our first pattern."""
        return PurePosixPath(self.published or self.ours[0]).name


def parse_selector(text: str, where: PathLike | str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    out = []
    for part in filter(None, text.split("&")):
        key, sep, values = part.partition("=")
        if not sep or not key or not values:
            raise InputError(where, f"numbers selector {text!r}: expected column=value[|value]")
        out.append((key, tuple(values.split("|"))))
    return tuple(out)


def load_panels(path: PathLike = PANELS_TSV) -> list[PanelRow]:
    """The panel table; a malformed row is an error naming the file and line."""
    rows: list[PanelRow] = []
    lines = [(n, line) for n, line in enumerate(Path(path).read_text().splitlines(), start=1)]
    lines = [(n, line) for n, line in lines if line and not line.startswith("#")]
    if not lines or lines[0][1].split("\t") != PANEL_COLUMNS:
        raise InputError(path, f"expected the header {PANEL_COLUMNS}")
    for number, line in lines[1:]:
        fields = line.split("\t")
        where = f"{path}, line {number}"
        if len(fields) != len(PANEL_COLUMNS):
            raise InputError(where, f"expected {len(PANEL_COLUMNS)} fields, got {len(fields)}")
        published, figure, ours, numbers, note = fields
        if figure not in FIGURES:
            raise InputError(where, f"figure {figure!r} is not one of {list(FIGURES)}")
        patterns = tuple(p for p in ours.split(";") if p)
        if not published and not patterns:
            raise InputError(where, "a row needs a published panel, a panel of ours, or both")
        if published and not patterns and not note:
            raise InputError(where, f"{published} has no partner of ours and no note saying why")
        rows.append(PanelRow(published, figure, patterns, parse_selector(numbers, where), note))
    return rows


@dataclass
class Pair:
    """One published panel (or one panel of ours only) as a run resolves it."""

    row: PanelRow
    ours: list[str] = field(default_factory=list)  # matching files, relative to figures/
    published_path: Path | None = None  # the published file, where present locally
    url: str = ""  # its public URL, pinned to the authors' commit
    reason: str = ""  # why a side is empty

    @property
    def figure(self) -> str:
        return self.row.figure


def _matches(patterns: Iterable[str], files: Sequence[str]) -> list[str]:
    found: list[str] = []
    for pattern in patterns:
        found += [f for f in files if fnmatch.fnmatchcase(f, pattern) and f not in found]
    return found


def pair_panels(
    rows: Sequence[PanelRow],
    our_files: Iterable[str],
    published: Mapping[str, Path] | None = None,
    urls: Mapping[str, str] | None = None,
    *,
    published_absent: str = "",
) -> list[Pair]:
    """Each row with its files: ours (paths relative to ``figures/``, as POSIX strings), the
    published one present locally (``published``: table name -> path) and its URL.

    ``published_absent`` says why published panels are not present locally (e.g. the config
    key is unset); it becomes the reason of a pair whose published file is missing.
    ``published=None``: the published files are not looked for (linked only, as in the record)."""
    files = sorted({PurePosixPath(f).as_posix() for f in our_files})
    look = published is not None
    published = published or {}
    urls = urls or {}
    pairs = []
    for row in rows:
        pair = Pair(row, ours=_matches(row.ours, files))
        reasons = []
        if row.published:
            pair.published_path = published.get(row.published)
            pair.url = urls.get(row.published, "")
            if look and pair.published_path is None:
                reasons.append(
                    "the published panel is not present locally"
                    + (f" ({published_absent})" if published_absent else "")
                )
        if not pair.ours:
            if row.ours:
                reasons.append(
                    "no figure of this run matches " + ", ".join(row.ours) + " (not built)"
                )
            elif row.note:
                reasons.append(row.note)
        pair.reason = "; ".join(reasons)
        pairs.append(pair)
    return pairs


def relative_to_figures(files: Iterable[PathLike], root: PathLike) -> list[str]:
    """The files under ``root`` (a results folder's ``figures/``) as POSIX paths relative to it,
    the form :func:`pair_panels` matches; files elsewhere are left out."""
    out = []
    for f in files:
        try:
            out.append(Path(f).relative_to(Path(root)).as_posix())
        except ValueError:
            continue
    return out


def unpaired_ours(rows: Sequence[PanelRow], our_files: Iterable[str]) -> list[str]:
    """Our figure files that no row of the table claims (the table is then incomplete)."""
    files = sorted({PurePosixPath(f).as_posix() for f in our_files})
    claimed = set(_matches([p for r in rows for p in r.ours], files))
    return [f for f in files if f not in claimed]


def select(
    comparison: pd.DataFrame,
    selector: Sequence[tuple[str, Sequence[str]]],
    where: PathLike | str = PANELS_TSV,
) -> pd.DataFrame:
    """The rows of a comparison table whose columns take one of the selector's values
    (``((column, values), ...)``, as :func:`parse_selector` reads ``column=v1|v2&...``)."""
    keep = pd.Series(True, index=comparison.index)
    for column, values in selector:
        if column not in comparison.columns:
            raise InputError(where, f"selector names the unknown column {column!r}")
        keep &= comparison[column].astype(str).isin(list(values))
    return comparison[keep]


def select_numbers(row: PanelRow, comparison: pd.DataFrame) -> pd.DataFrame:
    """The rows of the report's comparison table that ``row``'s panel carries."""
    if not row.numbers or comparison.empty:
        return comparison.iloc[0:0]
    return select(comparison, (("figure", (row.figure,)), *row.numbers))


def unclaimed_numbers(
    rows: Sequence[PanelRow], comparison: pd.DataFrame, figure: str
) -> pd.DataFrame:
    """Published numbers of ``figure`` that no panel carries (the authors' stored summaries,
    numbers of unplotted splits): listed on the figure's page so that none is left out."""
    part = comparison[comparison["figure"] == figure]
    claimed: set[int] = set()
    for row in rows:
        if row.figure == figure:
            claimed.update(select_numbers(row, comparison).index)
    return part[~part.index.isin(list(claimed))]


def view_url(raw_url: str) -> str:
    """GitHub's page for a raw file URL (it shows a PDF or GIF in the browser)."""
    return raw_url.replace("/raw/", "/blob/", 1) if "github.com/" in raw_url else raw_url
