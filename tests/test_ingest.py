"""Ingestion: both layouts, both containers, direction codings, smoothing, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from ner_repro.core.errors import InputError
from ner_repro.core.session import SessionData
from ner_repro.data import matfile
from ner_repro.data.ingest import (
    available_areas,
    classify_directions,
    normalise_directions,
    read_session,
)
from ner_repro.data.recordings import find_recording, parse_filename
from ner_repro.data.smoothing import gaussian_kernel, smooth_trial

CHEWIE = "Chewie_20160929_neural_con_dis_index.mat"
HAN = "Han_20171201_neural_con_dis_index.mat"


# -- real pre-smoothed files -------------------------------------------------------------
@pytest.mark.parametrize(
    ("filename", "area", "t_dur", "shape", "n_train"),
    [
        (CHEWIE, "M1", 40, (8320, 74), 166),
        (CHEWIE, "PMd", 40, (8320, 114), 166),
        (HAN, "S1", None, (10220, 70), 233),  # t_dur = 35 is stored in the file
        ("Mihili_20140218_neural_con_dis_index.mat", "M1", 40, (9000, 38), 180),
    ],
)
def test_real_presmoothed_files(ner_sessions_dir, filename, area, t_dur, shape, n_train):
    path = ner_sessions_dir / filename
    session = read_session(path, area, t_dur=t_dur)
    raw = scipy.io.loadmat(path)
    assert session.neural.shape == shape
    np.testing.assert_array_equal(session.neural, raw[f"neural_{area}"])
    np.testing.assert_array_equal(session.labels[:, :2], raw["continuous_index"] * 10)
    assert set(np.unique(session.labels[:, 2])) <= set(range(0, 360, 45))
    assert session.n_train_trials == n_train  # the authors' split (fig4-7.md §1, docs/sources.md)
    assert session.is_train.sum() == n_train * session.t_dur
    assert session.source_sha256 and session.container == "v5" and session.source_format == "ner"


def test_chewie_angle_mapping_matches_authors(ner_sessions_dir):
    """The authors map -180:4, -135:5, -90:6, -45:7, 0:0, 45:1, 90:2, 135:3 and multiply by 45."""
    mapping = {-180: 4, -135: 5, -90: 6, -45: 7, 0: 0, 45: 1, 90: 2, 135: 3, 180: 4}
    raw = scipy.io.loadmat(ner_sessions_dir / CHEWIE)["discrete_index"].ravel()
    expected = np.array([mapping[int(v)] * 45 for v in raw], dtype=float)
    session = read_session(ner_sessions_dir / CHEWIE, "M1", t_dur=40)
    np.testing.assert_array_equal(session.labels[:, 2], expected)


def test_v73_container_gives_identical_session(ner_sessions_dir, tmp_path):
    variables, container = matfile.load_mat(ner_sessions_dir / HAN)
    assert container == "v5"
    converted = tmp_path / HAN
    matfile.save_mat73(converted, variables)
    assert matfile.container_of(converted) == "v7.3"
    a = read_session(ner_sessions_dir / HAN, "S1")
    b = read_session(converted, "S1")
    assert b.container == "v7.3"
    np.testing.assert_array_equal(a.neural, b.neural)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.t_dur == b.t_dur == 35


def test_available_areas(ner_sessions_dir):
    assert available_areas(ner_sessions_dir / CHEWIE) == ["M1", "PMd"]
    assert available_areas(ner_sessions_dir / HAN) == ["S1"]


def test_session_npz_roundtrip(ner_sessions_dir, tmp_path):
    session = read_session(ner_sessions_dir / CHEWIE, "M1", t_dur=40)
    out = session.save(tmp_path / "Chewie_20160929_M1.npz")
    back = SessionData.load(out)
    np.testing.assert_array_equal(back.neural, session.neural)
    np.testing.assert_array_equal(back.labels, session.labels)
    with np.load(out) as npz:
        assert {"neural", "labels", "trial", "t_dur", "is_train", "source", "source_sha256"} <= set(
            npz.files
        )
        assert npz["trial"][-1] == session.n_trials - 1
    assert back.meta["inputs"]["recording"]["sha256"] == session.source_sha256


# -- raw TrialData -------------------------------------------------------------------------
def _trialdata_from(session: SessionData, rng: np.random.Generator, coding: str = "radians"):
    """Raw-like trials built from a real session: the smoothed rates act as 'counts', each
    trial padded with random bins before the go cue and after the analysis window."""
    trials, windows = [], []
    for t in range(session.n_trials):
        rows = slice(t * session.t_dur, (t + 1) * session.t_dur)
        pre, post = int(rng.integers(5, 12)), int(rng.integers(6, 10))
        n = session.neural.shape[1]
        spikes = np.vstack(
            [rng.poisson(1.0, (pre, n)), session.neural[rows], rng.poisson(1.0, (post, n))]
        )
        vel = np.vstack([np.zeros((pre, 2)), session.labels[rows, :2] / 10, np.zeros((post, 2))])
        angle = session.labels[rows.start, 2]
        tgt = np.radians(angle) if coding == "radians" else angle
        trials.append(
            {
                "M1_spikes": spikes.astype(float),
                "vel": vel,
                "idx_goCueTime": np.array([[pre + 1.0]]),
                "tgtDir": np.array([[tgt]]),
                "result": "R",
            }
        )
        windows.append((pre, spikes))
    return trials, windows


@pytest.mark.parametrize("container", ["v5", "v7.3"])
def test_raw_trialdata_smoothing_and_cut(ner_sessions_dir, tmp_path, container):
    real = read_session(
        ner_sessions_dir / "Chewie_20150630_neural_con_dis_index.mat", "M1", t_dur=40
    )
    rng = np.random.default_rng(0)
    trials, windows = _trialdata_from(real, rng)
    path = tmp_path / "Chewie_CO_20150630_raw.mat"
    (matfile.save_mat73 if container == "v7.3" else matfile.save_mat5)(path, {"trial_data": trials})
    session = read_session(path, "M1", t_dur=40)
    assert session.container == container and session.source_format == "trialdata"
    assert (session.monkey, session.date) == ("Chewie", "20150630")
    kernel = gaussian_kernel(1.5, 4)
    expected = np.concatenate(
        [smooth_trial(spikes, kernel)[pre : pre + 40] for pre, spikes in windows]
    )
    np.testing.assert_allclose(session.neural, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        session.labels, real.labels, atol=1e-9
    )  # radians -> degrees, velocity x10


def test_raw_trialdata_drops_bad_trials(tmp_path):
    rng = np.random.default_rng(1)
    good = {
        "M1_spikes": rng.poisson(2.0, (60, 5)).astype(float),
        "vel": rng.normal(size=(60, 2)),
        "idx_goCueTime": np.array([[10.0]]),
        "tgtDir": np.array([[90.0]]),
        "result": "R",
    }
    trials = [dict(good) for _ in range(8)]
    trials[1] = {**good, "idx_goCueTime": np.array([[40.0]])}  # window runs past the end
    trials[2] = {**good, "tgtDir": np.array([[np.nan]])}
    vel = good["vel"].copy()
    vel[15] = np.nan
    trials[3] = {**good, "vel": vel}
    trials[4] = {**good, "result": "F"}
    trials[5] = {**good, "idx_goCueTime": np.array([[np.nan]])}
    path = tmp_path / "Sim_CO_20200101_x.mat"
    matfile.save_mat5(path, {"trial_data": trials})
    session = read_session(path, "M1", t_dur=40)
    assert session.n_trials == 3
    dropped = session.meta["trials_dropped"]
    assert dropped == {
        "result": 1,
        "no_go_cue": 1,
        "too_short": 1,
        "nan_direction": 1,
        "nan_velocity": 1,
    }
    assert session.meta["trials_kept"] == 3


def test_smoothing_hand_computed_cases():
    k = gaussian_kernel(1.5, 4)
    x = np.arange(-4, 5)
    raw = np.exp(-(x**2) / 4.5)
    np.testing.assert_allclose(k, raw / raw.sum())
    assert k.sum() == pytest.approx(1.0) and len(k) == 9 and np.argmax(k) == 4
    # An impulse in the middle of a long trial returns the kernel.
    impulse = np.zeros((21, 1))
    impulse[10] = 1.0
    np.testing.assert_allclose(smooth_trial(impulse, k)[6:15, 0], k)
    # Zero padding at the trial edge: a constant trial loses the mass outside it.
    ones = np.ones((12, 2))
    out = smooth_trial(ones, k)
    np.testing.assert_allclose(out[0], k[4:].sum())
    np.testing.assert_allclose(out[1], k[3:].sum())
    np.testing.assert_allclose(out[6], 1.0)
    # MATLAB conv(x, k, 'same') on a small sequence, computed by hand.
    seq = np.array([[3.0], [0.0], [1.0]])
    expected = [3 * k[4] + 1 * k[2], 3 * k[5] + 1 * k[3], 3 * k[6] + 1 * k[4]]
    np.testing.assert_allclose(smooth_trial(seq, k)[:, 0], expected)


# -- direction codings -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("values", "coding"),
    [
        ([-180, -135, -90, -45, 0, 45, 90, 135], "degrees -180..180"),
        ([-135, -90, -45, 0, 45, 90, 135, 180], "degrees -180..180"),
        ([0, 45, 90, 135, 180, 225, 270, 315], "degrees 0..360"),
        ([0, 1, 2, 3, 4, 5, 6, 7], "classes 0-7"),
        (list(np.arange(-4, 4) * np.pi / 4), "radians"),
    ],
)
def test_direction_codings_normalise(values, coding):
    degrees, found = classify_directions(np.array(values, dtype=float))
    assert found == coding
    assert set(degrees) == set(range(0, 360, 45))


def test_unknown_direction_coding_is_an_error():
    with pytest.raises(InputError, match=r"x\.mat: unknown direction coding"):
        normalise_directions(np.array([0.0, 30.0, 60.0]), "x.mat")
    with pytest.raises(InputError, match="NaN"):
        normalise_directions(np.array([0.0, np.nan]), "x.mat")


# -- file names -------------------------------------------------------------------------------
def test_find_recording_prefers_presmoothed(tmp_path):
    (tmp_path / "Chewie_CO_20161007_td.mat").write_bytes(b"x")
    assert find_recording(tmp_path, "Chewie", "20161007").name == "Chewie_CO_20161007_td.mat"
    (tmp_path / "Chewie_20161007_neural_con_dis_index.mat").write_bytes(b"x")
    assert (
        find_recording(tmp_path, "Chewie", "20161007").name
        == "Chewie_20161007_neural_con_dis_index.mat"
    )
    assert find_recording(tmp_path, "Chewie", "20161014") is None
    assert parse_filename("Han_CO_20171201_x.mat") == ("Han", "20171201", "trialdata")


# -- bad input ------------------------------------------------------------------------------
def _ner_file(
    tmp_path: Path, name: str = "Test_20200101_neural_con_dis_index.mat", **override
) -> Path:
    rng = np.random.default_rng(0)
    variables = {
        "neural_M1": rng.random((400, 6)),
        "continuous_index": rng.normal(size=(400, 2)),
        "discrete_index": np.repeat(np.arange(10) % 8 * 45 - 180, 40)
        .reshape(-1, 1)
        .astype(np.int16),
    }
    variables.update(override)
    variables = {k: v for k, v in variables.items() if v is not None}
    path = tmp_path / name
    scipy.io.savemat(path, variables)
    return path


@pytest.mark.parametrize(
    ("override", "t_dur", "message"),
    [
        (
            {"neural_M1": None},
            40,
            r"key 'neural_M1' is missing \(found: continuous_index, discrete_index\)",
        ),
        (
            {"continuous_index": np.zeros((399, 2))},
            40,
            "lengths disagree: neural_M1 has 400 bins, continuous_index 399",
        ),
        ({}, 30, "400 bins is not a multiple of t_dur=30"),
        ({"neural_M1": np.full((400, 6), np.nan)}, 40, "neural_M1 contains 2400 NaN/inf"),
        (
            {"continuous_index": np.full((400, 2), np.inf)},
            40,
            "continuous_index contains 800 NaN/inf",
        ),
        (
            {"discrete_index": np.repeat(np.arange(10) * 30, 40).reshape(-1, 1)},
            40,
            "unknown direction coding",
        ),
        ({"t_dur": np.array([[20]])}, 40, "the file says t_dur=20 but the configuration says 40"),
        (
            {"discrete_index": np.arange(400).reshape(-1, 1) % 8},
            40,
            "target direction changes within a trial",
        ),
    ],
)
def test_bad_presmoothed_input_names_file_and_problem(tmp_path, override, t_dur, message):
    path = _ner_file(tmp_path, **override)
    with pytest.raises(InputError, match=message) as info:
        read_session(path, "M1", t_dur=t_dur)
    assert str(info.value).startswith(str(path))


def test_truncated_and_foreign_files(tmp_path, ner_sessions_dir):
    truncated = tmp_path / HAN
    truncated.write_bytes((ner_sessions_dir / HAN).read_bytes()[:5000])
    with pytest.raises(InputError, match="truncated or corrupt") as info:
        read_session(truncated, "S1")
    assert str(info.value).startswith(str(truncated))
    tiny = tmp_path / "Tiny_20200101_neural_con_dis_index.mat"
    tiny.write_bytes(b"MATLAB")
    with pytest.raises(InputError, match="truncated or not a MATLAB file"):
        read_session(tiny, "M1", t_dur=40)
    h5 = tmp_path / "Trunc_20200101_neural_con_dis_index.mat"
    matfile.save_mat73(h5, matfile.load_mat(ner_sessions_dir / HAN)[0])
    h5.write_bytes(h5.read_bytes()[: h5.stat().st_size // 2])
    with pytest.raises(InputError, match="truncated"):
        read_session(h5, "S1")


def test_raw_trialdata_bad_input(tmp_path):
    base = {
        "M1_spikes": np.ones((60, 4)),
        "vel": np.zeros((60, 2)),
        "idx_goCueTime": np.array([[5.0]]),
        "tgtDir": np.array([[0.0]]),
    }
    cases = [
        (
            [{**base, "vel": np.zeros((59, 2))}],
            "trial 1: lengths disagree: M1_spikes has 60 bins, vel 59",
        ),
        (
            [base, {**base, "M1_spikes": np.ones((60, 5))}],
            "trial 2: 5 neurons, but earlier trials have 4",
        ),
        ([{k: v for k, v in base.items() if k != "tgtDir"}], "trial_data has no 'tgtDir' field"),
        ([{**base, "M1_spikes": np.full((60, 4), np.inf)}], "trial 1: M1_spikes contains NaN/inf"),
    ]
    for i, (trials, message) in enumerate(cases):
        path = tmp_path / f"Bad_CO_2020010{i}_x.mat"
        matfile.save_mat5(path, {"trial_data": trials})
        with pytest.raises(InputError, match=message):
            read_session(path, "M1", t_dur=40)
    path = tmp_path / "Bad_CO_20200109_x.mat"
    matfile.save_mat5(path, {"trial_data": [base]})
    with pytest.raises(InputError, match="no PMd_spikes field for area PMd"):
        read_session(path, "PMd", t_dur=40)
    with pytest.raises(InputError, match="need t_dur"):
        read_session(path, "M1")


def test_failed_read_leaves_no_output(tmp_path):
    """The rule writes only after a successful read; a failing save leaves nothing behind."""
    path = _ner_file(tmp_path)
    session = read_session(path, "M1", t_dur=40)
    out = tmp_path / "out" / "session.npz"

    class Boom(Exception):
        pass

    import ner_repro.core.atomic as atomic

    with pytest.raises(Boom), atomic.atomic_path(out) as tmp:
        tmp.write_bytes(b"partial")
        raise Boom
    assert not out.exists() and not list(out.parent.glob("*.part"))
    session.save(out)
    assert SessionData.load(out).n_trials == 10
