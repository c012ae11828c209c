"""MC_Maze ingestion (Fig 8): synthetic NWB files written with pynwb, checked against an
independent whole-recording implementation of the nlb_tools steps the authors ran."""

from __future__ import annotations

import math
import os
import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.signal

from ner_repro.core.errors import InputError
from ner_repro.core.session import SessionData
from ner_repro.data import mcmaze
from ner_repro.data.mcmaze import nwb as mcmaze_nwb
from ner_repro.synthetic.nwb import SYNTHETIC_TARGETS, write_synthetic_nwb

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("NER_SHARED_DIR", REPO_ROOT.parent / "shared"))

N_TRIALS = 90
N_UNITS = 12


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mcmaze") / "synthetic.nwb"
    return write_synthetic_nwb(path, seed=3, n_trials=N_TRIALS, n_units=N_UNITS)


@pytest.fixture(scope="module")
def rec(synth) -> mcmaze.MazeRecording:
    return mcmaze.load_mcmaze(synth)


def _read_tables(path: Path):
    """Units, trials and behaviour as pynwb reads them (independent of the h5py loader)."""
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        units = nwb.units.to_dataframe()
        trials = nwb.trials.to_dataframe()
        beh = {}
        for name in ("hand_pos", "hand_vel"):
            ts = nwb.processing["behavior"][name]
            if ts.timestamps is not None:
                stamps = ts.timestamps[()]
            else:
                stamps = np.arange(len(ts.data)) / ts.rate + ts.starting_time
            beh[name] = (np.asarray(ts.data[()]), stamps)
    return units, trials, beh


@pytest.fixture(scope="module")
def nwb_tables(synth):
    return _read_tables(synth)


def _nlb_style(nwb_tables, bin_ms=5, smooth_ms=50, window=(-50, 450)):
    """The authors' pipeline on the whole recording with pandas, as nlb_tools + the notebook do it.

    Dense 1-ms spike table (float16, NaN outside the first unit's obs_intervals) -> sum per 5 ms ->
    scipy.signal.convolve(..., 'same') per unit; behaviour reindexed onto the 1-ms grid,
    interpolated, scipy.signal.decimate(n=500, fir); windows by ``.loc[start:end].iloc[0:n]``.
    """
    units, trials, beh = nwb_tables
    units = units.sort_index()
    end = round(max(units.obs_intervals.apply(lambda x: x[-1][-1])) * 1000)
    stamps = (np.arange(0, end) / 1000).round(6)
    spikes = np.zeros((len(stamps), len(units)), dtype="float16")
    for j, (_, unit) in enumerate(units.iterrows()):
        idx, cnt = np.unique((unit.spike_times * 1000).round(6).astype(int), return_counts=True)
        spikes[idx, j] = cnt
    mask = np.full(len(stamps), True)
    for start, stop in units.iloc[0].obs_intervals:
        mask[int(np.ceil(round(start * 1000, 6))) : int(np.floor(round(stop * 1000, 6)))] = False
    spikes[mask] = np.nan
    q = bin_ms
    nan5 = np.isnan(spikes[::q])
    pad = (-len(spikes)) % q
    arr = np.nan_to_num(np.vstack([spikes, np.zeros((pad, spikes.shape[1]), spikes.dtype)]))
    counts = arr.reshape(-1, q, spikes.shape[1]).sum(axis=1)
    counts[nan5] = np.nan
    index = pd.to_timedelta(stamps, unit="s")[::q]
    if smooth_ms:
        std = smooth_ms / bin_ms
        win = scipy.signal.windows.gaussian(int(6 * std), std, sym=True)
        win /= win.sum()
        smooth = np.column_stack(
            [
                scipy.signal.convolve(counts[:, j].astype("float64"), win, "same")
                for j in range(counts.shape[1])
            ]
        )
    else:
        smooth = counts.astype("float64")
    neural_all = pd.DataFrame(smooth, index=index)
    cont = {}
    for name, (data, ts) in beh.items():
        frame = pd.DataFrame(data, index=pd.to_timedelta(np.round(ts, 6), unit="s"))
        frame = frame.reindex(pd.to_timedelta(stamps, unit="s"))
        nanm = frame.iloc[::q].isna().to_numpy()
        frame = frame.interpolate(limit_direction="both")
        dec = scipy.signal.decimate(frame.to_numpy(), q, axis=0, n=500, ftype="fir")
        dec[nanm] = np.nan
        cont[name] = pd.DataFrame(dec, index=index)
    n_bins = (window[1] - window[0]) // bin_ms
    out = {"neural": [], "hand_vel": [], "hand_pos": [], "first_bin": []}
    for onset in trials.move_onset_time:
        t = pd.to_timedelta(onset, unit="s")
        lo, hi = (
            t + pd.to_timedelta(window[0], unit="ms"),
            t + pd.to_timedelta(window[1], unit="ms"),
        )
        sel = neural_all.loc[lo:hi].iloc[0:n_bins]
        out["neural"].append(sel.to_numpy())
        out["first_bin"].append(neural_all.index.get_loc(sel.index[0]))
        out["hand_vel"].append(cont["hand_vel"].loc[lo:hi].iloc[0:n_bins].to_numpy())
        pos = cont["hand_pos"].loc[lo:hi].iloc[0:n_bins].to_numpy()
        out["hand_pos"].append(pos - pos[0])
    return {k: np.asarray(v) for k, v in out.items()}, len(index)


