"""UMAP baselines (``kind: umap``): unsupervised ("UMAP") and with labels ("UMAP_label").

The authors (``Fig3_Batch_M1_UMAP_PCA_dPCA`` cell 1) ran::

    umap.UMAP(n_neighbors=68, min_dist=0.2475, n_components=2, n_jobs=8,
              random_state=None, metric='euclidean')

with ``fit_transform(neural_train, y=angle_train)`` for "UMAP_label" (the angle in degrees;
UMAP's default ``target_metric='categorical'`` makes the 8 values classes) and
``fit_transform(neural_train)`` for "UMAP". Their *test* embedding is a second, unrelated
``fit_transform`` on the test data (with the test labels for "UMAP_label"); that is kept as
``test_paper``. The corrected ``test`` is ``transform`` of the test bins by the model fitted on
the training bins (UMAP's ``transform`` uses no labels).

Determinism: with ``deterministic: true`` (default) the run's seed is UMAP's ``random_state``,
which makes umap-learn single-threaded and its output reproducible for a given seed on a
given machine (numba's floating-point reductions may still differ across CPU types).
``deterministic: false`` reproduces the authors' ``random_state=None`` with all cores, faster
but not reproducible.

Compilation: umap-learn and pynndescent are compiled by numba on first use, in every process
(5-8 minutes on a fresh machine, about 2 minutes on a warm one), because most of their
functions are not declared ``cache=True``. :func:`import_umap` imports them with numba's
on-disk cache switched on for every function that does not opt out explicitly, so a later
process loads the machine code instead (identical code, so identical results). The cache
goes where ``NUMBA_CACHE_DIR`` points (the workflow sets it under its results; numba's
cache files are written atomically, so concurrent jobs may share it). One function cannot
be cached: pynndescent's ``nn_descent`` receives the distance function as an argument
("dynamic globals"), so data sets of 4096 points or more still compile it once per process
(about 30 s). :func:`warm_up` fills the cache (the workflow's rule ``compile_umap``).

Small data: below 4096 points umap-learn computes all pairwise distances through
scikit-learn's Python loop over a compiled metric (20 s for 3 700 bins, more for the
transform); every call here runs them in one compiled loop instead, with the same bits
(:mod:`ner_repro.methods.umap_pairwise`; ``COMPILED_PAIRWISE = False`` restores the loop).
"""

from __future__ import annotations

import contextlib
import functools
import sys
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from ner_repro.core.embedding import EmbeddingRun
from ner_repro.core.session import SessionData
from ner_repro.methods.common import start
from ner_repro.methods.kinds import KINDS

KIND = "umap"


@contextlib.contextmanager
def _numba_cache_by_default() -> Iterator[None]:
    """While active, ``numba.njit``/``numba.jit`` default to ``cache=True``.

    Only the default changes: a function declared ``cache=False`` stays uncached, and one
    numba refuses to cache (closures over dynamic globals) just warns and compiles.
    """
    import numba

    saved = numba.njit, numba.jit

    def cached(decorator: Any) -> Any:
        @functools.wraps(decorator)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("cache", True)
            return decorator(*args, **kwargs)

        return wrapper

    numba.njit, numba.jit = cached(numba.njit), cached(numba.jit)
    try:
        yield
    finally:
        numba.njit, numba.jit = saved


def import_umap() -> Any:
    """``import umap`` with numba's on-disk cache on for umap-learn and pynndescent.

    The decorators run at import, so this only helps if neither package was imported
    before in this process (then it is a plain import).
    """
    if "umap" in sys.modules:
        return sys.modules["umap"]
    with _numba_cache_by_default(), warnings.catch_warnings():
        # "Cannot cache compiled function ... as it uses dynamic globals": compiled anyway.
        warnings.filterwarnings("ignore", message=".*[Cc]annot cache.*")
        import umap
    return umap


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        # umap-learn warns that random_state forces n_jobs=1; that is the point.
        warnings.filterwarnings("ignore", message=".*n_jobs.*overridden.*")
        warnings.filterwarnings("ignore", message=".*random_state.*")
        # numba, for the functions it cannot cache (compiled as before).
        warnings.filterwarnings("ignore", message=".*[Cc]annot cache.*")
        yield


