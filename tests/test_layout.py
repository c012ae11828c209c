"""The package's layout: sub-packages by stage, imports only downward, no import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "ner_repro"
#: The stages, lowest first: a module may import from its own stage or a lower one.
LAYERS = (
    "core",
    "data",
    "synthetic",
    "analysis",
    "methods",
    "plan",
    "plotting",
    "report",
    "cli",
)


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path, *, type_only_too: bool = False) -> set[str]:
    """``ner_repro`` modules imported by ``path`` at run time (lazy ones included; type-only
    ones, under ``if TYPE_CHECKING:``, only with ``type_only_too``)."""
    tree = ast.parse(path.read_text())
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if (
            not type_only_too
            and isinstance(node, ast.If)
            and "TYPE_CHECKING" in ast.unparse(node.test)
        ):
            type_only |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ner_repro"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(
                    sub
                    if (ROOT.parent / sub.replace(".", "/")).exists()
                    or (ROOT.parent / (sub.replace(".", "/") + ".py")).exists()
                    else node.module
                )
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("ner_repro")}
    return found


MODULES = {_module(p): p for p in sorted(ROOT.rglob("*.py"))}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_module_belongs_to_a_stage():
    loose = [m for m in MODULES if m != "ner_repro" and _layer(m) is None]
    assert not loose, f"modules outside the stage sub-packages {LAYERS}: {loose}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_only_downward(module):
    mine = _layer(module)
    if mine is None:
        return
    up = sorted(m for m in _runtime_imports(MODULES[module]) if (_layer(m) or 0) > mine)
    assert not up, f"{module} ({LAYERS[mine]}) imports from a higher stage: {up}"


def test_no_import_cycle():
    # Type-only imports count: an import hidden under TYPE_CHECKING still closes a cycle of
    # modules that call each other (the plan's Fig8 spec once called back into the Plan).
    graph = {
        m: {i for i in _runtime_imports(p, type_only_too=True) if i in MODULES and i != m}
        for m, p in MODULES.items()
    }
    # a package's __init__ importing its own submodules is not a cycle of concepts
    for m in graph:
        graph[m] = {i for i in graph[m] if not i.startswith(m + ".")}
    state: dict[str, int] = {}

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*stack[stack.index(n) :], n]))
            if n not in state:
                visit(n, [*stack, n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])


def test_the_plan_has_no_type_only_import():
    hidden = [
        m
        for m, p in MODULES.items()
        if m.startswith("ner_repro.plan")
        and _runtime_imports(p, type_only_too=True) != _runtime_imports(p)
    ]
    assert not hidden, f"type-only imports in the plan (import downward instead): {hidden}"


def test_rule_files_import_only_the_plan():
    rules = [ROOT.parent / "Snakefile", *sorted((ROOT.parent / "workflow" / "rules").glob("*.smk"))]
    for path in rules:
        for line in path.read_text().splitlines():
            words = line.split()
            if words[:1] in (["import"], ["from"]) and words[1].startswith("ner_repro"):
                assert words[1].split(".")[:2] == ["ner_repro", "plan"], f"{path.name}: {line}"


#: Values with one home (issue 23): the 30-ms bin (core.session.BIN_S/BIN_MS), the number of
#: directions (core.session.N_DIRECTIONS); written elsewhere as literals they drift apart.
ONE_HOME = {
    r"\*\s*30\.0\b|\b30\.0\s*\*": "the bin width in ms: core.session.BIN_MS",
    r"=\s*0\.03\b(?!\s*[,)]?\s*#\s*not a bin)": "the bin width in s: core.session.BIN_S",
    r"\b(?:range|arange)\(8\)": "the number of directions: core.session.N_DIRECTIONS",
}


@pytest.mark.parametrize("pattern", sorted(ONE_HOME))
def test_constants_have_one_home(pattern):
    import re

    home = ROOT / "core" / "session.py"
    found = [
        f"{path.relative_to(ROOT.parent)}:{n}"
        for path in MODULES.values()
        if path != home
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(pattern, line.split("#")[0])
        and "TOLERANCES" not in line
        and "final_loss" not in line
        and "pad" not in line
    ]
    assert not found, f"{ONE_HOME[pattern]}, not a literal: {found}"
