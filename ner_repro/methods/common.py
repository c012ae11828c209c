"""What the methods share: the preamble (:func:`start`), trial blocks, direction averages, the output.

Rows of a session are time bins grouped in consecutive trials of ``t_dur`` bins, and each
trial has one target direction (class ``angle / 45``). The baselines that work on
trial-averaged data (PCA, dPCA) need the per-direction averages of the *training* trials;
they are computed here from the arrays a method is given, never from test data.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ner_repro.analysis.alignment import trial_averages
from ner_repro.analysis.decoding import direction_class
from ner_repro.core import provenance
from ner_repro.core.embedding import EmbeddingRun
from ner_repro.core.provenance import seed_everything
from ner_repro.core.session import SessionData
from ner_repro.methods.kinds import kind_of


def trial_blocks(x: np.ndarray, t_dur: int) -> np.ndarray:
    """``(T, ...)`` -> ``(T // t_dur, t_dur, ...)`` (a view; ``T`` must be a multiple of ``t_dur``)."""
    if x.shape[0] % t_dur:
        raise ValueError(f"{x.shape[0]} bins is not a multiple of t_dur={t_dur}")
    return x.reshape((x.shape[0] // t_dur, t_dur, *x.shape[1:]))


def trial_directions(labels: np.ndarray, t_dur: int) -> np.ndarray:
    """Direction class (0..7) of each trial, from the angle column of its first bin."""
    return direction_class(trial_blocks(labels, t_dur)[:, 0, 2])


def direction_averages(
    neural: np.ndarray, labels: np.ndarray, t_dur: int
) -> tuple[np.ndarray, np.ndarray]:
    """Trial-averaged activity per direction present, via :func:`ner_repro.analysis.alignment.trial_averages`.

    Returns ``(directions, averages)``: the direction classes present, ascending, and an
    array ``(n_directions, t_dur, N)`` whose ``[i]`` is the mean over all trials of
    direction ``directions[i]`` (the authors' ``neural_train[mask].reshape(-1, t_dur, N).mean(0)``).
    """
    avg, counts = trial_averages(neural, labels, t_dur)  # (t_dur, N, 8), NaN where absent
    present = np.flatnonzero(counts)
    return present, np.ascontiguousarray(avg[:, :, present].transpose(2, 0, 1))


def balanced_trials(
    neural: np.ndarray, labels: np.ndarray, t_dur: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """The first ``min_trials`` trials of every direction, ``min_trials`` = the smallest count.

    Returns ``(directions, trials, min_trials)`` with ``trials`` of shape
    ``(min_trials, n_directions, t_dur, N)`` in recording order within each direction.
    """
    blocks = trial_blocks(neural, t_dur)
    dirs = trial_directions(labels, t_dur)
    present, counts = np.unique(dirs, return_counts=True)
    min_trials = int(counts.min())
    trials = np.stack([blocks[dirs == d][:min_trials] for d in present], axis=1)
    return present, trials, min_trials


class Stopwatch:
    """Wall time since construction."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start


@dataclass
class Start:
    """A method's run from :func:`start` to :meth:`finish`: its settings, clock and split."""

    kind: str
    session: SessionData
    method: str
    seed: int
    device: str
    settings: dict[str, Any]
    clock: Stopwatch
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    #: The labels the method trains on: ``y_train``, or with ``shuffle_labels`` its rows
    #: permuted (:func:`shuffled_labels`); the run records the real ones.
    y_fit: np.ndarray
    #: The permutation behind ``y_fit`` (``None``: the real labels).
    shuffle: np.ndarray | None = None

    def finish(
        self,
        *,
        train: np.ndarray,
        test: np.ndarray,
        config: Mapping[str, Any] | None = None,
        device: str | None = None,
        test_paper: np.ndarray | None = None,
        labels_train: np.ndarray | None = None,
        labels_test: np.ndarray | None = None,
        loss: np.ndarray | None = None,
        loss_name: str = "",
        extras: Mapping[str, np.ndarray] | None = None,
        **meta_extra: Any,
    ) -> EmbeddingRun:
        """Wrap the method's outputs in the embedding contract, with its provenance record.

        ``config`` (default: the resolved settings) and ``device`` (default: the one asked
        for) are what the record says the method ran with. The labels are the session's
        train and test splits unless the method embedded other bins (pi-VAE's
        ``protocol: paper``) and passes their labels.
        """
        session = self.session
        device = self.device if device is None else device
        if self.shuffle is not None:
            extras = {**(extras or {}), "shuffle_permutation": self.shuffle}
            meta_extra["labels_shuffled"] = SHUFFLE_NOTE
        meta = provenance.run_metadata(
            config={"kind": self.kind, **(self.settings if config is None else config)},
            seed=self.seed,
            device=device,
            wall_time_s=self.clock.elapsed(),
            session=session.name,
            source=session.source,
            source_sha256=session.source_sha256,
            **meta_extra,
        )
        return EmbeddingRun(
            method=self.method,
            session=session.name,
            seed=self.seed,
            train=train,
            test=test,
            labels_train=self.y_train if labels_train is None else labels_train,
            labels_test=self.y_test if labels_test is None else labels_test,
            t_dur=session.t_dur,
            loss=np.zeros(0) if loss is None else loss,
            loss_name=loss_name,
            test_paper=test_paper,
            extras=dict(extras or {}),
            meta=meta,
        )


def start(
    kind: str,
    session: SessionData,
    *,
    seed: int,
    params: Mapping[str, Any],
    method: str,
    device: str = "cpu",
) -> Start:
    """The preamble of every method: its settings resolved and checked
    (:meth:`~ner_repro.methods.kinds.Kind.resolve`, errors naming ``method`` and the key), the
    clock started, every random generator seeded with ``seed``, and the session's split.
    The method ends with :meth:`Start.finish`."""
    spec = kind_of(kind)
    settings = spec.resolve(params, method=method)
    clock = Stopwatch()
    # The kinds that can run on a GPU are the torch ones; the others need not import it.
    seed_everything(seed, with_torch=spec.gpu)
    x_train, y_train = session.split("train")
    x_test, y_test = session.split("test")
    y_fit, shuffle = y_train, None
    if settings.get("shuffle_labels"):
        y_fit, shuffle = shuffled_labels(y_train, seed)
    return Start(
        kind,
        session,
        method,
        seed,
        device,
        settings,
        clock,
        x_train,
        y_train,
        x_test,
        y_test,
        y_fit,
        shuffle,
    )


#: What ``shuffle_labels`` does, recorded in the run's metadata.
SHUFFLE_NOTE = (
    "shuffled-label control: the method was trained on the training bins' labels permuted "
    "in time (one random permutation of the rows, seeded); the run's labels are the real ones"
)


def shuffled_labels(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows of ``labels`` in a random order, and that order.

    The control of CEBRA's guide ("if you use CEBRA-Behavior with labels that are not encoded
    in your data, the embedding will collapse"; its demos permute the label array along
    time): every bin keeps a label drawn from the same distribution, but the labels no longer
    belong to the neural activity of their bin. The permutation is drawn from its own
    generator (seeded by ``seed``), so the method's own random numbers are those of an
    unshuffled run.
    """
    order = np.random.default_rng([int(seed), 0x5AFE]).permutation(labels.shape[0])
    return labels[order], order
