"""Fig8 analyses: decoding one MC_Maze run (ours or the authors') as the paper does.

The analysis (:func:`analyse`) is the authors': ``LinearRegression`` from the training embedding
to (vx, vy), scored on the same training bins (vel R²), positions = per-trial cumulative sum of
true and predicted velocity (pos R²); the same regression applied to the test embedding gives
test R² (no figure shows them, the table keeps them). Trial averages of the latent trajectory
are taken per target angle, over all trials, over the straight trials (version 0) and over the
curved ones (versions 1 and 2 pooled), as the paper's panels 7f / 7i draw them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from ner_repro.analysis.alignment import group_averages
from ner_repro.analysis.decoding import in_sample_analysis, positions_from_velocity, r2
from ner_repro.core import atomic, provenance
from ner_repro.core.embedding import EmbeddingRun
from ner_repro.core.errors import InputError
from ner_repro.core.session import SessionData
from ner_repro.core.types import PathLike
from ner_repro.data.mcmaze import session_name
from ner_repro.data.published_embeddings import read_published

log = logging.getLogger(__name__)

_EXTRAS = ("target_angle", "version")


def run_from_trained(embedding: PathLike, session: PathLike) -> EmbeddingRun:
    """A run trained here, with the per-bin ``target_angle`` / ``version`` (and ``trial_type``)
    of its session's train and test splits added as ``extras`` ``<name>_train`` / ``<name>_test``."""
    run = EmbeddingRun.load(embedding)
    data = SessionData.load(session)
    _, labels_train = data.split("train")
    _, labels_test = data.split("test")
    if labels_train.shape != run.labels_train.shape or not np.allclose(
        labels_train, run.labels_train
    ):
        raise InputError(
            embedding, f"training labels differ from those of its session file {session}"
        )
    if labels_test.shape != run.labels_test.shape:
        raise InputError(embedding, f"test split differs from that of its session file {session}")
    for name in (*_EXTRAS, "trial_type"):
        if name not in data.extras:
            if name in _EXTRAS:
                raise InputError(session, f"not an MC_Maze session: no per-bin '{name}'")
            continue
        values = np.asarray(data.extras[name])
        run.extras[f"{name}_train"] = values[data.is_train]
        run.extras[f"{name}_test"] = values[~data.is_train]
    run.meta.setdefault("mcmaze_session", str(session))
    return run


