"""Decoders and metrics (ner_repro.analysis.decoding): hand-built cases and the authors' Fig1 numbers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import r2_score

from ner_repro.analysis import decoding as dc

PER_SESSION = "per_session/{}_Chewie/NPZ/Chewie_161014_embed_20000itr_M1.npz"


# -- positions, accuracy, R², angles ---------------------------------------------------------------
def test_positions_are_per_trial_cumulative_sums_starting_at_zero():
    vel = np.array(
        [[1.0, 0.0], [2.0, 1.0], [3.0, -1.0], [10.0, 5.0], [-1.0, 0.0], [0.5, 0.5]],
    )
    pos = dc.positions_from_velocity(vel, t_dur=3)
    expected = np.array(
        [[1.0, 0.0], [3.0, 1.0], [6.0, 0.0], [10.0, 5.0], [9.0, 5.0], [9.5, 5.5]],
    )
    np.testing.assert_array_equal(pos, expected)
    # A trial's positions do not depend on the trials before it.
    np.testing.assert_array_equal(dc.positions_from_velocity(vel[3:], 3), expected[3:])


def test_positions_reject_partial_trials():
    with pytest.raises(ValueError, match="whole number of trials"):
        dc.positions_from_velocity(np.zeros((7, 2)), t_dur=3)


def test_accuracy_per_bin_counts_trials_per_bin():
    # 4 trials of 3 bins; true class constant per trial.
    true = np.repeat([0, 1, 2, 3], 3)
    pred = np.array([0, 0, 0, 5, 1, 1, 2, 2, 7, 3, 6, 6])
    acc = dc.accuracy_per_bin(pred, true, t_dur=3)
    # bin 0: trials 0,2,3 right; bin 1: 0,1,2; bin 2: 0,1
    np.testing.assert_allclose(acc, [75.0, 75.0, 50.0])
    assert dc.peak_accuracy(acc) == 75.0


def test_r2_uniform_average_and_swapped_order():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(200, 2)) * [3.0, 1.0]
    pred = 0.4 * y + rng.normal(scale=0.2, size=y.shape)  # low-variance prediction
    correct = dc.r2(y, pred)
    swapped = dc.r2(y, pred, swapped=True)
    per_axis = [r2_score(y[:, a], pred[:, a]) for a in range(2)]
    assert correct == pytest.approx(np.mean(per_axis), abs=1e-12)
    assert swapped == pytest.approx(r2_score(pred, y), abs=1e-12)
    # Scoring a shrunken prediction as if it were the truth penalises it heavily (CEBRA ≈ −3).
    assert swapped < 0 < correct


def test_circular_direction_error_and_classes():
    np.testing.assert_allclose(
        dc.circular_error_deg([350.0, 0.0, 90.0, 315.0], [10.0, 180.0, 45.0, 0.0]),
        [20.0, 180.0, 45.0, 45.0],
    )
    assert dc.direction_mae_deg([350.0, 0.0], [10.0, 0.0]) == pytest.approx(10.0)
    np.testing.assert_array_equal(
        dc.direction_class(np.array([0.0, 45.0, 180.0, 315.0])), [0, 1, 4, 7]
    )


# -- kNN model selection ---------------------------------------------------------------------------
def test_knn_grid_is_capped_by_the_smallest_training_fold():
    assert dc.knn_grid(20) == (2, 4, 8, 16)  # 5 folds of 4 -> 16 training samples
    assert dc.knn_grid(10_000) == dc.KNN_GRID
    with pytest.raises(ValueError, match="too few samples"):
        dc.knn_grid(2)


@pytest.mark.parametrize("n", [90, 500])
def test_fast_knn_search_equals_gridsearchcv(n):
    rng = np.random.default_rng(n)
    X = rng.normal(size=(n, 3))
    y_reg = np.c_[np.sin(2 * X[:, 0]) + 0.3 * rng.normal(size=n), X[:, 1] ** 2]
    y_cls = (np.digitize(X[:, 0] + 0.5 * rng.normal(size=n), [-1, -0.3, 0.3, 1])).astype(int)
    for task, y in (("regression", y_reg), ("classification", y_cls)):
        fast = dc.knn_grid_search(X, y, task)
        exact = dc.knn_grid_search(X, y, task, exact=True)
        assert fast.grid == exact.grid
        assert fast.best_k == exact.best_k
        np.testing.assert_allclose(fast.mean_scores, exact.mean_scores, rtol=0, atol=1e-12)
    if n == 90:
        assert max(fast.grid) == 64  # 72 training samples per fold


# -- decoders on a synthetic embedding ------------------------------------------------------------
def _toy(n_trials: int = 48, t_dur: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    cls = np.repeat(np.arange(n_trials) % 8, t_dur)
    theta = np.deg2rad(cls * 45.0)
    speed = np.tile(np.sin(np.linspace(0, np.pi, t_dur)), n_trials) * 50
    vel = np.c_[speed * np.cos(theta), speed * np.sin(theta)]
    labels = np.c_[vel, cls * 45.0]
    emb = np.c_[vel / 50, np.cos(theta), np.sin(theta)] + 0.01 * rng.normal(size=(len(cls), 4))
    return emb, labels, t_dur


def test_linear_decoders_on_a_linearly_decodable_embedding():
    emb, labels, t_dur = _toy()
    dec = dc.fit_decoders(emb, labels, "linear")
    scores = dc.score_decoders(dec, emb, labels, t_dur)
    assert scores.vel_r2 > 0.999 and scores.pos_r2 > 0.999
    assert scores.peak_dir_acc == 100.0 and scores.dir_mae_deg == 0.0
    assert scores.acc_time.shape == (t_dur,)
    # An embedding unrelated to the labels decodes nothing on held-out trials.
    noise = np.random.default_rng(5).normal(size=emb.shape)
    half = len(emb) // 2
    junk = dc.fit_decoders(noise[:half], labels[:half], "linear")
    assert dc.score_decoders(junk, noise[half:], labels[half:], t_dur).vel_r2 < 0.05


def test_knn_decoders_use_the_selected_neighbours():
    emb, labels, t_dur = _toy()
    dec = dc.fit_decoders(emb, labels, "knn")
    assert dec.knn_velocity is not None and dec.knn_direction is not None
    assert dec.velocity.n_neighbors == dec.knn_velocity.best_k
    assert dec.direction.n_neighbors == dec.knn_direction.best_k
    assert dc.score_decoders(dec, emb, labels, t_dur).peak_dir_acc == 100.0
    with pytest.raises(ValueError, match="decoder must be"):
        dc.fit_decoders(emb, labels, "svm")


def test_in_sample_analysis_axes_and_pvalues():
    emb, labels, t_dur = _toy()
    rng = np.random.default_rng(1)
    emb = np.c_[emb[:, :2], rng.normal(size=len(emb))]  # 3rd dimension: pure noise
    res = dc.in_sample_analysis(emb, labels, t_dur)
    assert res.vel_r2 == pytest.approx(res.r2_axis.mean(), abs=1e-12)
    assert res.pvalues is not None and res.pvalues.shape == (2, 4)
    assert res.pvalues[0, 1] < 1e-100 and res.pvalues[1, 2] < 1e-100
    assert res.pvalues[0, 3] > 1e-3  # the noise dimension does not explain x-velocity
    assert res.dir_acc is not None and res.pred_dir_deg is not None
    np.testing.assert_array_equal(res.true_pos, dc.positions_from_velocity(labels[:, :2], t_dur))
    # Fig8: labels without an angle -> no direction decoding.
    fig8 = dc.in_sample_analysis(
        emb, np.c_[labels[:, :2], np.zeros(len(emb))], t_dur, direction=False
    )
    assert fig8.pred_dir_deg is None and fig8.vel_r2 == pytest.approx(res.vel_r2)


@pytest.mark.parametrize(
    ("method", "vel", "pos", "r2x", "r2y"),
    [("NER", 0.857, 0.971, 0.856, 0.857), ("Cebra", 0.239, 0.819, 0.263, 0.214)],
)
def test_in_sample_analysis_matches_the_authors_161014_numbers(
    published_dir, method, vel, pos, r2x, r2y
):
    # fig1-3-demo.md §1 (docs/sources.md): linear in-sample decoding of the 20000-iteration
    # 161014 embeddings.
    with np.load(published_dir / PER_SESSION.format(method)) as npz:
        emb, labels = npz["cebra_veldir_train"], npz["continuous_index_train"]
    res = dc.in_sample_analysis(emb, labels, 40)
    assert round(res.vel_r2, 3) == vel
    assert round(res.pos_r2, 3) == pos
    assert np.round(res.r2_axis, 3).tolist() == [r2x, r2y]


@pytest.mark.slow
def test_fast_knn_search_equals_gridsearchcv_on_the_published_161014_embedding(published_dir):
    with np.load(published_dir / PER_SESSION.format("NER")) as npz:
        X, labels = npz["cebra_veldir_train"], npz["continuous_index_train"]
    for task, y in (
        ("regression", labels[:, :2]),
        ("classification", dc.direction_class(labels[:, 2])),
    ):
        fast = dc.knn_grid_search(X, y, task, n_jobs=2)
        exact = dc.knn_grid_search(X, y, task, n_jobs=2, exact=True)
        assert fast.best_k == exact.best_k
        np.testing.assert_allclose(fast.mean_scores, exact.mean_scores, rtol=0, atol=1e-12)
