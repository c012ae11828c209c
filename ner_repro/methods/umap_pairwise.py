"""UMAP's all-pairs distances of small data sets, compiled instead of looped in Python.

Below 4096 points umap-learn computes every distance exactly, by
``sklearn.metrics.pairwise_distances(X, metric=umap.distances.euclidean)``. With a callable
metric scikit-learn loops in Python, one call of the compiled ``euclidean`` per pair: about
7 million calls (20 s) to fit 3 700 bins, 3.6 million more to transform 1 000 test bins.
:func:`compiled_pairwise` makes ``umap.umap_.pairwise_distances`` compute the same entries
with the same compiled ``euclidean`` inside one numba loop, in scikit-learn's layout (the
upper triangle mirrored, the diagonal from ``metric(x, x)``, float32 out for float32 in):
the matrices are bit-identical (``tests/test_baselines.py`` compares them with
scikit-learn's on a simulated session; a real test split was checked by hand), so the
embeddings do not change.
Any other call (another metric, keyword arguments, sparse, non-finite or non-contiguous
input) goes to scikit-learn as before.

Import this module only after :func:`ner_repro.methods.umap.import_umap` (it imports
``umap.distances``, whose decorators must see numba's cache switched on).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numba
import numpy as np
import umap.umap_
from umap.distances import euclidean


@numba.njit(cache=True)
def _symmetric(x: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover (compiled)
    n = x.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            d = euclidean(x[i], x[j])
            out[i, j] = d
            out[j, i] = d
        out[i, i] = euclidean(x[i], x[i])


@numba.njit(cache=True)
def _cross(x: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    for i in range(x.shape[0]):
        for j in range(y.shape[0]):
            out[i, j] = euclidean(x[i], y[j])


def _plain(a: Any) -> bool:
    return (
        isinstance(a, np.ndarray)
        and a.ndim == 2
        and a.dtype in (np.float32, np.float64)
        and a.flags.c_contiguous
        and bool(np.isfinite(a).all())
    )


def pairwise(
    fallback: Callable[..., np.ndarray],
) -> Callable[..., np.ndarray]:
    """``pairwise_distances`` that compiles umap's euclidean case and defers the rest."""

    def pairwise_distances(X: Any, Y: Any = None, metric: Any = "euclidean", **kwds: Any):
        y = X if Y is None else Y
        if (
            metric is euclidean
            and not kwds
            and _plain(X)
            and (Y is None or (_plain(Y) and Y.dtype == X.dtype and Y.shape[1] == X.shape[1]))
        ):
            # scikit-learn's result dtype: float32 only if both inputs are float32.
            out = np.zeros((X.shape[0], y.shape[0]), dtype=X.dtype)
            if Y is None:
                _symmetric(X, out)
            else:
                _cross(X, Y, out)
            return out
        return fallback(X, Y, metric=metric, **kwds)

    pairwise_distances.__wrapped__ = fallback  # type: ignore[attr-defined]
    return pairwise_distances


@contextlib.contextmanager
def compiled_pairwise() -> Iterator[None]:
    """While active, umap-learn's small-data distances run compiled (same bits)."""
    saved = umap.umap_.pairwise_distances
    umap.umap_.pairwise_distances = pairwise(saved)
    try:
        yield
    finally:
        umap.umap_.pairwise_distances = saved
