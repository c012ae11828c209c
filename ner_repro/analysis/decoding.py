"""Decoders and metrics: what the paper calls velocity, position and direction decoding.

Sources: METHODS §5; ``reference/fig4-7.md`` §2.1–2.2 (Fig4–7), ``reference/fig1-3-demo.md`` §1
(Fig1 in-sample analysis) and ``reference/fig8-baselines.md`` §1.7 (Fig8 train-set R²); the
specification's sections cited in this module are summarised in ``docs/sources.md``.

Conventions (shared by every function here):

* ``labels`` are the contract labels ``(T, 3) = [vx*10, vy*10, angle_deg]`` with the angle in
  {0, 45, ..., 315}; the direction class is ``angle / 45`` (0..7).
* Rows are time bins grouped in consecutive trials of ``t_dur`` bins; a split always holds whole
  trials.
* **Velocity** decoders are ``LinearRegression`` or a kNN regressor whose ``n_neighbors`` is
  chosen by 5-fold cross-validation over 2, 4, ..., 1024 (:data:`KNN_GRID`), as the authors'
  ``GridSearchCV`` did.
* **Position** is the per-trial cumulative sum of velocity (each trial starts at 0), computed
  for truth and prediction alike.
* **Direction** decoders are ``LogisticRegression`` (lbfgs, i.e. multinomial for 8 classes) or
  a kNN classifier with the same grid. *Accuracy per bin* is the percentage of trials whose
  predicted class equals the true class in that bin; *peak accuracy* is its maximum over bins.
* **R²** is ``r2_score`` with the default uniform average over x and y. ``swapped=True``
  reproduces the authors' ``r2_score(y_pred, y_true)`` (their test-set velocity R²; the cause of
  CEBRA's ≈ −3 in Fig4/5, ``fig4-7.md`` §4.3).

kNN speed: :func:`knn_grid_search` computes the cross-validation scores of *all* grid values
from one neighbour query per fold (the k nearest neighbours for k = 2 are the first 2 of the
1024 nearest), then refits a plain scikit-learn estimator with the selected ``n_neighbors``.
It returns the same scores and the same choice as ``GridSearchCV`` (same folds, same scorers,
first best on ties) unless two neighbours lie at (numerically) the same distance across a grid
boundary; ``exact=True`` runs ``GridSearchCV`` itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, ParamSpec, TypeVar

import numpy as np
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor, NearestNeighbors
from threadpoolctl import threadpool_limits

from ner_repro.core.session import ANGLE_STEP, N_DIRECTIONS

#: ``n_neighbors`` values tried by the authors' ``GridSearchCV``.
KNN_GRID: tuple[int, ...] = (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
#: Folds of the authors' ``GridSearchCV`` (the scikit-learn default; no shuffling).
KNN_CV = 5
#: ``LogisticRegression(max_iter=...)`` of the authors' Fig4 ``self_var_decode``.
MAX_ITER_FIG4 = 5000
#: ``LogisticRegression(max_iter=...)`` of the authors' Fig5–7 ``self_decode``/``cross_decode``
#: and of Fig1.
MAX_ITER_CROSS = 500

DecoderKind = Literal["linear", "knn"]
DECODERS: tuple[str, ...] = ("linear", "knn")
Task = Literal["regression", "classification"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def single_threaded_blas(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``fn`` with BLAS limited to one thread.

    The decoders work on tiny matrices (n × d, d ≤ 16): multi-threaded OpenBLAS only adds
    synchronisation, and on a busy machine its spinning threads made ``LogisticRegression``
    (scipy's L-BFGS-B) more than 10× slower. scikit-learn's own OpenMP parallelism
    (neighbour searches) and ``n_jobs`` are unaffected.
    """

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with threadpool_limits(limits=1, user_api="blas"):
            return fn(*args, **kwargs)

    return wrapper


# -- labels and metrics ---------------------------------------------------------------------------
def direction_class(angle_deg: np.ndarray) -> np.ndarray:
    """Direction class 0..7 of angles in degrees (multiples of 45)."""
    angle = np.asarray(angle_deg, dtype=np.float64)
    return (np.rint(angle / ANGLE_STEP).astype(np.int64)) % N_DIRECTIONS


