"""PCA baseline (``kind: pca``), as in the authors' ``Fig3_Batch_M1_UMAP_PCA_dPCA`` cell 2.

The authors fit ``sklearn.decomposition.PCA(3)`` (no scaling) on the 8 direction-averaged
training trajectories stacked to ``(8 * t_dur, N)`` and save ``fit_transform`` of that stack,
reshaped to ``(8, t_dur, 3)``: that array is kept here as ``extra_avg_train``. So that PCA
can be decoded like every other method, the contract's ``train`` / ``test`` are the single
bins of the train / test split projected onto those same components (projection is linear,
so the per-direction mean of ``train`` equals ``avg_train``). The authors' single-trial PCA,
which they only plot, is ``extra_single_trial_train`` (PCA fitted on all training bins).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sklearn.decomposition import PCA

from ner_repro.core.embedding import EmbeddingRun
from ner_repro.core.session import SessionData
from ner_repro.methods.common import direction_averages, start

KIND = "pca"


def fit_pca(
    session: SessionData,
    *,
    seed: int,
    params: Mapping[str, Any],
    method: str = "PCA",
    device: str = "cpu",
    progress: bool = False,
) -> EmbeddingRun:
    """PCA on the direction-averaged training trajectories; single bins projected onto it."""
    begin = start(KIND, session, seed=seed, params=params, method=method, device=device)
    cfg, x_train, y_train, x_test = begin.settings, begin.x_train, begin.y_train, begin.x_test
    k = int(cfg["n_components"])
    directions, averages = direction_averages(x_train, y_train, session.t_dur)
    n_dir, t_dur, n_neurons = averages.shape
    stacked = averages.reshape(n_dir * t_dur, n_neurons)
    # Full SVD (deterministic; sklearn's svd_flip fixes the signs), as PCA picks for this size.
    pca = PCA(n_components=k, svd_solver="full").fit(stacked)
    extras = {
        "avg_train": pca.transform(stacked).reshape(n_dir, t_dur, k),
        "directions": directions,
        "components": pca.components_,
        "mean": pca.mean_,
        "explained_variance_ratio": pca.explained_variance_ratio_,
    }
    if cfg["single_trial"]:
        extras["single_trial_train"] = PCA(n_components=k, svd_solver="full").fit_transform(x_train)
    return begin.finish(
        train=pca.transform(x_train),
        test=pca.transform(x_test),
        extras=extras,
    )
