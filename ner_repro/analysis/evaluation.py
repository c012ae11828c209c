"""Fig4–7 evaluation: explained variance, self/cross-session decoding, summary statistics.

Sources: METHODS §5–6 and ``reference/fig4-7.md`` §2, §4, §6 (every section of the specification
cited in this module is summarised in ``docs/sources.md``). Inputs are
:class:`~ner_repro.core.embedding.EmbeddingRun` objects; every output records the evaluation mode.

Evaluation modes (METHODS §6)
-----------------------------
``paper``
    The authors' procedure, to compare with the published numbers: test-split velocity R² as
    ``r2_score(pred, true)`` (Fig4 test column and every Fig5–7 velocity matrix; train R² and
    all position R² use the correct order); cross-decoding alignment by per-direction Procrustes
    on the direction averages of **all** trials of A and B followed by ``get_best_R``; the
    authors' test embeddings (``run.test_for("paper")``: UMAP's separate test fit, pi-VAE's
    label-conditioned posterior).
``corrected`` (default of the workflow)
    ``r2_score(true, pred)`` everywhere; one Procrustes fit on the stacked direction averages
    of the two *training* splits; the test embeddings computed without test data.

Both modes fit the decoders on A's (aligned) training split and score them on B's test split
(the diagonal, A = B, uses no alignment). ``LogisticRegression`` keeps the authors' iteration
limits in both modes (5000 in Fig4, 500 in Fig5–7).

Differences from the authors' code that cannot change a number: direction classes are always
0..7 (their ``self_decode`` classified raw degrees, the same partition); ``multi_class=
'multinomial'`` is gone from scikit-learn ≥ 1.7 (lbfgs fits the same multinomial model); the
kNN ``n_neighbors`` of a training session is chosen once on its unrotated embedding
(cross-validated kNN scores are invariant to the orthogonal alignment).

Where the paper-mode numbers can differ from the published ones: the off-diagonal elements,
because ``get_best_R``'s choice among the 8 per-direction rotations follows floating-point
noise of this machine's LAPACK (``fig4-7.md`` §0: 20–50 % of elements reproduce), and peak
accuracies by 1–2 trials where lbfgs converges differently across versions.

Session order and the authors' ordering bugs
--------------------------------------------
Sessions are ordered canonically by (monkey, date YYYYMMDD, area), so matrices of different
methods line up element by element and paired tests pair the same (train, test) sessions. The
authors ordered files by the first 6 digits of their names, which left ties in ``os.listdir``
order for 8-digit dates (CEBRA-16D in Fig5/6), for ``Han_2011712DD`` names (Fig4 S1, Fig7
pi-VAE) and for same-date M1/PMd pairs (Fig6); their stored matrices therefore use different
row orders per method, their tick labels (``np.unique``) do not match the rows, and their paired
tests pair wrong elements for those methods (``fig4-7.md`` §6.3). None of that is reproduced;
:func:`compare_methods` pairs by session names.

Outputs
-------
Each analysis returns a tidy :class:`pandas.DataFrame` (:data:`FRAME_COLUMNS`; one row per
(train session, test session, decoder, split, metric)) and a dict of arrays for the figures
(:meth:`CrossDecoding.arrays`, :meth:`ExplainedVarianceTable.arrays`). :func:`save_analysis`
writes both atomically, one CSV and one ``.npz`` per analysis.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ner_repro.analysis.alignment import (
    Alignment,
    corrected_alignment,
    identity_alignment,
    paper_alignment,
)
from ner_repro.analysis.decoding import (
    DECODERS,
    MAX_ITER_CROSS,
    MAX_ITER_FIG4,
    DecodeScores,
    KnnSearch,
    fit_decoders,
    knn_searches,
    score_decoders,
    single_threaded_blas,
)
from ner_repro.core import atomic
from ner_repro.core.config import MODES, session_parts
from ner_repro.core.embedding import EmbeddingRun
from ner_repro.core.session import BIN_MS

Mode = Literal["paper", "corrected"]
METRICS: tuple[str, ...] = ("pos_R2", "vel_R2", "peak_dir_acc", "dir_MAE_deg")
FRAME_COLUMNS: tuple[str, ...] = (
    "analysis",  # "explained_variance" (Fig4) or "cross_decode" (Fig5-7)
    "dataset",  # free label given by the caller, e.g. "M1", "PMd+M1", "S1"
    "method",
    "mode",  # "paper" or "corrected"
    "seed",  # seed of the run the decoders were trained on
    "decoder",  # "linear" or "knn"
    "train_session",
    "test_session",
    "split",  # split scored: "train" (Fig4 in-sample) or "test"
    "pair",  # "self" (same session) or "cross"
    "alignment",  # "none", "get_best_R" or "joint_procrustes"
    "metric",  # one of METRICS
    "value",
)
Log = Callable[[str], None]


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"evaluation mode must be one of {MODES}, got {mode!r}")
    return mode


# -- sessions -------------------------------------------------------------------------------------
def session_key(name: str) -> tuple[str, str, str]:
    """Canonical sort key of a session name ``{monkey}_{date}_{area}``: (monkey, date, area)
    (:func:`ner_repro.core.config.session_parts`)."""
    return session_parts(name)


def canonical_order(runs: Sequence[EmbeddingRun]) -> list[EmbeddingRun]:
    """Runs sorted by (method, monkey, date, area, seed)."""
    return sorted(runs, key=lambda r: (r.method, *session_key(r.session), r.seed))


def _concat_all(run: EmbeddingRun, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """All trials (train, then test) of a run, as the authors concatenated them."""
    emb = np.concatenate([run.train, run.test_for(mode)], axis=0)
    lab = np.concatenate([run.labels_train, run.labels_test], axis=0)
    return emb, lab


def _rows(
    *,
    analysis: str,
    dataset: str,
    method: str,
    mode: str,
    seed: int,
    decoder: str,
    train_session: str,
    test_session: str,
    split: str,
    alignment: str,
    scores: DecodeScores,
) -> list[dict[str, Any]]:
    base = {
        "analysis": analysis,
        "dataset": dataset,
        "method": method,
        "mode": mode,
        "seed": seed,
        "decoder": decoder,
        "train_session": train_session,
        "test_session": test_session,
        "split": split,
        "pair": "self" if train_session == test_session else "cross",
        "alignment": alignment,
    }
    return [{**base, "metric": m, "value": v} for m, v in scores.metrics().items()]


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(FRAME_COLUMNS))


# -- (a) Fig4: explained variance -----------------------------------------------------------------
@dataclass
class ExplainedVariance:
    """Fig4 decoding of one run: decoders fit on the training split, scored on train and test."""

    session: str
    method: str
    seed: int
    t_dur: int
    decoder: str
    mode: str
    train: DecodeScores
    test: DecodeScores
    knn: tuple[KnnSearch, KnnSearch] | None = None


def explained_variance(
    run: EmbeddingRun,
    mode: Mode,
    decoder: str = "linear",
    *,
    max_iter: int = MAX_ITER_FIG4,
    n_jobs: int | None = None,
) -> ExplainedVariance:
    """The authors' ``self_var_decode`` (``fig4-7.md`` §2.1; ``docs/sources.md``) for one run.

    Decoders are fit on the training split; *train* scores are in-sample (what Fig4 plots as
    "explained variance"), *test* scores use ``run.test_for(mode)``. Velocity R² on test is
    swapped in ``paper`` mode, correct in ``corrected`` mode; train velocity R² and all
    position R² are correct in both.
    """
    check_mode(mode)
    knn = knn_searches(run.train, run.labels_train, n_jobs=n_jobs) if decoder == "knn" else None
    dec = fit_decoders(
        run.train, run.labels_train, decoder, max_iter=max_iter, knn=knn, n_jobs=n_jobs
    )
    train = score_decoders(dec, run.train, run.labels_train, run.t_dur)
    test = score_decoders(
        dec, run.test_for(mode), run.labels_test, run.t_dur, swapped_vel=(mode == "paper")
    )
    return ExplainedVariance(
        run.session, run.method, run.seed, run.t_dur, decoder, mode, train, test, knn
    )


@dataclass
class ExplainedVarianceTable:
    """Fig4 results of several runs (any methods), in canonical order."""

    mode: str
    dataset: str
    decoders: tuple[str, ...]
    results: list[ExplainedVariance]  # ordered by run, then decoder
    frame: pd.DataFrame
    bin_ms: float = BIN_MS

    @property
    def runs(self) -> list[tuple[str, str, int]]:
        """(method, session, seed) of each run, in order."""
        seen: dict[tuple[str, str, int], None] = {}
        for r in self.results:
            seen.setdefault((r.method, r.session, r.seed), None)
        return list(seen)

    def arrays(self) -> dict[str, Any]:
        """Arrays for the figures.

        ``methods``, ``sessions``, ``seeds``, ``t_dur`` (n,) per run; ``splits`` = [train, test];
        per decoder ``{decoder}_{metric}`` (n, 2) for each of :data:`METRICS`,
        ``{decoder}_acc_time`` (n, 2, max t_dur; NaN-padded); ``knn_k_vel``/``knn_k_dir`` (n,)
        (-1 where no kNN); ``time_ms`` (max t_dur,) bin starts; ``mode``, ``dataset``.
        """
        runs = self.runs
        index = {key: i for i, key in enumerate(runs)}
        n = len(runs)
        t_max = max((r.t_dur for r in self.results), default=0)
        t_dur = np.zeros(n, dtype=np.int64)
        out: dict[str, Any] = {
            "methods": np.array([m for m, _, _ in runs], dtype=str),
            "sessions": np.array([s for _, s, _ in runs], dtype=str),
            "seeds": np.array([s for _, _, s in runs], dtype=np.int64),
            "splits": np.array(["train", "test"]),
            "time_ms": np.arange(t_max) * self.bin_ms,
            "mode": self.mode,
            "dataset": self.dataset,
            "knn_k_vel": np.full(n, -1, dtype=np.int64),
            "knn_k_dir": np.full(n, -1, dtype=np.int64),
        }
        for dec in self.decoders:
            for metric in METRICS:
                out[f"{dec}_{metric}"] = np.full((n, 2), np.nan)
            out[f"{dec}_acc_time"] = np.full((n, 2, t_max), np.nan)
        for r in self.results:
            i = index[(r.method, r.session, r.seed)]
            t_dur[i] = r.t_dur
            for s, scores in enumerate((r.train, r.test)):
                for metric, value in scores.metrics().items():
                    out[f"{r.decoder}_{metric}"][i, s] = value
                out[f"{r.decoder}_acc_time"][i, s, : r.t_dur] = scores.acc_time
            if r.knn is not None:
                out["knn_k_vel"][i] = r.knn[0].best_k
                out["knn_k_dir"][i] = r.knn[1].best_k
        out["t_dur"] = t_dur
        return out


def explained_variance_table(
    runs: Sequence[EmbeddingRun],
    mode: Mode,
    *,
    decoders: Sequence[str] = ("linear",),
    dataset: str = "",
    max_iter: int = MAX_ITER_FIG4,
    n_jobs: int | None = None,
    log: Log | None = None,
) -> ExplainedVarianceTable:
    """:func:`explained_variance` for every run and decoder (Fig4; the paper plots ``linear``)."""
    check_mode(mode)
    for dec in decoders:
        if dec not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}, got {dec!r}")
    results: list[ExplainedVariance] = []
    rows: list[dict[str, Any]] = []
    for run in canonical_order(runs):
        for dec in decoders:
            if log:
                log(f"explained variance [{mode}] {run.method} {run.session} {dec}")
            res = explained_variance(run, mode, dec, max_iter=max_iter, n_jobs=n_jobs)
            results.append(res)
            for split, scores in (("train", res.train), ("test", res.test)):
                rows += _rows(
                    analysis="explained_variance",
                    dataset=dataset,
                    method=run.method,
                    mode=mode,
                    seed=run.seed,
                    decoder=dec,
                    train_session=run.session,
                    test_session=run.session,
                    split=split,
                    alignment="none",
                    scores=scores,
                )
    return ExplainedVarianceTable(mode, dataset, tuple(decoders), results, _frame(rows))


# -- (b) Fig5-7: self- and cross-session decoding -------------------------------------------------
def align_pair(
    run_a: EmbeddingRun,
    run_b: EmbeddingRun,
    mode: Mode,
    *,
    on_tie: Literal["error", "positive"] = "error",
) -> Alignment:
    """The rotation applied to A before decoding B (identity when A is B).

    ``paper``: per-direction Procrustes between the direction averages over all trials (train
    and test) of A and B, then ``get_best_R``. ``corrected``: one Procrustes fit on the stacked
    direction averages of the two training splits.
    """
    check_mode(mode)
    if run_a is run_b:
        return identity_alignment(run_a.dim)
    if run_a.dim != run_b.dim or run_a.t_dur != run_b.t_dur:
        raise ValueError(
            f"cannot align {run_a.session} ({run_a.dim}-D, t_dur {run_a.t_dur}) with "
            f"{run_b.session} ({run_b.dim}-D, t_dur {run_b.t_dur})"
        )
    if mode == "paper":
        emb_a, lab_a = _concat_all(run_a, mode)
        emb_b, lab_b = _concat_all(run_b, mode)
        return paper_alignment(emb_a, lab_a, emb_b, lab_b, run_a.t_dur, on_tie=on_tie)
    return corrected_alignment(
        run_a.train, run_a.labels_train, run_b.train, run_b.labels_train, run_a.t_dur
    )


def decode_pair(
    run_a: EmbeddingRun,
    run_b: EmbeddingRun,
    mode: Mode,
    decoder: str,
    *,
    alignment: Alignment | None = None,
    knn: tuple[KnnSearch, KnnSearch] | None = None,
    max_iter: int = MAX_ITER_CROSS,
    n_jobs: int | None = None,
) -> DecodeScores:
    """Element [A, B]: decoders fit on A's aligned training split, scored on B's test split.

    B's test embedding is not rotated (the authors' ``cross_decode``; ``fig4-7.md`` §2.2, see
    ``docs/sources.md``).
    For A = B this is ``self_decode``. Velocity R² is swapped in ``paper`` mode.
    """
    check_mode(mode)
    if alignment is None:
        alignment = align_pair(run_a, run_b, mode)
    dec = fit_decoders(
        run_a.train @ alignment.R,
        run_a.labels_train,
        decoder,
        max_iter=max_iter,
        knn=knn,
        n_jobs=n_jobs,
    )
    return score_decoders(
        dec, run_b.test_for(mode), run_b.labels_test, run_b.t_dur, swapped_vel=(mode == "paper")
    )


@dataclass
class CrossDecoding:
    """An n×n self/cross-decoding analysis of one method. Element [i, j]: train i → test j."""

    method: str
    mode: str
    dataset: str
    sessions: list[str]
    seeds: list[int]
    t_dur: int
    decoders: tuple[str, ...]
    matrices: dict[str, dict[str, np.ndarray]]  # decoder -> metric -> (n, n)
    acc_time: dict[str, np.ndarray]  # decoder -> (n, n, t_dur)
    rotations: np.ndarray  # (n, n, d, d); identity on the diagonal
    chosen_direction: np.ndarray  # (n, n) get_best_R's direction (paper), else -1
    knn_k: dict[str, np.ndarray] = field(default_factory=dict)  # "vel"/"dir" -> (n,)
    frame: pd.DataFrame = field(default_factory=lambda: _frame([]))
    bin_ms: float = BIN_MS

    def arrays(self) -> dict[str, Any]:
        """Arrays for the figures.

        ``sessions`` (n,), ``seeds`` (n,), ``{decoder}_{metric}`` (n, n) for each decoder and
        :data:`METRICS`, ``{decoder}_acc_time`` (n, n, t_dur), ``rotations`` (n, n, d, d),
        ``chosen_direction`` (n, n), ``knn_k_vel``/``knn_k_dir`` (n,) when kNN ran,
        ``time_ms`` (t_dur,), ``method``, ``mode``, ``dataset``, ``decoders``.
        """
        out: dict[str, Any] = {
            "sessions": np.array(self.sessions, dtype=str),
            "seeds": np.array(self.seeds, dtype=np.int64),
            "decoders": np.array(self.decoders, dtype=str),
            "method": self.method,
            "mode": self.mode,
            "dataset": self.dataset,
            "time_ms": np.arange(self.t_dur) * self.bin_ms,
            "rotations": self.rotations,
            "chosen_direction": self.chosen_direction,
        }
        for dec in self.decoders:
            for metric, mat in self.matrices[dec].items():
                out[f"{dec}_{metric}"] = mat
            out[f"{dec}_acc_time"] = self.acc_time[dec]
        for name, ks in self.knn_k.items():
            out[f"knn_k_{name}"] = ks
        return out


def cross_decode(
    runs: Sequence[EmbeddingRun],
    mode: Mode,
    *,
    decoders: Sequence[str] = DECODERS,
    dataset: str = "",
    max_iter: int = MAX_ITER_CROSS,
    n_jobs: int | None = None,
    on_tie: Literal["error", "positive"] = "error",
    log: Log | None = None,
) -> CrossDecoding:
    """Self- (diagonal) and cross-session decoding matrices of one method (Fig5/6/7).

    Runs are put in canonical (monkey, date, area) order; all must share the method, the
    embedding dimension and ``t_dur``. The kNN ``n_neighbors`` are chosen once per training
    session on its unrotated training split (the CV scores are invariant to the orthogonal
    alignment; :func:`~ner_repro.analysis.decoding.knn_searches`).
    """
    check_mode(mode)
    runs = canonical_order(runs)
    if not runs:
        raise ValueError("cross_decode needs at least one run")
    methods = {r.method for r in runs}
    if len(methods) != 1:
        raise ValueError(f"cross_decode compares sessions of one method, got {sorted(methods)}")
    sessions = [r.session for r in runs]
    if len(set(sessions)) != len(sessions):
        raise ValueError(f"duplicate sessions in cross_decode: {sessions}")
    dims = {r.dim for r in runs}
    t_durs = {r.t_dur for r in runs}
    if len(dims) != 1 or len(t_durs) != 1:
        raise ValueError(f"runs differ in dimension {sorted(dims)} or t_dur {sorted(t_durs)}")
    for dec in decoders:
        if dec not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}, got {dec!r}")
    n, d, t_dur = len(runs), dims.pop(), t_durs.pop()
    method = runs[0].method

    knn_cache: dict[int, tuple[KnnSearch, KnnSearch]] = {}
    if "knn" in decoders:
        for i, run in enumerate(runs):
            if log:
                log(f"kNN grid search {method} {run.session}")
            knn_cache[i] = knn_searches(run.train, run.labels_train, n_jobs=n_jobs)

    matrices = {dec: {m: np.full((n, n), np.nan) for m in METRICS} for dec in decoders}
    acc_time = {dec: np.full((n, n, t_dur), np.nan) for dec in decoders}
    rotations = np.zeros((n, n, d, d))
    chosen = np.full((n, n), -1, dtype=np.int64)
    rows: list[dict[str, Any]] = []
    for i, j in itertools.product(range(n), range(n)):
        run_a, run_b = runs[i], runs[j]
        try:
            alignment = (
                identity_alignment(d) if i == j else align_pair(run_a, run_b, mode, on_tie=on_tie)
            )
        except ValueError as exc:
            raise ValueError(f"aligning {run_a.session} to {run_b.session}: {exc}") from exc
        rotations[i, j] = alignment.R
        chosen[i, j] = alignment.chosen_direction
        for dec in decoders:
            if log:
                log(f"cross decode [{mode}] {method} {dec}: {run_a.session} -> {run_b.session}")
            scores = decode_pair(
                run_a,
                run_b,
                mode,
                dec,
                alignment=alignment,
                knn=knn_cache.get(i),
                max_iter=max_iter,
                n_jobs=n_jobs,
            )
            for metric, value in scores.metrics().items():
                matrices[dec][metric][i, j] = value
            acc_time[dec][i, j] = scores.acc_time
            rows += _rows(
                analysis="cross_decode",
                dataset=dataset,
                method=method,
                mode=mode,
                seed=run_a.seed,
                decoder=dec,
                train_session=run_a.session,
                test_session=run_b.session,
                split="test",
                alignment=alignment.method if i != j else "none",
                scores=scores,
            )
    knn_k = {}
    if knn_cache:
        knn_k = {
            "vel": np.array([knn_cache[i][0].best_k for i in range(n)], dtype=np.int64),
            "dir": np.array([knn_cache[i][1].best_k for i in range(n)], dtype=np.int64),
        }
    return CrossDecoding(
        method=method,
        mode=mode,
        dataset=dataset,
        sessions=sessions,
        seeds=[r.seed for r in runs],
        t_dur=t_dur,
        decoders=tuple(decoders),
        matrices=matrices,
        acc_time=acc_time,
        rotations=rotations,
        chosen_direction=chosen,
        knn_k=knn_k,
        frame=_frame(rows),
    )


# -- (c) summary statistics -----------------------------------------------------------------------
def diagonal_split(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(diagonal, off-diagonal in row-major order) of a square matrix, as the authors split it."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {m.shape}")
    return np.diag(m).copy(), m[~np.eye(m.shape[0], dtype=bool)]


def _describe(values: np.ndarray, prefix: str) -> dict[str, float]:
    if values.size == 0:
        return {f"{prefix}_{s}": np.nan for s in ("mean", "sd", "median", "min", "max")}
    return {
        f"{prefix}_mean": float(np.mean(values)),
        f"{prefix}_sd": float(np.std(values)),  # population SD (np.std), as the authors
        f"{prefix}_median": float(np.median(values)),
        f"{prefix}_min": float(np.min(values)),
        f"{prefix}_max": float(np.max(values)),
    }


def matrix_summary(matrix: np.ndarray) -> dict[str, float]:
    """Mean, SD (``np.std``), median, min and max of the diagonal and of the off-diagonal."""
    diag, off = diagonal_split(matrix)
    return {"n_sessions": int(diag.size), **_describe(diag, "diag"), **_describe(off, "offdiag")}


def mean_accuracy_curve(acc_time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and SD (``np.std``) over curves: all n² pairs of an (n, n, t) array, diagonal
    included as the authors did (Fig5–7), or the k curves of a (k, t) array (Fig4)."""
    acc = np.asarray(acc_time, dtype=np.float64)
    curves = acc.reshape(-1, acc.shape[-1])
    return curves.mean(axis=0), curves.std(axis=0)


