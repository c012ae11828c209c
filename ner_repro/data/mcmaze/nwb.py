"""Reading MC_Maze's NWB file (DANDI 000128, monkey Jenkins) into trial windows, as nlb_tools does.

The authors load the training file with ``nlb_tools`` (``NWBDataset(..., split_heldout=False)``),
call ``resample(5)`` and ``smooth_spk(50, overwrite=True)``, and cut every trial to the 100 five-ms
bins from 50 ms before movement onset (spec ``reference/fig8-baselines.md`` §1.2-1.5; the spec's
sections cited here are summarised in ``docs/sources.md``). ``nlb_tools``
pins ``pandas<=1.3.4`` and cannot be installed here, so this module reads the NWB file with h5py and
reproduces what ``nlb_tools/nwb_interface.py`` (github.com/neurallatents/nlb_tools, commit 1ddc15f)
does, step by step, without building its 1-ms table of the whole recording:

* **Spikes -> 1-ms bins** (``NWBDataset.load``): the 1-ms grid is ``[0, end)`` with
  ``end = round(1000 * max over units of the last obs_intervals end)`` ms; a spike at ``t`` s goes to
  1-ms bin ``int(round(1000 t, 6))`` (truncation toward zero). All units are kept
  (``split_heldout=False``: held-in and held-out together, 182 for MC_Maze), ordered by unit id
  (``data.sort_index(axis=1)``). 1-ms bins outside the obs_intervals of the *first* unit are NaN
  (``make_mask(units[mask].iloc[0].obs_intervals)``, slice ``[ceil(1000 start), floor(1000 end))``).
* **1 ms -> 5 ms** (``NWBDataset.resample``): spike counts are summed over consecutive groups of
  5 one-ms bins from t = 0 (the last partial group is kept); a 5-ms bin is NaN when its first 1-ms
  bin is. Bin ``k`` is labelled ``5k`` ms. Continuous behaviour (``hand_pos``, ``hand_vel``) is
  NaN-interpolated (linear, both directions), decimated by ``scipy.signal.decimate(x, 5, n=500,
  ftype='fir')`` (501-tap Hamming FIR, zero phase, zero padding beyond the recording), cast back to
  its stored dtype, and NaN where the original sample at ``5k`` ms was missing. Here the FIR output
  is computed at the window bins only (same sums; checked against ``decimate`` in the tests).
  ``hand_vel`` is read from the file (DANDI 000128 stores it, "calculated from monkey hand
  position"); it is never computed here.
* **Smoothing** (``NWBDataset.smooth_spk`` / ``smooth_column`` with ``ignore_nans=False``): σ =
  ``smooth_ms / bin_ms`` bins, ``M = int(6 σ)`` taps, ``scipy.signal.windows.gaussian(M, σ,
  sym=True)`` normalised to sum 1, ``scipy.signal.convolve(x, w, 'same')`` per unit over the whole
  recording (zero padding at both ends; for ``M = 60`` scipy picks the direct method, so a NaN bin
  spoils only the outputs within the kernel's reach). With ``'same'`` and even ``M``, output bin
  ``n`` sums input bins ``n - M//2 .. n + (M-1)//2`` (``n-30 .. n+29`` for 50 ms / 5 ms). Here only
  the bins of the trial windows are computed, from a context of ``M - 1`` extra bins: the values are
  the same (``tests/test_mcmaze.py`` checks them against the whole-recording computation).
* **Trial window** (notebook cell 3): ``neural_all.loc[onset - 50 ms : onset + 450 ms].iloc[0:100]``,
  i.e. the first 5-ms bin ``k0 = ceil((onset - 50 ms) / 5 ms)`` (times compared at ns precision, as
  pandas does) and the 100 bins from there. Hand position is taken relative to the window's first bin.
* **Target angle**: ``target_pos[i][active_target[i]]``, ``atan2(y, x)`` in degrees mapped into
  [0, 360).

Bad trials are **dropped and counted** (``MazeRecording.dropped``: trial id -> reason) by default, or
raise with ``on_bad_trial="error"``: a window that runs outside the recording (``.iloc[0:100]`` would
return fewer bins, or start at the recording's first bin instead of 50 ms before onset), a missing
movement onset, a window whose smoothed spikes are NaN (a not-observed bin within the kernel's reach),
or NaN behaviour in the window. In the authors' run all 2295 trials gave 100 finite bins (229,500
rows), so for the real file nothing should be dropped; a file where everything is dropped is an error.
Structural problems (not HDF5, not NWB, missing units / trials / columns / behaviour, behaviour
off the 1-ms grid) raise :class:`~ner_repro.core.errors.InputError` naming the file.

The condition sets are :mod:`~ner_repro.data.mcmaze.conditions`'; a set made into a session is
:mod:`~ner_repro.data.mcmaze.sessions`'. A small MC_Maze-like file for the tests and the offline demo:
:mod:`ner_repro.synthetic.nwb`.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.signal

from ner_repro.core import provenance
from ner_repro.core.errors import InputError
from ner_repro.data.mcmaze.conditions import (
    MCMAZE_BIN_MS,
    MONKEY,
    SMOOTH_MS,
    WINDOW_MS,
    ConditionSet,
)

logger = logging.getLogger(__name__)

_RAW_BIN_MS = 1
_DECIMATE_ORDER = 500
_NS_PER_MS = 1_000_000

_TRIAL_COLUMNS = (
    "start_time",
    "stop_time",
    "move_onset_time",
    "trial_type",
    "trial_version",
    "active_target",
    "target_pos",
)
_BEHAVIOUR = ("hand_pos", "hand_vel")


# ---------------------------------------------------------------------------------------------
# The recording
# ---------------------------------------------------------------------------------------------
@dataclass
class MazeRecording:
    """Trial windows of one MC_Maze file (trials in recording order, bad trials left out).

    ``neural`` are smoothed spike counts per bin (not Hz), ``hand_vel`` in mm/s, ``hand_pos`` in mm
    relative to the first bin of the window; ``first_bin`` is the index of each window's first
    ``bin_ms`` bin in the whole recording (bin ``k`` starts at ``k * bin_ms`` ms).
    """

    source: str
    neural: np.ndarray  # (n_trials, n_bins, n_units)
    hand_vel: np.ndarray  # (n_trials, n_bins, 2)
    hand_pos: np.ndarray  # (n_trials, n_bins, 2), first bin = (0, 0)
    trial_id: np.ndarray  # (n_trials,) int64, the NWB trials table ids
    trial_type: np.ndarray  # (n_trials,) int64
    trial_version: np.ndarray  # (n_trials,) int64
    target_pos: np.ndarray  # (n_trials, 2) the active target (x, y)
    target_angle: np.ndarray  # (n_trials,) degrees in [0, 360)
    move_onset: np.ndarray  # (n_trials,) seconds
    first_bin: np.ndarray  # (n_trials,) int64
    unit_id: np.ndarray  # (n_units,)
    heldout: np.ndarray  # (n_units,) bool (all False when the file has no such column)
    session_start: str = ""
    subject: str = MONKEY
    bin_ms: int = MCMAZE_BIN_MS
    smooth_ms: float = SMOOTH_MS
    window_ms: tuple[int, int] = WINDOW_MS
    n_bins_recording: int = 0
    source_sha256: str = ""
    dropped: dict[int, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_trials(self) -> int:
        return int(self.neural.shape[0])

    @property
    def n_bins(self) -> int:
        return int(self.neural.shape[1])

    @property
    def n_units(self) -> int:
        return int(self.neural.shape[2])

    @property
    def date(self) -> str:
        """``YYYYMMDD`` of the session start (in the file's own time zone)."""
        match = re.match(r"\s*(\d{4})-?(\d{2})-?(\d{2})", self.session_start)
        if not match:
            raise InputError(self.source, f"session_start_time {self.session_start!r} has no date")
        return "".join(match.groups())

    def counts(self, condition: ConditionSet | None = None) -> dict[tuple[int, int], int]:
        """Number of trials per ``(trial_type, trial_version)`` (in ``condition`` if given)."""
        mask = np.ones(self.n_trials, bool)
        if condition is not None:
            mask = condition.select(self.trial_type, self.trial_version)
        pairs, n = np.unique(
            np.stack([self.trial_type[mask], self.trial_version[mask]], axis=1),
            axis=0,
            return_counts=True,
        )
        return {(int(t), int(v)): int(c) for (t, v), c in zip(pairs, n, strict=True)}


def gaussian_kernel(smooth_ms: float, bin_ms: float = MCMAZE_BIN_MS) -> np.ndarray:
    """The ``smooth_spk`` kernel: σ = smooth_ms/bin_ms bins, ``int(6σ)`` taps, symmetric, sum 1."""
    std = smooth_ms / bin_ms
    taps = int(6 * std)
    if taps < 1:
        raise ValueError(f"smoothing of {smooth_ms} ms at {bin_ms} ms bins gives an empty kernel")
    window = scipy.signal.windows.gaussian(taps, std, sym=True)
    return window / np.sum(window)


def smooth_windows(counts: np.ndarray, kernel: np.ndarray, n_out: int | None = None) -> np.ndarray:
    """``scipy.signal.convolve(x, kernel, 'same')`` evaluated on a window, from its context.

    ``counts`` has shape ``(n_windows, n_out + len(kernel) - 1, n_units)``: for an output window
    starting at recording bin ``k0`` it holds the input bins ``k0 - M//2 .. k0 + n_out - 1 +
    (M-1)//2`` (zeros beyond the recording, like 'same' mode's zero padding). Returns
    ``(n_windows, n_out, n_units)``: one matrix product with the banded (Toeplitz) kernel matrix.
    """
    taps = len(kernel)
    n_ctx = counts.shape[1]
    n_out = n_ctx - taps + 1 if n_out is None else n_out
    if n_ctx != n_out + taps - 1:
        raise ValueError(f"context of {n_ctx} bins does not fit {n_out} outputs and {taps} taps")
    # out[n] = sum_k kernel[k] * x[n + (M-1)//2 - k] = sum_j kernel[M-1-j] * ctx[n + j]
    band = np.zeros((n_out, n_ctx))
    rows = np.arange(n_out)[:, None]
    band[rows, rows + np.arange(taps)[None, :]] = kernel[::-1][None, :]
    n_win, _, n_units = counts.shape
    flat = np.ascontiguousarray(counts.transpose(1, 0, 2)).reshape(n_ctx, n_win * n_units)
    return (band @ flat).reshape(n_out, n_win, n_units).transpose(1, 0, 2)


# ---------------------------------------------------------------------------------------------
# Reading the NWB file (h5py)
# ---------------------------------------------------------------------------------------------
def _decode(value: Any) -> str:
    """A string from an h5py scalar dataset or attribute (bytes, str or a 1-element array)."""
    if hasattr(value, "shape") and not isinstance(value, np.ndarray):  # h5py.Dataset
        value = value[()]
    if isinstance(value, np.ndarray):
        value = value.ravel()[0] if value.size else ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _open_nwb(path: Path):
    import h5py

    if not path.exists():
        raise InputError(path, "file not found")
    if not path.is_file():
        raise InputError(path, "not a file")
    try:
        is_hdf5 = h5py.is_hdf5(path)
    except OSError as exc:
        raise InputError(path, f"cannot read file ({exc})") from exc
    if not is_hdf5:
        raise InputError(path, "not an NWB file: no HDF5 signature (expected an NWB 2 / HDF5 file)")
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(
            path, f"cannot open as HDF5/NWB, the file may be truncated or corrupt ({exc})"
        ) from exc
    if _decode(fh.attrs.get("neurodata_type", b"")) != "NWBFile":
        fh.close()
        raise InputError(
            path, "HDF5 file but not an NWB file (root neurodata_type is not 'NWBFile')"
        )
    return fh


def _ragged(group, name: str, path: Path, n_rows: int) -> list[np.ndarray]:
    """Rows of a ragged NWB column (``name`` + ``name_index`` holding end offsets)."""
    if name not in group:
        raise InputError(path, f"{group.name}: column '{name}' is missing")
    data = group[name][()]
    index_name = f"{name}_index"
    if index_name not in group:
        if data.shape[0] != n_rows:
            raise InputError(
                path, f"{group.name}/{name}: {data.shape[0]} rows for {n_rows} entries"
            )
        return [data[i : i + 1] for i in range(n_rows)]
    ends = group[index_name][()].astype(np.int64)
    if ends.shape != (n_rows,) or (n_rows and (np.any(np.diff(ends) < 0) or ends[-1] > len(data))):
        raise InputError(
            path, f"{group.name}/{index_name} is inconsistent with {name} ({len(data)} values)"
        )
    starts = np.concatenate([[0], ends[:-1]])
    return [data[s:e] for s, e in zip(starts, ends, strict=True)]


def _read_units(fh, path: Path) -> dict[str, Any]:
    if "units" not in fh:
        raise InputError(path, "no units table (/units): the file has no sorted spikes")
    units = fh["units"]
    for key in ("id", "spike_times", "spike_times_index"):
        if key not in units:
            found = ", ".join(sorted(units.keys()))
            raise InputError(path, f"/units/{key} is missing (found: {found})")
    ids = units["id"][()].astype(np.int64)
    n_units = len(ids)
    if n_units == 0:
        raise InputError(path, "the units table is empty")
    times = units["spike_times"][()].astype(np.float64)
    ends = units["spike_times_index"][()].astype(np.int64)
    if ends.shape != (n_units,) or np.any(np.diff(ends) < 0) or ends[-1] != len(times):
        raise InputError(path, "/units/spike_times_index is inconsistent with /units/spike_times")
    counts = np.diff(np.concatenate([[0], ends]))
    unit_of_spike = np.repeat(np.arange(n_units), counts)
    heldout = units["heldout"][()].astype(bool) if "heldout" in units else np.zeros(n_units, bool)
    obs = None
    if "obs_intervals" in units:
        obs = _ragged(units, "obs_intervals", path, n_units)
    return {"id": ids, "times": times, "unit": unit_of_spike, "heldout": heldout, "obs": obs}


def _read_trials(fh, path: Path) -> dict[str, np.ndarray]:
    if "intervals" not in fh or "trials" not in fh["intervals"]:
        raise InputError(path, "no trials table (/intervals/trials)")
    trials = fh["intervals/trials"]
    missing = [c for c in (*_TRIAL_COLUMNS, "id") if c not in trials]
    if missing:
        found = ", ".join(sorted(k for k in trials.keys() if not k.endswith("_index")))
        raise InputError(
            path, f"trials table lacks column(s) {', '.join(missing)} (found: {found})"
        )
    ids = trials["id"][()].astype(np.int64)
    n = len(ids)
    if n == 0:
        raise InputError(path, "the trials table is empty")
    out: dict[str, np.ndarray] = {"id": ids}
    for col in ("start_time", "stop_time", "move_onset_time"):
        out[col] = trials[col][()].astype(np.float64)
    for col in ("trial_type", "trial_version", "active_target"):
        out[col] = trials[col][()]
    for col, arr in out.items():
        if arr.shape != (n,):
            raise InputError(path, f"trials column '{col}' has shape {arr.shape}, expected ({n},)")
    for col in ("trial_type", "trial_version", "active_target"):
        arr = out[col]
        if not np.issubdtype(arr.dtype, np.integer):
            if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
                raise InputError(path, f"trials column '{col}' must hold integers")
        out[col] = arr.astype(np.int64)
    rows = _ragged(trials, "target_pos", path, n)
    target = np.full((n, 2), np.nan)
    for i, (row, active) in enumerate(zip(rows, out["active_target"], strict=True)):
        row = np.asarray(row, dtype=np.float64).reshape(-1, 2) if np.size(row) else np.zeros((0, 2))
        if not 0 <= active < len(row):
            raise InputError(
                path,
                f"trial id {ids[i]}: active_target={active} but target_pos has {len(row)} target(s)",
            )
        target[i] = row[active]
    out["target_pos"] = target
    return out


def _find_behaviour(fh, name: str, path: Path):
    """The TimeSeries ``name`` in a processing module or in acquisition (where nlb_tools finds it)."""
    candidates = []
    if "processing" in fh:
        for module in fh["processing"].values():
            if name in module and "data" in module[name]:
                candidates.append(module[name])
    if "acquisition" in fh and name in fh["acquisition"] and "data" in fh["acquisition"][name]:
        candidates.append(fh["acquisition"][name])
    if not candidates:
        raise InputError(
            path,
            f"behaviour time series '{name}' not found (looked in /processing/*/ and /acquisition/)",
        )
    if len(candidates) > 1:
        where = ", ".join(c.name for c in candidates)
        raise InputError(path, f"behaviour time series '{name}' is ambiguous: {where}")
    return candidates[0]


def _read_behaviour(ts, path: Path, n_ms: int) -> np.ndarray:
    """One behaviour TimeSeries on the 1-ms grid ``[0, n_ms)`` (NaN where no sample), as stored dtype.

    Like ``NWBDataset.load``: the stored ``data`` as is (``conversion`` is not applied), sample times
    from ``timestamps`` or ``starting_time + i / rate``; nlb_tools keeps a series only if every
    ``round(t, 6)`` lies on its 1-ms grid (otherwise it drops the series with a warning and the
    authors' notebook would fail), so anything else is an error here.
    """
    data = ts["data"][()]
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or data.shape[1] < 2:
        raise InputError(
            path, f"{ts.name}/data has shape {data.shape}, expected (time, >=2) for x, y"
        )
    data = data[:, :2]
    if not np.issubdtype(data.dtype, np.floating):
        data = data.astype(np.float64)
    n = data.shape[0]
    idx: np.ndarray | None = None
    if "timestamps" in ts:
        stamps = ts["timestamps"][()].astype(np.float64)
        if stamps.shape != (n,):
            raise InputError(path, f"{ts.name}: {len(stamps)} timestamps for {n} samples")
    elif "starting_time" in ts:
        rate = ts["starting_time"].attrs.get("rate")
        if rate is None or not float(rate) > 0:
            raise InputError(path, f"{ts.name}/starting_time has no valid 'rate' attribute")
        start_ms = float(ts["starting_time"][()]) * 1000.0
        if float(rate) == 1000.0 and abs(start_ms - round(start_ms)) < 5e-4:
            idx = np.arange(n) + round(
                start_ms
            )  # 1 kHz from a whole ms: on the grid by construction
            stamps = idx / 1000.0
        else:
            stamps = np.arange(n) / float(rate) + start_ms / 1000.0
    else:
        raise InputError(path, f"{ts.name} has neither timestamps nor starting_time")
    if idx is not None and idx[0] == 0 and n == n_ms:
        return data  # the whole grid, nothing to place
    if idx is None:
        ms = stamps * 1000.0
        idx = np.rint(ms).astype(np.int64)
        off_grid = np.abs(ms - idx) > 5e-4
    else:
        off_grid = np.zeros(n, bool)
    bad = off_grid | (idx < 0) | (idx >= n_ms)
    if bad.any():
        first = float(stamps[np.argmax(bad)])
        raise InputError(
            path,
            f"{ts.name}: {int(bad.sum())} sample(s) are not on the 1 ms grid of the recording "
            f"[0, {n_ms / 1000:.3f}) s (first at t={first:.6f} s); bin_ms resampling needs 1 kHz data",
        )
    grid = np.full((n_ms, 2), np.nan, dtype=data.dtype)
    grid[idx] = data
    return grid


def _interpolate_nan(grid: np.ndarray) -> np.ndarray | None:
    """pandas ``interpolate(limit_direction='both')`` per column (linear inside, edge values
    outside), as float64; ``None`` when a column has no finite value at all."""
    filled = np.asarray(grid, dtype=np.float64)
    bad = np.isnan(filled)
    if not bad.any():
        return filled
    filled = filled.copy()
    positions = np.arange(len(filled))
    for col in range(filled.shape[1]):
        ok = ~bad[:, col]
        if not ok.any():
            return None
        if not ok.all():
            filled[~ok, col] = np.interp(positions[~ok], positions[ok], filled[ok, col])
    return filled


def _decimate_at(grid: np.ndarray, factor: int, bins: np.ndarray) -> np.ndarray:
    """``NWBDataset.resample`` of a continuous signal, evaluated at the output ``bins`` only.

    nlb_tools interpolates NaN, runs ``scipy.signal.decimate(x, factor, n=500, ftype='fir')`` over
    the whole recording, casts back to the stored dtype and puts NaN where the sample at
    ``factor * k`` was NaN. ``decimate`` (zero phase) is ``resample_poly(x, 1, factor,
    window=firwin(501, 1/factor, window='hamming'))``, whose output ``k`` is
    ``sum_m h[m] x[factor*k - 250 + m]`` with zeros beyond the recording; that sum is computed here
    for the requested bins (the tests compare it with ``decimate`` on the whole series).
    ``bins`` has any shape; the result has shape ``bins.shape + (2,)``.
    """
    dtype = grid.dtype
    flat = np.asarray(bins, dtype=np.int64).ravel()
    nan_mask = np.isnan(grid[flat * factor])
    filled = _interpolate_nan(grid)
    if filled is None:
        return np.full((*np.shape(bins), grid.shape[1]), np.nan)
    if factor == 1:  # nlb_tools skips resampling at the native bin width
        out = filled[flat]
    else:
        # Windows of consecutive bins (the last axis of ``bins``) share one banded matrix:
        # y[k] = sum_t band[k, t] * x[factor * k0 - half + t].
        h = scipy.signal.firwin(_DECIMATE_ORDER + 1, 1.0 / factor, window="hamming")
        half = _DECIMATE_ORDER // 2
        rows = np.asarray(bins, dtype=np.int64).reshape(-1, np.shape(bins)[-1])
        if rows.shape[1] > 1 and not np.all(np.diff(rows, axis=1) == 1):
            raise ValueError("bins must hold runs of consecutive bins along the last axis")
        n_out = rows.shape[1]
        n_ctx = factor * (n_out - 1) + 2 * half + 1
        band = np.zeros((n_out, n_ctx))
        k = np.arange(n_out)[:, None]
        band[k, factor * k + np.arange(len(h))[None, :]] = h[::-1][None, :]
        idx = factor * rows[:, :1] - half + np.arange(n_ctx)[None, :]  # (n_windows, n_ctx)
        inside = (idx >= 0) & (idx < len(filled))
        seg = np.where(inside[..., None], filled[np.clip(idx, 0, len(filled) - 1)], 0.0)
        flat_seg = np.ascontiguousarray(seg.transpose(1, 0, 2)).reshape(n_ctx, -1)
        out = (band @ flat_seg).reshape(n_out, len(rows), 2).transpose(1, 0, 2).reshape(-1, 2)
    out = out.astype(dtype).astype(np.float64)
    out[nan_mask] = np.nan
    return out.reshape(*np.shape(bins), 2)


def _observed_bins(obs: list[np.ndarray] | None, n_ms: int, factor: int) -> np.ndarray | None:
    """Per output bin, whether its first 1-ms bin lies in the first unit's obs_intervals."""
    if obs is None:
        return None
    intervals = np.asarray(obs[0], dtype=np.float64).reshape(-1, 2)
    diff = np.zeros(n_ms + 1, np.int64)
    if len(intervals):
        starts = np.ceil(np.round(intervals[:, 0] * 1000.0, 6)).astype(np.int64)
        ends = np.floor(np.round(intervals[:, 1] * 1000.0, 6)).astype(np.int64)
        starts = np.clip(starts, 0, n_ms)
        ends = np.clip(ends, 0, n_ms)
        keep = ends > starts
        np.add.at(diff, starts[keep], 1)
        np.add.at(diff, ends[keep], -1)
    observed = np.cumsum(diff[:-1]) > 0
    return observed[::factor]


def _recording_end_ms(units: dict[str, Any], trials: dict[str, np.ndarray]) -> int:
    """Length of nlb_tools' 1-ms grid: the last obs_intervals end (fallback: last trial/spike)."""
    if units["obs"] is not None:
        ends = [float(np.asarray(o).reshape(-1, 2)[-1, 1]) for o in units["obs"] if np.size(o)]
        if ends:
            return round(max(ends) * 1000.0)
    last = float(np.nanmax(trials["stop_time"]))
    if units["times"].size:
        last = max(last, float(units["times"].max()))
    return math.floor(last * 1000.0) + 1


def load_mcmaze(
    nwb_path: str | os.PathLike[str],
    bin_ms: int = MCMAZE_BIN_MS,
    smooth_ms: float = SMOOTH_MS,
    window: tuple[int, int] | Sequence[int] = WINDOW_MS,
    on_bad_trial: str = "drop",
    checksum: bool = True,
) -> MazeRecording:
    """Read an MC_Maze NWB file into per-trial windows, as the authors' nlb_tools pipeline did.

    ``bin_ms`` must be a whole number of ms; ``smooth_ms=0`` skips smoothing (raw counts per bin);
    ``window`` is (start, end) in ms around movement onset, ``(end - start) / bin_ms`` bins.
    ``on_bad_trial``: ``"drop"`` (default; logged, listed in ``dropped``) or ``"error"``.
    """
    path = Path(nwb_path)
    if int(bin_ms) != bin_ms or bin_ms < 1:
        raise ValueError(f"bin_ms must be a positive whole number of ms, got {bin_ms}")
    bin_ms = int(bin_ms)
    w0, w1 = (int(v) for v in window)
    if w1 <= w0 or (w1 - w0) % bin_ms:
        raise ValueError(f"window {window} must be increasing and span a multiple of {bin_ms} ms")
    if on_bad_trial not in ("drop", "error"):
        raise ValueError(f"on_bad_trial must be 'drop' or 'error', got {on_bad_trial!r}")
    n_bins = (w1 - w0) // bin_ms
    kernel = gaussian_kernel(smooth_ms, bin_ms) if smooth_ms else np.ones(1)
    taps = len(kernel)
    left = taps - 1 - (taps - 1) // 2  # input bins before the output bin ('same' centring)

    fh = _open_nwb(path)
    try:
        units = _read_units(fh, path)
        trials = _read_trials(fh, path)
        n_ms = _recording_end_ms(units, trials)
        if n_ms <= 0:
            raise InputError(
                path, "the recording has zero length (obs_intervals / trials end at t <= 0)"
            )
        behaviour = {
            name: _read_behaviour(_find_behaviour(fh, name, path), path, n_ms)
            for name in _BEHAVIOUR
        }
        session_start = _decode(fh["session_start_time"]) if "session_start_time" in fh else ""
        subject = MONKEY
        if "general/subject/subject_id" in fh:
            subject = _decode(fh["general/subject/subject_id"]) or MONKEY
    except (OSError, KeyError, RuntimeError) as exc:
        raise InputError(
            path, f"cannot read the NWB file, it may be truncated or corrupt ({exc})"
        ) from exc
    finally:
        fh.close()

    factor = bin_ms // _RAW_BIN_MS
    n_total = -(-n_ms // factor)  # bins of the resampled recording (last one partial)
    observed = _observed_bins(units["obs"], n_ms, factor)

    # -- trial windows: first bin k0 = ceil((onset + w0) / bin), compared in integer ns as pandas --
    onset = trials["move_onset_time"]
    n_all = len(onset)
    finite = np.isfinite(onset)
    onset_ns = np.where(finite, np.round(np.where(finite, onset, 0.0) * 1e9), 0).astype(np.int64)
    bin_ns = bin_ms * _NS_PER_MS
    k0 = -((-(onset_ns + w0 * _NS_PER_MS)) // bin_ns)
    reasons: dict[int, str] = {}
    for i in np.flatnonzero(~finite):
        reasons[i] = "no movement onset (move_onset_time is NaN)"
    for i in np.flatnonzero(finite & ((k0 < 0) | (k0 + n_bins > n_total))):
        reasons[i] = (
            f"window {w0}..{w1} ms around onset {onset[i]:.3f} s runs outside the recording "
            f"[0, {n_ms / 1000:.3f}) s"
        )
    ctx_offsets = np.arange(-left, n_bins + taps - 1 - left)
    win_offsets = np.arange(n_bins)
    if observed is not None:
        for i in range(n_all):
            if i in reasons:
                continue
            ctx = k0[i] + ctx_offsets
            ctx = ctx[(ctx >= 0) & (ctx < n_total)]
            if not observed[ctx].all():
                reasons[i] = (
                    "smoothed spikes are NaN: bins outside the units' obs_intervals within reach"
                )
    candidates = np.array([i for i in range(n_all) if i not in reasons], dtype=np.int64)
    beh_win = {name: np.empty((0, n_bins, 2)) for name in _BEHAVIOUR}
    for name in _BEHAVIOUR if candidates.size else ():
        beh_win[name] = _decimate_at(
            behaviour[name], factor, k0[candidates][:, None] + win_offsets[None, :]
        )
        for j in np.flatnonzero(np.isnan(beh_win[name]).any(axis=(1, 2))):
            reasons.setdefault(int(candidates[j]), f"{name} is NaN in the window")
    del behaviour
    if reasons and on_bad_trial == "error":
        i = min(reasons)
        raise InputError(
            path, f"{len(reasons)} bad trial(s), first trial id {trials['id'][i]}: {reasons[i]}"
        )
    keep = np.array([i for i in range(n_all) if i not in reasons], dtype=np.int64)
    dropped = {int(trials["id"][i]): reason for i, reason in sorted(reasons.items())}
    if dropped:
        logger.warning(
            "%s: dropped %d of %d trials: %s", path, len(dropped), n_all, _summarise(dropped)
        )
    if keep.size == 0:
        raise InputError(
            path, f"no usable trial: all {n_all} trials were dropped ({_summarise(dropped)})"
        )

    # -- neural: spike counts in each kept window's context, then the 'same' convolution --------
    order = np.argsort(units["id"], kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    ms_idx = np.round(units["times"] * 1000.0, 6).astype(np.int64)  # truncation, as nlb_tools
    in_rec = (ms_idx >= 0) & (ms_idx < n_ms)
    spike_bin = ms_idx[in_rec] // factor
    spike_unit = rank[units["unit"][in_rec]]
    by_bin = np.argsort(spike_bin, kind="stable")
    spike_bin = spike_bin[by_bin]
    spike_unit = spike_unit[by_bin]
    n_units = len(order)
    neural = np.empty((keep.size, n_bins, n_units))
    chunk = max(1, int(4e6 // ((n_bins + taps) * n_units)))
    kept_k0 = k0[keep]
    by_start = np.argsort(kept_k0, kind="stable")
    for c0 in range(0, keep.size, chunk):
        rows = by_start[c0 : c0 + chunk]
        ctx = kept_k0[rows][:, None] + ctx_offsets[None, :]
        needed = np.unique(ctx)
        lo, hi = np.searchsorted(spike_bin, [needed[0], needed[-1] + 1])
        bins_c, units_c = spike_bin[lo:hi], spike_unit[lo:hi]
        pos = np.searchsorted(needed, bins_c)
        hit = needed[pos] == bins_c
        dense = np.bincount(
            pos[hit] * n_units + units_c[hit], minlength=needed.size * n_units
        ).reshape(needed.size, n_units)
        counts = dense[np.searchsorted(needed, ctx)].astype(np.float64)
        neural[rows] = smooth_windows(counts, kernel, n_bins) if smooth_ms else counts

    rows_kept = np.searchsorted(candidates, keep)
    pos_win = beh_win["hand_pos"][rows_kept]
    target = trials["target_pos"][keep]
    angle = np.degrees(np.arctan2(target[:, 1], target[:, 0]))
    angle = np.where(angle < 0, angle + 360.0, angle)
    angle = np.where(angle >= 360.0, angle - 360.0, angle)
    sha = provenance.sha256sum(path) if checksum else ""
    return MazeRecording(
        source=str(path),
        neural=neural,
        hand_vel=beh_win["hand_vel"][rows_kept],
        hand_pos=pos_win - pos_win[:, :1, :],
        trial_id=trials["id"][keep],
        trial_type=trials["trial_type"][keep],
        trial_version=trials["trial_version"][keep],
        target_pos=target,
        target_angle=angle,
        move_onset=onset[keep],
        first_bin=kept_k0,
        unit_id=units["id"][order],
        heldout=units["heldout"][order],
        session_start=session_start,
        subject=subject,
        bin_ms=bin_ms,
        smooth_ms=smooth_ms,
        window_ms=(w0, w1),
        n_bins_recording=int(n_total),
        source_sha256=sha,
        dropped=dropped,
        meta={
            "n_trials_in_file": int(n_all),
            "n_trials_dropped": len(dropped),
            "recording_ms": int(n_ms),
            "spikes_outside_recording": int((~in_rec).sum()),
            "kernel_taps": int(taps) if smooth_ms else 0,
            "obs_intervals": units["obs"] is not None,
        },
    )


def _summarise(dropped: Mapping[int, str]) -> str:
    by_reason: dict[str, list[int]] = {}
    for tid, reason in dropped.items():
        by_reason.setdefault(reason.split(":")[0].split(" around ")[0], []).append(tid)
    return "; ".join(
        f"{reason} (trial ids {', '.join(map(str, ids[:5]))}{', ...' if len(ids) > 5 else ''})"
        for reason, ids in by_reason.items()
    )
