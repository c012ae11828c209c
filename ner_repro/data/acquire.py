"""The recording manifest (``data/manifest.tsv``), downloads and checksum checks.

The manifest lists every input the paper uses with its public URL and, where known,
its SHA-256. :func:`fetch` downloads what is missing and verifies it; without a
network it fails at once with a single message listing every missing file and where
to put it. A present file whose checksum differs from the manifest is an error
(:func:`verify`), never silently used.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ner_repro.core import atomic
from ner_repro.core.errors import AcquisitionError, InputError
from ner_repro.core.provenance import sha256sum

MANIFEST = Path(__file__).resolve().parents[2] / "data" / "manifest.tsv"
DANDI_API = "https://api.dandiarchive.org/api"


@dataclass(frozen=True)
class Entry:
    kind: str  # "recording", "published" or "nwb"
    file: str
    url: str
    sha256: str


def read_manifest(path: str | os.PathLike[str] = MANIFEST) -> dict[str, Entry]:
    """Manifest entries keyed by file name."""
    entries: dict[str, Entry] = {}
    lines = [
        line for line in Path(path).read_text().splitlines() if line and not line.startswith("#")
    ]
    header = lines[0].split("\t")
    if header != ["kind", "file", "url", "sha256"]:
        raise InputError(path, f"unexpected manifest header {header}")
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != 4:
            raise InputError(
                path, f"line {number}: expected 4 tab-separated fields, got {len(fields)}"
            )
        entry = Entry(*fields)
        entries[entry.file] = entry
    return entries


def verify(
    path: str | os.PathLike[str],
    manifest: Mapping[str, Entry] | None = None,
    *,
    name: str | None = None,
    advice: str = "the file is corrupt or not the published one - delete it and fetch it again",
) -> str:
    """SHA-256 of ``path``; raises :class:`InputError` (ending with ``advice``) if the manifest
    knows another checksum for it. The manifest entry is looked up by ``name`` (its path in the
    manifest, e.g. ``Fig4/NPZ_M1/...``), by default the file's name."""
    manifest = read_manifest() if manifest is None else manifest
    digest = sha256sum(path)
    entry = manifest.get(name or Path(path).name)
    if entry is not None and entry.sha256 and entry.sha256 != digest:
        raise InputError(
            path,
            f"checksum mismatch: SHA-256 is {digest}, the manifest (data/manifest.tsv) expects "
            f"{entry.sha256}; {advice}",
        )
    return digest


def _resolve(url: str, timeout: float) -> str:
    """Direct download URL (``dandi://<dandiset>/<version>/<path>`` is resolved via the DANDI API)."""
    if not url.startswith("dandi://"):
        return url
    dandiset, version, asset_path = url[len("dandi://") :].split("/", 2)
    query = urllib.parse.urlencode({"path": asset_path})
    with urllib.request.urlopen(
        f"{DANDI_API}/dandisets/{dandiset}/versions/{version}/assets/?{query}", timeout=timeout
    ) as response:
        results = json.load(response)["results"]
    if not results:
        raise AcquisitionError(f"DANDI {dandiset}/{version} has no asset {asset_path}")
    return f"{DANDI_API}/assets/{results[0]['asset_id']}/download/"


def _reachable(url: str, timeout: float) -> bool:
    host = urllib.parse.urlparse(url.replace("dandi://", "https://api.dandiarchive.org/")).hostname
    try:
        with socket.create_connection((host or "", 443), timeout=timeout):
            return True
    except OSError:
        return False


def missing_message(targets: Mapping[Path, Entry | None]) -> str:
    """One message listing every missing file, its URL and where to put it."""
    lines = ["These inputs are missing and could not be downloaded (no network?):"]
    for dest, entry in targets.items():
        source = entry.url if entry else "(not in data/manifest.tsv)"
        lines.append(f"  - {dest}   <- {source}")
    lines.append(
        "Download them by hand into those folders (or point data_dir / published_dir / mcmaze.nwb "
        "at where they are), or run with --config missing=skip to use only the sessions present."
    )
    return "\n".join(lines)


def fetch(
    targets: Mapping[Path, Entry | None],
    *,
    timeout: float = 10.0,
) -> list[Path]:
    """Download every ``dest <- entry`` in ``targets`` and verify checksums; returns the paths.

    Fails fast (before downloading anything) with :func:`missing_message` when a file
    has no manifest entry or its host cannot be reached.
    """
    if any(entry is None for entry in targets.values()) or not all(
        _reachable(entry.url, timeout) for entry in targets.values() if entry is not None
    ):
        raise AcquisitionError(missing_message(targets))
    done = []
    for dest, entry in targets.items():
        assert entry is not None
        url = _resolve(entry.url, timeout)
        with atomic.atomic_path(dest) as tmp:
            try:
                with (
                    urllib.request.urlopen(url, timeout=timeout) as response,
                    open(tmp, "wb") as out,
                ):
                    while block := response.read(1 << 20):
                        out.write(block)
            except OSError as exc:
                raise AcquisitionError(
                    f"download of {url} failed: {exc}\n" + missing_message(targets)
                ) from exc
            digest = sha256sum(tmp)
            if entry.sha256 and digest != entry.sha256:
                raise AcquisitionError(
                    f"{dest}: downloaded file has SHA-256 {digest}, expected {entry.sha256}"
                )
        done.append(Path(dest))
    return done
