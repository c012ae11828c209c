"""Every section of the specification cited in the code has a summary in ``docs/sources.md``.

The specification (``METHODS.md`` and ``reference/``) is not part of the repository; docstrings
and comments cite it as ``METHODS §3``, ``METHODS §5–6``, ``reference/fig4-7.md`` §2.3 (or the
bare file name, ``fig4-7.md`` §6.11, ``fig8-baselines.md`` §2.2, §2.3), ``reference/fig4-7-stats.csv``.
This test finds those citations and checks that ``docs/sources.md`` has a heading for each:
``## METHODS §<n>`` for a METHODS section, ``## reference/<file> §<section>`` for a section of a
reference document (a heading for §2 covers §2.1, §2.4, ...; ``§1.2–1.6`` covers 1.2 to 1.6), and
``## reference/<file>`` for a cited table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCES = REPO_ROOT / "docs" / "sources.md"

#: Where citations are looked for (folders are searched recursively), and in which files.
SCANNED = (
    "ner_repro",
    "ner_patch",
    "workflow",
    "config",
    "Snakefile",
    "benchmarks",
    "tools",
    "tests",
    "docs",
    "README.md",
    "CHANGELOG.md",
)
SUFFIXES = {".py", ".smk", ".yaml", ".yml", ".ipynb", ".md"}
#: ``reference/<word>`` that is not a citation.
NOT_CITATIONS = {"positive"}

#: One section: ``§3``, ``§2.4``, ``§3a``, ranges ``§5–6`` / ``§1.2-1.5``.
_SEC = r"§[ \t]?\d+(?:\.\d+)?[a-z]?(?:[ \t]?[–-][ \t]?\d+(?:\.\d+)?)?"
#: A list of sections after a citation: ``§2, §4, §6``, ``§2.4 and §3``, ``§1.4 / §1.9``.
_SECTIONS = rf"{_SEC}(?:[ \t]*(?:,|and|or|/)[ \t]*{_SEC})*"
_METHODS = re.compile(rf"\bMETHODS(?:\.md)?`{{0,2}}[ \t]+(?P<sections>{_SECTIONS})")
#: A reference file, with or without ``reference/``, optionally followed by its sections.
_FILE = re.compile(
    rf"(?:\breference/|(?<![\w/-]))(?P<file>fig\d[\w-]*\.(?:md|csv))"
    rf"(?:`{{0,2}}[ \t]*(?P<sections>{_SECTIONS}))?"
)
_ANY_REFERENCE = re.compile(r"\breference/([A-Za-z0-9_.-]*[A-Za-z0-9_-])")
_ONE_SEC = re.compile(r"§[ \t]?(\d+(?:\.\d+)?[a-z]?)(?:[ \t]?[–-][ \t]?(\d+(?:\.\d+)?))?")


def _expand(sections: str | None) -> set[str]:
    """``"§5–6"`` -> {"5", "6"}; ``"§1.2-1.4, §2"`` -> {"1.2", "1.3", "1.4", "2"}."""
    out: set[str] = set()
    for m in _ONE_SEC.finditer(sections or ""):
        first, last = m.group(1), m.group(2)
        if last is None:
            out.add(first)
            continue
        a, b = first.split("."), last.split(".")
        if len(a) == 1 and len(b) == 1:  # §5–6
            out.update(str(i) for i in range(int(a[0]), int(b[0]) + 1))
        elif len(a) == 2 and len(b) == 2 and a[0] == b[0]:  # §1.2-1.5
            out.update(f"{a[0]}.{i}" for i in range(int(a[1]), int(b[1]) + 1))
        else:
            out.update({first, last})
    return out


def _top(section: str) -> str:
    return re.match(r"\d+", section).group(0)


def citations(text: str) -> Iterator[tuple[str, str | None]]:
    """``(document, section or None)`` of every citation in ``text``.

    ``document`` is ``"METHODS"`` or ``"reference/<file>"``; ``None``: the whole file.
    """
    for m in _METHODS.finditer(text):
        for sec in sorted(_expand(m.group("sections"))):
            yield "METHODS", sec
    for m in _FILE.finditer(text):
        doc = f"reference/{m.group('file')}"
        secs = _expand(m.group("sections"))
        if not secs:
            yield doc, None
        for sec in sorted(secs):
            yield doc, sec
    for m in _ANY_REFERENCE.finditer(text):
        name = m.group(1)
        if name not in NOT_CITATIONS and not re.fullmatch(r"fig\d[\w-]*\.(?:md|csv)", name):
            yield f"reference/{name}", None  # an unknown file: no heading will cover it


def headings(markdown: str) -> dict[str, set[str]]:
    """``document -> sections covered`` by the ``## `` headings of ``docs/sources.md``."""
    out: dict[str, set[str]] = {}
    for line in markdown.splitlines():
        if not line.startswith("## "):
            continue
        m = re.match(rf"## (METHODS|reference/[\w.-]+)(?:[ \t]+({_SEC}))?", line)
        if m:
            out.setdefault(m.group(1), set()).update(_expand(m.group(2)))
    return out


