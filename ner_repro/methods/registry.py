"""Running a configured method: the kind's implementation, looked up in :data:`~ner_repro.methods.kinds.KINDS`.

A method is a function of this signature (:class:`MethodFn`)::

    def fit_pca(session: SessionData, *, seed: int, params: Mapping[str, Any],
                method: str, device: str, progress: bool) -> EmbeddingRun: ...

``session`` is the loaded :class:`~ner_repro.core.session.SessionData`; ``params`` are the
method's settings from the config (``methods.<name>`` minus ``kind``, ``label`` and ``seeds``);
``method`` is the configured name (``"UMAP_label"``) recorded in the output and named in
errors; ``device`` is ``"cpu"`` or ``"cuda"``; ``progress`` turns progress bars on. It returns
an :class:`~ner_repro.core.embedding.EmbeddingRun` (the ``.npz`` contract), with its ``meta``
filled by :func:`ner_repro.core.provenance.run_metadata`.

The config names methods (``NER``, ``CEBRA``, ``CEBRA16``, ``UMAP_label`` ...) and maps each
to a kind; the workflow calls :func:`run_method` and never branches on method names. A new
kind is one more :class:`~ner_repro.methods.kinds.Kind` in that table.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, Protocol, cast

from ner_repro.core.embedding import EmbeddingRun
from ner_repro.core.session import SessionData
from ner_repro.methods.kinds import ENTRY_KEYS, KINDS, kind_of


class MethodFn(Protocol):
    def __call__(
        self,
        session: SessionData,
        *,
        seed: int,
        params: Mapping[str, Any],
        method: str,
        device: str,
        progress: bool,
    ) -> EmbeddingRun: ...


def get(kind: str) -> MethodFn:
    """The implementation of ``kind`` (its module is imported on first use)."""
    module, function = kind_of(kind).implementation.split(":")
    return cast(MethodFn, getattr(importlib.import_module(module), function))


def is_resumable(kind: str) -> bool:
    """Whether ``kind`` can checkpoint and resume its training."""
    return kind_of(kind).resumable


def options() -> list[str]:
    """All method kinds."""
    return sorted(KINDS)


def run_method(
    session: SessionData,
    *,
    method: str,
    spec: Mapping[str, Any],
    seed: int,
    device: str = "cpu",
    progress: bool = True,
) -> EmbeddingRun:
    """Run the configured ``method`` (its config entry ``spec``, with a ``kind``) on ``session``."""
    params = {k: v for k, v in spec.items() if k not in ENTRY_KEYS}
    return get(spec["kind"])(
        session, seed=seed, params=params, method=method, device=device, progress=progress
    )