def curve_peak(
    mean_curve: np.ndarray, bin_ms: float = BIN_MS, time_ms: np.ndarray | None = None
) -> tuple[float, float]:
    """(peak value, time of the peak in ms from the go cue) of an accuracy curve; the times
    are ``time_ms`` where given, else bin index x ``bin_ms``. NaN bins (no trial reached that
    bin) are ignored; a curve of NaN only has no peak: (NaN, NaN)."""
    curve = np.asarray(mean_curve, dtype=np.float64)
    if curve.size == 0 or not np.isfinite(curve).any():
        return float("nan"), float("nan")
    k = int(np.nanargmax(curve))
    when = float(time_ms[k]) if time_ms is not None else float(k * bin_ms)
    return float(curve[k]), when


def cross_summary(result: CrossDecoding) -> pd.DataFrame:
    """One row per (decoder, metric) with :func:`matrix_summary`, plus the mean-curve peak.

    Columns: dataset, method, mode, decoder, metric, n_sessions, diag_/offdiag_ mean, sd,
    median, min, max, acc_curve_peak, acc_curve_peak_ms (the last two on the
    ``peak_dir_acc`` rows only).
    """
    rows = []
    for dec in result.decoders:
        mean_curve, _ = mean_accuracy_curve(result.acc_time[dec])
        peak, peak_ms = curve_peak(mean_curve, result.bin_ms)
        for metric in METRICS:
            row: dict[str, Any] = {
                "dataset": result.dataset,
                "method": result.method,
                "mode": result.mode,
                "decoder": dec,
                "metric": metric,
                **matrix_summary(result.matrices[dec][metric]),
                "acc_curve_peak": peak if metric == "peak_dir_acc" else np.nan,
                "acc_curve_peak_ms": peak_ms if metric == "peak_dir_acc" else np.nan,
            }
            rows.append(row)
    return pd.DataFrame(rows)