def uncovered(cited: Iterable[tuple[str, str | None]], covered: dict[str, set[str]]) -> set:
    missing = set()
    for doc, sec in cited:
        have = covered.get(doc)
        if have is None:
            missing.add((doc, sec))
        elif sec is not None and sec not in have and _top(sec) not in have:
            missing.add((doc, sec))
    return missing


def _scanned_files() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED:
        path = REPO_ROOT / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += [
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and p.suffix in SUFFIXES
                and ".ipynb_checkpoints" not in p.parts
                and p.resolve() != Path(__file__).resolve()
            ]
    return files


def _cited_by_file() -> dict[Path, set[tuple[str, str | None]]]:
    out = {}
    for path in _scanned_files():
        found = set(citations(path.read_text(encoding="utf-8", errors="replace")))
        if found:
            out[path] = found
    return out


@pytest.fixture(scope="module")
def covered() -> dict[str, set[str]]:
    return headings(SOURCES.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cited() -> dict[Path, set[tuple[str, str | None]]]:
    return _cited_by_file()


def test_every_cited_section_has_a_heading(cited, covered) -> None:
    assert sum(len(v) for v in cited.values()) > 50, "the citation search found (almost) nothing"
    problems = sorted(
        f"{path.relative_to(REPO_ROOT)}: {doc}" + (f" §{sec}" if sec else "")
        for path, found in cited.items()
        for doc, sec in uncovered(found, covered)
    )
    assert not problems, "cited but not summarised in docs/sources.md:\n" + "\n".join(problems)


def test_files_that_cite_the_specification_point_to_docs_sources(cited) -> None:
    lacking = sorted(
        str(p.relative_to(REPO_ROOT))
        for p in cited
        if p != SOURCES and "docs/sources.md" not in p.read_text(encoding="utf-8", errors="replace")
    )
    assert not lacking, "cite the specification without pointing to docs/sources.md: " + ", ".join(
        lacking
    )


def test_headings_have_unique_stable_anchors() -> None:
    lines = SOURCES.read_text(encoding="utf-8").splitlines()
    ids = []
    for i, line in enumerate(lines):
        if line.startswith("## "):
            before = [ln for ln in lines[max(0, i - 2) : i] if ln.strip()]
            m = re.fullmatch(r'<a id="([a-z0-9-]+)"></a>', before[-1] if before else "")
            assert m, f"no anchor before {line!r}"
            ids.append(m.group(1))
    assert ids and len(ids) == len(set(ids)), "anchors must be unique"


def test_the_check_catches_a_missing_section(covered) -> None:
    sample = (
        "METHODS §5–6 and ``reference/fig4-7.md`` §2.2–2.4, ``fig8-baselines.md`` §2.2, §2.5; "
        "reference/fig4-7-stats.csv; the reference/positive pair"
    )
    found = set(citations(sample))
    assert {("METHODS", "5"), ("METHODS", "6"), ("reference/fig4-7.md", "2.3")} <= found
    assert ("reference/fig8-baselines.md", "2.5") in found
    assert ("reference/fig4-7-stats.csv", None) in found
    assert not any("positive" in doc for doc, _ in found)
    assert not uncovered(found, covered)
    for text, missing in (
        ("METHODS §9", ("METHODS", "9")),
        ("``reference/fig4-7.md`` §5", ("reference/fig4-7.md", "5")),
        ("``fig8-baselines.md`` §3.1", ("reference/fig8-baselines.md", "3.1")),
        ("reference/fig9-notes.md", ("reference/fig9-notes.md", None)),
    ):
        assert uncovered(citations(text), covered) == {missing}, text
