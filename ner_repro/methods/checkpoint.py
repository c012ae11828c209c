"""Training checkpoints of the resumable kinds (NER, CEBRA, pi-VAE): one file format.

A checkpoint is a ``torch.save`` of ``{"format", "fingerprint", "state"}``, written
atomically. ``format`` names the writer (a kind's module and a version); ``fingerprint`` is
what the run must match to resume from it (:func:`fingerprint`: the settings that change the
trained model, the seed, the training data and the library versions); ``state`` is whatever
the trainer needs to continue (model, optimizer, history, random-number states).

A checkpoint that is unreadable, of another format, or from another configuration is a stale
cache, not an input error: it is ignored with a warning and overwritten.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ner_repro.core import atomic

__all__ = ["fingerprint", "read", "write"]


def fingerprint(head: Mapping[str, Any], arrays: tuple[np.ndarray, ...], dtype: Any = None) -> str:
    """SHA-256 of ``head`` (as sorted JSON) followed by the bytes of ``arrays`` (each cast to
    ``dtype`` if given)."""
    digest = hashlib.sha256()
    digest.update(json.dumps(head, sort_keys=True, default=str).encode())
    for a in arrays:
        digest.update(np.ascontiguousarray(a, dtype=dtype).tobytes())
    return digest.hexdigest()


def write(path: Path, fmt: str, fingerprint: str, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically, tagged with ``fmt`` and ``fingerprint``."""
    import torch

    payload = {"format": fmt, "fingerprint": fingerprint, "state": state}
    with atomic.atomic_path(path) as tmp:
        torch.save(payload, tmp)


def read(
    path: Path, fmt: str, fingerprint: str, *, what: str = "training"
) -> dict[str, Any] | None:
    """The state in ``path`` if it exists, is of format ``fmt`` and matches ``fingerprint``;
    else ``None`` (with a warning saying why, when the file exists)."""
    import torch

    if not path.is_file():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # an unreadable checkpoint is a stale cache, not an input error
        warnings.warn(f"{path}: unreadable checkpoint ({exc}); training from scratch", stacklevel=3)
        return None
    if not isinstance(payload, dict) or payload.get("format") != fmt:
        warnings.warn(f"{path}: not a {what} checkpoint; training from scratch", stacklevel=3)
        return None
    if payload.get("fingerprint") != fingerprint:
        warnings.warn(
            f"{path}: checkpoint was written for a different configuration, seed or data; "
            "training from scratch",
            stacklevel=3,
        )
        return None
    return payload["state"]