@single_threaded_blas
def paired_tests(samples: Mapping[str, np.ndarray]) -> dict[str, float]:
    """The authors' ``NER_Cebra_piVAE_compare`` for any ≥ 2 methods (paired samples).

    Per method mean and SD (``np.std``); ``scipy.stats.ttest_rel`` for every pair in the given
    order (``{a}_vs_{b}_t``/``_p``); ``statsmodels`` ``AnovaRM(aggregate_func=np.mean)`` with
    subject = sample index (``rmANOVA_F``/``_p``); ``scipy.stats.friedmanchisquare``
    (``friedman_stat``/``_p``; NaN with fewer than 3 methods). Keys match
    ``reference/fig4-7-stats.csv`` (described in ``docs/sources.md``).
    """
    from scipy import stats
    from statsmodels.stats.anova import AnovaRM

    names = list(samples)
    arrays = [np.asarray(samples[k], dtype=np.float64).ravel() for k in names]
    if len(arrays) < 2:
        raise ValueError("paired tests need at least two methods")
    n = arrays[0].size
    if any(a.size != n for a in arrays):
        raise ValueError(f"paired samples differ in length: {[a.size for a in arrays]}")
    out: dict[str, float] = {"n": n}
    for name, a in zip(names, arrays, strict=True):
        out[f"{name}_mean"] = float(np.mean(a))
        out[f"{name}_sd"] = float(np.std(a))
    for (na, a), (nb, b) in itertools.combinations(zip(names, arrays, strict=True), 2):
        t = stats.ttest_rel(a, b)
        out[f"{na}_vs_{nb}_t"] = float(t.statistic)
        out[f"{na}_vs_{nb}_p"] = float(t.pvalue)
    long = pd.DataFrame(
        {
            "Subject": np.tile(np.arange(n), len(names)),
            "Condition": np.repeat(names, n),
            "Value": np.concatenate(arrays),
        }
    )
    table = AnovaRM(long, "Value", "Subject", within=["Condition"], aggregate_func=np.mean).fit()
    out["rmANOVA_F"] = float(table.anova_table["F Value"].iloc[0])
    out["rmANOVA_p"] = float(table.anova_table["Pr > F"].iloc[0])
    if len(arrays) >= 3:
        fr = stats.friedmanchisquare(*arrays)
        out["friedman_stat"] = float(fr.statistic)
        out["friedman_p"] = float(fr.pvalue)
    else:
        out["friedman_stat"] = out["friedman_p"] = np.nan
    return out


