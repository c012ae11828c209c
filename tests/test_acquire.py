"""Manifest, checksums and the offline failure of downloads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ner_repro.core.errors import InputError
from ner_repro.data import acquire

AUTHORS_COMMIT = "c8bdb72f25e9a4b90bdd2544f5e18654a73ee93a"


def test_manifest_lists_every_configured_recording():
    from ner_repro.core.config import load_config
    from ner_repro.data.recordings import ner_filename
    from ner_repro.plan import Plan

    manifest = acquire.read_manifest()
    plan = Plan(load_config())
    for key in plan.configured():
        entry = manifest[ner_filename(key.monkey, key.date)]
        assert entry.kind == "recording" and entry.url.startswith(
            f"https://github.com/NeuroscienceAI/NER/raw/{AUTHORS_COMMIT}/data/"
        )
    assert sum(e.kind == "recording" for e in manifest.values()) == 19
    assert any(
        e.kind == "nwb" and e.url.startswith("dandi://000128/0.220113.0400/")
        for e in manifest.values()
    )


def test_every_input_is_pinned_and_only_the_unobtainable_lack_a_checksum():
    manifest = acquire.read_manifest()
    for entry in manifest.values():
        assert "/raw/main/" not in entry.url and "/draft/" not in entry.url, entry.url
        if entry.url.startswith("https://github.com/"):
            assert f"/raw/{AUTHORS_COMMIT}/" in entry.url
    without = sorted(e.file for e in manifest.values() if not e.sha256)
    # the six Chewie files (each over 4 MiB) and MC_Maze's NWB file were not obtainable
    assert without == sorted(
        [f"Chewie_{d}_neural_con_dis_index.mat" for d in
         ("20150313", "20150319", "20161005", "20161006", "20161014", "20161021")]
        + ["sub-Jenkins_ses-full_desc-train_behavior+ecephys.nwb"]
    )  # fmt: skip


def test_manifest_checksums_match_the_shared_files(ner_sessions_dir):
    manifest = acquire.read_manifest()
    sums = dict(
        reversed(line.split())
        for line in (ner_sessions_dir / "SHA256SUMS").read_text().splitlines()
    )
    for name, digest in sums.items():
        assert manifest[name].sha256 == digest
        assert acquire.verify(ner_sessions_dir / name, manifest) == digest


def test_checksum_mismatch_is_an_error(ner_sessions_dir, tmp_path):
    name = "Han_20171204_neural_con_dis_index.mat"
    copy = tmp_path / name
    shutil.copy(ner_sessions_dir / name, copy)
    with open(copy, "r+b") as fh:
        fh.seek(2000)
        byte = fh.read(1)
        fh.seek(2000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(InputError, match="checksum mismatch") as info:
        acquire.verify(copy)
    assert str(info.value).startswith(str(copy))


def test_offline_fetch_fails_fast_listing_everything(monkeypatch, tmp_path):
    monkeypatch.setattr(acquire, "_reachable", lambda url, timeout: False)
    manifest = acquire.read_manifest()
    names = ["Chewie_20161014_neural_con_dis_index.mat", "Chewie_20161021_neural_con_dis_index.mat"]
    targets = {tmp_path / n: manifest[n] for n in names}
    targets[tmp_path / "Unknown_20000101_neural_con_dis_index.mat"] = None
    with pytest.raises(acquire.AcquisitionError) as info:
        acquire.fetch(targets)
    message = str(info.value)
    for dest, entry in targets.items():
        assert str(dest) in message
        if entry:
            assert entry.url in message
    assert "not in data/manifest.tsv" in message and "missing=skip" in message
    assert not list(tmp_path.iterdir())


def test_fetch_verifies_downloads(monkeypatch, tmp_path):
    """A download whose checksum differs is an error and leaves nothing behind."""
    source = tmp_path / "served.bin"
    source.write_bytes(b"not the published file")
    entry = acquire.Entry(
        "recording", "X_20000101_neural_con_dis_index.mat", source.as_uri(), "0" * 64
    )
    monkeypatch.setattr(acquire, "_reachable", lambda url, timeout: True)
    dest = tmp_path / "data" / entry.file
    with pytest.raises(acquire.AcquisitionError, match="expected 0000"):
        acquire.fetch({dest: entry})
    assert not dest.exists()
    good = acquire.Entry(entry.kind, entry.file, entry.url, "")
    assert acquire.fetch({dest: good}) == [dest]
    assert Path(dest).read_bytes() == b"not the published file"
