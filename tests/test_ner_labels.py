"""NER on any continuous labels: the label metric, its checks, the loss, save/load, decoding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score

from ner_patch import NER
from ner_patch.labels import PAPER, LabelMetric, check_labels, check_rankable, resolve
from ner_patch.loss import label_distance, ner_loss
from tests.test_ner_loss import loss_and_grad, plain_ner_loss, random_features


# -- the metric -------------------------------------------------------------------------------
def test_defaults_are_the_papers_for_three_columns_and_plain_otherwise():
    assert resolve(3) == PAPER and PAPER.is_paper
    assert resolve(2) == LabelMetric(2, (0, 1), (), (1.0, 1.0))
    assert resolve(1) == LabelMetric(1, (0,))
    # Three columns that are not the paper's: say so with circular_columns={}.
    assert resolve(3, circular_columns={}) == LabelMetric(3, (0, 1, 2))
    custom = resolve(4, circular_columns={3: 2 * np.pi}, label_weights=[1, 1, 0, 2])
    assert custom.positive_columns == (0, 1, 2) and custom.circular == ((3, 2 * np.pi),)
    assert resolve(3, positive_columns=[-1]).positive_columns == (2,)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"positive_columns": [4]}, "positive_columns: column 4 does not exist"),
        ({"positive_columns": [0, 0]}, "positive_columns: a column is given twice"),
        ({"positive_columns": ["x"]}, "positive_columns: column indices must be integers"),
        ({"circular_columns": {1: 0}}, "circular_columns: the period of column 1 must be"),
        ({"circular_columns": {5: 360}}, "circular_columns: column 5 does not exist"),
        ({"circular_columns": {0: 360, 1: 360}}, "positive_columns: every label column is"),
        ({"label_weights": [1]}, r"label_weights: one weight per label column \(2\)"),
        ({"label_weights": [1, -1]}, "label_weights: weights must be numbers >= 0"),
        ({"label_weights": [0, 0]}, "label_weights: at least one weight must be > 0"),
    ],
)
def test_bad_arguments_are_errors_naming_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        resolve(2, **kwargs)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_paper_metric_distance_is_the_papers_bit_for_bit(dtype):
    g = torch.Generator().manual_seed(0)
    labels = torch.cat(
        [10 * torch.randn(64, 2, generator=g), 45.0 * torch.randint(0, 8, (64, 1), generator=g)],
        1,
    ).to(dtype)
    assert torch.equal(PAPER.distance(labels), label_distance(labels))


def test_general_distance_is_weighted_l1_with_circular_columns():
    labels = torch.tensor(
        [[0.0, 350.0, 1.0], [2.0, 10.0, 5.0], [-1.0, 725.0, 1.0]], dtype=torch.float64
    )
    metric = resolve(3, circular_columns={1: 360}, label_weights=[2, 1, 0.5])
    d = metric.distance(labels)
    # row 0 vs 1: 2*2 + 20 (around the circle) + 0.5*4; row 0 vs 2: 2*1 + 15 (725 = 5) + 0.
    assert d[0, 1] == 4 + 20 + 2 and d[0, 2] == 2 + 15 and torch.equal(d, d.T)
    assert torch.all(d.diagonal() == 0)


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_loss_with_a_general_metric_matches_the_plain_formula(backend, monkeypatch):
    g = torch.Generator().manual_seed(3)
    features = random_features(12, 3, g)
    labels = torch.randn(12, 2, generator=g, dtype=torch.float64)
    metric = resolve(2, label_weights=[1.0, 0.5])
    # The plain loop with the general D (plain_ner_loss reads D from plain_label_distance).
    import tests.test_ner_loss as plain

    monkeypatch.setattr(
        plain,
        "plain_label_distance",
        lambda a, b: metric.distance(torch.stack([a, b]))[0, 1],
    )
    ref_loss, ref_grad = loss_and_grad(plain_ner_loss, features, labels)
    loss, grad = loss_and_grad(ner_loss, features, labels, metric=metric, backend=backend)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-10, atol=1e-12)


def test_paper_metric_gives_the_default_loss_bit_for_bit():
    g = torch.Generator().manual_seed(1)
    features = random_features(40, 3, g).float()
    labels = torch.cat(
        [10 * torch.randn(40, 2, generator=g), 45.0 * torch.randint(0, 8, (40, 1), generator=g)], 1
    )
    a = loss_and_grad(ner_loss, features, labels)
    b = loss_and_grad(ner_loss, features, labels, metric=PAPER)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    with pytest.raises(ValueError, match=r"labels must have shape \(40, 2\)"):
        ner_loss(features, labels, metric=resolve(2))


# -- the labels -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([["a", "b"]] * 10), "y: labels must be numeric"),
        (np.zeros((10, 2, 2)), r"y: labels must have shape \(T,\) or \(T, k\)"),
        (np.arange(9.0), "y: 9 rows of labels for 10 rows of neural data"),
        (np.c_[np.arange(10.0), np.r_[np.arange(9.0), np.nan]], "y: column 1 has 1 NaN .*row 9"),
    ],
)
def test_labels_that_cannot_be_ranked_are_refused(labels, message):
    with pytest.raises(ValueError, match=message):
        check_labels(labels, n_samples=10)


def test_labels_keep_float_dtypes_and_become_two_dimensional():
    assert check_labels(np.arange(5, dtype=np.float64)).shape == (5, 1)
    assert check_labels(np.arange(5, dtype=np.float32)).dtype == np.float32
    assert check_labels(np.arange(5)).dtype == np.float32  # integers are continuous here
    assert check_labels(torch.arange(5.0)).shape == (5, 1)


# -- a user's (T, 2) labels end to end ---------------------------------------------------------
@pytest.fixture(scope="module")
def hand_position():
    """A hand moving on a closed, wobbly path, and 30 neurons tuned to its position."""
    rng = np.random.default_rng(0)
    t = np.arange(1500)
    pos = np.c_[
        np.sin(2 * np.pi * t / 97) + 0.5 * np.sin(2 * np.pi * t / 31),
        np.cos(2 * np.pi * t / 71) + 0.5 * np.sin(2 * np.pi * t / 23),
    ]
    pos = (pos - pos.mean(0)) / pos.std(0)
    tuning = rng.normal(size=(2, 30))
    neural = np.tanh(pos @ tuning) + 0.3 * rng.normal(size=(1500, 30))
    return neural.astype(np.float32), pos


def test_position_labels_fit_save_load_and_decode_with_the_defaults(hand_position, tmp_path):
    neural, pos = hand_position
    train, test = slice(0, 1200), slice(1200, None)
    torch.manual_seed(0)
    model = NER(
        batch_size=256, learning_rate=3e-3, output_dimension=3, max_iterations=300, device="cpu"
    ).fit(neural[train], pos[train])
    assert model.label_metric_ == LabelMetric(2, (0, 1))
    path = tmp_path / "ner.pt"
    model.save(path)
    loaded = NER.load(path)
    assert loaded.get_params() == model.get_params() and loaded.label_metric_ == model.label_metric_
    emb = model.transform(neural)
    assert np.array_equal(loaded.transform(neural), emb)
    reg = LinearRegression().fit(emb[train], pos[train])
    held_out = r2_score(pos[test], reg.predict(emb[test]))
    assert held_out > 0.8, held_out  # 0.93 when written


def test_non_default_arguments_survive_save_and_load(hand_position, tmp_path):
    neural, pos = hand_position
    labels = np.c_[pos, np.degrees(np.arctan2(pos[:, 1], pos[:, 0])) % 360]
    torch.manual_seed(0)
    model = NER(
        batch_size=64,
        max_iterations=5,
        device="cpu",
        positive_columns=[0, 1],
        circular_columns={2: 360.0},
        label_weights=[1.0, 1.0, 0.1],
    ).fit(neural, labels)
    model.save(tmp_path / "m.pt")
    loaded = NER.load(tmp_path / "m.pt")
    assert loaded.get_params()["label_weights"] == [1.0, 1.0, 0.1]
    assert loaded.label_metric_.weights == (1.0, 1.0, 0.1)


def test_constant_columns_warn_and_all_constant_labels_are_refused():
    labels = np.c_[np.arange(10.0), np.full(10, 3.0)]
    with pytest.warns(UserWarning, match=r"y: label column 1 is constant \(3\)"):
        check_rankable(labels, resolve(2))
    check_rankable(labels, resolve(2, label_weights=[1, 0]))  # a column weighted 0: silent
    with pytest.raises(ValueError, match=r"y: every label column the distance uses \(0, 1\)"):
        check_rankable(np.ones((10, 2)), resolve(2))