def _model(cfg: Mapping[str, Any], seed: int) -> Any:
    umap = import_umap()
    deterministic = bool(cfg["deterministic"])
    return umap.UMAP(
        n_neighbors=int(cfg["n_neighbors"]),
        min_dist=float(cfg["min_dist"]),
        n_components=int(cfg["n_components"]),
        metric=str(cfg["metric"]),
        target_metric=str(cfg["target_metric"]),
        n_epochs=None if cfg["n_epochs"] is None else int(cfg["n_epochs"]),
        random_state=seed if deterministic else None,
        n_jobs=1 if deterministic else -1,
        # transform() has its own seed; tie it to the run's seed too.
        transform_seed=seed,
    )


#: Compute umap-learn's small-data distances compiled (:mod:`ner_repro.methods.umap_pairwise`,
#: bit-identical); ``False`` restores scikit-learn's Python loop (benchmarks, tests).
COMPILED_PAIRWISE = True


@contextlib.contextmanager
def _running() -> Iterator[None]:
    """Around every umap-learn call: warnings filtered, small-data distances compiled."""
    with _quiet():
        if not COMPILED_PAIRWISE:
            yield
            return
        import_umap()
        from ner_repro.methods.umap_pairwise import compiled_pairwise

        with compiled_pairwise():
            yield


def _fit_transform(model: Any, x: np.ndarray, y: np.ndarray | None) -> np.ndarray:
    with _running():
        return np.asarray(model.fit_transform(x, y=y), dtype=np.float64)


#: umap-learn computes exact distances below this many points, NN-descent from it on.
SMALL_DATA = 4096


def warm_up(
    params: Mapping[str, Any] | None = None,
    *,
    sizes: Iterable[int] | None = None,
    log: Any = None,
) -> float:
    """Compile (and cache) every numba function a fit uses; returns the seconds taken.

    Fits, with and without labels, and transforms synthetic data of the sizes UMAP treats
    differently (below :data:`SMALL_DATA` points: exact distances; from it on: NN-descent
    and its search index), with the same dtypes as :func:`fit_umap`. ``sizes``, the numbers
    of points the run will fit, selects the paths to compile (default: both). Six epochs
    suffice (transform runs a third as many; at least one): the epochs do not change what
    is compiled.
    """
    cfg = KINDS[KIND].resolve({**(params or {}), "n_epochs": 6})
    rng = np.random.default_rng(0)
    began = time.perf_counter()
    wanted = None if sizes is None else [int(n) for n in sizes]
    points = [
        n
        for n, small in ((600, True), (4200, False))
        if wanted is None or any((m < SMALL_DATA) == small for m in wanted)
    ]
    for n in points:
        x = rng.normal(size=(n, 24))
        y = rng.integers(0, 8, n).astype(np.float64) * 45.0
        for supervised in (True, False):
            t0 = time.perf_counter()
            model = _model(cfg, seed=0)
            _fit_transform(model, x, y if supervised else None)
            with _running():
                model.transform(x[:200])
            if log is not None:
                print(
                    f"{n} points, {'with' if supervised else 'without'} labels: "
                    f"{time.perf_counter() - t0:.1f} s",
                    file=log,
                    flush=True,
                )
    return time.perf_counter() - began


def fit_umap(
    session: SessionData,
    *,
    seed: int,
    params: Mapping[str, Any],
    method: str = "UMAP",
    device: str = "cpu",
    progress: bool = False,
) -> EmbeddingRun:
    """UMAP fitted on the training bins (with the angle as class label if ``supervised``)."""
    begin = start(KIND, session, seed=seed, params=params, method=method, device=device)
    cfg, clock = begin.settings, begin.clock
    supervised = bool(cfg["supervised"])
    x_train, y_train, x_test, y_test = begin.x_train, begin.y_train, begin.x_test, begin.y_test
    model = _model(cfg, seed)
    train = _fit_transform(model, x_train, y_train[:, 2] if supervised else None)
    with _running():
        test = np.asarray(model.transform(x_test), dtype=np.float64)
    fit_s = clock.elapsed()
    test_paper = None
    if cfg["paper_test"]:
        # The authors' procedure: an unrelated second fit on the test split (test labels too).
        test_paper = _fit_transform(_model(cfg, seed), x_test, y_test[:, 2] if supervised else None)
    return begin.finish(
        train=train,
        test=test,
        test_paper=test_paper,
        fit_transform_s=fit_s,
    )
