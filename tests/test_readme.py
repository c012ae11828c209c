"""README's "Use NER on your own data": its Python example and its command, run as written
(on small synthetic files, with fewer iterations so that the suite stays fast)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import numpy as np
import pytest

from ner_patch import NER
from tests.workflow_helpers import REPO_ROOT

SECTION = "## Use NER on your own data"


def section() -> str:
    text = (REPO_ROOT / "README.md").read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start : end if end > 0 else None]


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section(), flags=re.S)


@pytest.fixture
def my_files(tmp_path, monkeypatch):
    """The files the README's examples read: a hand on a closed path, 30 tuned neurons."""
    rng = np.random.default_rng(0)
    t = np.arange(1200)
    position = np.c_[np.sin(2 * np.pi * t / 97), np.cos(2 * np.pi * t / 71)]
    neural = np.tanh(position @ rng.normal(size=(2, 30))) + 0.3 * rng.normal(size=(1200, 30))
    np.save(tmp_path / "my_neural.npy", neural.astype(np.float32))
    np.save(tmp_path / "my_position.npy", position)
    np.savetxt(tmp_path / "my_position.csv", position, delimiter=",", header="x,y", comments="")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_python_example_runs_and_its_model_reloads(my_files):
    (code,) = blocks("python")
    assert len(code.strip().splitlines()) <= 12
    fast = code.replace("max_iterations=5000", "max_iterations=40")
    assert fast != code
    namespace: dict[str, object] = {}
    exec(compile(fast, "README.md", "exec"), namespace)
    embedding = namespace["embedding"]
    assert embedding.shape == (1200, 3)
    loaded = NER.load(my_files / "ner.pt")
    assert np.array_equal(loaded.transform(namespace["neural"]), embedding)


def test_the_command_runs(my_files):
    commands = [
        line for b in blocks("bash") for line in b.splitlines() if line.startswith("ner-embed")
    ]
    assert commands
    for line in commands:
        args = [*shlex.split(line)[1:], "--iterations", "40"]
        proc = subprocess.run(
            [sys.executable, "-m", "ner_repro.cli.embed", *args],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        out = my_files / args[args.index("--out") + 1]
        assert (out / "embedding.npz").is_file() and (out / "summary.json").is_file()
