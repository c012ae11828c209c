"""Seeded simulator of centre-out reaching sessions (the offline demo's data).

Each simulated session writes a raw TrialData ``.mat`` file, exactly the layout
:func:`ner_repro.data.ingest.read_session` reads for real recordings, so the demo
exercises the whole chain: ingestion, smoothing, training, decoding and figures.

The model, per trial:

* a target in one of 8 directions (0, 45, ..., 315 degrees); a go cue after a random
  delay; a reaction time; then a reach with a bell-shaped (minimum-jerk) speed
  profile, slightly curved and noisy;
* a 5-dimensional latent ``z(t) = [vx, vy, speed, prep_x, prep_y]``, where ``prep`` is
  a preparatory signal pointing at the target that rises after target onset and
  decays once the hand moves;
* Poisson neurons with log-linear tuning to the latent:
  ``rate = exp(b + W z)``. Areas differ in what they weight: motor cortex (M1) mostly
  velocity, premotor (PMd) mostly preparation, somatosensory (S1) velocity with a lag.
  Every session draws its own neurons (``W``, ``b``), as different recording days do.

A few trials are made unusable on purpose (a failed trial, one too short for the
analysis window, one with missing velocity) so that the demo also exercises the
dropping rules of the ingestion.

:func:`simulate_session` gives one area of a simulated session in memory, as ingestion
would read it, together with the latent of each of its bins: the sessions with a known
latent on which the tests check the baselines.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ner_repro.core.session import BIN_S, N_DIRECTIONS, SessionData

#: The latent of every simulated neuron (velocity and speed in units of ``peak_speed``).
LATENT = ("vx", "vy", "speed", "prep_x", "prep_y")

#: An area's weights of [velocity, speed, preparation], and the lag (bins) of its velocity.
Tuning = tuple[float, float, float, int]

#: How strongly each area's neurons weight [velocity, speed, preparation], and the
#: lag (bins) of its velocity tuning.
AREA_TUNING: Mapping[str, Tuning] = {
    "M1": (1.0, 0.5, 0.3, 0),
    "PMd": (0.45, 0.3, 1.0, 0),
    "S1": (1.0, 0.4, 0.05, 2),
}
SPIKE_FIELD = {"M1": "M1_spikes", "PMd": "PMd_spikes", "S1": "S1_spikes"}


@dataclass(frozen=True)
class SimulatedSession:
    """What to simulate for one session."""

    monkey: str
    date: str
    areas: Mapping[str, int] = field(default_factory=lambda: {"M1": 50, "PMd": 70})
    n_trials: int = 120
    seed: int = 0
    direction_coding: str = "radians"  # how tgtDir is stored: "radians" or "degrees"
    container: str = "v5"  # "v5" or "v7.3"
    bin_size_s: float = BIN_S
    peak_speed: float = 30.0  # cm/s, comparable to the real recordings
    baseline_rate_hz: float = 8.0

    @property
    def filename(self) -> str:
        return f"{self.monkey}_CO_{self.date}_sim.mat"


def _min_jerk(n: int) -> np.ndarray:
    """Speed profile of a minimum-jerk reach over ``n`` bins, peak 1."""
    tau = (np.arange(n) + 0.5) / n
    speed = 30 * tau**2 * (1 - tau) ** 2
    return speed / speed.max()


def simulate_trials(spec: SimulatedSession) -> list[dict[str, Any]]:
    """The ``trial_data`` struct array (as a list of dicts) of one simulated session."""
    return _simulate(spec)[0]


def _simulate(
    spec: SimulatedSession, tuning: Mapping[str, Tuning] | None = None
) -> tuple[list[dict[str, Any]], dict[str, list[np.ndarray]]]:
    """The trials, and per area and trial the latent ``(T_i, 5)`` its neurons are driven by."""
    tuning = {**AREA_TUNING, **(tuning or {})}
    rng = np.random.default_rng(spec.seed)
    dt = spec.bin_size_s
    # Neurons of this session: tuning weights per area.
    neurons = {}
    for area, n in spec.areas.items():
        w_vel, w_speed, w_prep, lag = tuning[area]
        pref = rng.uniform(0, 2 * np.pi, n)
        gain = rng.lognormal(0.0, 0.3, n)
        weights = np.column_stack(
            [
                w_vel * gain * np.cos(pref),
                w_vel * gain * np.sin(pref),
                w_speed * rng.normal(0.0, 1.0, n),
                w_prep * gain * np.cos(pref + rng.normal(0, 0.5, n)),
                w_prep * gain * np.sin(pref + rng.normal(0, 0.5, n)),
            ]
        )
        base = np.log(spec.baseline_rate_hz * dt) + rng.normal(0.0, 0.4, n)
        neurons[area] = (weights, base, lag)

    directions = rng.permutation(np.resize(np.arange(N_DIRECTIONS), spec.n_trials))
    bad = {
        spec.n_trials // 3: "failed",
        spec.n_trials // 2: "short",
        (2 * spec.n_trials) // 3: "nan_velocity",
    }
    trials = []
    latents: dict[str, list[np.ndarray]] = {area: [] for area in neurons}
    for number in range(spec.n_trials):
        direction = int(directions[number])
        theta = direction * np.pi / 4
        target_on = int(rng.integers(3, 8))
        go = target_on + int(rng.integers(8, 15))
        reaction = int(rng.integers(6, 10))
        reach = int(rng.integers(14, 19))
        tail = int(rng.integers(20, 30))
        length = go + reaction + reach + tail
        if bad.get(number) == "short":
            length = go + 20
        t = np.arange(length)
        speed = np.zeros(length)
        onset = go + reaction
        end = min(onset + reach, length)
        peak = spec.peak_speed * rng.uniform(0.85, 1.15)
        speed[onset:end] = peak * _min_jerk(reach)[: end - onset]
        curve = rng.normal(0.0, 0.15) * np.sin(np.pi * np.clip((t - onset) / reach, 0, 1))
        heading = theta + curve
        vel = np.column_stack([speed * np.cos(heading), speed * np.sin(heading)])
        vel += rng.normal(0.0, 0.6, vel.shape)
        prep = np.clip((t - target_on) / 6.0, 0, 1) * np.exp(-np.clip(t - onset, 0, None) / 6.0)
        latent_base = np.column_stack([vel / spec.peak_speed, speed / spec.peak_speed])
        prep_xy = np.column_stack([prep * np.cos(theta), prep * np.sin(theta)])
        trial: dict[str, Any] = {
            "monkey": spec.monkey,
            "date": spec.date,
            "task": "CO",
            "trial_id": np.array([[number + 1]], dtype=np.float64),
            "result": "F" if bad.get(number) == "failed" else "R",
            "bin_size": np.array([[dt]]),
            "idx_target_on": np.array([[target_on + 1]], dtype=np.float64),
            "idx_goCueTime": np.array([[go + 1]], dtype=np.float64),  # MATLAB, 1-based
            "idx_movement_on": np.array([[onset + 1]], dtype=np.float64),
            "tgtDir": np.array(
                [[theta if spec.direction_coding == "radians" else np.degrees(theta)]]
            ),
        }
        for area, (weights, base, lag) in neurons.items():
            lagged = np.roll(latent_base, lag, axis=0)
            lagged[:lag] = 0.0
            z = np.column_stack([lagged, prep_xy])
            rate = np.exp(base + z @ weights.T)
            trial[SPIKE_FIELD[area]] = rng.poisson(rate).astype(np.float64)
            latents[area].append(z)
        if bad.get(number) == "nan_velocity":
            vel[onset + 2, :] = np.nan
        trial["vel"] = vel
        trials.append(trial)
    return trials, latents


def simulate_session(
    spec: SimulatedSession,
    area: str = "M1",
    *,
    t_dur: int = 40,
    train_fraction: float = 0.8,
    tuning: Tuning | None = None,
) -> tuple[SessionData, np.ndarray]:
    """One area of ``spec`` as a session, without writing a file, and its known latent.

    The session is what :func:`ner_repro.data.ingest.read_session` makes of the file
    :func:`write_session` writes (same trials dropped, same smoothing and go-cue window,
    :func:`ner_repro.data.ingest.trial_windows`). The latent ``(T, 5)`` is, per bin of the session,
    :data:`LATENT` as the area's neurons see it (lagged for S1). ``tuning`` replaces the area's
    :data:`AREA_TUNING` (same random draws: only the neurons' weights change).
    """
    from ner_repro.data.ingest import trial_windows

    trials, latents = _simulate(spec, None if tuning is None else {area: tuning})
    windows = trial_windows(trials, area, t_dur, bin_size_s=spec.bin_size_s)
    windowed = zip(windows.kept, windows.starts, strict=True)
    latent = np.concatenate([latents[area][k][start : start + t_dur] for k, start in windowed])
    session = SessionData(
        monkey=spec.monkey,
        date=spec.date,
        area=area,
        neural=windows.neural,
        labels=windows.labels,
        t_dur=t_dur,
        train_fraction=train_fraction,
        source="simulated",
        source_format="trialdata",
        meta={"simulated": asdict(spec), **windows.details},
    )
    return session, latent


def write_session(spec: SimulatedSession, out_dir: str | os.PathLike[str]) -> Path:
    """Simulate ``spec`` and write its TrialData file into ``out_dir``; returns the path."""
    from ner_repro.data import matfile

    path = Path(out_dir) / spec.filename
    writer = matfile.save_mat73 if spec.container == "v7.3" else matfile.save_mat5
    return writer(path, {"trial_data": simulate_trials(spec)})


def sessions_from_config(
    entries: Sequence[Mapping[str, Any]], seed: int = 0
) -> list[SimulatedSession]:
    """:class:`SimulatedSession` objects from the ``simulate.sessions`` list of a config.

    Each session gets its own seed derived from ``seed`` and its position, so adding a
    session does not change the others.
    """
    out = []
    for i, entry in enumerate(entries):
        params = dict(entry)
        params["date"] = str(params["date"])
        params.setdefault("seed", int(np.random.SeedSequence([seed, i]).generate_state(1)[0]))
        out.append(SimulatedSession(**params))
    return out
