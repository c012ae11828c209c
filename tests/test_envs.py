"""Each rule's conda environment (envs/*.yaml) lists every package its code imports.

For every rule of the Snakefile and workflow/rules/*.smk (read as text, so that rules defined
only under some configuration are checked too), the code it runs is its ``script:`` (or
``notebook:``) and, for the figure rules, the notebook that papermill executes. From that code
the imports are followed through the project's own packages (ner_repro, ner_patch) with
:mod:`ast`: every import of every module reached counts, also inside functions, except
imports under ``if TYPE_CHECKING:`` (never run) and imports directly inside ``try:`` blocks
that handle ``ImportError`` (the code runs without them). The method implementations that
ner_repro.methods.registry imports by name count for the code that runs methods. Module
names are mapped to conda / pip package names and looked up in the rule's env file (its
dependencies and its pip: list).

Conda itself is not needed: nothing is installed, only the files are read.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from ner_repro.plan.specs import FIGURES, FigureSpec

REPO_ROOT = Path(__file__).resolve().parents[1]
RULES_DIR = REPO_ROOT / "workflow" / "rules"
PROJECT_PACKAGES = ("ner_repro", "ner_patch")

#: Import name -> package name (conda-forge, or PyPI for an env's pip: list), where they differ.
#: Anything else: the import name, lower case, ``_`` -> ``-``.
MODULE_PACKAGES = {
    "PIL": "pillow",
    "sklearn": "scikit-learn",
    "yaml": "pyyaml",
    "dPCA": "dpca",
    "umap": "umap-learn",
    "torch": "pytorch",
    "mpl_toolkits": "matplotlib",  # shipped by matplotlib
}
#: Names under which an env may list a package (conda-forge and PyPI spell some differently).
PACKAGE_ALIASES = {
    "matplotlib": {"matplotlib", "matplotlib-base"},
    "pytorch": {"pytorch", "torch", "pytorch-cpu", "pytorch-gpu"},
}
#: Packages that import modules without declaring them (pip would not install them).
UNDECLARED_IMPORTS = {"dPCA": ("numexpr", "numba")}
#: What a rule needs besides its imports: papermill starts the notebook's kernel.
NOTEBOOK_KERNEL = "ipykernel"


#: The one module that imports modules by name at run time: its ``get`` (called by
#: ``run_method``) imports the implementation of a method kind (ner_repro.methods.kinds.KINDS)
#: when a method is run. Those modules are followed for the code that runs methods (the
#: training scripts), not for every importer of ner_repro.methods (plan, report, figures).
DYNAMIC_IMPORTER = "ner_repro.methods.registry"
METHOD_RUNNERS = ("run_method", "get")  # registry functions that import a kind's module


def method_implementations() -> list[str]:
    from ner_repro.methods.kinds import KINDS

    return sorted({kind.implementation.split(":")[0] for kind in KINDS.values()})


def runs_methods(tree: ast.AST) -> bool:
    """Whether the code calls the registry's run_method or get (imported from
    ner_repro.methods or its registry, or through either module)."""
    modules = {"ner_repro.methods", DYNAMIC_IMPORTER}
    functions, aliases = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and not node.level:
            for alias in node.names:
                name = alias.asname or alias.name
                if node.module in modules and alias.name in METHOD_RUNNERS:
                    functions.add(name)
                elif f"{node.module}.{alias.name}" in modules:
                    aliases.add(name)
        elif isinstance(node, ast.Import):
            aliases |= {alias.asname or alias.name for alias in node.names if alias.name in modules}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in functions:
                return True
            if (
                isinstance(func, ast.Attribute)
                and func.attr in METHOD_RUNNERS
                and ast.unparse(func.value) in aliases
            ):
                return True
    return False


# -- the rules --------------------------------------------------------------------------------


@dataclass
class Rule:
    name: str
    source: Path  # the .smk file (or the Snakefile)
    line: int  # of its `rule` keyword
    conda: Path | None = None
    code: list[Path] = field(default_factory=list)  # scripts and notebooks it runs
    runs_notebook: bool = False
    other: list[str] = field(default_factory=list)  # shell:, run:, wrapper: ... (unchecked)


RULE_RE = re.compile(r"^(?P<indent>[ \t]*)rule(?:[ \t]+(?P<name>\w+))?[ \t]*:[ \t]*$")
DIRECTIVE_RE = re.compile(r"^(?P<indent>[ \t]+)(?P<key>\w+):[ \t]*(?P<value>.*)$")
CODE_DIRECTIVES = {"script", "notebook"}
UNCHECKED_DIRECTIVES = {"shell", "run", "wrapper", "cwl", "template_engine"}


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _directives(block: list[str]) -> dict[str, str]:
    """The rule's directives and their values (the first line of each value)."""
    out: dict[str, str] = {}
    body = [line for line in block if line.strip()]
    if not body:
        return out
    level = _indent(body[0])
    in_docstring = False
    for i, line in enumerate(body):
        quotes = line.count('"""') + line.count("'''")
        if in_docstring or (quotes and _indent(line) == level and line.lstrip()[:1] in "\"'"):
            in_docstring = (in_docstring + quotes) % 2 == 1
            continue
        m = DIRECTIVE_RE.match(line)
        if not m or _indent(line) != level:
            continue
        value = m["value"].strip()
        if not value and i + 1 < len(body) and _indent(body[i + 1]) > level:
            value = body[i + 1].strip()
        out[m["key"]] = value.rstrip(",")
    return out


