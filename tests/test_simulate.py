"""The offline demo's simulator: seeded, realistic enough to decode, read like real files."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from ner_repro.data.ingest import read_session
from ner_repro.synthetic.reaching import (
    LATENT,
    SimulatedSession,
    sessions_from_config,
    simulate_session,
    simulate_trials,
    write_session,
)


def test_same_seed_same_session_other_seed_differs():
    spec = SimulatedSession("Simia", "20240101", areas={"M1": 20}, n_trials=24, seed=3)
    a, b = simulate_trials(spec), simulate_trials(spec)
    np.testing.assert_array_equal(a[5]["M1_spikes"], b[5]["M1_spikes"])
    c = simulate_trials(
        SimulatedSession("Simia", "20240101", areas={"M1": 20}, n_trials=24, seed=4)
    )
    assert not np.array_equal(a[5]["M1_spikes"], c[5]["M1_spikes"])


@pytest.mark.parametrize(("coding", "container"), [("radians", "v5"), ("degrees", "v7.3")])
def test_simulated_file_reads_as_a_session(tmp_path, coding, container):
    spec = SimulatedSession(
        "Simia",
        "20240101",
        areas={"M1": 40, "PMd": 50},
        n_trials=96,
        seed=1,
        direction_coding=coding,
        container=container,
    )
    path = write_session(spec, tmp_path)
    assert path.name == "Simia_CO_20240101_sim.mat"
    m1 = read_session(path, "M1", t_dur=40)
    pmd = read_session(path, "PMd", t_dur=40)
    assert m1.container == container and m1.meta["direction_coding"].startswith(coding)
    # The three deliberately bad trials are dropped (failed, too short, NaN velocity).
    assert m1.meta["trials_dropped"] == {
        "result": 1,
        "no_go_cue": 0,
        "too_short": 1,
        "nan_direction": 0,
        "nan_velocity": 1,
    }
    assert m1.n_trials == 93 and pmd.neural.shape == (93 * 40, 50)
    np.testing.assert_array_equal(m1.labels, pmd.labels)
    counts = np.bincount(m1.direction[:: m1.t_dur], minlength=8)
    assert counts.min() >= 10  # all 8 directions, roughly balanced


def test_simulated_neurons_carry_velocity_and_direction(tmp_path):
    """M1 encodes velocity (linear decoding works on held-out trials); PMd encodes the
    target before movement (direction decodable early in the trial)."""
    path = write_session(
        SimulatedSession("Simia", "20240101", areas={"M1": 50, "PMd": 60}, n_trials=160, seed=2),
        tmp_path,
    )
    m1 = read_session(path, "M1", t_dur=40)
    X, y = m1.split("train")
    Xt, yt = m1.split("test")
    r2 = LinearRegression().fit(X, y[:, :2]).score(Xt, yt[:, :2])
    assert r2 > 0.5, r2
    speed = np.hypot(*m1.labels[:, :2].T).reshape(m1.n_trials, 40).mean(0)
    assert speed[:5].max() < 0.3 * speed.max()  # bell-shaped reach after the go cue
    assert 8 <= int(np.argmax(speed)) <= 30
    pmd = read_session(path, "PMd", t_dur=40)
    early = slice(0, 5)
    per_trial = pmd.neural.reshape(pmd.n_trials, 40, -1)[:, early].mean(1)
    classes = pmd.direction[:: pmd.t_dur]
    n_train = pmd.n_train_trials
    clf = LogisticRegression(max_iter=2000).fit(per_trial[:n_train], classes[:n_train])
    assert clf.score(per_trial[n_train:], classes[n_train:]) > 0.5


def test_sessions_from_config_seeds_are_stable():
    entries = [
        {"monkey": "A", "date": 20240101, "areas": {"M1": 5}},
        {"monkey": "A", "date": 20240102, "areas": {"M1": 5}},
    ]
    first = sessions_from_config(entries, seed=7)
    again = sessions_from_config(
        [*entries, {"monkey": "B", "date": 20240103, "areas": {"S1": 5}}], seed=7
    )
    assert [s.seed for s in first] == [s.seed for s in again[:2]]
    assert first[0].seed != first[1].seed and first[0].date == "20240101"


@pytest.mark.parametrize(("area", "t_dur"), [("M1", 20), ("S1", 40)])
def test_session_in_memory_is_the_ingested_file(tmp_path, area, t_dur):
    """simulate_session gives what reading the written file gives, and the latent of its bins."""
    spec = SimulatedSession("Simon", "20240101", areas={"M1": 12, "S1": 9}, n_trials=30, seed=6)
    session, latent = simulate_session(spec, area, t_dur=t_dur)
    read = read_session(write_session(spec, tmp_path), area, t_dur=t_dur)
    np.testing.assert_array_equal(session.neural, read.neural)
    np.testing.assert_array_equal(session.labels, read.labels)
    assert (
        session.name == read.name and session.meta["trials_dropped"] == read.meta["trials_dropped"]
    )
    assert latent.shape == (len(session.labels), len(LATENT))
    # Velocity in units of peak_speed: the labels are 10 x velocity (lagged by 2 bins in S1).
    lag = 2 if area == "S1" else 0
    vel = latent.reshape(session.n_trials, t_dur, -1)[:, lag:, :2]
    labels = session.labels.reshape(session.n_trials, t_dur, -1)[:, : t_dur - lag, :2]
    np.testing.assert_allclose(vel * spec.peak_speed * 10, labels, atol=1e-9)
