"""Alignment (ner_repro.analysis.alignment): Procrustes, the authors' get_best_R, the corrected joint fit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from ner_repro.analysis import alignment as al
from ner_repro.analysis.evaluation import align_pair
from ner_repro.core.embedding import EmbeddingRun

T_DUR = 6


def _session(n_trials: int = 32, d: int = 3, seed: int = 0):
    """Embedding with direction-specific mean trajectories plus trial noise; all 8 directions."""
    rng = np.random.default_rng(seed)
    cls = np.arange(n_trials) % 8
    base = rng.normal(size=(8, T_DUR, d))
    trials = base[cls] + 0.05 * rng.normal(size=(n_trials, T_DUR, d))
    angles = np.repeat(cls * 45.0, T_DUR)
    labels = np.c_[rng.normal(size=(n_trials * T_DUR, 2)), angles]
    return trials.reshape(-1, d), labels


def _run(emb, labels, session, n_train):
    cut = n_train * T_DUR
    return EmbeddingRun(
        method="X",
        session=session,
        seed=0,
        train=emb[:cut],
        test=emb[cut:],
        labels_train=labels[:cut],
        labels_test=labels[cut:],
        t_dur=T_DUR,
    )


def _rotation(seed: int, reflect: bool = False, d: int = 3) -> np.ndarray:
    if d == 3:
        Q = Rotation.random(random_state=seed).as_matrix()
    else:
        Q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
        if np.linalg.det(Q) < 0:
            Q[:, 0] *= -1
    if reflect:
        Q = Q @ np.diag([1.0] * (d - 1) + [-1.0])
    return Q


# -- trial averages --------------------------------------------------------------------------------
def test_trial_averages_by_direction_with_nan_for_absent_directions():
    emb = np.arange(4 * 2 * 1, dtype=float).reshape(8, 1)  # 4 trials of 2 bins, d = 1
    angles = np.repeat([90.0, 0.0, 90.0, 315.0], 2)
    avg, counts = al.trial_averages(emb, angles, t_dur=2)
    assert avg.shape == (2, 1, 8)
    np.testing.assert_array_equal(counts, [1, 0, 2, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(avg[:, 0, 2], [(0 + 4) / 2, (1 + 5) / 2])
    np.testing.assert_array_equal(avg[:, 0, 0], [2.0, 3.0])
    np.testing.assert_array_equal(avg[:, 0, 7], [6.0, 7.0])
    assert np.isnan(avg[:, :, 1]).all()
    with pytest.raises(ValueError, match="changes within a trial"):
        al.trial_averages(emb, np.r_[0.0, 45.0, angles[2:]], t_dur=2)


def test_trial_averages_reproduce_the_published_fig3_anchor(published_dir):
    # The Fig3 anchor is the NER 161014 training embedding's direction averages
    # (fig1-3-demo.md §4; docs/sources.md).
    path = published_dir / "per_session/NER_Chewie/NPZ/Chewie_161014_embed_20000itr_M1.npz"
    with np.load(path) as npz:
        avg, counts = al.trial_averages(
            npz["cebra_veldir_train"], npz["continuous_index_train"], 40
        )
    with np.load(published_dir / "Fig3/anchor_emb_Chewie_20161014.npz") as npz:
        anchor = npz["anchor_emb"]
    np.testing.assert_array_equal(avg, anchor)
    np.testing.assert_array_equal(counts, [74, 74, 74, 70, 67, 75, 82, 76])  # fig1-3-demo.md §1


# -- Procrustes -------------------------------------------------------------------------------------
@pytest.mark.parametrize("reflect", [False, True])
@pytest.mark.parametrize("d", [3, 16])
def test_procrustes_recovers_a_known_rotation_or_reflection(reflect, d):
    rng = np.random.default_rng(d)
    source = rng.normal(size=(40, d))
    Q = _rotation(7, reflect, d)
    R = al.procrustes(source, source @ Q)
    np.testing.assert_allclose(R, Q, atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(-1.0 if reflect else 1.0)


def test_joint_rotation_skips_directions_missing_in_either_session():
    emb, labels = _session(n_trials=16)
    Q = _rotation(3, reflect=True)
    avg_a, _ = al.trial_averages(emb, labels, T_DUR)
    avg_b = al.rotate_averages(avg_a, Q)
    avg_b[:, :, 5] = np.nan
    np.testing.assert_allclose(al.joint_rotation(avg_a, avg_b), Q, atol=1e-12)
    with pytest.raises(al.AlignmentError, match=r"direction\(s\) \[5\]"):
        al.per_direction_rotations(avg_a, avg_b)


# -- get_best_R -------------------------------------------------------------------------------------
def _candidates():
    """8 near-orthogonal 2×2 matrices whose determinants are known."""
    rot90 = np.array([[0.0, -1.0], [1.0, 0.0]])
    flip_x = np.diag([-1.0, 1.0])
    mats = [
        1.1 * np.eye(2),  # det 1.21    (positive group, | |det|-1 | = 0.21)
        rot90,  # det 1       (positive, 0)       <- p*
        1.05 * np.diag([1.0, -1.0]),  # det -1.1025 (negative, 0.1025)
        flip_x,  # det -1      (negative, 0)       <- n*
        2.0 * np.eye(2),  # det 4
        np.eye(2),  # det 1, ties with a1 on | |det|-1 |: the first (a1) wins
        2.0 * flip_x,  # det -4
        0.5 * rot90,  # det 0.25
    ]
    return np.stack(mats, axis=2)


def test_get_best_R_matches_a_hand_computation():
    R_all = _candidates()
    emb = np.array([[1.0, 0.0], [0.0, 1.0]])
    e8 = np.array([[-1.0, 0.0], [0.0, 1.0]])  # = emb @ flip_x
    best = al.get_best_R(R_all, emb, e8)
    # p* = a1 (rot90): emb @ rot90 = [[0,-1],[1,0]]; |[1,-1]| + |[1,-1]| = 4.  n* = a3: exact, 0.
    assert (best.positive, best.negative) == (1, 3)
    assert best.diff_positive == 4.0 and best.diff_negative == 0.0
    assert best.index == 3
    np.testing.assert_array_equal(best.R, R_all[:, :, 3])
    # Make the positive candidate the closer one: E8 = emb @ rot90.
    best = al.get_best_R(R_all, emb, emb @ R_all[:, :, 1])
    assert best.index == 1 and best.diff_positive == 0.0 and best.diff_negative == 4.0


def test_get_best_R_with_an_empty_sign_group_and_the_undefined_tie():
    R_all = np.stack([np.eye(2)] * 4 + [np.diag([1.0, -1.0])] * 4, axis=2)
    positives = R_all.copy()
    positives[:, :, 4:] = np.eye(2)[:, :, None]
    emb = np.array([[1.0, 0.0]])  # both candidates map it to [1, 0]: equal L1 distances
    best = al.get_best_R(positives, emb, emb)
    assert best.negative is None and best.diff_negative == 5_000_000.0 and best.index == 0
    with pytest.raises(al.AlignmentError, match="UnboundLocalError"):
        al.get_best_R(R_all, emb, emb)
    fallback = al.get_best_R(R_all, emb, emb, on_tie="positive")
    assert fallback.index == 0


# -- session to session, anchor -----------------------------------------------------------------------
@pytest.mark.parametrize("reflect", [False, True])
def test_both_alignments_recover_the_rotation_between_a_session_and_its_rotated_copy(reflect):
    emb, labels = _session()
    Q = _rotation(11, reflect)
    paper = al.paper_alignment(emb, labels, emb @ Q, labels, T_DUR)
    assert paper.method == "get_best_R" and 0 <= paper.chosen_direction < 8
    np.testing.assert_allclose(paper.R, Q, atol=1e-10)
    assert paper.R_all is not None and paper.R_all.shape == (3, 3, 8)
    corrected = al.corrected_alignment(emb, labels, emb @ Q, labels, T_DUR)
    assert corrected.method == "joint_procrustes"
    np.testing.assert_allclose(corrected.R, Q, atol=1e-10)


def test_corrected_alignment_uses_no_test_data_and_paper_alignment_does():
    emb_a, lab = _session(seed=1)
    emb_b, _ = _session(seed=2)
    a = _run(emb_a, lab, "M_20200101_M1", n_train=24)
    b = _run(emb_b, lab, "M_20200102_M1", n_train=24)
    rng = np.random.default_rng(9)
    b_changed = _run(
        np.r_[emb_b[: 24 * T_DUR], rng.normal(size=emb_b[24 * T_DUR :].shape)],
        np.r_[
            lab[: 24 * T_DUR], np.c_[lab[24 * T_DUR :, :2], np.roll(lab[24 * T_DUR :, 2], T_DUR)]
        ],
        "M_20200102_M1",
        n_train=24,
    )
    R = align_pair(a, b, "corrected").R
    np.testing.assert_array_equal(align_pair(a, b_changed, "corrected").R, R)
    # The authors' alignment averages over B's test trials too (the leakage documented in
    # fig4-7.md §6.2; docs/sources.md).
    assert not np.allclose(align_pair(a, b, "paper").R_all, align_pair(a, b_changed, "paper").R_all)


@pytest.mark.parametrize("mode", ["paper", "corrected"])
def test_align_to_anchor_rotates_a_session_onto_the_anchor(mode):
    emb, labels = _session()
    Q = _rotation(5, reflect=True)
    anchor, _ = al.trial_averages(emb @ Q, labels, T_DUR)
    res = al.align_to_anchor(emb, labels, anchor, T_DUR, mode)
    np.testing.assert_allclose(res.alignment.R, Q, atol=1e-10)
    np.testing.assert_allclose(res.aligned, emb @ Q, atol=1e-10)
    np.testing.assert_allclose(res.aligned_averages, anchor, atol=1e-10)
    assert res.rmse_before > 0.1 and res.rmse_after < 1e-10
    with pytest.raises(ValueError, match="does not match"):
        al.align_to_anchor(emb, labels, anchor[1:], T_DUR, mode)


@pytest.mark.parametrize("mode", ["paper", "corrected"])
def test_cebra_onto_the_published_ner_anchor_reduces_the_mismatch(published_dir, mode):
    path = published_dir / "per_session/Cebra_Chewie/NPZ/Chewie_161014_embed_20000itr_M1.npz"
    with np.load(path) as npz:
        emb, labels = npz["cebra_veldir_train"], npz["continuous_index_train"]
    with np.load(published_dir / "Fig3/anchor_emb_Chewie_20161014.npz") as npz:
        anchor = npz["anchor_emb"]
    res = al.align_to_anchor(emb, labels, anchor, 40, mode)
    assert res.rmse_after < res.rmse_before
    np.testing.assert_allclose(res.alignment.R @ res.alignment.R.T, np.eye(3), atol=1e-12)
    if mode == "corrected":
        # The joint fit minimises the stacked Frobenius distance: no per-direction candidate
        # (and hence not get_best_R's choice) does better.
        paper = al.align_to_anchor(emb, labels, anchor, 40, "paper")
        assert res.rmse_after <= paper.rmse_after + 1e-12
