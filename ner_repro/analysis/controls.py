"""The shuffled-label control: how well embeddings trained on shuffled labels decode.

A label-guided embedding (NER, CEBRA-Behavior) can show structure that follows its labels
even when the neural data do not carry them: the network can learn to map the training bins
onto whatever labels it was given. CEBRA's guide calls a shuffled-label control critical for
such embeddings. Here the same method is trained once on the real labels and once on the
training labels permuted in time (:func:`ner_repro.methods.common.shuffled_labels`), and
each embedding is decoded with the linear velocity decoder of the paper (Fig4):

``vel_R2_test``
    Decoder fitted on the training embedding and the real training velocities, scored on the
    held-out test trials: what the embedding says about movement in data it never saw. For a
    shuffled-label embedding this should fall to chance (about 0).
``vel_R2_train``
    The same decoder scored on the training bins (in-sample), against the real velocities.
``vel_R2_train_fit``
    In-sample against the labels the method was trained on (for the shuffled run the
    shuffled ones): how much of its training labels the embedding reproduces, learned or
    memorised.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from ner_repro.analysis.decoding import r2
from ner_repro.core.embedding import EmbeddingRun

__all__ = ["CHANCE_R2", "shuffled_label_decoding"]

#: Held-out R² at or below which a shuffled-label embedding counts as at chance.
CHANCE_R2 = 0.1

COLUMNS = (
    "method",
    "label",
    "labels",
    "session",
    "seed",
    "vel_R2_test",
    "vel_R2_train",
    "vel_R2_train_fit",
)


def _decode(run: EmbeddingRun) -> dict[str, float]:
    vel_train, vel_test = run.labels_train[:, :2], run.labels_test[:, :2]
    reg = LinearRegression().fit(run.train, vel_train)
    perm = run.extras.get("shuffle_permutation")
    fit_labels = vel_train if perm is None else vel_train[np.asarray(perm, dtype=np.int64)]
    reg_fit = reg if perm is None else LinearRegression().fit(run.train, fit_labels)
    return {
        "vel_R2_test": r2(vel_test, reg.predict(run.test)),
        "vel_R2_train": r2(vel_train, reg.predict(run.train)),
        "vel_R2_train_fit": r2(fit_labels, reg_fit.predict(run.train)),
    }


def shuffled_label_decoding(
    runs: Sequence[EmbeddingRun], labels: Sequence[str] | None = None
) -> pd.DataFrame:
    """One row per run (:data:`COLUMNS`): whether it was trained on shuffled labels and its
    three velocity R² (module docstring). ``labels`` are the names shown for the runs."""
    rows = []
    for i, run in enumerate(runs):
        shuffled = "shuffle_permutation" in run.extras
        rows.append(
            {
                "method": run.method,
                "label": labels[i] if labels is not None else run.method,
                "labels": "shuffled" if shuffled else "real",
                "session": run.session,
                "seed": run.seed,
                **_decode(run),
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))
