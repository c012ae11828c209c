"""Faults at the output end: a full disk, a read-only or unwritable folder. ``ner-embed`` and
workflow jobs end with one line naming the path and the cause (exit status 1) and leave
nothing half-written. The real full-disk cases mount a tiny tmpfs (root only; skipped
elsewhere); the others simulate the failing call."""

from __future__ import annotations

import errno
import subprocess
import types
from pathlib import Path

import numpy as np
import pytest

from ner_repro.cli import embed
from ner_repro.core import atomic, jobs
from ner_repro.core.errors import OutputError


@pytest.fixture
def tiny_disk(tmp_path):
    """A tmpfs of 64 KiB at tmp_path/disk (root only)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_atomic_write_on_a_full_disk_is_one_line_and_leaves_nothing(monkeypatch, tmp_path):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.tempfile, "mkstemp", full)
    with pytest.raises(OutputError, match=r"x\.npz: cannot write: no space left on the device"):
        atomic.save_npz(tmp_path / "x.npz", {"a": np.zeros(3)})
    assert list(tmp_path.iterdir()) == []


def test_a_torch_style_failure_on_a_full_disk_is_put_down_to_the_disk(monkeypatch, tmp_path):
    monkeypatch.setattr(atomic, "free_bytes", lambda where: 0)
    failure = atomic.write_failure(
        tmp_path / "model.pt",
        RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos"),
    )
    assert failure is not None and "is full (0 bytes free" in str(failure)
    monkeypatch.setattr(atomic, "free_bytes", lambda where: 10**9)
    assert atomic.write_failure(tmp_path / "model.pt", RuntimeError("a bug")) is None


def _files(tmp_path: Path) -> list[str]:
    rng = np.random.default_rng(0)
    t = np.arange(400)
    labels = np.c_[np.sin(t / 15), np.cos(t / 23)]
    neural = np.tanh(labels @ rng.normal(size=(2, 12))) + 0.1 * rng.normal(size=(400, 12))
    np.save(tmp_path / "n.npy", neural.astype(np.float32))
    np.save(tmp_path / "y.npy", labels)
    return ["--neural", str(tmp_path / "n.npy"), "--labels", str(tmp_path / "y.npy")]


def test_ner_embed_on_a_full_disk(tiny_disk, tmp_path, monkeypatch, capsys):
    # Free space is above the early check's threshold; the outputs do not fit.
    monkeypatch.setattr(atomic, "FULL_BELOW_BYTES", 1)
    out = tiny_disk / "ner_out"
    code = embed.main([*_files(tmp_path), "--iterations", "5", "--no-progress", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith(f"ner-embed: error: {out}: --out: cannot write")
    assert "no space left" in err[0] or "is full" in err[0]
    assert list(tiny_disk.iterdir()) == []


def test_ner_embed_refuses_a_read_only_out_before_training(tiny_disk, tmp_path, capsys):
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], check=True)
    out = tiny_disk / "ner_out"
    code = embed.main([*_files(tmp_path), "--iterations", "5", "--no-progress", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1
    assert f"{out}: --out: cannot write in {tiny_disk}" in err[0]


def test_a_workflow_job_on_a_full_disk_ends_in_one_line(tiny_disk, tmp_path, capsys):
    target = tiny_disk / "big.npy"
    smk = types.SimpleNamespace(
        output=[str(target)], log=[str(tmp_path / "job.log")], threads=1, rule="r", wildcards={}
    )

    def job(_):  # a plain (not atomic) write, as a library's own save would be
        np.save(target, np.zeros(100_000))

    with pytest.raises(SystemExit) as info:
        jobs.run(smk, job)
    assert info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"ERROR: {target}: cannot write")


def test_atomic_dir_replaces_a_folder_whole_or_leaves_it(tmp_path):
    target = tmp_path / "out"
    with atomic.atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("first")
    assert (target / "a.txt").read_text() == "first"
    with pytest.raises(RuntimeError, match="half way"), atomic.atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("second")
        raise RuntimeError("half way")
    assert (target / "a.txt").read_text() == "first"  # untouched
    with atomic.atomic_dir(target) as tmp:
        (tmp / "b.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folder left