def _path(value: str, smk: Path) -> Path:
    return (smk.parent / ast.literal_eval(value)).resolve()


def parse_rules(smk: Path) -> list[Rule]:
    lines = smk.read_text().splitlines()
    rules = []
    for i, line in enumerate(lines):
        m = RULE_RE.match(line)
        if not m:
            continue
        block = []
        for following in lines[i + 1 :]:
            if following.strip() and _indent(following) <= len(m["indent"]):
                break
            block.append(following)
        directives = _directives(block)
        template = m["name"] or directives.get("name")
        assert template, f"{smk.name}:{i + 1}: a rule without a name"
        conda = _path(directives["conda"], smk) if "conda" in directives else None
        code = [_path(directives[k], smk) for k in CODE_DIRECTIVES if k in directives]
        other = sorted(UNCHECKED_DIRECTIVES & directives.keys())
        if template == 'f"render_{_spec.name}"':
            # figures.smk: one rule per figure notebook, which papermill executes.
            assert "notebook=_spec.notebook" in "\n".join(block), "teach test_envs.py figures.smk"
            for fig in FIGURES:
                notebook = Path(FigureSpec(fig).notebook)
                if notebook.is_file():
                    rules.append(Rule(f"render_{fig}", smk, i + 1, conda, [*code, notebook], True))
            continue
        assert m["name"], f"{smk.name}:{i + 1}: teach test_envs.py the rule name {template}"
        runs_notebook = "notebook" in directives
        rules.append(Rule(m["name"], smk, i + 1, conda, code, runs_notebook, other))
    return rules


RULE_FILES = [REPO_ROOT / "Snakefile", *sorted(RULES_DIR.glob("*.smk"))]
RULES = [rule for smk in RULE_FILES for rule in parse_rules(smk)]
CODE_RULES = [rule for rule in RULES if rule.code or rule.other]