# ---------------------------------------------------------------------------------------------
# nlb_tools behaviour
# ---------------------------------------------------------------------------------------------
def test_matches_whole_recording_pipeline(rec, nwb_tables):
    """Windowed, vectorised loading == the authors' whole-recording pandas/scipy steps."""
    ref, n_total = _nlb_style(nwb_tables)
    assert rec.n_trials == N_TRIALS and not rec.dropped
    assert rec.n_bins_recording == n_total
    np.testing.assert_array_equal(rec.first_bin, ref["first_bin"])
    np.testing.assert_allclose(rec.neural, ref["neural"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rec.hand_vel, ref["hand_vel"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(rec.hand_pos, ref["hand_pos"], rtol=1e-9, atol=1e-9)
    assert np.isfinite(rec.neural).all() and rec.neural.min() >= 0


def test_dropped_trials_are_the_nan_windows_of_the_whole_recording_pipeline(tmp_path):
    """Trials dropped for NaN are exactly those whose nlb_tools window holds a NaN."""
    path = write_synthetic_nwb(
        tmp_path / "gaps.nwb",
        seed=5,
        n_trials=10,
        n_units=5,
        obs_gap_trials=[1, 6],
        nan_behaviour_trials=[3],
    )
    ref, _ = _nlb_style(_read_tables(path))
    nan_trials = {
        i
        for i in range(10)
        if any(np.isnan(ref[k][i]).any() for k in ("neural", "hand_vel", "hand_pos"))
    }
    rec = mcmaze.load_mcmaze(path, checksum=False)
    assert nan_trials == set(rec.dropped) == {1, 3, 6}
    keep = sorted(set(range(10)) - nan_trials)
    np.testing.assert_array_equal(rec.trial_id, keep)
    np.testing.assert_allclose(rec.neural, ref["neural"][keep], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rec.hand_vel, ref["hand_vel"][keep], rtol=1e-9, atol=1e-9)


def test_binning_counts_spikes_in_range(synth, nwb_tables):
    """With smoothing off, each 5-ms bin holds the spikes whose 1-ms bin falls in it."""
    raw = mcmaze.load_mcmaze(synth, smooth_ms=0, checksum=False)
    units, trials, _ = nwb_tables
    units = units.sort_index()
    assert raw.neural.shape == (N_TRIALS, 100, N_UNITS)
    assert np.array_equal(raw.neural, np.round(raw.neural))
    for i, onset in enumerate(trials.move_onset_time):
        k0 = math.ceil(round((onset * 1000 - 50) / 5, 9))
        for j, spikes in enumerate(units.spike_times):
            ms = np.floor(np.asarray(spikes) * 1000 + 1e-9)
            in_window = (ms >= 5 * k0) & (ms < 5 * (k0 + 100))
            assert raw.neural[i, :, j].sum() == in_window.sum()
            per_bin = np.bincount((ms[in_window] // 5 - k0).astype(int), minlength=100)
            np.testing.assert_array_equal(raw.neural[i, :, j], per_bin)
    assert raw.neural.sum() > 1000


def test_gaussian_kernel_hand_computed():
    kernel = mcmaze.gaussian_kernel(50, 5)  # σ = 10 bins, int(6σ) = 60 taps
    n = np.arange(60) - 29.5
    expected = np.exp(-0.5 * (n / 10.0) ** 2)
    np.testing.assert_allclose(kernel, expected / expected.sum(), rtol=1e-12)
    small = mcmaze.gaussian_kernel(10, 5)  # σ = 2 bins, 12 taps
    e = np.exp(-((np.arange(12) - 5.5) ** 2) / 8.0)
    np.testing.assert_allclose(small, e / e.sum(), rtol=1e-12)
    with pytest.raises(ValueError, match="empty kernel"):
        mcmaze.gaussian_kernel(0.5, 5)


def test_smoothing_hand_computed_single_spike():
    """A single spike at bin 20 spreads over bins 15..26 ('same' centring of an even kernel)."""
    kernel = mcmaze.gaussian_kernel(10, 5)
    e = np.exp(-((np.arange(12) - 5.5) ** 2) / 8.0)
    e /= e.sum()
    n_out, taps = 40, 12
    left = taps // 2  # 6 input bins before each output bin, 5 after
    x = np.zeros(n_out + taps - 1)
    x[20 + left] = 1.0
    y = mcmaze.smooth_windows(x[None, :, None], kernel, n_out)[0, :, 0]
    expected = np.zeros(n_out)
    expected[15:27] = e  # y[n] = e[n - 20 + 5]
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-15)
    # Two spikes in one bin, another near the edge: linear, and the same as scipy on the series.
    series = np.zeros(n_out)
    np.add.at(series, [3, 20, 20, 38], [1, 1, 1, 2])
    padded = np.concatenate([np.zeros(left), series, np.zeros(taps - 1 - left)])
    y2 = mcmaze.smooth_windows(padded[None, :, None], kernel)[0, :, 0]
    np.testing.assert_allclose(y2, scipy.signal.convolve(series, kernel, "same"), atol=1e-15)
    assert y2[20] == pytest.approx(2 * e[5])  # the edge spikes are > 5 bins away


def test_smooth_windows_equals_scipy_same_anywhere():
    rng = np.random.default_rng(0)
    kernel = mcmaze.gaussian_kernel(50, 5)
    x = rng.poisson(0.4, size=(500, 3)).astype(float)
    full = np.column_stack([scipy.signal.convolve(x[:, j], kernel, "same") for j in range(3)])
    left, right = 30, 29
    padded = np.vstack([np.zeros((left, 3)), x, np.zeros((right, 3))])
    starts = [0, 7, 250, 400]  # includes windows touching both ends of the series
    ctx = np.stack([padded[s : s + 100 + 59] for s in starts])
    out = mcmaze.smooth_windows(ctx, kernel, 100)
    for w, s in enumerate(starts):
        np.testing.assert_allclose(out[w], full[s : s + 100], atol=1e-14)


def test_fir_decimation_equals_scipy_decimate_incl_edges_and_nan():
    """Behaviour resampling at selected bins == nlb_tools' interpolate + decimate + re-mask."""
    rng = np.random.default_rng(1)
    x = np.cumsum(rng.normal(size=(3003, 2)), axis=0)
    x[1000:1012, 0] = np.nan  # bins 200..202 start on a NaN sample in column 0
    x[:3, 1] = np.nan  # leading NaN: filled with the first value, bin 0 re-masked
    frame = pd.DataFrame(x).interpolate(limit_direction="both")
    full = scipy.signal.decimate(frame.to_numpy(), 5, n=500, ftype="fir", axis=0)
    full[np.isnan(x[::5])] = np.nan
    assert len(full) == 601
    windows = np.array([np.arange(0, 40), np.arange(180, 220), np.arange(561, 601)])
    got = mcmaze_nwb._decimate_at(x, 5, windows)
    assert got.shape == (3, 40, 2)
    np.testing.assert_allclose(got, full[windows], rtol=1e-12, atol=1e-10)
    assert np.isnan(got[1, 20:23, 0]).all() and np.isnan(got[0, 0, 1])
    x32 = x.astype(np.float32)  # cast back to the stored dtype, as nlb_tools does
    got32 = mcmaze_nwb._decimate_at(x32, 5, windows[2:])
    np.testing.assert_array_equal(got32, got32.astype(np.float32).astype(np.float64))


def test_window_is_100_bins_from_50ms_before_onset(rec, nwb_tables):
    _, trials, _ = nwb_tables
    onset_ms = trials.move_onset_time.to_numpy() * 1000
    assert rec.neural.shape == (N_TRIALS, 100, N_UNITS)
    assert rec.hand_vel.shape == rec.hand_pos.shape == (N_TRIALS, 100, 2)
    start_ms = rec.first_bin * 5
    assert np.all(start_ms >= onset_ms - 50 - 1e-6) and np.all(start_ms < onset_ms - 45)
    # Synthetic onsets are whole ms; those on a 5-ms boundary start exactly 50 ms before.
    on_grid = np.isclose(onset_ms % 5, 0)
    assert on_grid.any()
    np.testing.assert_allclose(start_ms[on_grid], onset_ms[on_grid] - 50)
    np.testing.assert_array_equal(rec.hand_pos[:, 0], 0.0)
    np.testing.assert_allclose(rec.move_onset, trials.move_onset_time.to_numpy())
    # The hand starts moving at onset: still in the first 10 bins (50 ms), moving by bin 20.
    speed = np.hypot(*np.moveaxis(rec.hand_vel, -1, 0))
    assert np.median(speed[:, :8]) < 50 and np.median(speed[:, 20:60]) > 200


def test_units_include_heldout_in_id_order(rec, nwb_tables):
    units, _, _ = nwb_tables
    assert list(rec.unit_id) == sorted(units.index)
    assert rec.heldout.sum() == units.heldout.sum() == N_UNITS // 4
    assert rec.n_units == N_UNITS


def test_metadata(rec, synth):
    assert rec.date == "20090925"
    assert rec.subject == "Jenkins"
    assert rec.source == str(synth)
    assert re.fullmatch(r"[0-9a-f]{64}", rec.source_sha256)
    assert rec.meta["obs_intervals"] and rec.meta["kernel_taps"] == 60


# ---------------------------------------------------------------------------------------------
# Condition sets
# ---------------------------------------------------------------------------------------------
def _expected_counts(trials: pd.DataFrame, types, lo=0, hi=None) -> dict[tuple[int, int], int]:
    sel = trials[trials.trial_type.isin(types) & (trials.trial_version >= lo)]
    if hi is not None:
        sel = sel[sel.trial_version <= hi]
    return {
        (int(t), int(v)): int(n)
        for (t, v), n in sel.groupby(["trial_type", "trial_version"]).size().items()
    }


@pytest.mark.parametrize("cset", mcmaze.PAPER_CONDITION_SETS, ids=lambda c: c.name)
def test_selection_rule_per_paper_set(rec, nwb_tables, cset):
    _, trials, _ = nwb_tables
    if cset.versions is not None:
        expected = _expected_counts(trials, cset.types, min(cset.versions), max(cset.versions))
    else:
        expected = _expected_counts(trials, cset.types, cset.min_version, cset.max_version)
    assert rec.counts(cset) == expected
    session = mcmaze.condition_set(rec, cset)
    n = sum(expected.values())
    assert session.n_trials == n and session.t_dur == 100
    versions = session.extras["version"][:: session.t_dur]
    types = session.extras["trial_type"][:: session.t_dur]
    assert set(types) <= set(cset.types)
    if cset.family == "curve-up-down":
        assert set(versions) <= {1, 2}
    elif cset.family == "straight":
        assert set(versions) == {0}
    else:
        assert cset.min_version == 0 and set(versions) == {0, 1, 2} & {
            int(v) for (_, v) in expected
        }


def test_condition_set_labels_extras_and_split(rec, nwb_tables):
    _, trials, _ = nwb_tables
    session = mcmaze.condition_set(rec, "mixed", [13, 38, 18, 1], 0)
    ids = session.extras["trial_id"][::100]
    chosen = trials[trials.trial_type.isin([13, 38, 18, 1])]
    np.testing.assert_array_equal(ids, chosen.index.to_numpy())  # recording order, interleaved
    assert len(set(chosen.trial_type)) == 4
    n = len(chosen)
    assert session.neural.shape == (n * 100, N_UNITS) and session.labels.shape == (n * 100, 3)
    # labels = [vx, vy, 0]; angles only in extras
    rows = np.searchsorted(rec.trial_id, ids)
    np.testing.assert_array_equal(session.labels[:, :2], rec.hand_vel[rows].reshape(-1, 2))
    np.testing.assert_array_equal(session.labels[:, 2], 0.0)
    np.testing.assert_array_equal(session.neural, rec.neural[rows].reshape(-1, N_UNITS))
    tx = np.array(
        [np.asarray(p)[a] for p, a in zip(chosen.target_pos, chosen.active_target, strict=True)],
        float,
    )
    angle = np.degrees(np.arctan2(tx[:, 1], tx[:, 0])) % 360
    np.testing.assert_allclose(session.extras["target_angle"], np.repeat(angle, 100))
    assert session.extras["target_angle"].min() >= 0 and session.extras["target_angle"].max() < 360
    np.testing.assert_array_equal(
        session.extras["version"], np.repeat(chosen.trial_version.to_numpy(), 100)
    )
    assert session.extras["version"].dtype == np.int64
    # 80/20 split by trial, chronological
    assert session.n_train_trials == int(0.8 * n)
    assert session.is_train.sum() == int(0.8 * n) * 100
    assert (
        session.is_train[: int(0.8 * n) * 100].all()
        and not session.is_train[int(0.8 * n) * 100 :].any()
    )
    assert (session.monkey, session.date, session.area) == ("Jenkins", "20090925", "M1PMd")
    assert session.meta["condition_set"] == "mixed"


def test_published_angles_of_real_targets(rec):
    """Types 18 and 34 use the real target positions: the spec's angles 326.634 and 326.424.

    fig8-baselines.md §1.4, summarised in ``docs/sources.md``.
    """
    for t, expected in ((18, 326.634), (34, 326.424), (13, 22.989), (38, 168.511)):
        angles = rec.target_angle[rec.trial_type == t]
        assert angles.size and np.allclose(angles, expected, atol=1e-3)


def test_version_bounds_and_lists(rec):
    counts = rec.counts()
    only_v1 = mcmaze.condition_set(rec, "v1", [13, 38, 18], 1, max_version=1)
    assert set(only_v1.extras["version"]) == {1}
    assert only_v1.n_trials == sum(
        n for (t, v), n in counts.items() if t in (13, 38, 18) and v == 1
    )
    listed = mcmaze.condition_set(rec, "v02", [13, 38, 18], versions=[0, 2], train_fraction=0.5)
    assert set(listed.extras["version"]) == {0, 2}
    assert listed.n_train_trials == int(0.5 * listed.n_trials)
    with pytest.raises(InputError, match="selects 0 trial"):
        mcmaze.condition_set(rec, "none", [99], 0)


def test_session_round_trip(rec, tmp_path):
    session = mcmaze.condition_set(rec, mcmaze.PAPER_CONDITION_SETS[7])
    back = SessionData.load(session.save(tmp_path / "MCMaze_set.npz"))
    np.testing.assert_array_equal(back.extras["target_angle"], session.extras["target_angle"])
    np.testing.assert_array_equal(back.extras["version"], session.extras["version"])
    assert back.meta["types"] == [37, 1, 31, 38, 34, 18] and back.source_format == "nwb"


def test_paper_condition_sets_as_config():
    sets = mcmaze.paper_condition_sets()
    assert len(sets) == 9
    assert sets["curve-straight-13-38-18"] == {
        "family": "curve-straight",
        "types": [13, 38, 18],
        "min_version": 0,
        "published": "curve-straight_13-38-18",
    }
    assert sets["straight-13-29-17-38-6-18"]["versions"] == [0]
    assert all(sets[n]["min_version"] == 1 for n in sets if n.startswith("curve-up-down"))
    for name in sets:  # the workflow's session id pattern
        assert re.fullmatch(r"MCMaze_[A-Za-z0-9-]+", f"MCMaze_{name}")
    assert mcmaze.condition_sets_from_config(sets) == list(mcmaze.PAPER_CONDITION_SETS)
    assert mcmaze.condition_sets_from_config({}) == list(mcmaze.PAPER_CONDITION_SETS)
    listed = mcmaze.condition_sets_from_config([{"name": "a-b", "types": [1], "max_version": 1}])
    assert listed[0].max_version == 1
    with pytest.raises(InputError, match="'types' is required"):
        mcmaze.condition_sets_from_config({"x": {"min_version": 1}})
    with pytest.raises(InputError, match="unknown key"):
        mcmaze.condition_sets_from_config({"x": {"types": [1], "min_verison": 1}})
    with pytest.raises(InputError, match="letters, digits"):
        mcmaze.condition_sets_from_config({"a_b": {"types": [1]}})


def test_published_file_names_match(published_dir):
    stems = {p.name.split("_parameters")[0] for p in (published_dir / "Fig8").glob("*.npz")}
    published = {cs.published for cs in mcmaze.PAPER_CONDITION_SETS if cs.published}
    assert published == stems


# ---------------------------------------------------------------------------------------------
# Synthetic data is meaningful
# ---------------------------------------------------------------------------------------------
def test_synthetic_reaches_straight_vs_curved(rec):
    end = rec.hand_pos[:, -1]
    target_from_start = rec.target_pos - (rec.hand_pos[:, 0] + 0)  # hand starts at the centre
    np.testing.assert_allclose(end, target_from_start, atol=3.0)
    unit = rec.target_pos / np.linalg.norm(rec.target_pos, axis=1, keepdims=True)
    perp = rec.hand_pos[..., 0] * -unit[:, None, 1] + rec.hand_pos[..., 1] * unit[:, None, 0]
    deviation = np.abs(perp).max(axis=1)
    v0 = rec.trial_version == 0
    assert deviation[v0].max() < 5.0
    assert deviation[~v0].min() > 20.0
    speed = np.hypot(rec.hand_vel[..., 0], rec.hand_vel[..., 1]).max(axis=1)
    assert 300 < np.median(speed) < 1200


def test_synthetic_neural_encodes_velocity(rec):
    """Linear decoding of velocity from the smoothed counts works on held-out trials."""
    x = rec.neural.reshape(-1, rec.n_units)
    y = rec.hand_vel.reshape(-1, 2)
    n_train = int(0.8 * rec.n_trials) * rec.n_bins
    xa = np.column_stack([x, np.ones(len(x))])
    coef, *_ = np.linalg.lstsq(xa[:n_train], y[:n_train], rcond=None)
    pred = xa[n_train:] @ coef
    r2 = 1 - ((y[n_train:] - pred) ** 2).sum(0) / ((y[n_train:] - y[n_train:].mean(0)) ** 2).sum(0)
    assert r2.mean() > 0.45


def test_synthetic_file_structure(synth):
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(synth), "r") as io:
        nwb = io.read()
        assert nwb.subject.subject_id == "Jenkins"
        assert set(nwb.processing["behavior"].data_interfaces) == {
            "cursor_pos",
            "eye_pos",
            "hand_pos",
            "hand_vel",
        }
        trials = nwb.trials.to_dataframe()
        for col in (
            "move_onset_time",
            "trial_type",
            "trial_version",
            "active_target",
            "target_pos",
            "maze_id",
            "barrier_pos",
            "num_targets",
            "go_cue_time",
            "split",
        ):
            assert col in trials.columns
        v2 = trials[trials.trial_version == 2]
        assert (v2.num_targets == 3).all() and (v2.active_target > 0).any()
        assert (trials[trials.trial_version == 0].num_barriers == 0).all()
        units = nwb.units.to_dataframe()
        assert units.heldout.any() and not units.heldout.all()
        assert all(len(o) == len(trials) for o in units.obs_intervals)
    with h5py.File(synth, "r") as fh:
        assert fh["intervals/trials/target_pos"].dtype == np.int16


def test_synthetic_is_deterministic_and_timestamps_variant(tmp_path):
    a = write_synthetic_nwb(tmp_path / "a.nwb", seed=7, n_trials=6, n_units=4)
    b = write_synthetic_nwb(
        tmp_path / "b.nwb", seed=7, n_trials=6, n_units=4, behaviour_timestamps=True
    )
    ra, rb = mcmaze.load_mcmaze(a), mcmaze.load_mcmaze(b)
    np.testing.assert_array_equal(ra.neural, rb.neural)
    np.testing.assert_array_equal(ra.hand_vel, rb.hand_vel)
    with h5py.File(b, "r") as fh:
        assert "timestamps" in fh["processing/behavior/hand_vel"]


# ---------------------------------------------------------------------------------------------
# Bad trials and bad files
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mcmaze_small") / "small.nwb"
    return write_synthetic_nwb(path, seed=1, n_trials=8, n_units=4)


def _copy(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    return dst


def test_bad_trials_are_dropped_and_counted(tmp_path):
    path = write_synthetic_nwb(
        tmp_path / "bad.nwb",
        seed=2,
        n_trials=9,
        n_units=4,
        obs_gap_trials=[2],
        nan_behaviour_trials=[4],
    )
    with h5py.File(path, "r+") as fh:
        onset = fh["intervals/trials/move_onset_time"]
        values = onset[()]
        values[0] = 0.01  # window would start before the recording
        values[6] = np.nan
        values[8] = fh["intervals/trials/stop_time"][8] - 0.2  # window runs past the end
        onset[...] = values
    rec = mcmaze.load_mcmaze(path)
    assert rec.n_trials == 4 and list(rec.trial_id) == [1, 3, 5, 7]
    assert set(rec.dropped) == {0, 2, 4, 6, 8}
    assert "outside the recording" in rec.dropped[0] and "outside the recording" in rec.dropped[8]
    assert "obs_intervals" in rec.dropped[2]
    assert "hand_pos is NaN" in rec.dropped[4]
    assert "no movement onset" in rec.dropped[6]
    assert np.isfinite(rec.neural).all() and np.isfinite(rec.hand_vel).all()
    with pytest.raises(InputError, match=r"bad\.nwb: 5 bad trial\(s\), first trial id 0"):
        mcmaze.load_mcmaze(path, on_bad_trial="error")


def test_all_trials_bad_is_an_error(tmp_path):
    path = write_synthetic_nwb(
        tmp_path / "allbad.nwb", seed=2, n_trials=3, n_units=2, nan_behaviour_trials=[0, 1, 2]
    )
    with pytest.raises(InputError, match=r"allbad\.nwb: no usable trial"):
        mcmaze.load_mcmaze(path)


def test_not_an_nwb_file(tmp_path):
    text = tmp_path / "notes.nwb"
    text.write_text("not hdf5 at all\n")
    with pytest.raises(InputError, match=r"notes\.nwb: not an NWB file"):
        mcmaze.load_mcmaze(text)
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as fh:
        fh["x"] = np.arange(3)
    with pytest.raises(InputError, match=r"plain\.h5: HDF5 file but not an NWB file"):
        mcmaze.load_mcmaze(plain)
    with pytest.raises(InputError, match=r"missing\.nwb: file not found"):
        mcmaze.load_mcmaze(tmp_path / "missing.nwb")


def test_truncated_file(small, tmp_path):
    data = small.read_bytes()
    cut = tmp_path / "truncated.nwb"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"truncated\.nwb: .*(truncated|corrupt)"):
        mcmaze.load_mcmaze(cut)


@pytest.mark.parametrize(
    ("delete", "message"),
    [
        ("intervals/trials", "no trials table"),
        ("intervals/trials/move_onset_time", "lacks column.*move_onset_time"),
        ("intervals/trials/active_target", "lacks column.*active_target"),
        ("units", "no units table"),
        ("units/spike_times_index", "spike_times_index is missing"),
        ("processing/behavior/hand_pos", "'hand_pos' not found"),
    ],
)
def test_missing_parts_name_the_file(small, tmp_path, delete, message):
    path = _copy(small, tmp_path / "broken.nwb")
    with h5py.File(path, "r+") as fh:
        del fh[delete]
    with pytest.raises(InputError, match=rf"broken\.nwb: .*{message}"):
        mcmaze.load_mcmaze(path)


def test_missing_hand_vel(tmp_path):
    path = write_synthetic_nwb(
        tmp_path / "novel.nwb", seed=0, n_trials=3, n_units=2, include_hand_vel=False
    )
    with pytest.raises(InputError, match=r"novel\.nwb: behaviour time series 'hand_vel' not found"):
        mcmaze.load_mcmaze(path)


def test_behaviour_off_the_ms_grid(tmp_path):
    path = write_synthetic_nwb(
        tmp_path / "grid.nwb", seed=0, n_trials=3, n_units=2, behaviour_timestamps=True
    )
    with h5py.File(path, "r+") as fh:
        fh["processing/behavior/hand_vel/timestamps"][...] += 0.0004
    with pytest.raises(InputError, match=r"grid\.nwb: .*hand_vel.*not on the 1 ms grid"):
        mcmaze.load_mcmaze(path)


def test_active_target_out_of_range(small, tmp_path):
    path = _copy(small, tmp_path / "target.nwb")
    with h5py.File(path, "r+") as fh:
        fh["intervals/trials/active_target"][3] = 5
    with pytest.raises(InputError, match=r"target\.nwb: trial id 3: active_target=5"):
        mcmaze.load_mcmaze(path)


def test_missing_session_start(small, tmp_path):
    path = _copy(small, tmp_path / "nodate.nwb")
    with h5py.File(path, "r+") as fh:
        del fh["session_start_time"]
    rec = mcmaze.load_mcmaze(path, checksum=False)
    with pytest.raises(InputError, match=r"nodate\.nwb: session_start_time '' has no date"):
        mcmaze.condition_set(rec, "all", list(SYNTHETIC_TARGETS), 0)


def test_bad_parameters(small):
    with pytest.raises(ValueError, match="window"):
        mcmaze.load_mcmaze(small, window=(0, 452))
    with pytest.raises(ValueError, match="on_bad_trial"):
        mcmaze.load_mcmaze(small, on_bad_trial="ignore")


# ---------------------------------------------------------------------------------------------
# The real file (DANDI 000128), where present
# ---------------------------------------------------------------------------------------------
def _real_nwb() -> Path | None:
    name = "sub-Jenkins_ses-full_desc-train_behavior+ecephys.nwb"
    candidates = [
        os.environ.get("NER_MCMAZE_NWB", ""),
        REPO_ROOT / "data" / "recordings" / name,
        SHARED_DIR / "data" / "mc_maze" / name,
        SHARED_DIR / "data" / "000128" / "sub-Jenkins" / name,
    ]
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c)
    return None


#: fig8-baselines.md §1.4 / §1.9 (docs/sources.md): trials per set (train + test) and target
#: angles in the published npz.
REAL_SET_SIZES = {
    "curve-straight-13": 63,
    "curve-straight-38": 66,
    "curve-straight-18": 58,
    "curve-straight-13-38-18": 187,
    "curve-up-down-37-1": 85,
    "curve-up-down-31-38": 87,
    "curve-up-down-34-18": 84,
    "curve-up-down-37-1-31-38-34-18": 256,
}


def test_published_npz_agree_with_set_rules(published_dir):
    """The authors' Fig 8 npz: set sizes, 80/20 split, versions and per-type target angles."""
    for cset in mcmaze.PAPER_CONDITION_SETS:
        if not cset.published:
            continue
        (npz_path,) = (published_dir / "Fig8").glob(f"{cset.published}_parameters_*.npz")
        with np.load(npz_path) as npz:
            n_train, n_test = (
                len(npz["continuous_index_train"]) // 100,
                len(npz["continuous_index_test"]) // 100,
            )
            assert n_train + n_test == REAL_SET_SIZES[cset.name]
            assert n_train == int(0.8 * REAL_SET_SIZES[cset.name])
            assert not npz["continuous_index_train"][:, 2].any()
            versions = set(
                np.concatenate([npz["version_index_train"], npz["version_index_test"]]).tolist()
            )
            assert versions == ({0, 1, 2} if cset.min_version == 0 else {1, 2})
            angles = np.unique(
                np.round(np.concatenate([npz["target_angle_train"], npz["target_angle_test"]]), 3)
            )
        expected = {
            round(float(np.degrees(np.arctan2(y, x)) % 360), 3)
            for x, y in (SYNTHETIC_TARGETS[t] for t in cset.types)
        }
        assert set(angles.tolist()) == expected


@pytest.mark.skipif(_real_nwb() is None, reason="MC_Maze NWB (DANDI 000128) not present")
def test_real_file_matches_published(published_dir):
    rec = mcmaze.load_mcmaze(_real_nwb())
    assert rec.n_trials == 2295 and not rec.dropped
    assert rec.n_units == 182 and rec.n_bins_recording == 1_390_461
    for cset in mcmaze.PAPER_CONDITION_SETS:
        if cset.name not in REAL_SET_SIZES:
            continue
        session = mcmaze.condition_set(rec, cset)
        assert session.n_trials == REAL_SET_SIZES[cset.name]
        (npz_path,) = (published_dir / "Fig8").glob(f"{cset.published}_parameters_*.npz")
        npz = np.load(npz_path)
        labels = np.vstack([npz["continuous_index_train"], npz["continuous_index_test"]])
        np.testing.assert_allclose(session.labels, labels, atol=1e-6)
        angle = np.concatenate([npz["target_angle_train"], npz["target_angle_test"]])
        np.testing.assert_allclose(session.extras["target_angle"], angle, atol=1e-6)
        version = np.concatenate([npz["version_index_train"], npz["version_index_test"]])
        np.testing.assert_array_equal(session.extras["version"], version)
        assert session.is_train.sum() == len(npz["continuous_index_train"])