def _n_trials(n_rows: int, t_dur: int) -> int:
    if t_dur <= 0 or n_rows % t_dur:
        raise ValueError(f"{n_rows} bins is not a whole number of trials of t_dur={t_dur} bins")
    return n_rows // t_dur


def positions_from_velocity(velocity: np.ndarray, t_dur: int) -> np.ndarray:
    """Per-trial cumulative sum of ``velocity`` (T, 2): the position relative to the trial start.

    The first bin of each trial holds that bin's velocity (the authors' ``np.cumsum`` over the
    bins of a trial), so each trial starts at 0 before its first bin.
    """
    vel = np.asarray(velocity, dtype=np.float64)
    n = _n_trials(vel.shape[0], t_dur)
    return np.cumsum(vel.reshape(n, t_dur, -1), axis=1).reshape(vel.shape)


def r2(y_true: np.ndarray, y_pred: np.ndarray, *, swapped: bool = False) -> float:
    """``r2_score`` averaged uniformly over columns; ``swapped`` = the authors' ``r2_score(pred, true)``."""
    if swapped:
        return float(r2_score(y_pred, y_true))
    return float(r2_score(y_true, y_pred))


def accuracy_per_bin(pred_class: np.ndarray, true_class: np.ndarray, t_dur: int) -> np.ndarray:
    """Percentage of trials classified correctly in each of the ``t_dur`` bins of a trial."""
    pred = np.asarray(pred_class)
    true = np.asarray(true_class)
    if pred.shape != true.shape or pred.ndim != 1:
        raise ValueError(f"predicted {pred.shape} and true {true.shape} classes must be equal 1-D")
    n = _n_trials(pred.shape[0], t_dur)
    hits = (pred == true).reshape(n, t_dur)
    return 100.0 * hits.sum(axis=0) / n


def peak_accuracy(acc_time: np.ndarray) -> float:
    """Maximum over bins of an accuracy curve (percent)."""
    return float(np.max(acc_time))


def circular_error_deg(pred_deg: np.ndarray, true_deg: np.ndarray) -> np.ndarray:
    """Absolute angular difference in degrees, folded to [0, 180] (authors: ``d>180 → 360-d``)."""
    d = np.abs(np.asarray(pred_deg, dtype=np.float64) - np.asarray(true_deg, dtype=np.float64))
    d = np.mod(d, 360.0)
    return np.where(d > 180.0, 360.0 - d, d)


def direction_mae_deg(pred_deg: np.ndarray, true_deg: np.ndarray) -> float:
    """Mean circular direction error in degrees."""
    return float(np.mean(circular_error_deg(pred_deg, true_deg)))


# -- kNN model selection --------------------------------------------------------------------------
@dataclass(frozen=True)
class KnnSearch:
    """Result of the cross-validated choice of ``n_neighbors``."""

    task: str
    best_k: int
    grid: tuple[int, ...]
    mean_scores: tuple[float, ...]  # mean CV score per grid value (R² or accuracy)


