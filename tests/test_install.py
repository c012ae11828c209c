"""NER installable on its own: a plain ``pip install`` of the project in a fresh virtual
environment gives ``ner_patch`` and the ``ner-embed`` command, fits, saves and loads NER,
and installs none of the workflow's packages (Snakemake, umap-learn, papermill), which are
extras (``[workflow]``, ``[baselines]``, ``[mcmaze]``, ``[dev]``).

Slow (a few minutes: pip resolves and installs cebra and its dependencies; torch comes from
the CPU build named by ``NER_TORCH_SPEC``, default ``torch==2.13.0`` as the Makefile's).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TORCH_SPEC = os.environ.get("NER_TORCH_SPEC", "torch==2.13.0")

SCRIPT = """
import importlib.util, numpy as np, torch
from ner_patch import NER
rng = np.random.default_rng(0)
t = np.arange(600)
labels = np.c_[np.sin(t / 15), np.cos(t / 23)]
neural = np.tanh(labels @ rng.normal(size=(2, 20))) + 0.1 * rng.normal(size=(600, 20))
torch.manual_seed(0)
model = NER(batch_size=64, output_dimension=3, max_iterations=20).fit(neural, labels)
model.save("ner.pt")
same = np.array_equal(NER.load("ner.pt").transform(neural), model.transform(neural))
absent = [m for m in ("snakemake", "umap", "papermill", "pynwb", "dPCA")
          if importlib.util.find_spec(m) is not None]
print("RESULT", same, absent)
"""


def test_extras_hold_the_workflow_and_the_plain_install_only_what_ner_imports():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"])
    for heavy in ("snakemake", "umap-learn", "papermill", "pynwb", "dPCA"):
        assert heavy not in base
    extras = project["optional-dependencies"]
    assert {"workflow", "baselines", "mcmaze", "dev"} <= set(extras)
    assert any(d.startswith("snakemake>=") for d in extras["workflow"])
    assert "ner-repro[workflow]" in extras["dev"]  # make install: everything


@pytest.mark.slow
def test_plain_install_in_a_fresh_venv_fits_saves_and_loads_ner(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"

    def pip(*args: str) -> None:
        proc = subprocess.run(
            [str(py), "-m", "pip", "install", "--quiet", *args],
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    pip(*TORCH_SPEC.split())
    pip(str(REPO))
    proc = subprocess.run(
        [str(py), "-c", SCRIPT], capture_output=True, text=True, cwd=tmp_path, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT"))
    assert line == "RESULT True []", line
    help_ = subprocess.run(
        [str(venv / "bin" / "ner-embed"), "--help"], capture_output=True, text=True, timeout=300
    )
    assert help_.returncode == 0 and "--neural" in help_.stdout


@pytest.mark.slow
def test_wheelhouse_installs_the_workflow_with_no_index(tmp_path):
    """``tools/wheelhouse.py`` (``make wheelhouse``) gathers every dependency but torch; a fresh
    venv with torch already in it installs the whole workflow from that folder alone."""
    wheels = tmp_path / "wheels"
    made = subprocess.run(
        [sys.executable, str(REPO / "tools" / "wheelhouse.py"), "--out", str(wheels)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    names = [w.name.lower() for w in wheels.glob("*.whl")]
    assert not any(n.startswith(("torch-", "nvidia_", "triton-")) for n in names)
    assert any(n.startswith("ner_repro-") for n in names)
    assert any(n.startswith("snakemake-") for n in names)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    torch = subprocess.run(
        [py, "-m", "pip", "install", "--quiet", *TORCH_SPEC.split()], capture_output=True, text=True
    )
    assert torch.returncode == 0, torch.stderr[-3000:]
    offline = subprocess.run(
        [py, "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(wheels),
         "ner-repro[workflow]"],
        capture_output=True,
        text=True,
        timeout=1800,
    )  # fmt: skip
    assert offline.returncode == 0, offline.stdout[-3000:] + offline.stderr[-3000:]
    check = subprocess.run(
        [
            py,
            "-c",
            "import ner_patch, ner_repro.plan, umap, pynwb, papermill, snakemake; print('ok')",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert check.stdout.strip() == "ok", check.stderr[-3000:]
