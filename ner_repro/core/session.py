"""The per-session contract: ``results/sessions/{monkey}_{date}_{area}.npz``.

One file per recording session and brain area, whatever the input format was.
Rows are time bins (30 ms), grouped in consecutive trials of ``t_dur`` bins.

========== ============ =====================================================
key        shape/dtype  meaning
========== ============ =====================================================
neural     (T, N) f8    smoothed spike counts per bin
labels     (T, 3) f8    ``[vx*10, vy*10, angle_deg]``, angle in {0, 45, ..., 315}
trial      (T,) i8      trial index, 0..n_trials-1, in recording order
t_dur      () i8        bins per trial
is_train   (T,) bool    first ``int(train_fraction * n_trials)`` trials
monkey     () str       e.g. "Chewie"
date       () str       YYYYMMDD
area       () str       M1, PMd or S1
source     () str       input file the session was read from
source_sha256 () str    its SHA-256
source_format () str    "ner" (pre-smoothed) or "trialdata" (raw, smoothed here)
container  () str       "v5" or "v7.3"
meta_json  () str       provenance (see :mod:`ner_repro.core.provenance`)
extra_<k>  any          optional per-bin extras (e.g. MC_Maze ``target_angle``, ``version``)
========== ============ =====================================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ner_repro.core import atomic, provenance
from ner_repro.core.errors import InputError

#: The centre-out task's target directions: 8, ``ANGLE_STEP`` degrees apart (the label's angle column).
N_DIRECTIONS = 8
ANGLE_STEP = 45.0
#: Width of one time bin of the sessions (the recordings' 30 ms; config ``bin_size_s``).
BIN_S = 0.03
BIN_MS = BIN_S * 1000.0


def session_id(monkey: str, date: str | int, area: str) -> str:
    """The canonical name of a session: ``Chewie_20160929_M1``."""
    return f"{monkey}_{date}_{area}"


def split_trials(n_trials: int, train_fraction: float = 0.8) -> int:
    """Number of training trials: the first ``int(train_fraction * n_trials)``.

    METHODS §2 (summarised in ``docs/sources.md``).
    """
    return int(n_trials * train_fraction)


@dataclass
class SessionData:
    """One session and area, ready for training and decoding."""

    monkey: str
    date: str
    area: str
    neural: np.ndarray
    labels: np.ndarray
    t_dur: int
    train_fraction: float = 0.8
    source: str = ""
    source_sha256: str = ""
    source_format: str = ""
    container: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.date = str(self.date)
        self.neural = np.asarray(self.neural, dtype=np.float64)
        self.labels = np.asarray(self.labels, dtype=np.float64)
        self.t_dur = int(self.t_dur)
        self.validate()

    # -- derived -----------------------------------------------------------------
    @property
    def name(self) -> str:
        return session_id(self.monkey, self.date, self.area)

    @property
    def n_trials(self) -> int:
        return self.neural.shape[0] // self.t_dur

    @property
    def n_train_trials(self) -> int:
        return split_trials(self.n_trials, self.train_fraction)

    @property
    def trial(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_trials, dtype=np.int64), self.t_dur)

    @property
    def is_train(self) -> np.ndarray:
        return self.trial < self.n_train_trials

    @property
    def direction(self) -> np.ndarray:
        """Direction class 0..7 per bin."""
        return np.rint(self.labels[:, 2] / ANGLE_STEP).astype(np.int64) % N_DIRECTIONS

    def split(self, part: str) -> tuple[np.ndarray, np.ndarray]:
        """``(neural, labels)`` of the ``"train"`` or ``"test"`` part."""
        mask = self.is_train if part == "train" else ~self.is_train
        if part not in ("train", "test"):
            raise ValueError(f"part must be 'train' or 'test', got {part!r}")
        return self.neural[mask], self.labels[mask]

    # -- checks ------------------------------------------------------------------
    def validate(self, path: str | os.PathLike[str] | None = None) -> None:
        """Raise :class:`InputError` (naming ``path`` or the source) if the arrays break the contract."""
        where = path if path is not None else (self.source or self.name)
        if self.neural.ndim != 2 or self.neural.shape[0] == 0 or self.neural.shape[1] == 0:
            raise InputError(
                where,
                f"neural data must be a non-empty 2-D array (bins x neurons), got shape {self.neural.shape}",
            )
        if self.labels.shape != (self.neural.shape[0], 3):
            raise InputError(
                where,
                f"labels must have shape ({self.neural.shape[0]}, 3) to match {self.neural.shape[0]} bins of neural data, got {self.labels.shape}",
            )
        if self.t_dur <= 0:
            raise InputError(where, f"t_dur must be positive, got {self.t_dur}")
        if self.neural.shape[0] % self.t_dur:
            raise InputError(
                where,
                f"{self.neural.shape[0]} bins is not a multiple of t_dur={self.t_dur} bins per trial",
            )
        for key, arr in (("neural", self.neural), ("labels", self.labels)):
            bad = ~np.isfinite(arr)
            if bad.any():
                row = int(np.argwhere(bad)[0][0])
                raise InputError(
                    where,
                    f"{key} contains {int(bad.sum())} NaN/inf value(s), first in bin {row} (trial {row // self.t_dur})",
                )
        angles = self.labels[:, 2]
        if (
            not np.allclose(angles, np.rint(angles / ANGLE_STEP) * ANGLE_STEP)
            or angles.min() < 0
            or angles.max() > 315
        ):
            raise InputError(where, "angle column must hold degrees in {0, 45, ..., 315}")
        per_trial = angles.reshape(self.n_trials, self.t_dur)
        if not (per_trial == per_trial[:, :1]).all():
            raise InputError(where, "target direction changes within a trial")
        if self.n_trials < 2 or not 0 < self.n_train_trials < self.n_trials:
            raise InputError(
                where, f"{self.n_trials} trial(s) cannot be split into train and test parts"
            )

    # -- storage -----------------------------------------------------------------
    def to_arrays(self) -> dict[str, Any]:
        return {
            "neural": self.neural,
            "labels": self.labels,
            "trial": self.trial,
            "t_dur": np.int64(self.t_dur),
            "is_train": self.is_train,
            "train_fraction": np.float64(self.train_fraction),
            "monkey": self.monkey,
            "date": self.date,
            "area": self.area,
            "source": self.source,
            "source_sha256": self.source_sha256,
            "source_format": self.source_format,
            "container": self.container,
            "meta_json": provenance.to_json(self.meta),
            **{f"extra_{k}": np.asarray(v) for k, v in self.extras.items()},
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the contract ``.npz`` atomically."""
        return atomic.save_npz(path, self.to_arrays())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SessionData:
        """Read a session ``.npz`` and check it against the contract."""
        required = ("neural", "labels", "t_dur", "monkey", "date", "area")
        data = atomic.load_npz(path, required, "a session file")
        meta = provenance.from_npz(data["meta_json"]) if "meta_json" in data else {}
        session = cls(
            monkey=str(data["monkey"]),
            date=str(data["date"]),
            area=str(data["area"]),
            neural=data["neural"],
            labels=data["labels"],
            t_dur=int(data["t_dur"]),
            train_fraction=float(data.get("train_fraction", 0.8)),
            source=str(data.get("source", "")),
            source_sha256=str(data.get("source_sha256", "")),
            source_format=str(data.get("source_format", "")),
            container=str(data.get("container", "")),
            meta=meta,
            extras={k[len("extra_") :]: v for k, v in data.items() if k.startswith("extra_")},
        )
        return session