def _folds(X: np.ndarray, y: np.ndarray, task: str, cv: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The folds ``GridSearchCV(cv=cv)`` uses: KFold for regression, StratifiedKFold for classes."""
    splitter = StratifiedKFold(cv) if task == "classification" else KFold(cv)
    return list(splitter.split(X, y))


def knn_grid(
    n_samples: int, task: str = "regression", *, y: np.ndarray | None = None, cv: int = KNN_CV
) -> tuple[int, ...]:
    """:data:`KNN_GRID` capped to the smallest training fold (``n_neighbors`` ≤ its size)."""
    if n_samples < 2 * cv:
        raise ValueError(f"too few samples ({n_samples}) for a {cv}-fold kNN grid search")
    if y is None:
        y = np.zeros(n_samples)
    folds = _folds(np.zeros((n_samples, 1)), y, task, cv)
    n_fit = min(len(tr) for tr, _ in folds)
    grid = tuple(k for k in KNN_GRID if k <= n_fit)
    if not grid:
        raise ValueError(f"too few samples ({n_samples}) for a {cv}-fold kNN grid search")
    return grid


def _fold_scores_fast(
    X_tr: np.ndarray,
    y_tr: np.ndarray,
    X_te: np.ndarray,
    y_te: np.ndarray,
    task: str,
    grid: Sequence[int],
    n_jobs: int | None,
    classes: np.ndarray | None,
) -> list[float]:
    k_max = max(grid)
    # scikit-learn's "auto" for every grid value below half the fold (all of them at realistic
    # sizes): a KD-tree up to 15 dimensions, brute force above.
    algorithm = "kd_tree" if X_tr.shape[1] <= 15 else "brute"
    nn = NearestNeighbors(n_neighbors=k_max, algorithm=algorithm, n_jobs=n_jobs).fit(X_tr)
    idx = nn.kneighbors(X_te, return_distance=False)  # (n_te, k_max), nearest first
    scores: list[float] = []
    if task == "regression":
        cols = np.ascontiguousarray(y_tr.reshape(len(y_tr), -1).T)  # one gather per column
        total = np.zeros((len(X_te), cols.shape[0]))
        prev = 0
        for k in grid:
            block = idx[:, prev:k]
            total += np.stack([col[block].sum(axis=1) for col in cols], axis=1)
            prev = k
            pred = total / k
            scores.append(float(r2_score(y_te.reshape(len(y_te), -1), pred)))
        return scores
    assert classes is not None
    code = np.searchsorted(classes, y_tr)
    n_cls = len(classes)
    counts = np.zeros((len(X_te), n_cls), dtype=np.int64)
    offsets = (np.arange(len(X_te)) * n_cls)[:, None]
    prev = 0
    for k in grid:
        flat = (offsets + code[idx[:, prev:k]]).ravel()
        counts += np.bincount(flat, minlength=counts.size).reshape(counts.shape)
        prev = k
        pred = classes[np.argmax(counts, axis=1)]  # ties: smallest class, as scikit-learn's mode
        scores.append(float(np.mean(pred == y_te)))
    return scores


@single_threaded_blas
def knn_grid_search(
    X: np.ndarray,
    y: np.ndarray,
    task: Task,
    *,
    grid: Sequence[int] | None = None,
    cv: int = KNN_CV,
    n_jobs: int | None = None,
    exact: bool = False,
) -> KnnSearch:
    """Choose ``n_neighbors`` as ``GridSearchCV(KNeighbors*(), {'n_neighbors': grid})`` does.

    Default 5-fold CV without shuffling (``KFold`` for velocity, ``StratifiedKFold`` for
    direction classes), the estimator's own score (R² uniform average / accuracy), the first
    best value on ties. ``grid`` defaults to :data:`KNN_GRID` capped by :func:`knn_grid`.
    ``exact=True`` delegates to scikit-learn's ``GridSearchCV`` (slow; used to check the fast
    path).
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if task not in ("regression", "classification"):
        raise ValueError(f"task must be 'regression' or 'classification', got {task!r}")
    if grid is None:
        grid = knn_grid(len(X), task, y=y, cv=cv)
    grid = tuple(int(k) for k in grid)
    if list(grid) != sorted(set(grid)):
        raise ValueError(f"grid must be strictly increasing, got {grid}")
    if exact:
        est = KNeighborsRegressor() if task == "regression" else KNeighborsClassifier()
        gs = GridSearchCV(est, {"n_neighbors": list(grid)}, cv=cv, n_jobs=n_jobs, refit=False)
        gs.fit(X, y)
        means = tuple(float(s) for s in gs.cv_results_["mean_test_score"])
        return KnnSearch(task, int(gs.best_params_["n_neighbors"]), grid, means)
    classes = np.unique(y) if task == "classification" else None
    per_fold = np.array(
        [
            _fold_scores_fast(X[tr], y[tr], X[te], y[te], task, grid, n_jobs, classes)
            for tr, te in _folds(X, y, task, cv)
        ]
    )
    means_arr = np.average(per_fold, axis=0)  # as GridSearchCV: unweighted mean over folds
    best = int(np.flatnonzero(means_arr == np.nanmax(means_arr))[0])
    return KnnSearch(task, grid[best], grid, tuple(float(m) for m in means_arr))


# -- decoders -------------------------------------------------------------------------------------
@dataclass
class Decoders:
    """A fitted velocity regressor and direction classifier (scikit-learn estimators)."""

    kind: str
    velocity: Any
    direction: Any
    knn_velocity: KnnSearch | None = None
    knn_direction: KnnSearch | None = None

    def predict_velocity(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.velocity.predict(X), dtype=np.float64)

    def predict_class(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.direction.predict(X)).astype(np.int64)


