"""The offline demo end to end: `all_figures --configfile config/demo.yaml` on 2 cores.

Runs the whole chain (simulated recordings, ingestion, smoothing, training of every
method, decoding, alignment, every figure notebook, the GIF and the report) once, in a
temporary results folder, then checks every output the plan promises.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
import pytest
from PIL import Image

from ner_repro.core.config import load_config
from ner_repro.core.embedding import EmbeddingRun
from ner_repro.plan import Plan
from ner_repro.plan.report import report_outputs
from tests.workflow_helpers import REPO_ROOT, snakemake

DEMO = REPO_ROOT / "config" / "demo.yaml"

# The demo takes about 15 minutes on 2 cores; more on a busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The demo workflow, run once for the module; returns (plan, results dir, stdout)."""
    root = tmp_path_factory.mktemp("demo")
    results = root / "results"
    proc = snakemake(
        ["--cores", "2", "all_figures"],
        configfile=str(DEMO),
        config={"results_dir": str(results)},
        workdir=root,
        timeout=3000,
    )
    plan = Plan(load_config(DEMO, overrides={"results_dir": str(results)}))
    return plan, results, root, proc.stdout + proc.stderr


def is_valid_pdf(path: Path) -> bool:
    data = path.read_bytes()
    return (
        len(data) > 1000
        and data.startswith(b"%PDF-")
        and b"%%EOF" in data[-1024:]
        and re.search(rb"/Type\s*/Page[^s]", data) is not None
    )


def test_every_figure_output_is_a_valid_file(demo_run):
    plan, _, _, _ = demo_run
    specs = plan.figures()
    assert {s.name for s in specs} >= {f"fig{i}" for i in range(1, 9)} | {"demo_gif"}
    n_pdf = 0
    for spec in specs:
        assert spec.outputs, spec.name
        for key, out in spec.outputs.items():
            path = Path(out)
            assert path.is_file(), f"{spec.name}: {key} not written ({path})"
            if path.suffix == ".pdf":
                assert is_valid_pdf(path), f"{spec.name}: {path} is not a valid PDF"
                n_pdf += 1
            elif path.suffix == ".gif":
                with Image.open(path) as gif:
                    assert gif.format == "GIF" and gif.n_frames > 10, path
                    assert min(gif.size) >= 100, path
            else:
                assert path.stat().st_size > 0, path
    assert n_pdf >= 50


def test_figure_notebooks_are_kept_as_logs(demo_run):
    """papermill's executed notebook is each figure rule's log, with its parameters cell."""
    plan, results, _, _ = demo_run
    for spec in plan.figures():
        notebook = results / "logs" / "figures" / f"{spec.name}.ipynb"
        cells = json.loads(notebook.read_text())["cells"]
        tags = [tag for cell in cells for tag in cell.get("metadata", {}).get("tags", [])]
        assert "injected-parameters" in tags, notebook


def test_every_run_records_its_provenance(demo_run):
    plan, results, _, _ = demo_run
    runs = sorted((results / "embeddings").rglob("*.npz"))
    assert runs
    methods = {p.parent.name for p in runs}
    assert set(plan.config["methods"]) >= methods
    for path in runs:
        run = EmbeddingRun.load(path)
        meta = run.meta
        assert meta["seed"] == run.seed
        assert meta["device"] and meta["wall_time_s"] > 0
        assert "torch" in meta["packages"] and "cebra" in meta["packages"]
        assert np.isfinite(run.train).all()


def test_report_is_written_and_says_the_data_are_simulated(demo_run):
    _, results, _, _ = demo_run
    files = report_outputs(str(results))
    md = Path(files["md"]).read_text()
    html = Path(files["html"]).read_text()
    assert "simulated" in md.lower()
    assert "<img" in html and ";base64," in html


def test_snakemake_report_holds_every_figure_and_the_report(demo_run, tmp_path):
    """`snakemake --report report.zip` after the run: a browsable report with every figure
    file the plan promises, the demo GIF and the reproduction report (outputs flagged with
    report(), captions in workflow/report/)."""
    plan, results, root, _ = demo_run
    archive = tmp_path / "report.zip"
    snakemake(
        ["all_figures", "--report", str(archive)],
        configfile=str(DEMO),
        config={"results_dir": str(results)},
        workdir=root,
    )
    page_name = "report/report.html"  # Snakemake's page; the zip's stem is its folder
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        page = zf.read(page_name).decode()
    files = {PurePosixPath(name).name for name in names if name != page_name}
    promised = {Path(out).name for spec in plan.figures() for out in spec.outputs.values()}
    assert any(name.endswith(".gif") for name in promised)
    assert promised <= files, sorted(promised - files)
    ours = report_outputs(str(results))
    assert {Path(ours["md"]).name, Path(ours["html"]).name} <= files
    for category in ("Figures", "Fig4", "Demo", "Reproduction report"):
        assert category in page, category
    assert "Its footer names the data it comes from" in page  # the figures' captions
    assert "every published number of the paper next to ours" in page  # the report's


def test_second_run_has_nothing_to_do(demo_run):
    _, results, root, _ = demo_run
    proc = snakemake(
        ["--cores", "2", "all_figures", "-n"],
        configfile=str(DEMO),
        config={"results_dir": str(results)},
        workdir=root,
    )
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_training_logs_show_progress_without_flooding(demo_run):
    """tqdm writes into the job's log at most every 10 s (TQDM_MININTERVAL), not per step."""
    _, results, _, _ = demo_run
    logs = sorted((results / "logs" / "train" / "NER").glob("*.log"))
    assert logs
    for path in logs:
        text = path.read_text()
        draws = text.count("it/s]") + text.count("s/it]")  # one per redraw of the bar
        assert 0 < draws < 60, (path, draws)
