"""What we found when a published number did not reproduce (``resources/findings.tsv``).

A verdict says *that* a number differs beyond its tolerance; a finding says *why*, from an
investigation whose measurement anyone can rerun: each row selects comparison rows (the
selector syntax of :func:`ner_repro.report.panels.parse_selector`), states the cause found and
names the command that measures it. The reproduction record shows the finding beside every
number it selects that did not reproduce, and says "not investigated" where none does. The
file holds no result: the numbers stay in the comparison table and in the evidence's output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ner_repro.core.errors import InputError
from ner_repro.core.types import PathLike
from ner_repro.report.panels import parse_selector, select

FINDINGS_TSV = Path(__file__).resolve().parents[2] / "resources" / "findings.tsv"
FINDING_COLUMNS = ["numbers", "finding", "evidence"]
NOT_INVESTIGATED = "not investigated yet"


@dataclass(frozen=True)
class Finding:
    selector: tuple[tuple[str, tuple[str, ...]], ...]
    text: str
    evidence: str


def load_findings(path: PathLike = FINDINGS_TSV) -> list[Finding]:
    """The findings table; a malformed row is an error naming the file and line."""
    rows = [
        (n, line)
        for n, line in enumerate(Path(path).read_text().splitlines(), start=1)
        if line and not line.startswith("#")
    ]
    if not rows or rows[0][1].split("\t") != FINDING_COLUMNS:
        raise InputError(path, f"expected the header {FINDING_COLUMNS}")
    out = []
    for number, line in rows[1:]:
        fields = line.split("\t")
        where = f"{path}, line {number}"
        if len(fields) != len(FINDING_COLUMNS) or not fields[0] or not fields[1]:
            raise InputError(where, "expected a selector, a finding and its evidence")
        out.append(Finding(parse_selector(fields[0], where), fields[1], fields[2]))
    return out


def finding_numbers(comparison: pd.DataFrame, findings: Sequence[Finding]) -> pd.Series:
    """Per comparison row, the numbers of the findings that select it: 1-based, in the order of
    ``findings`` (the rows of findings.tsv), as a tuple (empty where none selects the row)."""
    hits: dict[int, list[int]] = {}
    for number, f in enumerate(findings, start=1):
        for i in select(comparison, f.selector, FINDINGS_TSV).index:
            hits.setdefault(int(i), []).append(number)
    return pd.Series(
        [tuple(hits.get(int(i), ())) for i in comparison.index],
        index=comparison.index,
        dtype=object,
    )
