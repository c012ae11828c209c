"""Fig4–7 evaluation (ner_repro.analysis.evaluation): the authors' published numbers, both modes, outputs."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.transform import Rotation

from ner_repro.analysis import evaluation as ev
from ner_repro.core.embedding import EmbeddingRun

PER_SESSION = "per_session/{}_Chewie/NPZ/Chewie_161014_embed_20000itr_M1.npz"
SESSION_161014 = "Chewie_20161014_M1"


# -- synthetic sessions ---------------------------------------------------------------------------
_W = np.random.default_rng(1234).normal(size=(5, 16))  # shared latent -> embedding map


def make_run(
    session: str,
    *,
    method: str = "NER",
    n_trials: int = 40,
    t_dur: int = 8,
    d: int = 3,
    seed: int = 0,
    noise: float = 0.05,
    test_noise: float | None = None,
    rotation: np.ndarray | None = None,
) -> EmbeddingRun:
    """Trials of 8 directions with bell-shaped speed; embedding = linear map of (v, direction)."""
    rng = np.random.default_rng(seed)
    cls = rng.permutation(np.arange(n_trials) % 8)
    theta = np.deg2rad(np.repeat(cls, t_dur) * 45.0)
    bell = np.tile(np.sin(np.linspace(0.1, np.pi - 0.1, t_dur)), n_trials)
    vel = 30 * bell[:, None] * np.c_[np.cos(theta), np.sin(theta)]
    vel += rng.normal(scale=2.0, size=vel.shape)
    labels = np.c_[vel, np.repeat(cls, t_dur) * 45.0]
    latent = np.c_[vel / 30, np.cos(theta), np.sin(theta), bell]
    emb = latent @ _W[:, :d] + noise * rng.normal(size=(len(latent), d))
    n_train = int(0.8 * n_trials) * t_dur
    if test_noise is not None:
        emb[n_train:] = test_noise * rng.normal(size=emb[n_train:].shape)
    if rotation is not None:
        emb = emb @ rotation
    return EmbeddingRun(
        method=method,
        session=session,
        seed=seed,
        train=emb[:n_train],
        test=emb[n_train:],
        labels_train=labels[:n_train],
        labels_test=labels[n_train:],
        t_dur=t_dur,
    )


def rotated_copy(run: EmbeddingRun, session: str, Q: np.ndarray) -> EmbeddingRun:
    return EmbeddingRun(
        method=run.method,
        session=session,
        seed=run.seed,
        train=run.train @ Q,
        test=run.test @ Q,
        labels_train=run.labels_train,
        labels_test=run.labels_test,
        t_dur=run.t_dur,
    )


# -- the authors' numbers (published 161014 embeddings) -------------------------------------------
def _published_run(published_dir, method: str) -> EmbeddingRun:
    with np.load(published_dir / PER_SESSION.format(method)) as npz:
        return EmbeddingRun(
            method=method,
            session=SESSION_161014,
            seed=0,
            train=npz["cebra_veldir_train"],
            test=npz["cebra_veldir_test"],
            labels_train=npz["continuous_index_train"],
            labels_test=npz["continuous_index_test"],
            t_dur=40,
        )


@pytest.fixture(scope="module")
def published_runs(published_dir):
    return {m: _published_run(published_dir, m) for m in ("NER", "Cebra")}


@pytest.fixture(scope="module")
def fig4_results(published_runs):
    return {
        (m, mode): ev.explained_variance(run, mode)
        for m, run in published_runs.items()
        for mode in ev.MODES
    }


@pytest.mark.parametrize("method", ["NER", "Cebra"])
def test_paper_mode_reproduces_the_fig4_rows_for_161014(reference_dir, fig4_results, method):
    ref = pd.read_csv(reference_dir / "fig4-7-fig4-per-session.csv", dtype={"session": str})
    ref = ref[(ref.panel == "M1") & (ref.method == method) & (ref.session == "161014")]
    res = fig4_results[(method, "paper")]
    for split, scores in (("train", res.train), ("test", res.test)):
        row = ref[ref.split == split].iloc[0]
        assert scores.pos_r2 == pytest.approx(row.pos_R2, abs=1e-6)
        assert scores.vel_r2 == pytest.approx(row.vel_R2, abs=1e-6)
        assert scores.peak_dir_acc == pytest.approx(row.peak_dir_acc, abs=2.0)


@pytest.mark.parametrize(
    ("method", "swapped", "correct"), [("Cebra", -2.798, 0.200), ("NER", 0.768, 0.819)]
)
def test_corrected_mode_scores_test_velocity_in_the_right_order(
    fig4_results, method, swapped, correct
):
    # fig4-7.md §4.3 (docs/sources.md): the same decoder, test velocity R² with the arguments
    # swapped or not.
    paper, corrected = fig4_results[(method, "paper")], fig4_results[(method, "corrected")]
    assert round(paper.test.vel_r2, 3) == swapped
    assert round(corrected.test.vel_r2, 3) == correct
    # Everything else is the same: same decoders, same (train) scores, same test positions.
    assert corrected.train.metrics() == paper.train.metrics()
    assert corrected.test.pos_r2 == paper.test.pos_r2
    assert corrected.test.peak_dir_acc == paper.test.peak_dir_acc


def _fig5_reference(reference_dir, decoder: str, method: str) -> dict[str, float]:
    ref = pd.read_csv(
        reference_dir / "fig4-7-crossdecode-matrices-long.csv",
        dtype={"train_session": str, "test_session": str},
    )
    sel = ref[
        (ref.figure == "Fig5")
        & (ref.decoder == decoder)
        & (ref.method == method)
        & (ref.train_session == "161014")
        & (ref.test_session == "161014")
    ]
    return dict(zip(sel.metric, sel.value, strict=True))


@pytest.mark.parametrize(
    ("method", "decoder"), [("NER", "linear"), ("Cebra", "linear"), ("NER", "knn")]
)
def test_paper_mode_reproduces_the_fig5_diagonal_for_161014(
    reference_dir, published_runs, method, decoder
):
    ref = _fig5_reference(reference_dir, {"linear": "linear", "knn": "kNN"}[decoder], method)
    run = published_runs[method]
    result = ev.cross_decode([run], "paper", decoders=[decoder], n_jobs=2)
    got = {m: mat[0, 0] for m, mat in result.matrices[decoder].items()}
    assert got["vel_R2"] == pytest.approx(ref["vel_R2"], abs=1e-6)
    assert got["pos_R2"] == pytest.approx(ref["pos_R2"], abs=1e-6)
    assert got["peak_dir_acc"] == pytest.approx(ref["peak_dir_acc"], abs=2.0)
    if decoder == "knn":
        assert (result.knn_k["vel"][0], result.knn_k["dir"][0]) == (64, 128)


def test_published_session_and_its_rotated_copy_cross_decode_like_itself(published_runs):
    run = published_runs["NER"]
    Q = Rotation.from_euler("xyz", [30, -50, 110], degrees=True).as_matrix() @ np.diag([1, 1, -1])
    copy = rotated_copy(run, "Chewie_20161015_M1", Q)
    for mode in ev.MODES:
        res = ev.cross_decode([copy, run], mode, decoders=["linear"])
        np.testing.assert_allclose(res.rotations[0, 1], Q, atol=1e-9)
        for metric in ("vel_R2", "pos_R2"):
            mat = res.matrices["linear"][metric]
            assert mat[0, 1] == pytest.approx(mat[1, 1], abs=1e-6)
            assert mat[1, 0] == pytest.approx(mat[0, 0], abs=1e-6)


# -- cross-decoding on synthetic sessions -----------------------------------------------------------
@pytest.mark.parametrize("mode", ["paper", "corrected"])
@pytest.mark.parametrize("decoder", ["linear", "knn"])
def test_cross_decoding_a_rotated_copy_equals_self_decoding(mode, decoder):
    a = make_run("Monkey_20200101_M1", n_trials=64)
    Q = Rotation.from_euler("zyx", [20, 70, -35], degrees=True).as_matrix()
    b = rotated_copy(a, "Monkey_20200102_M1", Q @ np.diag([-1, 1, 1]))
    res = ev.cross_decode([a, b], mode, decoders=[decoder])
    for metric in ev.METRICS:
        mat = res.matrices[decoder][metric]
        assert mat[0, 1] == pytest.approx(mat[1, 1], abs=1e-8), metric
        assert mat[1, 0] == pytest.approx(mat[0, 0], abs=1e-8), metric
    np.testing.assert_allclose(res.acc_time[decoder][0, 1], res.acc_time[decoder][1, 1])
    assert res.chosen_direction[0, 0] == -1
    assert (res.chosen_direction[0, 1] >= 0) == (mode == "paper")


def test_element_ij_trains_on_i_and_tests_on_j_in_canonical_order():
    good = make_run("Monkey_20200101_M1", seed=1)
    bad_test = make_run("Monkey_20200103_M1", seed=2, test_noise=1.0)  # test split: pure noise
    other = make_run("Alpha_20210101_PMd", seed=3)
    res = ev.cross_decode([bad_test, good, other], "corrected", decoders=["linear"])
    assert res.sessions == ["Alpha_20210101_PMd", "Monkey_20200101_M1", "Monkey_20200103_M1"]
    vel = res.matrices["linear"]["vel_R2"]
    # Column 2 (tested on the noise test split) is bad; row 2 (trained on its clean train) is not.
    assert (vel[:, 2] < 0.2).all()
    assert vel[2, 0] > 0.8 and vel[2, 1] > 0.8
    assert vel[0, 1] > 0.8 and vel[1, 0] > 0.8
    single = ev.decode_pair(bad_test, good, "corrected", "linear").vel_r2
    assert vel[2, 1] == pytest.approx(single, abs=1e-12)


def test_cross_decoding_frame_and_arrays():
    runs = [make_run(f"Monkey_2020010{i}_M1", seed=i) for i in (1, 2, 3)]
    res = ev.cross_decode(runs, "paper", decoders=["linear", "knn"], dataset="toy")
    df = res.frame
    assert list(df.columns) == list(ev.FRAME_COLUMNS)
    assert len(df) == 3 * 3 * 2 * len(ev.METRICS)
    assert set(df["mode"]) == {"paper"} and set(df["dataset"]) == {"toy"}
    assert set(df.loc[df.pair == "self", "alignment"]) == {"none"}
    assert set(df.loc[df.pair == "cross", "alignment"]) == {"get_best_R"}
    for row in df.itertuples():
        i, j = res.sessions.index(row.train_session), res.sessions.index(row.test_session)
        assert row.value == res.matrices[row.decoder][row.metric][i, j]
    arrays = res.arrays()
    assert arrays["linear_vel_R2"].shape == (3, 3)
    assert arrays["knn_acc_time"].shape == (3, 3, 8)
    assert arrays["rotations"].shape == (3, 3, 3, 3)
    np.testing.assert_array_equal(arrays["time_ms"], np.arange(8) * 30.0)
    assert arrays["knn_k_vel"].shape == (3,)
    with pytest.raises(ValueError, match="one method"):
        ev.cross_decode([runs[0], make_run("Monkey_20200109_M1", method="CEBRA")], "paper")
    with pytest.raises(ValueError, match="evaluation mode"):
        ev.cross_decode(runs, "published")


def test_save_analysis_writes_csv_and_npz(tmp_path):
    runs = [make_run(f"Monkey_2020010{i}_M1", seed=i) for i in (1, 2)]
    res = ev.cross_decode(runs, "corrected", decoders=["linear"], dataset="toy")
    csv, npz = ev.save_analysis(res, tmp_path / "x.csv", tmp_path / "x.npz")
    back = pd.read_csv(csv)
    assert list(back.columns) == list(ev.FRAME_COLUMNS) and len(back) == len(res.frame)
    np.testing.assert_allclose(back["value"].to_numpy(), res.frame["value"].to_numpy())
    with np.load(npz, allow_pickle=False) as data:
        np.testing.assert_array_equal(data["linear_pos_R2"], res.matrices["linear"]["pos_R2"])
        assert str(data["mode"]) == "corrected"
        assert data["sessions"].tolist() == res.sessions
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv", "x.npz"]


def test_explained_variance_table_pads_mixed_trial_lengths():
    runs = [
        make_run("Han_20171201_S1", t_dur=5, method="NER"),
        make_run("Chewie_20161014_M1", t_dur=8, method="NER"),
    ]
    table = ev.explained_variance_table(runs, "corrected", decoders=["linear"], dataset="toy")
    arrays = table.arrays()
    assert arrays["sessions"].tolist() == ["Chewie_20161014_M1", "Han_20171201_S1"]
    assert arrays["linear_vel_R2"].shape == (2, 2)
    assert arrays["linear_acc_time"].shape == (2, 2, 8)
    assert np.isnan(arrays["linear_acc_time"][1, :, 5:]).all()
    assert not np.isnan(arrays["linear_acc_time"][1, :, :5]).any()
    df = table.frame
    assert set(df.split) == {"train", "test"} and set(df.pair) == {"self"}
    assert len(df) == 2 * 2 * len(ev.METRICS)


# -- summaries and statistics ---------------------------------------------------------------------
def test_matrix_summary_and_mean_curve_by_hand():
    m = np.array([[1.0, 2.0], [4.0, 3.0]])
    s = ev.matrix_summary(m)
    assert s["diag_mean"] == 2.0 and s["diag_sd"] == 1.0  # population SD, as np.std
    assert s["offdiag_mean"] == 3.0 and s["offdiag_max"] == 4.0
    acc = np.arange(2 * 2 * 3, dtype=float).reshape(2, 2, 3)
    mean, sd = ev.mean_accuracy_curve(acc)
    np.testing.assert_allclose(mean, acc.reshape(4, 3).mean(0))  # diagonal included
    np.testing.assert_allclose(sd, acc.reshape(4, 3).std(0))
    assert ev.curve_peak(np.array([1.0, 5.0, 2.0])) == (5.0, 30.0)


def _published_matrix(published_dir, fig: str, name: str) -> ev.CrossDecoding:
    with np.load(published_dir / fig / name) as npz:
        n = npz["pos_R_2D"].shape[0]
        dur = npz["acc_time_2D"].shape[0]
        mats = {
            "pos_R2": npz["pos_R_2D"],
            "vel_R2": npz["vel_R_2D"],
            "peak_dir_acc": npz["peak_acc_2D"],
            "dir_MAE_deg": np.full((n, n), np.nan),
        }
        acc = npz["acc_time_2D"].T.reshape(n, n, dur)  # column i*n+j -> [i, j]
    return ev.CrossDecoding(
        method=name, mode="paper", dataset=fig, sessions=[str(i) for i in range(n)],
        seeds=[0] * n, t_dur=dur, decoders=("linear",), matrices={"linear": mats},
        acc_time={"linear": acc}, rotations=np.zeros((n, n, 3, 3)),
        chosen_direction=np.full((n, n), -1),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("fig", "name", "method"),
    [
        ("Fig5", "NER_Chewie.npz", "NER"),
        ("Fig5", "Cebra_Chewie.npz", "Cebra"),
        ("Fig6", "piVAE_Chewie.npz", "piVAE"),
        ("Fig7", "NER_Han2017.npz", "NER"),
    ],
)
def test_cross_summary_reproduces_the_published_summaries(
    published_dir, reference_dir, fig, name, method
):
    result = _published_matrix(published_dir, fig, name)
    summary = ev.cross_summary(result).set_index("metric")
    ref = pd.read_csv(reference_dir / "fig4-7-crossdecode-summary.csv")
    ref = ref[(ref.figure == fig) & (ref.decoder == "linear") & (ref.method == method)]
    for metric in ("pos_R2", "vel_R2", "peak_dir_acc"):
        row = ref[ref.metric == metric].iloc[0]
        for col in ("diag_mean", "offdiag_mean", "diag_sd", "offdiag_sd", "offdiag_median"):
            assert summary.loc[metric, col] == pytest.approx(row[col], rel=1e-12), (metric, col)
    curve = ref[ref.metric == "acc_curve_peak_mean_over_all_pairs"].iloc[0]
    assert summary.loc["peak_dir_acc", "acc_curve_peak"] == pytest.approx(curve.diag_max)
    assert summary.loc["peak_dir_acc", "acc_curve_peak_ms"] == curve.offdiag_max
    curves = pd.read_csv(reference_dir / "fig4-7-acc-curves.csv")
    curves = curves[
        (curves.figure == fig) & (curves.decoder == "linear") & (curves.method == method)
    ]
    mean, sd = ev.mean_accuracy_curve(result.acc_time["linear"])
    np.testing.assert_allclose(mean, curves.mean_acc, rtol=1e-12)
    np.testing.assert_allclose(sd, curves.sd_acc, rtol=1e-12)


def test_paired_tests_reproduce_fig4_7_stats(published_dir, reference_dir):
    ref = pd.read_csv(reference_dir / "fig4-7-stats.csv")
    files = {"Fig5": "_Chewie", "Fig6": "_Chewie", "Fig7": "_Han2017"}
    checked = 0
    for row in ref.itertuples():
        suffix = "_kNN" if row.decoders == "kNN" else ""
        cebra = "Cebra_16D" if row.decoders == "kNN" else "Cebra"
        names = {"NER": "NER", "CEBRA": cebra, "piVAE": "piVAE"}
        samples = {}
        for label, stem in names.items():
            with np.load(
                published_dir / row.figure / f"{stem}{files[row.figure]}{suffix}.npz"
            ) as z:
                diag, off = ev.diagonal_split(z[f"{row.metric}_R_2D"])
            samples[label] = diag if row.subset == "diag" else off
        out = ev.paired_tests(samples)
        assert out["n"] == row.n
        for col in (
            "NER_mean", "NER_sd", "CEBRA_sd", "piVAE_mean",
            "NER_vs_CEBRA_t", "NER_vs_CEBRA_p", "NER_vs_piVAE_t", "CEBRA_vs_piVAE_p",
            "rmANOVA_F", "rmANOVA_p", "friedman_stat", "friedman_p",
        ):  # fmt: skip
            assert out[col] == pytest.approx(getattr(row, col), rel=1e-9), (row.Index, col)
        checked += 1
    assert checked == len(ref) == 20


def test_compare_methods_pairs_elements_by_session_not_by_position():
    rng = np.random.default_rng(0)
    sessions = [f"Monkey_2020010{i}_M1" for i in range(4)]
    values = {m: rng.normal(size=(4, 4)) + k for k, m in enumerate(["A", "B", "C"])}
    rows = []
    for m, mat in values.items():
        for i, j in itertools.product(range(4), range(4)):
            rows.append({"analysis": "cross_decode", "dataset": "", "method": m,
                         "mode": "corrected", "seed": 0, "decoder": "linear",
                         "train_session": sessions[i], "test_session": sessions[j],
                         "split": "test", "pair": "self" if i == j else "cross",
                         "alignment": "", "metric": "vel_R2", "value": mat[i, j]})  # fmt: skip
    frame = pd.DataFrame(rows).sample(frac=1.0, random_state=1)  # shuffled row order
    got = ev.compare_methods(
        frame, ["A", "B", "C"], metric="vel_R2", decoder="linear", subset="offdiag"
    )
    expected = ev.paired_tests({m: ev.diagonal_split(v)[1] for m, v in values.items()})
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-12), key
    assert got["n"] == 12 and got["n_dropped"] == 0
    # An element missing for one method is dropped for all.
    partial = frame.drop(frame[(frame.method == "B") & (frame.train_session == sessions[0])].index)
    got = ev.compare_methods(
        partial, ["A", "B", "C"], metric="vel_R2", decoder="linear", subset="diag"
    )
    assert got["n"] == 3 and got["n_dropped"] == 1


def test_fig4_kNN_twin_on_a_small_session():
    run = make_run("Monkey_20200101_M1", n_trials=48)
    res = ev.explained_variance(run, "paper", "knn")
    assert res.knn is not None and res.train.vel_r2 > 0.8
    table = ev.explained_variance_table([run], "paper", decoders=["linear", "knn"])
    assert table.arrays()["knn_k_vel"][0] == res.knn[0].best_k


def test_curve_peak_skips_nan_bins_and_has_no_peak_without_values():
    curve = np.array([np.nan, 40.0, 55.0, np.nan])
    assert ev.curve_peak(curve) == (55.0, 60.0)
    assert ev.curve_peak(curve, time_ms=np.array([0.0, 10.0, 20.0, 30.0])) == (55.0, 20.0)
    peak, when = ev.curve_peak(np.full(4, np.nan))
    assert np.isnan(peak) and np.isnan(when)


def test_session_names_are_split_in_one_place():
    from ner_repro.core.config import session_parts
    from ner_repro.plotting import matrices, style

    assert session_parts("Chewie_20161007_M1") == ("Chewie", "20161007", "M1")
    assert session_parts("MCMaze_curve-straight-13") == ("", "MCMaze_curve-straight-13", "")
    names = ["Han_20171201_S1", "Chewie_20161007_M1", "Chewie_20150630_M1"]
    assert sorted(names, key=ev.session_key) == sorted(names, key=matrices.session_sort_key)
    assert style.session_title("Chewie_20161007_M1") == "Chewie 20161007 M1"
    assert style.session_title("Chewie_20161007_M1", short=True) == "20161007"