def knn_searches(
    X: np.ndarray, labels: np.ndarray, *, n_jobs: int | None = None, exact: bool = False
) -> tuple[KnnSearch, KnnSearch]:
    """The kNN model selection for velocity and for direction on one training set.

    The CV scores depend on Euclidean distances only, so they are unchanged by a rotation or
    reflection of the embedding: one search per training session serves all its alignments.
    """
    labels = np.asarray(labels, dtype=np.float64)
    vel = knn_grid_search(X, labels[:, :2], "regression", n_jobs=n_jobs, exact=exact)
    cls = knn_grid_search(
        X, direction_class(labels[:, 2]), "classification", n_jobs=n_jobs, exact=exact
    )
    return vel, cls


@single_threaded_blas
def fit_decoders(
    X: np.ndarray,
    labels: np.ndarray,
    kind: str,
    *,
    max_iter: int = MAX_ITER_CROSS,
    knn: tuple[KnnSearch, KnnSearch] | None = None,
    n_jobs: int | None = None,
) -> Decoders:
    """Fit the velocity and direction decoders of ``kind`` on embedding ``X`` and ``labels``.

    ``linear``: ``LinearRegression`` + ``LogisticRegression(solver='lbfgs', max_iter=max_iter)``.
    ``knn``: ``KNeighborsRegressor``/``KNeighborsClassifier`` with ``n_neighbors`` from ``knn``
    (see :func:`knn_searches`, computed here when omitted).
    """
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    if X.ndim != 2 or labels.shape != (X.shape[0], 3):
        raise ValueError(f"embedding {X.shape} and labels {labels.shape} do not match")
    vel = labels[:, :2]
    cls = direction_class(labels[:, 2])
    if kind == "linear":
        reg = LinearRegression().fit(X, vel)
        clf = LogisticRegression(max_iter=max_iter, solver="lbfgs").fit(X, cls)
        return Decoders("linear", reg, clf)
    if kind == "knn":
        if knn is None:
            knn = knn_searches(X, labels, n_jobs=n_jobs)
        knr = KNeighborsRegressor(n_neighbors=knn[0].best_k, n_jobs=n_jobs).fit(X, vel)
        knc = KNeighborsClassifier(n_neighbors=knn[1].best_k, n_jobs=n_jobs).fit(X, cls)
        return Decoders("knn", knr, knc, knn[0], knn[1])
    raise ValueError(f"decoder must be one of {DECODERS}, got {kind!r}")


@dataclass
class DecodeScores:
    """Scores of fitted decoders on one embedded split."""

    pos_r2: float
    vel_r2: float
    peak_dir_acc: float
    acc_time: np.ndarray  # (t_dur,) percent
    dir_mae_deg: float
    vel_r2_swapped: bool = False  # vel_r2 is the authors' r2_score(pred, true)

    def metrics(self) -> dict[str, float]:
        """Scalar metrics under the names used in tables: pos_R2, vel_R2, peak_dir_acc, dir_MAE_deg."""
        return {
            "pos_R2": self.pos_r2,
            "vel_R2": self.vel_r2,
            "peak_dir_acc": self.peak_dir_acc,
            "dir_MAE_deg": self.dir_mae_deg,
        }


@single_threaded_blas
def score_decoders(
    decoders: Decoders,
    X: np.ndarray,
    labels: np.ndarray,
    t_dur: int,
    *,
    swapped_vel: bool = False,
) -> DecodeScores:
    """Score ``decoders`` on embedding ``X`` with true ``labels`` (whole trials of ``t_dur``)."""
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    true_vel = labels[:, :2]
    pred_vel = decoders.predict_velocity(X)
    pos_r2 = r2(positions_from_velocity(true_vel, t_dur), positions_from_velocity(pred_vel, t_dur))
    vel_r2 = r2(true_vel, pred_vel, swapped=swapped_vel)
    true_cls = direction_class(labels[:, 2])
    pred_cls = decoders.predict_class(X)
    acc = accuracy_per_bin(pred_cls, true_cls, t_dur)
    mae = direction_mae_deg(pred_cls * ANGLE_STEP, true_cls * ANGLE_STEP)
    return DecodeScores(pos_r2, vel_r2, peak_accuracy(acc), acc, mae, swapped_vel)


