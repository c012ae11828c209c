"""The authors' published Fig8 embeddings (``data_NER/Fig8``) read into the embedding contract.

NER files lie in ``Fig8/``, CEBRA files in ``Fig8/Supp_Cebra/``; each holds the train/test
embeddings (``cebra_veldir_*``), the labels ``(vx, vy, 0)`` (``continuous_index_*``), the per-bin
target angle and maze version, and the full loss history (``train_loss_stable``). The authors
set no seed: their runs carry :data:`UNSEEDED`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ner_repro.core import atomic, provenance
from ner_repro.core.embedding import EmbeddingRun
from ner_repro.core.errors import InputError
from ner_repro.core.types import PathLike

#: Bins per trial of the authors' files (100 five-ms bins, -50..450 ms around movement onset).
PUBLISHED_T_DUR = 100


#: ``seed`` recorded for the authors' runs, which set no seed.
UNSEEDED = -1


#: Folder of the authors' npz per method kind, relative to ``published_dir/Fig8``.
PUBLISHED_FOLDERS = {"ner": ".", "cebra": "Supp_Cebra"}


_PUBLISHED_KEYS = (
    "cebra_veldir_train",
    "cebra_veldir_test",
    "continuous_index_train",
    "continuous_index_test",
    "target_angle_train",
    "target_angle_test",
    "version_index_train",
    "version_index_test",
)


_LOSS_NAMES = {"ner": "RnC", "cebra": "InfoNCE"}


def published_file(published_fig8: PathLike, published: str, kind: str) -> Path | None:
    """The authors' npz of a set (``<published>_parameters_*.npz``) for a method kind, if shipped.

    NER files lie in ``Fig8/``, CEBRA files in ``Fig8/Supp_Cebra/``; the NER six-type file carries
    a ``_1st`` suffix (fig8-baselines.md §1.9, see ``docs/sources.md``). The shortest matching
    name wins.
    """
    folder = PUBLISHED_FOLDERS.get(kind)
    if not published or folder is None:
        return None
    base = Path(published_fig8) / folder
    if not base.is_dir():
        return None
    found = sorted(base.glob(f"{published}_parameters_*.npz"), key=lambda p: (len(p.name), p.name))
    return found[0] if found else None


def read_published(
    path: PathLike, method: str, session: str, kind: str = "", t_dur: int = PUBLISHED_T_DUR
) -> EmbeddingRun:
    """The authors' Fig8 npz as an :class:`EmbeddingRun` with the same extras as ours.

    The files are described in fig8-baselines.md §1.9 (summarised in ``docs/sources.md``).

    ``cebra_veldir_*`` -> ``train`` / ``test``; ``continuous_index_*`` (vx, vy, 0) -> labels;
    ``train_loss_stable`` (the full history) -> ``loss``; ``target_angle_*`` and
    ``version_index_*`` -> extras ``target_angle_*`` / ``version_*``. ``seed`` is
    :data:`UNSEEDED`. Checks the keys, the trial length and that angle and version are constant
    within every trial.
    """
    data = atomic.load_npz(path, _PUBLISHED_KEYS, "an authors' Fig8 file")
    for part in ("train", "test"):
        n = data[f"cebra_veldir_{part}"].shape[0]
        for key in ("continuous_index", "target_angle", "version_index"):
            if data[f"{key}_{part}"].shape[0] != n:
                raise InputError(
                    path, f"{key}_{part} has {data[f'{key}_{part}'].shape[0]} rows, expected {n}"
                )
        if n % t_dur:
            raise InputError(path, f"{part}: {n} rows is not a whole number of {t_dur}-bin trials")
        for key in ("target_angle", "version_index"):
            per_trial = data[f"{key}_{part}"].reshape(-1, t_dur)
            if not (per_trial == per_trial[:, :1]).all():
                raise InputError(path, f"{key}_{part} changes within a trial")
    loss = data.get("train_loss_stable", np.zeros(0))
    run = EmbeddingRun(
        method=method,
        session=session,
        seed=UNSEEDED,
        train=data["cebra_veldir_train"],
        test=data["cebra_veldir_test"],
        labels_train=data["continuous_index_train"],
        labels_test=data["continuous_index_test"],
        t_dur=t_dur,
        loss=loss,
        loss_name=_LOSS_NAMES.get(kind, ""),
        extras={
            "target_angle_train": data["target_angle_train"].astype(np.float64),
            "target_angle_test": data["target_angle_test"].astype(np.float64),
            "version_train": data["version_index_train"].astype(np.int64),
            "version_test": data["version_index_test"].astype(np.int64),
        },
        meta={
            "source": "published",
            "published_file": str(path),
            "published_sha256": provenance.sha256sum(path),
            "kind": kind,
            "seed": None,
            "note": "the authors' embedding (NeuroscienceAI/NER data_NER/Fig8); unseeded run",
        },
    )
    return run
