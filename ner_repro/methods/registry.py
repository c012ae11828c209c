"""Registry of embedding methods, in the style of :mod:`cebra.registry`.

A method is a function registered under a *kind*::

    @register("pca")
    def fit_pca(session: SessionData, *, seed: int, params: Mapping[str, Any],
                method: str, device: str, progress: bool) -> EmbeddingRun: ...

``session`` is the loaded :class:`~ner_repro.core.session.SessionData`; ``params`` are the
method's settings from the config (``methods.<name>`` minus ``kind`` and ``label``); ``method`` is
the configured name (``"UMAP_label"``) recorded in the output; ``device`` is
``"cpu"`` or ``"cuda"``; ``progress`` turns progress bars on. It returns an
:class:`~ner_repro.core.embedding.EmbeddingRun` (the ``.npz`` contract), with its ``meta``
filled by :func:`ner_repro.core.provenance.run_metadata`.

The config names methods (``NER``, ``CEBRA``, ``CEBRA16``, ``UMAP_label`` ...) and
maps each to a kind; the workflow calls :func:`run_method` and never branches on
method names.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from ner_repro.core.embedding import EmbeddingRun
from ner_repro.core.session import SessionData


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


_REGISTRY: dict[str, MethodFn] = {}
_RESUMABLE: set[str] = set()

#: The module that registers each kind when imported. Only the module of the kind in use
#: is imported, so a PCA job does not pay for torch, nor a NER job for UMAP's compilation.
_PROVIDERS: dict[str, str] = {
    "ner": "ner_repro.methods.contrastive",
    "cebra": "ner_repro.methods.contrastive",
    "pca": "ner_repro.methods.pca",
    "dpca": "ner_repro.methods.dpca",
    "umap": "ner_repro.methods.umap",
    "pivae": "ner_repro.methods.pivae",
}


def register(kind: str, *, resumable: bool = False) -> Callable[[MethodFn], MethodFn]:
    """Decorator: register ``fn`` as the implementation of ``kind``.

    ``resumable`` kinds accept ``checkpoint`` (a file path) and ``checkpoint_every`` in their
    params: they save their training state there and resume from it after an interruption.
    """

    def decorator(fn: MethodFn) -> MethodFn:
        if kind in _REGISTRY and _REGISTRY[kind] is not fn:
            raise ValueError(f"method kind {kind!r} is already registered")
        _REGISTRY[kind] = fn
        if resumable:
            _RESUMABLE.add(kind)
        return fn

    return decorator


def _load_providers(kinds: Iterable[str] | None = None) -> None:
    for kind in _PROVIDERS if kinds is None else kinds:
        if kind in _PROVIDERS:
            importlib.import_module(_PROVIDERS[kind])


def get(kind: str) -> MethodFn:
    """The implementation of ``kind``."""
    if kind not in _REGISTRY:
        _load_providers([kind])
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise KeyError(f"unknown method kind {kind!r}; known: {', '.join(options())}") from None


def is_resumable(kind: str) -> bool:
    """Whether ``kind`` can checkpoint and resume its training."""
    get(kind)
    return kind in _RESUMABLE


def options() -> list[str]:
    """All registered kinds."""
    _load_providers()
    return sorted(_REGISTRY)


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
    params = {k: v for k, v in spec.items() if k not in ("kind", "label", "seeds")}
    return get(spec["kind"])(
        session, seed=seed, params=params, method=method, device=device, progress=progress
    )