# -- imports ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    module: str  # absolute dotted name
    names: tuple[str, ...] = ()  # for ``from module import a, b``: a, b (maybe submodules)


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names = {n.id for n in ast.walk(handler.type) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(handler.type) if isinstance(n, ast.Attribute)}
    return bool(names & {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


TRY_NODES = (ast.Try, *([ast.TryStar] if hasattr(ast, "TryStar") else []))
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def scan_imports(source: str | ast.AST, package: str = "") -> list[Import]:
    """Every import the code can run (module level and in functions), as absolute names.

    ``package`` is the code's package, for relative imports.
    """
    found: list[Import] = []

    def visit(node: ast.AST, optional: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:  # the body only runs under a type checker
                visit(child, optional)
            return
        if isinstance(node, TRY_NODES) and any(_catches_import_error(h) for h in node.handlers):
            for child in node.body:  # what it imports directly is optional
                visit(child, True)
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                visit(child, optional)
            return
        if isinstance(node, SCOPES):
            optional = False  # a function's imports run when it is called, outside the try
        if isinstance(node, ast.Import) and not optional:
            found.extend(Import(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not optional:
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([module] if module else [])])
            found.append(Import(module, tuple(alias.name for alias in node.names)))
        for child in ast.iter_child_nodes(node):
            visit(child, optional)

    visit(ast.parse(source) if isinstance(source, str) else source, False)
    return found


def notebook_source(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    lines = [
        line
        for cell in cells
        if cell["cell_type"] == "code"
        for line in "".join(cell["source"]).splitlines()
        if not line.lstrip().startswith(("%", "!"))  # IPython magics
    ]
    return "\n".join(lines)


def module_file(module: str) -> Path | None:
    """The project's file of a dotted module name (None: not a project module)."""
    if module.split(".")[0] not in PROJECT_PACKAGES:
        return None
    base = REPO_ROOT.joinpath(*module.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def module_name(path: Path) -> tuple[str, str]:
    """(module, package) of a project file."""
    parts = list(path.resolve().relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
        return ".".join(parts), ".".join(parts)
    return ".".join(parts), ".".join(parts[:-1])


def third_party_imports(code: list[Path]) -> dict[str, list[str]]:
    """Top-level third-party modules the code imports, each with the chain that imports it."""
    found: dict[str, list[str]] = {}
    chains: dict[Path, list[str]] = {}
    todo: list[tuple[Path, list[str]]] = [(p, []) for p in code]
    while todo:
        path, chain = todo.pop(0)
        if path in chains:
            continue
        chain = [*chain, str(path.relative_to(REPO_ROOT))]
        chains[path] = chain
        if path.suffix == ".ipynb":
            source, (module, package) = notebook_source(path), ("", "")
        else:
            source = path.read_text()
            in_project = any(path.is_relative_to(REPO_ROOT / p) for p in PROJECT_PACKAGES)
            module, package = module_name(path) if in_project else ("", "")
        tree = ast.parse(source)
        imports = scan_imports(tree, package)
        if not module and runs_methods(tree):  # a script or notebook that runs methods
            imports += [Import(name) for name in method_implementations()]
        for imp in imports:
            top = imp.module.split(".")[0]
            if top in PROJECT_PACKAGES:
                # Importing a.b.c runs a, a.b and a.b.c; `from a.b import c` may import a.b.c.
                parts = imp.module.split(".")
                names = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
                names += [f"{imp.module}.{name}" for name in imp.names]
                todo += [(f, chain) for f in map(module_file, names) if f is not None]
            elif top and top not in sys.stdlib_module_names:
                found.setdefault(top, chain)
                for extra in UNDECLARED_IMPORTS.get(top, ()):
                    found.setdefault(extra, [*chain, f"({top})"])
    return found


# -- the envs ---------------------------------------------------------------------------------


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def env_packages(path: Path) -> set[str]:
    """Every package an env file lists (conda dependencies and pip: entries), normalised."""
    env = yaml.safe_load(path.read_text())
    entries: list[str] = []
    for dep in env.get("dependencies") or []:
        if isinstance(dep, dict):
            entries += dep.get("pip") or []
        else:
            entries.append(dep)
    names = set()
    for entry in entries:
        m = re.match(r"\s*(?:[\w.-]+::)?([A-Za-z0-9][A-Za-z0-9_.-]*)", str(entry))
        if m:
            names.add(normalise(m[1]))
    return names


def package_of(module: str) -> str:
    return MODULE_PACKAGES.get(module, normalise(module))


def is_listed(package: str, listed: set[str]) -> bool:
    return bool({normalise(a) for a in PACKAGE_ALIASES.get(package, {package})} & listed)


def missing_packages(rule: Rule) -> dict[str, str]:
    """Package -> why the rule needs it, for each one its env file does not list."""
    assert rule.conda is not None
    listed = env_packages(rule.conda)
    needed = {
        package_of(module): " -> ".join(chain) + f" imports {module}"
        for module, chain in third_party_imports(rule.code).items()
    }
    if rule.runs_notebook:
        needed[NOTEBOOK_KERNEL] = "papermill runs the notebook in the env's Python kernel"
    return {pkg: why for pkg, why in sorted(needed.items()) if not is_listed(pkg, listed)}


# -- tests ------------------------------------------------------------------------------------


def test_every_rule_is_read():
    names = {rule.name for rule in RULES}
    expected = {
        "simulate_recording",
        "fetch_recordings",
        "ingest_session",
        "compile_umap",
        "train_embedding",
        "train_umap",
        "mcmaze_synthetic_nwb",
        "mcmaze_sessions",
        "mcmaze_analysis",
        "mcmaze_analysis_published",
        "explained_variance",
        "cross_decode",
        "method_stats",
        "rotate_to_anchor",
        "insample_decoding",
        "report",
        "all_figures",
        "all",
        *(f"render_{fig}" for fig in FIGURES),
    }
    assert expected <= names
    keywords = {
        (smk, i + 1)
        for smk in RULE_FILES
        for i, line in enumerate(smk.read_text().splitlines())
        if RULE_RE.match(line)
    }
    assert {(rule.source, rule.line) for rule in RULES} == keywords


@pytest.mark.parametrize("rule", CODE_RULES, ids=lambda rule: rule.name)
def test_rule_has_an_env_and_checkable_code(rule):
    assert not rule.other, f"{rule.name}: {rule.other} not checked by test_envs.py"
    assert rule.conda is not None, f"{rule.name} runs code but has no conda: env"
    assert rule.conda.is_file(), rule.conda
    for path in rule.code:
        assert path.is_file(), f"{rule.name}: {path}"


@pytest.mark.parametrize(
    "rule", [r for r in CODE_RULES if r.conda is not None], ids=lambda rule: rule.name
)
def test_env_lists_what_the_rule_imports(rule):
    missing = missing_packages(rule)
    assert not missing, (
        f"{rule.conda.relative_to(REPO_ROOT)} (rule {rule.name}) does not list:\n"
        + "\n".join(f"  {pkg}: {why}" for pkg, why in missing.items())
    )


def test_dynamic_imports_are_followed():
    """Only the registry imports by name, and only scripts run methods (so that following
    the method implementations from the scripts that run methods covers every dynamic import)."""
    dynamic, runners = [], []
    for package in PROJECT_PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            module = module_name(path)[0]
            if module == DYNAMIC_IMPORTER:
                continue
            tree = ast.parse(path.read_text())
            where = f"{path.relative_to(REPO_ROOT)}"
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    func = node.func
                    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                    if name in ("import_module", "__import__"):
                        dynamic.append(f"{where}:{node.lineno}")
            if runs_methods(tree):
                runners.append(where)
    assert not dynamic, f"imports by name, not followed by test_envs.py: {dynamic}"
    assert not runners, f"runs methods, not followed by test_envs.py: {runners}"
    assert module_file(DYNAMIC_IMPORTER) is not None
    assert all(module_file(m) is not None for m in method_implementations())
    scripts = [rule for rule in CODE_RULES if rule.name in ("train_embedding", "train_umap")]
    assert len(scripts) == 2
    assert all(runs_methods(ast.parse(rule.code[0].read_text())) for rule in scripts)


def test_import_scanner():
    source = """
import os
import numpy as np
from typing import TYPE_CHECKING
from . import sibling
from .sub import thing
if TYPE_CHECKING:
    import pandas
else:
    import scipy
try:
    import torch
    def f():
        import cebra
except ImportError:
    import h5py
def g():
    import sklearn.linear_model
    from matplotlib import pyplot
"""
    found = {imp.module for imp in scan_imports(source, "ner_repro.core")}
    assert found == {
        "os",
        "numpy",
        "typing",
        "ner_repro.core",
        "ner_repro.core.sub",
        "scipy",
        "cebra",  # defined in an optional try, but runs when f() is called
        "h5py",
        "sklearn.linear_model",
        "matplotlib",
    }


def test_method_runners_are_recognised():
    assert runs_methods(ast.parse("from ner_repro.methods import run_method\nrun_method(s)"))
    assert runs_methods(ast.parse("from ner_repro import methods\nmethods.run_method(s)"))
    assert runs_methods(ast.parse("import ner_repro.methods.registry as r\nr.get('ner')"))
    assert not runs_methods(ast.parse("methods = {}\nmethods.get('NER')"))
    assert not runs_methods(ast.parse("from ner_repro.methods import kinds\nkinds.get('x')"))


def test_missing_package_is_reported(tmp_path):
    """The check fails when an env drops a package the rule's code imports."""
    rule = next(r for r in CODE_RULES if r.name == "ingest_session")
    env = yaml.safe_load(rule.conda.read_text())
    env["dependencies"] = [d for d in env["dependencies"] if not str(d).startswith("h5py")]
    trimmed = tmp_path / "data.yaml"
    trimmed.write_text(yaml.safe_dump(env))
    missing = missing_packages(Rule(rule.name, rule.source, rule.line, trimmed, rule.code))
    assert list(missing) == ["h5py"], missing
    assert missing["h5py"].startswith("workflow/scripts/ingest_session.py -> ner_repro/")
    assert missing["h5py"].endswith(" imports h5py")
