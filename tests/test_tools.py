"""The command-line tools in tools/: what they print is what the library computes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from ner_repro import methods
from ner_repro.analysis import evaluation
from ner_repro.core.config import REPO_ROOT
from ner_repro.synthetic.reaching import SimulatedSession, simulate_session


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def embedding_files(tmp_path_factory) -> list[Path]:
    spec = SimulatedSession("Sim", "20000101", {"M1": 12}, n_trials=40, seed=3)
    session = simulate_session(spec, "M1", t_dur=20)[0]
    out = tmp_path_factory.mktemp("emb")
    files = []
    for seed in (0, 1):
        run = methods.get("pca")(
            session, seed=seed, params={}, method="PCA", device="cpu", progress=False
        )
        files.append(run.save(out / f"PCA_seed{seed}.npz"))
    return files


def test_insample_r2_prints_the_explained_variance(embedding_files, capsys):
    tool = _tool("insample_r2")
    assert tool.main([*map(str, embedding_files), "--mode", "corrected"]) == 0
    out = capsys.readouterr().out
    from ner_repro.core.embedding import EmbeddingRun

    ev = evaluation.explained_variance(EmbeddingRun.load(embedding_files[0]), "corrected")
    assert "evaluation mode: corrected" in out and "median over seeds" in out
    assert f"{ev.train.vel_r2:.3f}" in out and f"{ev.test.pos_r2:.3f}" in out


def test_insample_r2_names_a_missing_file(tmp_path, capsys):
    with pytest.raises(SystemExit):
        _tool("insample_r2").main([str(tmp_path / "absent.npz")])
    assert "absent.npz" in capsys.readouterr().err


def test_extract_published_writes_the_committed_table(reference_dir, tmp_path, capsys):
    out = tmp_path / "published.tsv"
    assert (
        _tool("extract_published").main(["--reference", str(reference_dir), "--out", str(out)]) == 0
    )
    assert out.read_text() == (REPO_ROOT / "resources" / "published_numbers.tsv").read_text()
    assert f"published numbers -> {out}" in capsys.readouterr().out


def test_extract_published_names_a_missing_folder(tmp_path, capsys):
    assert _tool("extract_published").main(["--reference", str(tmp_path / "absent")]) == 1
    assert "reference folder not found" in capsys.readouterr().err


def test_settle_mtimes_orders_the_stages_after_checking_the_inputs(tmp_path, capsys):
    import os

    from ner_repro.data.acquire import read_manifest

    tool = _tool("settle_mtimes")
    results = tmp_path / "results"
    files = {
        "sessions/A.npz": 0,
        "numba-cache/umap.compiled": 0,
        "embeddings/NER/A_seed0.npz": 1,
        "analysis/alignment/x.npz": 2,
        "analysis/crossdecode/g/NER.csv": 3,
        "figures/fig4/a.pdf": 4,
        "report/report.md": 5,
        "logs/train/a.log": 6,
    }
    for name in files:
        (results / name).parent.mkdir(parents=True, exist_ok=True)
        (results / name).write_text(name)
        os.utime(results / name, (1e9, 1e9))
    # An input the manifest knows, with the right bytes, and one it does not know.
    entry = next(e for e in read_manifest().values() if e.sha256 and e.kind == "published")
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "unknown.mat").write_text("x")

    assert tool.main([str(results), "--inputs", str(inputs), "--dry-run"]) == 0
    assert all(os.path.getmtime(results / n) == 1e9 for n in files), "the dry run changed times"
    out = capsys.readouterr().out
    assert "0 files match" in out and "unknown.mat" in out

    assert tool.main([str(results), "--inputs", str(inputs)]) == 0
    times = {n: os.path.getmtime(results / n) for n in files}
    for a, sa in files.items():
        for b, sb in files.items():
            if sa < sb:
                assert times[a] < times[b], (a, b)
    assert min(times.values()) > 1e9

    # A file whose bytes differ from the manifest's stops it, naming the file, times untouched.
    bad = inputs / entry.file
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text("not the published bytes")
    before = dict(times)
    assert tool.main([str(results), "--inputs", str(inputs)]) == 1
    err = capsys.readouterr().err
    assert entry.file.split("/")[-1] in err and "not settling" in err
    assert {n: os.path.getmtime(results / n) for n in files} == before


def test_report_now_writes_beside_the_report_rules_folder(tmp_path, capsys):
    """A partial report in <results>/report (the rule's outputs) would make a resumed Snakemake
    run stop with 'Nothing to be done'; report_now writes <results>/report-now, or --out."""
    tool = _tool("report_now")
    results = tmp_path / "results"
    config = [
        f"data_dir={tmp_path / 'data'}",
        f"published_dir={tmp_path / 'published'}",
        "missing=skip",
        f"results_dir={results}",
    ]
    assert tool.main(["--config", *config]) == 0
    names = {"report.md", "report.html", "comparison.csv", "run.json"}
    assert {p.name for p in (results / "report-now").iterdir()} == names
    assert not (results / "report").exists()
    assert "absent_outputs" in (results / "report-now" / "run.json").read_text()

    assert tool.main(["--config", *config, "--out", str(tmp_path / "elsewhere")]) == 0
    assert {p.name for p in (tmp_path / "elsewhere").iterdir()} == names
