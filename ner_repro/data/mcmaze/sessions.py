"""A condition set of MC_Maze made into the per-session contract (:class:`SessionData`), one
session file per configured set (fig8-baselines.md §1.4-1.5; docs/sources.md)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ner_repro.core import atomic
from ner_repro.core.errors import InputError
from ner_repro.core.session import SessionData
from ner_repro.core.types import PathLike
from ner_repro.data.mcmaze.conditions import (
    AREA,
    MONKEY,
    SESSION_PREFIX,
    ConditionSet,
    condition_sets_from_config,
)
from ner_repro.data.mcmaze.nwb import MazeRecording, load_mcmaze

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Condition set -> SessionData
# ---------------------------------------------------------------------------------------------
def condition_set(
    recording: MazeRecording,
    name: str | ConditionSet,
    types: Iterable[int] | None = None,
    min_version: int = 0,
    train_fraction: float = 0.8,
    *,
    max_version: int | None = None,
    versions: Iterable[int] | None = None,
) -> SessionData:
    """One condition set of ``recording`` as a :class:`SessionData` (fig8-baselines.md §1.4-1.5,
    summarised in ``docs/sources.md``).

    Trials with ``trial_type in types`` and an allowed version (``>= min_version``, optionally
    ``<= max_version`` or ``in versions``) are taken in recording order (conditions interleaved).
    Labels per bin are ``[vx, vy, 0]`` in mm/s (the authors zero the angle column before training);
    extras per bin: ``target_angle`` (degrees), ``version`` (trial_version), ``trial_type``,
    ``trial_id`` and ``hand_pos`` (mm, relative to the window start). ``t_dur`` = bins per trial;
    the first ``int(train_fraction * n_trials)`` trials are the training split.
    """
    if isinstance(name, ConditionSet):
        cset = name
    else:
        if types is None:
            raise ValueError("types is required unless a ConditionSet is given")
        cset = ConditionSet(
            name=name,
            types=tuple(types),
            min_version=min_version,
            max_version=max_version,
            versions=None if versions is None else tuple(versions),
        )
    mask = cset.select(recording.trial_type, recording.trial_version)
    idx = np.flatnonzero(mask)
    if idx.size < 2:
        found = recording.counts()
        raise InputError(
            recording.source,
            f"condition set {cset.name!r} ({cset.describe()}) selects {idx.size} trial(s); "
            f"need at least 2 (trials per (type, version) in the file: {found})",
        )
    t_dur = recording.n_bins
    vel = recording.hand_vel[idx].reshape(-1, 2)
    labels = np.column_stack([vel, np.zeros(len(vel))])
    per_bin = lambda a: np.repeat(np.asarray(a)[idx], t_dur)  # noqa: E731
    meta = {
        "condition_set": cset.name,
        "family": cset.family,
        "types": list(cset.types),
        "rule": cset.describe(),
        "published": cset.published,
        "n_trials": int(idx.size),
        "trial_counts": {f"{t}/v{v}": n for (t, v), n in recording.counts(cset).items()},
        "bin_ms": recording.bin_ms,
        "smooth_ms": recording.smooth_ms,
        "window_ms": list(recording.window_ms),
        "labels": "[hand_vel_x, hand_vel_y, 0] in mm/s",
        "n_trials_dropped_in_file": len(recording.dropped),
        "subject": recording.subject,
    }
    return SessionData(
        monkey=MONKEY,
        date=recording.date,
        area=AREA,
        neural=recording.neural[idx].reshape(-1, recording.n_units),
        labels=labels,
        t_dur=t_dur,
        train_fraction=train_fraction,
        source=recording.source,
        source_sha256=recording.source_sha256,
        source_format="nwb",
        container="nwb-hdf5",
        meta=meta,
        extras={
            "target_angle": per_bin(recording.target_angle).astype(np.float64),
            "version": per_bin(recording.trial_version).astype(np.int64),
            "trial_type": per_bin(recording.trial_type).astype(np.int64),
            "trial_id": per_bin(recording.trial_id).astype(np.int64),
            "hand_pos": recording.hand_pos[idx].reshape(-1, 2),
        },
    )


# -- session files --------------------------------------------------------------------------------
def session_name(cset: ConditionSet | str) -> str:
    """``MCMaze_<set>``: the workflow's session id of a condition set."""
    return SESSION_PREFIX + (cset if isinstance(cset, str) else cset.name)


def set_of(session: str) -> str:
    """The condition-set name of a ``MCMaze_<set>`` session id."""
    if not session.startswith(SESSION_PREFIX):
        raise ValueError(f"{session!r} is not an MC_Maze session id ({SESSION_PREFIX}<set>)")
    return session[len(SESSION_PREFIX) :]


def write_sessions(
    nwb: PathLike,
    sessions: Mapping[str, PathLike],
    sets: Sequence[ConditionSet] | Mapping[str, Mapping[str, Any]],
    table: PathLike,
    *,
    bin_ms: int = 5,
    smooth_ms: float = 50,
    window_ms: Sequence[int] = (-50, 450),
    train_fraction: float = 0.8,
) -> list[SessionData]:
    """Load ``nwb`` once and write one session file per condition set, plus a table of trials.

    ``sessions`` maps set names to output paths (every set needs one); ``sets`` are
    :class:`ConditionSet` objects or the config mapping. The table has one row per set and
    (trial type, version) with the trial counts of the whole set and of its splits.
    """
    csets = list(sets) if not isinstance(sets, Mapping) else condition_sets_from_config(sets)
    missing = [cs.name for cs in csets if cs.name not in sessions]
    if missing:
        raise ValueError(f"no output path for condition set(s) {', '.join(missing)}")
    rec = load_mcmaze(nwb, bin_ms=bin_ms, smooth_ms=smooth_ms, window=tuple(window_ms))
    logger.info(
        "%s: %d trials x %d bins x %d units (%d dropped)",
        nwb,
        rec.n_trials,
        rec.n_bins,
        rec.n_units,
        len(rec.dropped),
    )
    rows = []
    out = []
    for cs in csets:
        session = condition_set(rec, cs, train_fraction=train_fraction)
        session.meta["session_id"] = session_name(cs)
        session.save(sessions[cs.name])
        out.append(session)
        per_trial = slice(None, None, session.t_dur)
        ttype = session.extras["trial_type"][per_trial]
        version = session.extras["version"][per_trial]
        angle = session.extras["target_angle"][per_trial]
        train = session.is_train[per_trial]
        for (t, v), n in sorted(rec.counts(cs).items()):
            sel = (ttype == t) & (version == v)
            rows.append(
                {
                    "set": cs.name,
                    "session": session_name(cs),
                    "family": cs.family,
                    "rule": cs.describe(),
                    "trial_type": int(t),
                    "trial_version": int(v),
                    "target_angle_deg": float(np.unique(angle[sel])[0]) if sel.any() else np.nan,
                    "n_trials": int(n),
                    "n_train": int((sel & train).sum()),
                    "n_test": int((sel & ~train).sum()),
                    "set_trials": session.n_trials,
                    "set_train_trials": session.n_train_trials,
                    "dropped_in_file": len(rec.dropped),
                }
            )
        logger.info(
            "%s (%s): %d trials, %d train / %d test -> %s",
            cs.name,
            cs.describe(),
            session.n_trials,
            session.n_train_trials,
            session.n_trials - session.n_train_trials,
            sessions[cs.name],
        )
    with atomic.atomic_path(table, suffix=".csv") as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)
    return out
