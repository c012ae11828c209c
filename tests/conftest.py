"""Shared fixtures: where the real data lives, and small synthetic sessions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

REPO_ROOT = Path(__file__).resolve().parents[1]
# CI and development machines keep the shared data beside the clone (../shared).
SHARED_DIR = Path(os.environ.get("NER_SHARED_DIR", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def ner_sessions_dir() -> Path:
    """The authors' pre-smoothed recordings (13 files); tests skip where absent."""
    path = SHARED_DIR / "data" / "ner-sessions"
    if not path.is_dir():
        pytest.skip(f"real recordings not found at {path}")
    return path


@pytest.fixture(scope="session")
def published_dir() -> Path:
    """The authors' published intermediates (``data_NER``); tests skip where absent."""
    path = SHARED_DIR / "data" / "ner-published"
    if not path.is_dir():
        pytest.skip(f"published intermediates not found at {path}")
    return path


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The spec's tables of published numbers; tests skip where absent."""
    path = SHARED_DIR / "spec" / "reference"
    if not path.is_dir():
        pytest.skip(f"reference tables not found at {path}")
    return path


@pytest.fixture(scope="session")
def bench_module():
    """Load a script of ``benchmarks/`` by name (they are not a package; their folder goes on
    ``sys.path`` for the helpers they import from each other)."""
    import importlib.util
    import sys

    bench = Path(__file__).resolve().parents[1] / "benchmarks"

    def load(name: str):
        if str(bench) not in sys.path:
            sys.path.insert(0, str(bench))
        spec = importlib.util.spec_from_file_location(name, bench / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
