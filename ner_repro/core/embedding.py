"""The per-run embedding contract: ``results/embeddings/{method}/{session}_seed{seed}.npz``.

Every method -- NER, CEBRA, CEBRA-16D and the baselines -- writes this same file,
so decoding, alignment and figures treat all methods alike.

============== =============== =====================================================
key            shape/dtype     meaning
============== =============== =====================================================
train          (T_tr, d) f8    embedding of the training bins (in-sample)
test           (T_te, d) f8    embedding of the test bins, computed without test labels
test_paper     (T_te, d) f8    optional: the authors' test embedding where it differs
                               (UMAP: separate fit on test data; pi-VAE: posterior with
                               test labels). ``evaluation: paper`` uses it.
labels_train   (T_tr, k) f8    the workflow's sessions: ``[vx*10, vy*10, angle_deg]``
                               (k = 3; its analyses need these); ``ner-embed``
                               (:mod:`ner_repro.cli.embed`): the user's label columns
labels_test    (T_te, k) f8    the same columns
t_dur          () i8           bins per trial
loss           (n,) f8         training loss per iteration/epoch (empty if none)
loss_name      () str          e.g. "RnC", "InfoNCE", "-ELBO"
method         () str          method name as in the config (``NER``, ``CEBRA``, ...)
session        () str          ``{monkey}_{date}_{area}``
seed           () i8
meta_json      () str          config, seed, package versions, device, wall time,
                               steps per second (see :mod:`ner_repro.core.provenance`)
extra_<name>   any             method-specific arrays (e.g. ``extra_avg_train`` for PCA)
============== =============== =====================================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ner_repro.core import atomic, provenance
from ner_repro.core.errors import InputError

_EXTRA = "extra_"


@dataclass
class EmbeddingRun:
    """One trained (or fitted) method on one session and seed."""

    method: str
    session: str
    seed: int
    train: np.ndarray
    test: np.ndarray
    labels_train: np.ndarray
    labels_test: np.ndarray
    t_dur: int
    loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    loss_name: str = ""
    test_paper: np.ndarray | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.train = np.asarray(self.train, dtype=np.float64)
        self.test = np.asarray(self.test, dtype=np.float64)
        self.labels_train = np.asarray(self.labels_train, dtype=np.float64)
        self.labels_test = np.asarray(self.labels_test, dtype=np.float64)
        self.loss = np.asarray(self.loss, dtype=np.float64).reshape(-1)
        if self.test_paper is not None:
            self.test_paper = np.asarray(self.test_paper, dtype=np.float64)
        self.t_dur = int(self.t_dur)
        self.seed = int(self.seed)
        self.validate()

    @property
    def dim(self) -> int:
        return int(self.train.shape[1])

    def test_for(self, mode: str) -> np.ndarray:
        """The test embedding under an evaluation mode (``"corrected"`` or ``"paper"``)."""
        if mode == "paper" and self.test_paper is not None:
            return self.test_paper
        if mode not in ("paper", "corrected"):
            raise ValueError(f"evaluation mode must be 'corrected' or 'paper', got {mode!r}")
        return self.test

    def validate(self, path: str | os.PathLike[str] | None = None) -> None:
        where = path if path is not None else f"{self.method}/{self.session}_seed{self.seed}"
        for part, emb, lab in (
            ("train", self.train, self.labels_train),
            ("test", self.test, self.labels_test),
        ):
            if emb.ndim != 2 or lab.ndim != 2 or lab.shape[1] < 1:
                raise InputError(
                    where,
                    f"{part}: embedding must be 2-D and labels (n, k); got {emb.shape} and {lab.shape}",
                )
            if emb.shape[0] != lab.shape[0]:
                raise InputError(
                    where, f"{part}: {emb.shape[0]} embedded bins but {lab.shape[0]} labels"
                )
            if emb.shape[0] % self.t_dur:
                raise InputError(
                    where, f"{part}: {emb.shape[0]} bins is not a multiple of t_dur={self.t_dur}"
                )
            if not np.isfinite(emb).all():
                raise InputError(where, f"{part}: embedding contains NaN/inf")
        if self.labels_train.shape[1] != self.labels_test.shape[1]:
            raise InputError(
                where,
                f"train ({self.labels_train.shape[1]}) and test ({self.labels_test.shape[1]}) "
                "labels differ in their number of columns",
            )
        if self.train.shape[1] != self.test.shape[1]:
            raise InputError(
                where,
                f"train ({self.train.shape[1]}-D) and test ({self.test.shape[1]}-D) embeddings differ in dimension",
            )
        if self.test_paper is not None and self.test_paper.shape != self.test.shape:
            raise InputError(
                where,
                f"test_paper shape {self.test_paper.shape} differs from test {self.test.shape}",
            )

    def to_arrays(self) -> dict[str, Any]:
        arrays: dict[str, Any] = {
            "train": self.train,
            "test": self.test,
            "labels_train": self.labels_train,
            "labels_test": self.labels_test,
            "t_dur": np.int64(self.t_dur),
            "loss": self.loss,
            "loss_name": self.loss_name,
            "method": self.method,
            "session": self.session,
            "seed": np.int64(self.seed),
            "meta_json": provenance.to_json(self.meta),
        }
        if self.test_paper is not None:
            arrays["test_paper"] = self.test_paper
        for name, value in self.extras.items():
            arrays[_EXTRA + name] = value
        return arrays

    def save(self, path: str | os.PathLike[str]) -> Path:
        return atomic.save_npz(path, self.to_arrays())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> EmbeddingRun:
        required = (
            "train",
            "test",
            "labels_train",
            "labels_test",
            "t_dur",
            "method",
            "session",
            "seed",
        )
        data = atomic.load_npz(path, required, "an embedding file")
        return cls(
            method=str(data["method"]),
            session=str(data["session"]),
            seed=int(data["seed"]),
            train=data["train"],
            test=data["test"],
            labels_train=data["labels_train"],
            labels_test=data["labels_test"],
            t_dur=int(data["t_dur"]),
            loss=data.get("loss", np.zeros(0)),
            loss_name=str(data.get("loss_name", "")),
            test_paper=data.get("test_paper"),
            extras={k[len(_EXTRA) :]: v for k, v in data.items() if k.startswith(_EXTRA)},
            meta=provenance.from_npz(data["meta_json"]) if "meta_json" in data else {},
        )
