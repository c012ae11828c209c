"""A small synthetic MC_Maze-like NWB file (the structure of DANDI 000128's training file).

Written with pynwb for the tests and the offline demo, and read back by
:func:`ner_repro.data.mcmaze.load_mcmaze` exactly as the real file is.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ner_repro.data.mcmaze import MONKEY

# ---------------------------------------------------------------------------------------------
#: Active-target positions (mm) per maze type. 18 and 34 are the real ones (fig8-baselines.md
#: §1.4, summarised in docs/sources.md); the others are integer points at the published target
#: angles (22.989, 168.511, 34.958, ... degrees).
SYNTHETIC_TARGETS: dict[int, tuple[int, int]] = {
    1: (111, 85),
    6: (-97, -63),
    13: (99, 42),
    17: (-83, 89),
    18: (123, -81),
    29: (5, 143),
    31: (-108, 65),
    34: (116, -77),
    37: (113, 79),
    38: (-123, 25),
    2: (-40, -128),
    20: (135, 0),
}
#: Side to which the barrier bends a curved reach (+1 left of the straight path, -1 right); the
#: curve-up-down pairs (37/1, 31/38, 34/18) bend in opposite directions.
SYNTHETIC_BEND: dict[int, int] = {
    1: -1,
    6: 1,
    13: 1,
    17: -1,
    18: -1,
    29: 1,
    31: 1,
    34: 1,
    37: 1,
    38: -1,
    2: 1,
    20: -1,
}


def _min_jerk(s: np.ndarray) -> np.ndarray:
    s = np.clip(s, 0.0, 1.0)
    return s**3 * (10 - 15 * s + 6 * s**2)


def write_synthetic_nwb(
    path: str | os.PathLike[str],
    seed: int = 0,
    n_trials: int = 240,
    n_units: int = 48,
    n_heldout: int | None = None,
    types: Sequence[int] | None = None,
    behaviour_timestamps: bool = False,
    include_hand_vel: bool = True,
    obs_gap_trials: Sequence[int] = (),
    nan_behaviour_trials: Sequence[int] = (),
) -> Path:
    """Write a small MC_Maze-like NWB file (structure of DANDI 000128's training file) with pynwb.

    * trials table with the real columns (start/stop_time, target_on_time, go_cue_time,
      move_onset_time, delay, rt, trial_type, trial_version, maze_id, num_targets, target_pos
      (ragged, int16), num_barriers, barrier_pos (ragged), active_target, success, split);
      versions 0 (1 target, no barrier), 1 (1 target, barriers), 2 (3 targets, barriers), types drawn
      at random (interleaved) from ``types`` (default: all of :data:`SYNTHETIC_TARGETS`);
    * hand position (mm, 1 kHz): minimum-jerk reach from the centre to the active target starting at
      movement onset, straight for version 0 and bent sideways (by :data:`SYNTHETIC_BEND`) for 1 and
      2; ``hand_vel`` = its gradient in mm/s (stored, as in the real file); cursor and eye position;
    * units (``n_heldout`` flagged ``heldout``), one electrode each on an M1 or PMd group, Poisson
      spikes (1-ms Bernoulli, jittered within the ms) from cosine tuning to upcoming velocity,
      speed, position, and target-tuned preparatory activity; ``obs_intervals`` = one interval per
      trial, as in the real file (417690 = 182 x 2295);
    * session start 2009-09-25 (-07:00), subject Jenkins.

    ``obs_gap_trials`` end those trials' obs interval 0.3 s after movement onset (their smoothed
    windows become NaN under nlb_tools' rules); ``nan_behaviour_trials`` blank the hand data around
    their movement onset. Both exist to test the bad-trial policy. Written atomically.
    """
    from hdmf.backends.hdf5 import H5DataIO
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.behavior import SpatialSeries
    from pynwb.file import Subject

    rng = np.random.default_rng(seed)
    types = sorted(SYNTHETIC_TARGETS) if types is None else [int(t) for t in types]
    unknown = [t for t in types if t not in SYNTHETIC_TARGETS]
    if unknown:
        raise ValueError(f"no synthetic target for trial type(s) {unknown}")
    if n_trials < 1 or n_units < 1:
        raise ValueError("n_trials and n_units must be positive")
    n_heldout = n_units // 4 if n_heldout is None else int(n_heldout)

    # -- trial timing (ms, integers) ---------------------------------------------------------
    trial_type = rng.choice(types, size=n_trials)
    version = rng.integers(0, 3, size=n_trials)
    if (
        version == 0
    ).all():  # hdmf cannot write a ragged column whose rows are all empty (barriers)
        version[-1] = 1
    delay = rng.integers(250, 750, size=n_trials)
    rt = rng.integers(250, 400, size=n_trials)
    reach = np.where(version == 0, 330, 430) + rng.integers(-30, 30, size=n_trials)
    start = np.empty(n_trials, np.int64)
    t = 500
    for i in range(n_trials):
        start[i] = t
        t += 300 + delay[i] + rt[i] + 1100 + rng.integers(0, 60)
    target_on = start + 300
    go_cue = target_on + delay
    onset = go_cue + rt
    stop = onset + 1100
    n_ms = int(stop[-1])  # behaviour on nlb_tools' grid [0, last obs_intervals end)

    # -- hand trajectory on the 1-ms grid -----------------------------------------------------
    pos = np.zeros((n_ms, 2))
    tgt = np.array([SYNTHETIC_TARGETS[int(k)] for k in trial_type], dtype=np.float64)
    bend = np.array([SYNTHETIC_BEND[int(k)] for k in trial_type], dtype=np.float64)
    amp = np.select([version == 1, version == 2], [0.35, 0.45], 0.0) * bend
    for i in range(n_trials):
        t_out = np.arange(onset[i], onset[i] + reach[i] + 1)
        s_lin = (t_out - onset[i]) / reach[i]
        s = _min_jerk(s_lin)
        normal = np.array([-tgt[i, 1], tgt[i, 0]])  # left of the straight path, |normal| = |target|
        path_i = s[:, None] * tgt[i] + (amp[i] * np.sin(np.pi * s))[:, None] * normal
        pos[t_out] = path_i
        hold_end = onset[i] + 750
        pos[t_out[-1] + 1 : hold_end] = tgt[i]
        t_back = np.arange(hold_end, hold_end + 300)
        pos[t_back] = (1 - _min_jerk((t_back - hold_end) / 300))[:, None] * tgt[i]
    pos += (
        0.3
        * np.cumsum(rng.normal(size=(n_ms, 2)), axis=0)
        / np.sqrt(np.arange(1, n_ms + 1))[:, None]
    )
    vel = np.gradient(pos, axis=0) * 1000.0  # mm/s
    hand_pos, hand_vel = pos.copy(), vel.copy()
    for i in nan_behaviour_trials:
        hand_pos[onset[i] - 20 : onset[i] + 100] = np.nan
        hand_vel[onset[i] - 20 : onset[i] + 100] = np.nan

    # -- spikes -------------------------------------------------------------------------------
    lag = 50  # ms by which the neural activity leads the hand
    vel_lead = np.vstack([vel[lag:], np.repeat(vel[-1:], lag, axis=0)])
    speed = np.hypot(vel_lead[:, 0], vel_lead[:, 1])
    pref = rng.uniform(0, 2 * np.pi, n_units)
    d = np.stack([np.cos(pref), np.sin(pref)], axis=1)
    base = rng.uniform(15.0, 35.0, n_units)
    gain_v = rng.uniform(30.0, 70.0, n_units)  # Hz per (600 mm/s)
    gain_s = rng.uniform(-5.0, 10.0, n_units)
    gain_p = rng.uniform(0.0, 10.0, n_units)
    prep_gain = np.where(rng.random(n_units) < 0.5, rng.uniform(5.0, 25.0, n_units), 0.0)
    prep = np.zeros((n_ms, 2))
    for i in range(n_trials):
        unit_dir = tgt[i] / np.hypot(*tgt[i])
        prep[target_on[i] + 100 : onset[i] + 150] = unit_dir
    observed = np.zeros(n_ms, bool)
    obs_end = stop.copy()
    for i in obs_gap_trials:
        obs_end[i] = onset[i] + 300
    for s0, s1 in zip(start, obs_end, strict=True):
        observed[s0:s1] = True
    spikes_ms, spikes_unit = [], []
    for c0 in range(0, n_ms, 100_000):  # 1-ms Bernoulli draws, 100 s at a time
        c = slice(c0, min(c0 + 100_000, n_ms))
        rate = (
            base
            + gain_v * (vel_lead[c] @ d.T) / 600.0
            + gain_s[None, :] * speed[c, None] / 600.0
            + gain_p * (pos[c] @ d.T) / 130.0
            + prep_gain * (prep[c] @ d.T)
        )
        rate = np.clip(rate, 0.5, 200.0)
        fire = (rng.random(rate.shape) < rate / 1000.0) & observed[c, None]
        ms_c, unit_c = np.nonzero(fire)
        spikes_ms.append(ms_c + c0)
        spikes_unit.append(unit_c)
    ms_i, unit_i = np.concatenate(spikes_ms), np.concatenate(spikes_unit)
    spike_t = (ms_i + rng.uniform(0.02, 0.98, size=ms_i.size)) / 1000.0

    # -- the NWB file -------------------------------------------------------------------------
    tz = _dt.timezone(_dt.timedelta(hours=-7))
    nwb = NWBFile(
        session_description=(
            "Synthetic MC_Maze-like data (monkey Jenkins, center-out delayed reaching with maze "
            "barriers), written by ner_repro.data.mcmaze.write_synthetic_nwb for tests and the offline demo."
        ),
        identifier=f"ner-repro-synthetic-mcmaze-seed{seed}",
        session_start_time=_dt.datetime(2009, 9, 25, tzinfo=tz),
        timestamps_reference_time=_dt.datetime(2009, 9, 25, tzinfo=tz),
        experimenter=["Synthetic"],
        experiment_description="Center-out delayed reaching task with maze barriers (synthetic)",
        institution="ner_repro",
        lab="synthetic",
        session_id="full",
        keywords=["motor cortex", "premotor cortex", "reaching", "synthetic"],
    )
    nwb.subject = Subject(
        subject_id=MONKEY, species="Macaca mulatta", sex="M", description="synthetic"
    )
    groups = {}
    for area in ("M1", "PMd"):
        device = nwb.create_device(
            name=f"electrode_array_{area}", description=f"96-electrode Utah array in {area}"
        )
        groups[area] = nwb.create_electrode_group(
            name=f"electrode_group_{area}",
            description=f"Electrodes in a Utah array in {area}",
            location=area,
            device=device,
        )
    for u in range(n_units):
        area = "M1" if u < n_units // 2 else "PMd"
        nwb.add_electrode(group=groups[area], location=area)

    cols = {
        "target_on_time": "Time of target presentation",
        "go_cue_time": "Time of go cue delivery",
        "move_onset_time": "Time of movement onset",
        "delay": "Delay between target presentation and go cue, in ms",
        "rt": "Delay between go cue and movement onset",
        "trial_type": "A number representing the maze that was used for the trial",
        "trial_version": "0 is 1-target no-barrier, 1 is 1-target with barriers, 2 is 3-target with barriers",
        "maze_id": "A unique identifier for each maze, lumping all 3 trial_versions",
        "num_targets": "The number of targets for the trial",
        "num_barriers": "The number of barriers for the trial",
        "active_target": "Which target is reachable and was hit (index into target_pos)",
        "success": "If the monkey was successful on the trial",
        "split": "Trial split for the Neural Latents Benchmark",
    }
    for name, desc in cols.items():
        nwb.add_trial_column(name=name, description=desc)
    others = list(SYNTHETIC_TARGETS)
    target_rows, barrier_rows = [], []
    for i in range(n_trials):
        k = int(trial_type[i])
        if version[i] == 2:
            distractors = rng.choice([o for o in others if o != k], size=2, replace=False)
            targets = [SYNTHETIC_TARGETS[int(o)] for o in distractors]
            active = int(rng.integers(0, 3))
            targets.insert(active, SYNTHETIC_TARGETS[k])
        else:
            targets, active = [SYNTHETIC_TARGETS[k]], 0
        n_bar = 0 if version[i] == 0 else int(rng.integers(1, 6))
        barriers = rng.integers(-100, 100, size=(n_bar, 4))
        barriers[:, 2:] = np.abs(barriers[:, 2:]) // 4 + 2
        target_rows.append(np.asarray(targets, dtype=np.int16))
        barrier_rows.append(barriers.astype(np.int64))
        nwb.add_trial(
            start_time=start[i] / 1000.0,
            stop_time=stop[i] / 1000.0,
            target_on_time=target_on[i] / 1000.0,
            go_cue_time=go_cue[i] / 1000.0,
            move_onset_time=onset[i] / 1000.0,
            delay=int(delay[i]),
            rt=int(rt[i]),
            trial_type=k,
            trial_version=int(version[i]),
            maze_id=1000 + k,
            num_targets=len(targets),
            num_barriers=n_bar,
            active_target=active,
            success=True,
            split="val" if rng.random() < 0.2 else "train",
        )
    # Ragged columns added whole (flat data + end offsets), so that all-empty barrier rows work.
    for name, desc, rows in (
        ("target_pos", "x, y of each target", target_rows),
        ("barrier_pos", "barrier centre x, y, half width, half height", barrier_rows),
    ):
        nwb.add_trial_column(
            name=name,
            description=desc,
            data=np.concatenate(rows, axis=0),
            index=np.cumsum([len(r) for r in rows]).astype(np.int64),
        )

    nwb.add_unit_column(name="heldout", description="Whether the unit is held out in the test data")
    heldout = np.zeros(n_units, bool)
    heldout[rng.choice(n_units, size=min(n_heldout, n_units), replace=False)] = True
    obs_intervals = np.stack([start, obs_end], axis=1) / 1000.0
    for u in range(n_units):
        nwb.add_unit(
            spike_times=np.sort(spike_t[unit_i == u]),
            obs_intervals=obs_intervals,
            electrodes=[u],
            heldout=bool(heldout[u]),
        )

    module = nwb.create_processing_module(name="behavior", description="Processed behavioral data")
    timing: dict[str, Any] = (
        {"timestamps": np.arange(n_ms) / 1000.0}
        if behaviour_timestamps
        else {"rate": 1000.0, "starting_time": 0.0}
    )
    gz = lambda a: H5DataIO(a, compression="gzip", compression_opts=1)  # noqa: E731
    series = [
        SpatialSeries(
            name="cursor_pos",
            data=gz(pos + rng.normal(0, 0.2, pos.shape)),
            reference_frame="screen centre",
            description="Cursor position in mm. First column x, second column y",
            comments="columns=[x,y]",
            **timing,
        ),
        SpatialSeries(
            name="eye_pos",
            data=gz(0.5 * pos + rng.normal(0, 5, pos.shape)),
            reference_frame="screen centre",
            description="Monkey eye position in mm. First column x, second column y",
            comments="columns=[x,y]",
            **timing,
        ),
        SpatialSeries(
            name="hand_pos",
            data=gz(hand_pos),
            reference_frame="screen centre",
            description="Monkey hand position in mm. First column x, second column y",
            comments="columns=[x,y]",
            **timing,
        ),
    ]
    if include_hand_vel:
        series.append(
            TimeSeries(
                name="hand_vel",
                data=gz(hand_vel),
                unit="mm/s",
                comments="columns=[x,y]",
                description="Monkey hand velocity in mm/s, calculated from monkey hand position. "
                "First column x, second column y",
                **timing,
            )
        )
    for ts in series:
        module.add(ts)

    # Atomic write; the temporary name keeps the .nwb suffix that pynwb expects.
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.part.nwb")
    try:
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwb)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
