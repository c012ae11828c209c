"""dPCA baseline (``kind: dpca``), as in the authors' ``Fig3_Batch_M1_UMAP_PCA_dPCA`` cell 3.

The authors balance the training trials (the first ``min_trials`` trials of each of the 8
directions, ``min_trials`` = the smallest count), form ``trialR`` ``(min_trials, N, 8, t_dur)``
and its mean ``R`` centred per neuron, and run::

    dpca = dPCA.dPCA(labels='st', regularizer='auto', n_components=3)
    dpca.protect = ['t']
    Z = dpca.fit_transform(R, trialR)

Their embedding is ``Z['s']`` ``(3, 8, t_dur)``, the projection of ``R`` onto the stimulus
decoder (kept here as ``extra_Z_s``; also ``extra_Z_t`` and ``extra_Z_st``). For the decoding
contract, ``train`` / ``test`` are the single bins of the train / test split, centred with
the same per-neuron mean and projected with the same ``'s'`` decoder ``D['s']``; the mean of
``train`` over the balanced trials of a direction equals ``Z['s']`` for that direction.

Determinism: ``regularizer='auto'`` cross-validates 45 values of lambda on random 3-fold
splits, and the solver's randomized SVD draws its seed, both from NumPy's *global* RNG.
The authors left it unseeded; here it is seeded with the run's seed just before fitting,
so a given seed gives a bit-identical result.

dPCA 1.0.5 runs unchanged on NumPy 2.4 and scikit-learn 1.9 (checked); no patch is applied.
It prints progress to stdout, which is captured and stored in the run's metadata.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from ner_repro.core.embedding import EmbeddingRun
from ner_repro.core.session import SessionData
from ner_repro.methods.common import balanced_trials, start

KIND = "dpca"


def _fit_dpca(
    R: np.ndarray, trial_R: np.ndarray, cfg: Mapping[str, Any], seed: int
) -> tuple[Any, dict[str, np.ndarray], str]:
    from dPCA import dPCA

    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        model = dPCA.dPCA(
            labels="st",
            regularizer=cfg["regularizer"],
            n_components=int(cfg["n_components"]),
            n_iter=int(cfg["n_iter"]),
        )
        if cfg["regularizer"] == "auto":
            model.n_trials = int(cfg["cv_folds"])
            model.protect = list(cfg["protect"])
        # The CV folds and the randomized SVD use NumPy's global RNG.
        np.random.seed(seed % (2**32))  # noqa: NPY002 - dPCA draws from the global RNG
        Z = model.fit_transform(R, trial_R)
    text = log.getvalue()
    if "boundary" in text:
        warnings.warn(
            "dPCA: the optimal regularization parameter lies at the boundary of the search grid",
            RuntimeWarning,
            stacklevel=3,
        )
    return model, Z, text


def fit_dpca(
    session: SessionData,
    *,
    seed: int,
    params: Mapping[str, Any],
    method: str = "dPCA",
    device: str = "cpu",
    progress: bool = False,
) -> EmbeddingRun:
    """dPCA (stimulus x time) on balanced training trials; single bins projected on ``D['s']``."""
    begin = start(KIND, session, seed=seed, params=params, method=method, device=device)
    cfg, x_train, y_train, x_test = begin.settings, begin.x_train, begin.y_train, begin.x_test
    directions, trials, min_trials = balanced_trials(x_train, y_train, session.t_dur)
    if min_trials < 2:
        raise ValueError(
            f"{session.name}: dPCA needs at least 2 training trials per direction, "
            f"the smallest count is {min_trials}"
        )
    # (min_trials, n_dir, t_dur, N) -> (min_trials, N, n_dir, t_dur), the authors' trialR.
    trial_R = np.ascontiguousarray(trials.transpose(0, 3, 1, 2))
    R = trial_R.mean(axis=0)
    mean = R.reshape(R.shape[0], -1).mean(axis=1)
    R = R - mean[:, None, None]
    model, Z, log = _fit_dpca(R, trial_R, cfg, seed)
    decoder = np.asarray(model.D["s"])  # (N, n_components)
    regularizer = float(model.regularizer)
    extras = {
        "Z_s": Z["s"],
        "Z_t": Z["t"],
        "Z_st": Z["st"],
        "directions": directions,
        "decoder_s": decoder,
        "mean": mean,
        "lambda": np.float64(regularizer),
        "min_trials": np.int64(min_trials),
        **{
            f"explained_variance_ratio_{key}": np.asarray(value)
            for key, value in model.explained_variance_ratio_.items()
        },
    }
    return begin.finish(
        train=(x_train - mean) @ decoder,
        test=(x_test - mean) @ decoder,
        extras=extras,
        dpca_lambda=regularizer,
        dpca_log=log,
    )
