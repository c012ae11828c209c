"""Reading recordings into :class:`~ner_repro.core.session.SessionData` (METHODS §1).

Citations of the specification (METHODS §n) are summarised in ``docs/sources.md``.

Two layouts, each in MATLAB v5 or v7.3 (:mod:`ner_repro.data.matfile`):

1. **Pre-smoothed NER files** ``<Monkey>_<YYYYMMDD>_neural_con_dis_index.mat`` with
   ``neural_<AREA>`` (T x N), ``continuous_index`` (T x 2 hand velocity),
   ``discrete_index`` (T x 1 target direction) and optionally ``t_dur``; trials are
   consecutive blocks of ``t_dur`` rows.
2. **Raw TrialData files** ``<Monkey>_CO_<YYYYMMDD>_*.mat`` holding the ``trial_data``
   struct array: per trial ``<AREA>_spikes`` (T_i x N counts), ``vel`` (T_i x 2),
   ``idx_goCueTime`` (1-based) and ``tgtDir``. These are smoothed here exactly as the
   authors' MATLAB did (:mod:`ner_repro.data.smoothing`), cut to ``[goCue, goCue + t_dur)``,
   and trials that are too short or have NaN direction/velocity are dropped.

Labels are ``[vx*10, vy*10, angle_deg]`` with the angle normalised to {0, 45, ..., 315}
from any of the codings found in the wild (:func:`normalise_directions`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ner_repro.core import provenance
from ner_repro.core.errors import InputError
from ner_repro.core.session import ANGLE_STEP, BIN_S, SessionData
from ner_repro.data import matfile
from ner_repro.data.recordings import parse_filename
from ner_repro.data.smoothing import gaussian_kernel, smooth_trial

#: Velocity is scaled by 10 in the labels (METHODS §2; docs/sources.md).
VELOCITY_SCALE = 10.0

#: TrialData field names holding each area's spikes, in order of preference.
SPIKE_FIELDS: Mapping[str, tuple[str, ...]] = {
    "M1": ("M1_spikes",),
    "PMd": ("PMd_spikes",),
    "S1": ("S1_spikes", "LeftS1Area2_spikes", "area2_spikes"),
}


@dataclass(frozen=True)
class Smoothing:
    """Kernel of the authors' MATLAB smoothing (METHODS §1; ``docs/sources.md``)."""

    sigma_bins: float = 1.5
    half_width: int = 4


# -- labels ----------------------------------------------------------------------------
def normalise_directions(
    values: np.ndarray, path: str | os.PathLike[str] | None = None
) -> np.ndarray:
    """Target directions in degrees {0, 45, ..., 315}, from any known coding.

    Accepted codings (METHODS §1, ``docs/sources.md``): degrees in [-180, 180] (Chewie, Mihili),
    degrees in [0, 360) (Han), direction classes 0..7 (older exports), and radians (raw
    TrialData ``tgtDir``). Anything else raises :class:`InputError` naming ``path``.
    """
    return classify_directions(values, path)[0]