def angle_groups(angle: np.ndarray, decimals: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct target angles (rounded to ``decimals``) and each bin's group index."""
    rounded = np.round(np.asarray(angle, dtype=np.float64), decimals)
    values, index = np.unique(rounded, return_inverse=True)
    return values, index.reshape(-1)


def analyse(run: EmbeddingRun) -> dict[str, Any]:
    """The Fig8 numbers and arrays of one run (ours or the authors'), as plain arrays.

    Keys: ``vel_r2``, ``pos_r2``, ``r2_axis`` (training split, in-sample, as the paper);
    ``vel_r2_test``, ``pos_r2_test`` (the training regression on the test split);
    ``true_pos``, ``pred_pos``, ``true_vel``, ``pred_vel``, ``embedding``, ``target_angle``,
    ``version`` (training bins); ``angles`` (A,) and the trial averages ``avg_all``,
    ``avg_straight`` (version 0), ``avg_curved`` (versions 1, 2) of shape (A, t_dur, d) with their
    trial counts ``n_all``, ``n_straight``, ``n_curved``; ``n_train_trials``, ``n_test_trials``,
    ``loss``, ``final_loss`` (mean of the last 10 values).
    """
    for key in ("target_angle_train", "version_train"):
        if key not in run.extras:
            raise InputError(
                f"{run.method}/{run.session}", f"run has no per-bin '{key}' (not an MC_Maze run)"
            )
    t_dur = run.t_dur
    result = in_sample_analysis(run.train, run.labels_train, t_dur, direction=False, pvalues=False)
    reg = LinearRegression().fit(run.train, run.labels_train[:, :2])
    test_vel = run.labels_test[:, :2]
    pred_test = np.asarray(reg.predict(run.test))
    vel_r2_test = r2(test_vel, pred_test)
    pos_r2_test = r2(
        positions_from_velocity(test_vel, t_dur), positions_from_velocity(pred_test, t_dur)
    )
    angle = np.asarray(run.extras["target_angle_train"], dtype=np.float64)
    version = np.asarray(run.extras["version_train"], dtype=np.int64)
    angles, group = angle_groups(angle)
    # Trials (their first bin) by reach angle: all, straight (version 0), curved (1, 2).
    trials = run.train.reshape(-1, t_dur, run.train.shape[1])
    trial_group, trial_version = group[::t_dur], version[::t_dur]
    avg_all, n_all = group_averages(trials, trial_group, len(angles))
    avg_straight, n_straight = group_averages(
        trials, np.where(trial_version == 0, trial_group, -1), len(angles)
    )
    avg_curved, n_curved = group_averages(
        trials, np.where(trial_version > 0, trial_group, -1), len(angles)
    )
    out: dict[str, Any] = {
        "vel_r2": result.vel_r2,
        "pos_r2": result.pos_r2,
        "r2_axis": result.r2_axis,
        "vel_r2_test": vel_r2_test,
        "pos_r2_test": pos_r2_test,
        "true_vel": result.true_vel,
        "pred_vel": result.pred_vel,
        "true_pos": result.true_pos,
        "pred_pos": result.pred_pos,
        "embedding": run.train,
        "target_angle": angle,
        "version": version,
        "angles": angles,
        "avg_all": avg_all,
        "avg_straight": avg_straight,
        "avg_curved": avg_curved,
        "n_all": n_all,
        "n_straight": n_straight,
        "n_curved": n_curved,
        "n_train_trials": np.int64(run.train.shape[0] // t_dur),
        "n_test_trials": np.int64(run.test.shape[0] // t_dur),
        "t_dur": np.int64(t_dur),
        "loss": run.loss,
        "loss_name": run.loss_name,
        "final_loss": float(np.mean(run.loss[-10:])) if run.loss.size else np.nan,
    }
    if "trial_type_train" in run.extras:
        out["trial_type"] = np.asarray(run.extras["trial_type_train"], dtype=np.int64)
    return out


def _table(arrays: Mapping[str, Any]) -> pd.DataFrame:
    head = {k: arrays[k] for k in ("method", "label", "set", "source", "seed")}
    rows = [
        {**head, "split": split, "metric": metric, "value": float(arrays[key])}
        for split, metric, key in (
            ("train", "vel_R2", "vel_r2"),
            ("train", "pos_R2", "pos_r2"),
            ("test", "vel_R2", "vel_r2_test"),
            ("test", "pos_R2", "pos_r2_test"),
            ("train", "n_trials", "n_train_trials"),
            ("test", "n_trials", "n_test_trials"),
            ("train", "final_loss", "final_loss"),
        )
    ]
    rows.insert(2, {**head, "split": "train", "metric": "vel_R2_x", "value": arrays["r2_axis"][0]})
    rows.insert(3, {**head, "split": "train", "metric": "vel_R2_y", "value": arrays["r2_axis"][1]})
    return pd.DataFrame(rows)


def write_analysis(
    run: EmbeddingRun,
    npz: PathLike,
    csv: PathLike | None = None,
    *,
    set_name: str,
    label: str = "",
    source: str,
    inputs: Mapping[str, PathLike] | None = None,
) -> dict[str, Any]:
    """:func:`analyse` ``run`` and write the arrays (``npz``) and its numbers (``csv``)."""
    arrays = analyse(run)
    arrays.update(
        method=run.method,
        label=label or run.method,
        set=set_name,
        session=session_name(set_name),
        source=source,
        seed=np.int64(run.seed),
        meta_json=provenance.to_json(
            provenance.run_metadata(
                inputs=dict(inputs or {}),
                run={"method": run.method, "session": run.session, "seed": run.seed},
                run_meta=run.meta,
                evaluation="train-set (in-sample) linear decoding, as the paper (spec §1.7)",
            )
        ),
    )
    atomic.save_npz(npz, arrays)
    if csv is not None:
        with atomic.atomic_path(csv, suffix=".csv") as tmp:
            _table(arrays).to_csv(tmp, index=False)
    log.info(
        "%s on %s (%s): train vel R2 %.4f, pos R2 %.4f; test vel R2 %.4f, pos R2 %.4f",
        run.method,
        set_name,
        source,
        arrays["vel_r2"],
        arrays["pos_r2"],
        arrays["vel_r2_test"],
        arrays["pos_r2_test"],
    )
    return arrays


def analyse_trained(
    embedding: PathLike,
    session: PathLike,
    npz: PathLike,
    csv: PathLike | None = None,
    *,
    set_name: str,
    label: str = "",
) -> dict[str, Any]:
    """Rule ``mcmaze_analysis``: decode a run trained here on ``MCMaze_<set>``."""
    run = run_from_trained(embedding, session)
    return write_analysis(
        run,
        npz,
        csv,
        set_name=set_name,
        label=label,
        source="trained",
        inputs={"embedding": embedding, "session": session},
    )


def analyse_published(
    path: PathLike,
    npz: PathLike,
    csv: PathLike | None = None,
    *,
    method: str,
    set_name: str,
    kind: str,
    label: str = "",
) -> dict[str, Any]:
    """Rule ``mcmaze_analysis_published``: decode the authors' embedding of a set."""
    run = read_published(path, method, session_name(set_name), kind)
    return write_analysis(
        run,
        npz,
        csv,
        set_name=set_name,
        label=label,
        source="published",
        inputs={"published": path},
    )