def compare_methods(
    frame: pd.DataFrame,
    methods: Sequence[str],
    *,
    metric: str,
    decoder: str,
    subset: Literal["diag", "offdiag"],
    mode: str | None = None,
    dataset: str | None = None,
    analysis: str = "cross_decode",
) -> dict[str, Any]:
    """:func:`paired_tests` of ``methods`` on matrix elements paired by (train, test) session.

    ``frame`` holds the rows of several methods (e.g. concatenated :attr:`CrossDecoding.frame`)
    of one mode and one dataset (select them with ``mode=``/``dataset=`` otherwise). Seeds of
    one method are averaged per element first; elements missing for any method are
    dropped (their number is reported as ``n_dropped``).
    """
    sel = frame[
        (frame["analysis"] == analysis)
        & (frame["metric"] == metric)
        & (frame["decoder"] == decoder)
        & (frame["method"].isin(list(methods)))
    ]
    if analysis == "explained_variance":
        sel = sel[sel["split"] == "test"]
    if mode is not None:
        sel = sel[sel["mode"] == mode]
    if dataset is not None:
        sel = sel[sel["dataset"] == dataset]
    if len(set(sel["mode"])) > 1:
        raise ValueError("rows of both evaluation modes given; pass mode=")
    if len(set(sel["dataset"])) > 1:
        raise ValueError(f"rows of several datasets {sorted(set(sel['dataset']))}; pass dataset=")
    is_self = sel["train_session"] == sel["test_session"]
    sel = sel[is_self] if subset == "diag" else sel[~is_self]
    wide = sel.pivot_table(
        index=["train_session", "test_session"], columns="method", values="value", aggfunc="mean"
    )
    missing = [m for m in methods if m not in wide.columns]
    if missing:
        raise ValueError(f"no {metric}/{decoder}/{subset} rows for method(s) {missing}")
    complete = wide[list(methods)].dropna()
    keys = sorted(complete.index, key=lambda k: (session_key(k[0]), session_key(k[1])))
    complete = complete.loc[keys]
    result: dict[str, Any] = {"metric": metric, "decoder": decoder, "subset": subset}
    result.update(paired_tests({m: complete[m].to_numpy() for m in methods}))
    result["n_dropped"] = len(wide) - len(complete)
    return result


# -- writers --------------------------------------------------------------------------------------
def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` as CSV (no index) atomically."""
    with atomic.atomic_path(path, suffix=".csv") as tmp:
        frame.to_csv(tmp, index=False)
    return Path(path)


def write_arrays(path: str | os.PathLike[str], arrays: Mapping[str, Any]) -> Path:
    """Write figure arrays to an ``.npz`` atomically (no pickles: strings become str arrays)."""
    return atomic.save_npz(path, arrays)


def save_analysis(
    result: CrossDecoding | ExplainedVarianceTable,
    csv_path: str | os.PathLike[str],
    npz_path: str | os.PathLike[str],
) -> tuple[Path, Path]:
    """Write one analysis: its tidy table (CSV) and its figure arrays (``.npz``)."""
    return write_table(result.frame, csv_path), write_arrays(npz_path, result.arrays())