# -- Fig1 / Fig8 in-sample analysis ---------------------------------------------------------------
@dataclass
class InSampleDecoding:
    """Linear decoding fitted and scored on the same (training) bins, as in Fig1 and Fig8."""

    vel_r2: float  # uniform average of r2_axis
    pos_r2: float
    r2_axis: np.ndarray  # (2,) R² of x and y velocity
    pvalues: np.ndarray | None  # (2, 1 + d): OLS p-values [x, y] x [const, dim1, ..., dim_d]
    true_vel: np.ndarray
    pred_vel: np.ndarray
    true_pos: np.ndarray
    pred_pos: np.ndarray
    pred_dir_deg: np.ndarray | None  # logistic-regression direction per bin (degrees)
    dir_mae_deg: float | None
    dir_acc: float | None  # percent of bins


@single_threaded_blas
def in_sample_analysis(
    emb: np.ndarray,
    labels: np.ndarray,
    t_dur: int,
    *,
    direction: bool = True,
    pvalues: bool = True,
    max_iter: int = MAX_ITER_CROSS,
) -> InSampleDecoding:
    """Fig1 (``fig1-3-demo.md`` §1, cells 2 and 4) and Fig8 (``fig8-baselines.md`` §1.7) numbers.

    Both sections are summarised in ``docs/sources.md``.

    ``LinearRegression`` velocity decoding scored in-sample: R² uniform average and per axis
    (a separate fit per axis gives the same predictions as the joint fit), position R² from the
    per-trial cumulative sums, and ``statsmodels.OLS(v_axis, add_constant(emb))`` p-values for
    [const, dim1, ...] of each axis (formatting is the plotting code's job). With ``direction``,
    ``LogisticRegression(max_iter=500)`` on the direction classes, its predicted angle per bin
    and circular MAE. Fig8 labels carry no angle (column 2 is 0): pass ``direction=False``.
    """
    emb = np.asarray(emb, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    true_vel = labels[:, :2]
    reg = LinearRegression().fit(emb, true_vel)
    pred_vel = np.asarray(reg.predict(emb))
    r2_axis = np.array([r2_score(true_vel[:, a], pred_vel[:, a]) for a in range(2)])
    true_pos = positions_from_velocity(true_vel, t_dur)
    pred_pos = positions_from_velocity(pred_vel, t_dur)
    pv = None
    if pvalues:
        import statsmodels.api as sm

        design = sm.add_constant(emb, has_constant="add")
        pv = np.array([np.asarray(sm.OLS(true_vel[:, a], design).fit().pvalues) for a in range(2)])
    pred_dir = mae = acc = None
    if direction:
        true_cls = direction_class(labels[:, 2])
        clf = LogisticRegression(max_iter=max_iter, solver="lbfgs").fit(emb, true_cls)
        pred_cls = np.asarray(clf.predict(emb)).astype(np.int64)
        pred_dir = pred_cls * ANGLE_STEP
        mae = direction_mae_deg(pred_dir, true_cls * ANGLE_STEP)
        acc = float(100.0 * np.mean(pred_cls == true_cls))
    return InSampleDecoding(
        vel_r2=r2(true_vel, pred_vel),
        pos_r2=r2(true_pos, pred_pos),
        r2_axis=r2_axis,
        pvalues=pv,
        true_vel=true_vel,
        pred_vel=pred_vel,
        true_pos=true_pos,
        pred_pos=pred_pos,
        pred_dir_deg=pred_dir,
        dir_mae_deg=mae,
        dir_acc=acc,
    )


def linear_r2(
    train: np.ndarray, y_train: np.ndarray, test: np.ndarray, y_test: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """R² per target (column) of a linear regression fitted from ``train`` to ``y_train``: scored on
    the training part (in-sample) and on ``test`` (held-out)."""
    reg = LinearRegression().fit(train, y_train)
    in_sample = r2_score(y_train, reg.predict(train), multioutput="raw_values")
    held_out = r2_score(y_test, reg.predict(test), multioutput="raw_values")
    return np.asarray(in_sample, dtype=float), np.asarray(held_out, dtype=float)
