"""What produced an output: input checksums, package versions, device, seed, wall time.

Every run of the pipeline stores :func:`run_metadata` next to its outputs (as a
JSON string inside the ``.npz`` under the key ``meta_json``, and in the tidy tables
as columns where it matters), so that a number can always be traced to the code,
the inputs and the machine that made it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import random
import socket
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

#: Packages whose versions are recorded with every run.
TRACKED_PACKAGES: tuple[str, ...] = (
    "ner-repro",
    "cebra",
    "torch",
    "numpy",
    "scipy",
    "scikit-learn",
    "h5py",
    "umap-learn",
    "dPCA",
    "pynwb",
    "matplotlib",
    "snakemake",
)


def sha256sum(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def package_versions(names: Iterable[str] = TRACKED_PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` ("absent" for packages not installed)."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def resolve_device(requested: str = "auto") -> str:
    """``"auto"`` -> ``"cuda"`` when a GPU is usable, else ``"cpu"``; other values pass through."""
    if requested not in ("auto", "cuda_if_available"):
        return requested
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return "cpu"


def device_description(device: str) -> str:
    """Human-readable description of the device a run used."""
    if device.startswith("cuda"):
        try:  # only a training job (with torch) runs on CUDA
            import torch
        except ImportError:  # pragma: no cover
            return device
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def seed_everything(seed: int, *, with_torch: bool = True) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) from one integer.

    ``with_torch=False`` leaves torch alone unless it is imported already: a job whose method
    does not use torch then does not pay its import (about 1.6 s).
    """
    random.seed(seed)
    np.random.seed(seed % (2**32))  # noqa: NPY002 - libraries (dPCA, UMAP) draw from the global RNG
    if not with_torch and "torch" not in sys.modules:
        return
    try:
        import torch

        torch.manual_seed(seed)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(seed)
    except ImportError:  # pragma: no cover
        pass


def run_metadata(
    *,
    config: Mapping[str, Any] | None = None,
    seed: int | None = None,
    device: str | None = None,
    wall_time_s: float | None = None,
    inputs: Mapping[str, str | os.PathLike[str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The metadata record stored next to every output."""
    meta: dict[str, Any] = {
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "argv": sys.argv,
        "packages": package_versions(),
    }
    if config is not None:
        meta["config"] = dict(config)
    if seed is not None:
        meta["seed"] = int(seed)
    if device is not None:
        meta["device"] = device_description(device)
    if wall_time_s is not None:
        meta["wall_time_s"] = float(wall_time_s)
    if inputs:
        meta["inputs"] = {
            name: {"path": str(p), "sha256": sha256sum(p)}
            for name, p in inputs.items()
            if Path(p).is_file()
        }
    meta.update(extra)
    return meta


def to_json(meta: Mapping[str, Any]) -> str:
    """Serialise metadata (NumPy scalars and paths included) to JSON."""

    def default(obj: Any) -> Any:
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
        if isinstance(obj, os.PathLike):
            return os.fspath(obj)
        return str(obj)

    return json.dumps(meta, default=default, sort_keys=True)


def from_npz(value: Any) -> dict[str, Any]:
    """Decode a ``meta_json`` entry read back from an ``.npz``."""
    return json.loads(str(np.asarray(value)[()]))


def code_version(where: str | os.PathLike[str] | None = None) -> str:
    """The git commit of the checkout holding ``where`` (default: this package), with
    ``+changes`` when tracked files differ from it; ``"unknown"`` outside a git checkout."""
    import subprocess

    root = Path(where) if where is not None else Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def machine_description() -> str:
    """Processor, core count, memory and OS of this machine, in one line."""
    memory = ""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages * size / 2**30:.0f} GiB"
    except (ValueError, OSError, AttributeError):
        pass
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores{memory}; {platform.platform()}"
