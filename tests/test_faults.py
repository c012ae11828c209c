"""Surviving faults (issue 7): a killed training job, resuming from its checkpoint,
corrupt inputs, and concurrent builds that must not clobber each other."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from ner_repro.core.embedding import EmbeddingRun
from tests.workflow_helpers import REPO_ROOT, snakemake

SESSION = "Simia_20240103_M1"


def _demo_config(tmp_path: Path, **methods: dict) -> Path:
    """The demo configuration writing into ``tmp_path``, with method settings overridden."""
    config = yaml.safe_load((REPO_ROOT / "config/demo.yaml").read_text())
    config["results_dir"] = str(tmp_path / "results")
    config["data_dir"] = str(tmp_path / "recordings")
    for name, changes in methods.items():
        config["methods"][name].update(changes)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _target(tmp_path: Path, method: str = "NER", session: str = SESSION) -> Path:
    return tmp_path / "results" / "embeddings" / method / f"{session}_seed0.npz"


def test_killed_training_resumes_from_its_checkpoint(tmp_path):
    long_ner = {"max_iterations": 1200, "checkpoint_every": 100}
    config = _demo_config(tmp_path, NER=long_ner)
    target = _target(tmp_path)
    checkpoint = tmp_path / "results" / "checkpoints" / "NER" / f"{SESSION}_seed0.pt"
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        "2",
        str(target),
        "--configfile",
        str(config),
        "--directory",
        str(tmp_path),
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=REPO_ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 600
        while not checkpoint.exists():
            assert proc.poll() is None, "snakemake ended before writing a checkpoint"
            assert time.time() < deadline, "no checkpoint after 10 minutes"
            time.sleep(0.5)
        time.sleep(1.0)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # a crash: no chance to clean up
        proc.wait()
    assert not target.exists(), "a killed job must not leave its output behind"

    # A killed Snakemake keeps its lock; the user removes it, then reruns.
    snakemake(["--unlock", str(target)], configfile=str(config), workdir=tmp_path)
    rerun = snakemake(
        ["--cores", "2", "--rerun-incomplete", str(target)],
        configfile=str(config),
        workdir=tmp_path,
    )
    run = EmbeddingRun.load(target)
    resumed = run.meta["resumed_from_step"]
    assert 100 <= resumed < 1200 and resumed % 100 == 0, resumed
    assert run.meta["n_iterations_this_run"] == 1200 - resumed
    assert len(run.loss) == 1200
    assert "train_embedding" in rerun.stdout + rerun.stderr

    # The resumed run equals an uninterrupted one (CPU, same seed).
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    config2 = _demo_config(fresh, NER={"max_iterations": 1200})
    snakemake(["--cores", "2", str(_target(fresh))], configfile=str(config2), workdir=fresh)
    uninterrupted = EmbeddingRun.load(_target(fresh))
    np.testing.assert_array_equal(run.loss, uninterrupted.loss)
    np.testing.assert_array_equal(run.train, uninterrupted.train)
    np.testing.assert_array_equal(run.test, uninterrupted.test)


def test_corrupt_simulated_recording_stops_the_run(tmp_path):
    config = _demo_config(tmp_path)
    recordings = tmp_path / "recordings"
    path = recordings / "Simia_CO_20240103_sim.mat"
    snakemake(["--cores", "1", str(path)], configfile=str(config), workdir=tmp_path)
    written = path.stat()
    path.write_bytes(path.read_bytes()[: written.st_size // 3])
    # Keep the file's time, so that Snakemake sees nothing to redo upstream: the damage
    # is found by the ingestion, not hidden by a re-simulation.
    os.utime(path, ns=(written.st_atime_ns, written.st_mtime_ns))
    session = tmp_path / "results" / "sessions" / f"{SESSION}.npz"
    proc = snakemake(
        ["--cores", "1", str(session)], configfile=str(config), workdir=tmp_path, check=False
    )
    assert proc.returncode != 0
    log = (tmp_path / "results" / "logs" / "ingest" / f"{SESSION}.log").read_text()
    assert f"ERROR: {path}: cannot read MATLAB v5 file: truncated or corrupt" in log
    assert not session.exists()


def test_concurrent_targets_do_not_clobber(tmp_path):
    """Two jobs at once on shared inputs (one run, --cores 2), then a second Snakemake
    process on the same outputs while the first holds them: it refuses instead of
    writing over them."""
    config = _demo_config(tmp_path, NER={"max_iterations": 300}, CEBRA={"max_iterations": 300})
    targets = [_target(tmp_path, "NER"), _target(tmp_path, "CEBRA")]
    snakemake(["--cores", "2", *map(str, targets)], configfile=str(config), workdir=tmp_path)
    runs = [EmbeddingRun.load(t) for t in targets]
    assert [r.method for r in runs] == ["NER", "CEBRA"]
    assert all(r.session == SESSION for r in runs)
    assert not list((tmp_path / "results").rglob("*.part"))

    longer = _demo_config(tmp_path, NER={"max_iterations": 20000})
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        "1",
        "--forcerun",
        "train_embedding",
        str(targets[0]),
        "--configfile",
        str(longer),
        "--directory",
        str(tmp_path),
    ]
    first = subprocess.Popen(
        cmd,
        cwd=REPO_ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        lock_dir = tmp_path / ".snakemake" / "locks"
        deadline = time.time() + 120
        while not any(lock_dir.glob("*.output.lock")):
            assert time.time() < deadline and first.poll() is None
            time.sleep(0.2)
        second = snakemake(
            ["--cores", "1", "--forcerun", "train_embedding", str(targets[0])],
            configfile=str(longer),
            workdir=tmp_path,
            check=False,
        )
        assert second.returncode != 0
        assert (
            "LockException" in second.stdout + second.stderr
            or "locked" in (second.stdout + second.stderr).lower()
        )
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    subprocess.run(
        [
            *(sys.executable, "-m", "snakemake", "--unlock"),
            *("--configfile", str(longer), "--directory", str(tmp_path)),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
    )
    # The first run's killed job left the old output in place or removed it, never a mixture.
    if targets[0].exists():
        EmbeddingRun.load(targets[0])
