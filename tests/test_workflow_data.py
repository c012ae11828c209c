"""The data end of the workflow: ingestion targets, idempotence, bad input, partial data."""

from __future__ import annotations

import re
import shutil

import numpy as np

from ner_repro.core.session import SessionData
from tests.workflow_helpers import snakemake


def test_real_session_target_and_second_run_does_nothing(ner_sessions_dir, tmp_path):
    results = tmp_path / "results"
    targets = [str(results / f"sessions/Chewie_20160929_{a}.npz") for a in ("M1", "PMd")]
    targets.append(str(results / "sessions/Han_20171207_S1.npz"))
    config = {"data_dir": ner_sessions_dir, "results_dir": results}
    snakemake(["--cores", "2", *targets], workdir=tmp_path, config=config)
    pmd = SessionData.load(targets[1])
    assert pmd.neural.shape == (8320, 114) and pmd.t_dur == 40
    assert SessionData.load(targets[2]).t_dur == 35
    again = snakemake(["--cores", "2", *targets], workdir=tmp_path, config=config)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_bad_recording_fails_with_its_name_and_leaves_no_output(ner_sessions_dir, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    name = "Han_20171204_neural_con_dis_index.mat"
    (data / name).write_bytes((ner_sessions_dir / name).read_bytes()[:4096])  # truncated download
    results = tmp_path / "results"
    target = results / "sessions/Han_20171204_S1.npz"
    proc = snakemake(
        ["--cores", "1", str(target)],
        workdir=tmp_path,
        config={"data_dir": data, "results_dir": results},
        check=False,
    )
    assert proc.returncode != 0
    log = (results / "logs/ingest/Han_20171204_S1.log").read_text()
    # The truncated file is caught by the manifest checksum before it is even parsed.
    assert f"ERROR: {data / name}: checksum mismatch" in log
    assert not target.exists()
    assert not (results / "sessions").exists() or not list((results / "sessions").glob("*"))


def test_simulated_demo_sessions(tmp_path):
    results, data = tmp_path / "results", tmp_path / "recordings"
    target = results / "sessions/Simia_20230112_M1.npz"  # simulated as a v7.3 file
    snakemake(
        ["--cores", "2", str(target)],
        workdir=tmp_path,
        configfile="config/demo.yaml",
        config={"results_dir": results, "data_dir": data},
    )
    session = SessionData.load(target)
    assert session.container == "v7.3" and session.source_format == "trialdata"
    assert (data / "Simia_CO_20230112_sim.mat").is_file()
    assert session.meta["trials_dropped"]["result"] == 1


def test_missing_skip_plans_the_available_subset(ner_sessions_dir, tmp_path):
    proc = snakemake(
        ["-n", "--cores", "2", "--quiet", "rules"],
        workdir=tmp_path,
        config={
            "data_dir": ner_sessions_dir,
            "missing": "skip",
            "results_dir": tmp_path,
            "seeds": "[0]",
        },
    )
    out = proc.stdout + proc.stderr
    assert "fetch_recordings" not in out
    assert "ingest_session" in out


def test_missing_error_plans_a_fetch(tmp_path):
    data = tmp_path / "empty"
    data.mkdir()
    proc = snakemake(
        ["-n", "--cores", "2", "--quiet", "rules"],
        workdir=tmp_path,
        config={"data_dir": data, "results_dir": tmp_path},
    )
    assert "fetch_recordings" in proc.stdout + proc.stderr


def test_offline_fetch_fails_with_one_message(tmp_path, ner_sessions_dir):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("Chewie_20160929_neural_con_dis_index.mat",):
        shutil.copy(ner_sessions_dir / name, data / name)
    target = tmp_path / "results/sessions/Chewie_20161014_M1.npz"
    proc = snakemake(
        ["--cores", "1", str(target)],
        workdir=tmp_path,
        config={"data_dir": data, "results_dir": tmp_path / "results"},
        check=False,
    )
    assert proc.returncode != 0
    log = (tmp_path / "results/logs/fetch_recordings.log").read_text()
    assert "These inputs are missing and could not be downloaded" in log
    for missing in ("Chewie_20161014", "Chewie_20150313", "Mihili_20140217", "Han_20171201"):
        assert missing in log
    assert "Chewie_20160929_neural_con_dis_index.mat " not in log  # present files are not listed
    assert not target.exists() and np.all([not p.exists() for p in data.glob("Chewie_2016101*")])


def test_umap_fits_of_a_session_share_one_job(ner_sessions_dir, tmp_path):
    """Every UMAP method and seed of a session is one train_umap job (numba compiles once);
    the other methods stay one train_embedding job per method, session and seed."""
    results = tmp_path / "results"
    target = results / "embeddings" / "UMAP_label" / "Han_20171201_S1_seed1.npz"
    proc = snakemake(
        [str(target), str(results / "embeddings" / "NER" / "Han_20171201_S1_seed0.npz"),
         "-n", "--cores", "2", "--quiet", "rules"],
        workdir=tmp_path,
        config={"data_dir": ner_sessions_dir, "missing": "skip", "results_dir": results},
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", out, flags=re.M))
    assert counts.get("train_umap") == "1" and counts.get("train_embedding") == "1", out


def test_a_bad_method_setting_stops_the_workflow_before_any_job(tmp_path):
    """Each kind checks its settings when the workflow is planned: the error names the
    method and the key, and no job runs (nothing is written)."""
    results = tmp_path / "results"
    proc = snakemake(
        ["all_figures", "--cores", "1"],
        workdir=tmp_path,
        configfile="config/demo.yaml",
        config={
            "results_dir": results,
            "methods": "{NER: {kind: ner, max_iterations: -5}, UMAP: {kind: umap, n_neighbours: 9}}",
        },
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "methods.NER.max_iterations: must be a whole number >= 1, got '-5'" in out
    assert "methods.UMAP.n_neighbours: not a setting of method kind 'umap'" in out
    assert not results.exists()