def classify_directions(
    values: np.ndarray, path: str | os.PathLike[str] | None = None
) -> tuple[np.ndarray, str]:
    """``(degrees in {0, ..., 315}, name of the coding found)``; see :func:`normalise_directions`."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size == 0:
        raise InputError(path, "no target directions")
    if not np.isfinite(v).all():
        raise InputError(
            path, f"target direction has {int((~np.isfinite(v)).sum())} NaN/inf value(s)"
        )

    def on_grid(x: np.ndarray, step: float) -> bool:
        return bool(np.allclose(x / step, np.rint(x / step), atol=1e-6))

    integral = on_grid(v, 1.0)
    if integral and v.min() >= 0 and v.max() <= 7:
        degrees, coding = v * ANGLE_STEP, "classes 0-7"
    elif on_grid(v, ANGLE_STEP) and -180 <= v.min() and v.max() <= 180 and v.min() < 0:
        degrees, coding = v, "degrees -180..180"
    elif on_grid(v, ANGLE_STEP) and 0 <= v.min() and v.max() < 360:
        degrees, coding = v, "degrees 0..360"
    elif (
        not integral and on_grid(v, np.pi / 4) and v.min() >= -np.pi - 1e-6 and v.max() < 2 * np.pi
    ):
        degrees, coding = np.degrees(v), "radians"
    else:
        shown = ", ".join(f"{x:g}" for x in np.unique(v)[:10])
        raise InputError(
            path,
            f"unknown direction coding (values: {shown}{' ...' if np.unique(v).size > 10 else ''}); "
            "expected classes 0-7, degrees in steps of 45 (-180..180 or 0..360) or radians in steps of pi/4",
        )
    return np.mod(np.rint(degrees / ANGLE_STEP) * ANGLE_STEP, 360.0), coding


def make_labels(velocity: np.ndarray, angle_deg: np.ndarray) -> np.ndarray:
    """``[vx*10, vy*10, angle_deg]`` (METHODS §2; ``docs/sources.md``)."""
    return np.column_stack([np.asarray(velocity, dtype=np.float64) * VELOCITY_SCALE, angle_deg])


# -- readers ---------------------------------------------------------------------------
def available_areas(path: str | os.PathLike[str]) -> list[str]:
    """Areas present in a recording."""
    variables, _ = matfile.load_mat(path)
    if "trial_data" in variables or any(isinstance(v, list) for v in variables.values()):
        trials = _trial_list(path, variables)
        return [a for a, keys in SPIKE_FIELDS.items() if any(k in trials[0] for k in keys)]
    return [k[len("neural_") :] for k in variables if k.startswith("neural_")]


def read_session(
    path: str | os.PathLike[str],
    area: str,
    *,
    t_dur: int | None = None,
    train_fraction: float = 0.8,
    smoothing: Smoothing = Smoothing(),
    bin_size_s: float = BIN_S,
    keep_results: Sequence[str] = ("R",),
    monkey: str | None = None,
    date: str | None = None,
) -> SessionData:
    """Read one area of one recording, in either layout and container.

    ``t_dur`` is the number of bins per trial; for pre-smoothed files a ``t_dur`` stored
    in the file wins when ``t_dur`` is ``None`` and must agree with it otherwise.
    Raw TrialData files require ``t_dur``.
    """
    path = Path(path)
    variables, container = matfile.load_mat(path)
    file_monkey, file_date, layout = _identify(path, variables)
    monkey = monkey or file_monkey
    date = str(date or file_date)
    if layout == "ner":
        neural, labels, t_dur, details = _read_ner(path, variables, area, t_dur)
    else:
        if t_dur is None:
            raise InputError(
                path, "raw TrialData files need t_dur (bins per trial) from the configuration"
            )
        neural, labels, details = _read_trialdata(
            path, variables, area, t_dur, smoothing, bin_size_s, keep_results
        )
    meta = provenance.run_metadata(
        inputs={"recording": path},
        layout=layout,
        container=container,
        area=area,
        t_dur=t_dur,
        train_fraction=train_fraction,
        **details,
    )
    return SessionData(
        monkey=monkey,
        date=date,
        area=area,
        neural=neural,
        labels=labels,
        t_dur=t_dur,
        train_fraction=train_fraction,
        source=str(path),
        source_sha256=meta["inputs"]["recording"]["sha256"],
        source_format=layout,
        container=container,
        meta=meta,
    )


def _identify(path: Path, variables: Mapping[str, Any]) -> tuple[str, str, str]:
    """Layout from the contents (file names may have been changed by users)."""
    try:
        monkey, date, _ = parse_filename(path)
    except InputError:
        monkey, date = "", ""
    if any(
        k.startswith("neural_") or k in ("continuous_index", "discrete_index") for k in variables
    ):
        layout = "ner"
    elif "trial_data" in variables or any(
        isinstance(v, list) and v and isinstance(v[0], dict) for v in variables.values()
    ):
        layout = "trialdata"
    else:
        raise InputError(
            path,
            f"neither a pre-smoothed NER file (no neural_<AREA> key) nor a TrialData file "
            f"(no trial_data struct array); found: {', '.join(sorted(variables)) or 'nothing'}",
        )
    if not monkey:
        raise InputError(
            path,
            "cannot tell monkey and date: rename to <Monkey>_<YYYYMMDD>_neural_con_dis_index.mat or <Monkey>_CO_<YYYYMMDD>_*.mat",
        )
    return monkey, date, layout


def _require(path: Path, variables: Mapping[str, Any], key: str) -> Any:
    if key not in variables:
        raise InputError(path, f"key {key!r} is missing (found: {', '.join(sorted(variables))})")
    return variables[key]


def _read_ner(
    path: Path, variables: Mapping[str, Any], area: str, t_dur: int | None
) -> tuple[np.ndarray, np.ndarray, int, dict[str, Any]]:
    neural = np.asarray(_require(path, variables, f"neural_{area}"), dtype=np.float64)
    velocity = np.asarray(_require(path, variables, "continuous_index"), dtype=np.float64)
    direction = np.asarray(_require(path, variables, "discrete_index"))
    if neural.ndim != 2:
        raise InputError(
            path, f"neural_{area} must be 2-D (bins x neurons), got shape {neural.shape}"
        )
    if velocity.ndim != 2 or velocity.shape[1] != 2:
        raise InputError(
            path, f"continuous_index must be (bins x 2) hand velocity, got shape {velocity.shape}"
        )
    if direction.ndim != 2 or direction.shape[1] != 1:
        raise InputError(path, f"discrete_index must be one column, got shape {direction.shape}")
    n = neural.shape[0]
    if velocity.shape[0] != n or direction.shape[0] != n:
        raise InputError(
            path,
            f"lengths disagree: neural_{area} has {n} bins, continuous_index {velocity.shape[0]}, "
            f"discrete_index {direction.shape[0]}",
        )
    if "t_dur" in variables:
        stored = int(np.asarray(variables["t_dur"]).reshape(-1)[0])
        if t_dur is not None and int(t_dur) != stored:
            raise InputError(
                path, f"the file says t_dur={stored} but the configuration says {t_dur}"
            )
        t_dur = stored
    if t_dur is None:
        raise InputError(path, "no t_dur in the file and none configured")
    if n % int(t_dur):
        raise InputError(path, f"{n} bins is not a multiple of t_dur={t_dur} bins per trial")
    for key, arr in ((f"neural_{area}", neural), ("continuous_index", velocity)):
        bad = ~np.isfinite(arr)
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise InputError(
                path, f"{key} contains {int(bad.sum())} NaN/inf value(s), first in bin {row}"
            )
    angles, coding = classify_directions(direction, path)
    return neural, make_labels(velocity, angles), int(t_dur), {"direction_coding": coding}


def _trial_list(path: Path, variables: Mapping[str, Any]) -> list[dict[str, Any]]:
    if "trial_data" in variables:
        trials = variables["trial_data"]
    else:
        candidates = [
            v for v in variables.values() if isinstance(v, list) and v and isinstance(v[0], dict)
        ]
        if len(candidates) != 1:
            raise InputError(path, "expected one struct array named trial_data")
        trials = candidates[0]
    if isinstance(trials, dict):
        trials = [trials]
    if not trials:
        raise InputError(path, "trial_data is empty")
    return trials


def _scalar(value: Any) -> float:
    arr = np.asarray(value, dtype=np.float64).reshape(-1)
    return float(arr[0]) if arr.size else float("nan")


def _read_trialdata(
    path: Path,
    variables: Mapping[str, Any],
    area: str,
    t_dur: int,
    smoothing: Smoothing,
    bin_size_s: float,
    keep_results: Sequence[str],
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    windows = trial_windows(
        _trial_list(path, variables),
        area,
        t_dur,
        smoothing=smoothing,
        bin_size_s=bin_size_s,
        keep_results=keep_results,
        path=path,
    )
    return windows.neural, windows.labels, windows.details


@dataclass
class TrialWindows:
    """The go-cue windows of the usable trials of a ``trial_data`` struct array."""

    neural: np.ndarray  # (n_kept * t_dur, N) smoothed spike counts
    labels: np.ndarray  # (n_kept * t_dur, 3) [vx*10, vy*10, angle_deg]
    details: dict[str, Any]  # trial counts, drops, smoothing, ... (the session's provenance)
    kept: np.ndarray  # (n_kept,) index of each kept trial in ``trials``
    starts: np.ndarray  # (n_kept,) first bin of its window (after re-binning)


def trial_windows(
    trials: Sequence[Mapping[str, Any]],
    area: str,
    t_dur: int,
    *,
    smoothing: Smoothing = Smoothing(),
    bin_size_s: float = BIN_S,
    keep_results: Sequence[str] = ("R",),
    path: str | os.PathLike[str] | None = None,
) -> TrialWindows:
    """Smooth each usable trial's spikes and cut ``[goCue, goCue + t_dur)`` (METHODS §1).

    The citation is summarised in ``docs/sources.md``.

    ``trials`` are TrialData structs as read from a file (``path`` names it in errors): the
    raw-TrialData reading of :func:`read_session`, also usable on trials held in memory.
    """
    fields = set(trials[0])
    spike_key = next((k for k in SPIKE_FIELDS.get(area, (f"{area}_spikes",)) if k in fields), None)
    if spike_key is None:
        wanted = " or ".join(SPIKE_FIELDS.get(area, (f"{area}_spikes",)))
        raise InputError(
            path,
            f"trial_data has no {wanted} field for area {area} (fields: {', '.join(sorted(fields))})",
        )
    for key in ("vel", "idx_goCueTime", "tgtDir"):
        if key not in fields:
            raise InputError(
                path, f"trial_data has no {key!r} field (fields: {', '.join(sorted(fields))})"
            )

    rebin = 1
    if "bin_size" in fields:
        stored = _scalar(trials[0]["bin_size"])
        ratio = bin_size_s / stored
        if not np.isclose(ratio, round(ratio)) or round(ratio) < 1:
            raise InputError(path, f"bin_size {stored:g} s cannot be re-binned to {bin_size_s:g} s")
        rebin = round(ratio)

    kernel = gaussian_kernel(smoothing.sigma_bins, smoothing.half_width)
    n_neurons: int | None = None
    neural, velocity, directions, kept, starts = [], [], [], [], []
    dropped = {"result": 0, "no_go_cue": 0, "too_short": 0, "nan_direction": 0, "nan_velocity": 0}
    for number, trial in enumerate(trials):
        if "result" in trial and keep_results:
            result = (
                trial["result"]
                if isinstance(trial["result"], str)
                else str(np.asarray(trial["result"]).reshape(-1)[0])
            )
            if result not in keep_results:
                dropped["result"] += 1
                continue
        spikes = np.asarray(trial[spike_key], dtype=np.float64)
        vel = np.asarray(trial["vel"], dtype=np.float64)
        if spikes.ndim != 2 or vel.ndim != 2 or vel.shape[1] != 2:
            raise InputError(
                path,
                f"trial {number + 1}: {spike_key} must be (bins x neurons) and vel (bins x 2), got {spikes.shape} and {vel.shape}",
            )
        if spikes.shape[0] != vel.shape[0]:
            raise InputError(
                path,
                f"trial {number + 1}: lengths disagree: {spike_key} has {spikes.shape[0]} bins, vel {vel.shape[0]}",
            )
        if n_neurons is None:
            n_neurons = spikes.shape[1]
        elif spikes.shape[1] != n_neurons:
            raise InputError(
                path,
                f"trial {number + 1}: {spikes.shape[1]} neurons, but earlier trials have {n_neurons}",
            )
        if not np.isfinite(spikes).all():
            raise InputError(path, f"trial {number + 1}: {spike_key} contains NaN/inf")
        go = _scalar(trial["idx_goCueTime"])
        if not np.isfinite(go):
            dropped["no_go_cue"] += 1
            continue
        if rebin > 1:
            usable = spikes.shape[0] // rebin * rebin
            spikes = spikes[:usable].reshape(-1, rebin, spikes.shape[1]).sum(axis=1)
            vel = vel[:usable].reshape(-1, rebin, 2).mean(axis=1)
            go = (int(go) - 1) // rebin + 1
        start = int(go) - 1  # MATLAB indices are 1-based
        if start < 0 or start + t_dur > spikes.shape[0]:
            dropped["too_short"] += 1
            continue
        direction = _scalar(trial["tgtDir"])
        if not np.isfinite(direction):
            dropped["nan_direction"] += 1
            continue
        window_vel = vel[start : start + t_dur]
        if not np.isfinite(window_vel).all():
            dropped["nan_velocity"] += 1
            continue
        neural.append(smooth_trial(spikes, kernel)[start : start + t_dur])
        velocity.append(window_vel)
        directions.append(direction)
        kept.append(number)
        starts.append(start)
    if not neural:
        raise InputError(path, f"no usable trials for area {area} (dropped: {dropped})")
    angles, coding = classify_directions(np.asarray(directions), path)
    neural_arr = np.concatenate(neural)
    labels = make_labels(np.concatenate(velocity), np.repeat(angles, t_dur))
    details = {
        "trials_total": len(trials),
        "trials_kept": len(neural),
        "trials_dropped": dropped,
        "smoothing": asdict(smoothing),
        "rebin_factor": rebin,
        "spike_field": spike_key,
        "direction_coding": coding,
    }
    return TrialWindows(neural_arr, labels, details, np.array(kept), np.array(starts))
