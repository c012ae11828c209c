"""NER as a scikit-learn estimator: scikit-learn's own estimator checks, run on ``ner_patch.NER``
and on ``cebra.CEBRA`` with the same small settings. NER must pass every check CEBRA passes
(a check that skips for both, with its reason, is fine), and it passes more: it checks the
number of features in ``transform`` and ``partial_fit``, and refuses sparse input in words.

Integer labels: NER ranks samples by the distance between their labels, so a one-column
numeric label is rankable whatever its dtype; integers are read as numbers (counts, ordered
levels, binned positions), as scikit-learn's check_fit_score_takes_y passes them. A code of
unordered classes is not what NER is for (the distance between codes means nothing); its
docstring says to pass such classes one-hot. Stock CEBRA instead reads integers as a discrete
index, a different kind of training that NER does not have.
"""

from __future__ import annotations

import warnings

import pytest

cebra = pytest.importorskip("cebra")
sklearn_checks = pytest.importorskip("sklearn.utils.estimator_checks")

import torch  # noqa: E402
from sklearn.exceptions import SkipTestWarning  # noqa: E402

import ner_patch  # noqa: E402

SETTINGS = dict(
    model_architecture="offset1-model",
    pad_before_transform=True,
    device="cpu",
    time_offsets=1,
    max_iterations=5,
    batch_size=10,
)
#: Checks NER passes although CEBRA does not (the issue's "at least one more").
NER_ONLY = {
    "check_n_features_in_after_fitting",
    "check_estimator_sparse_array",
    "check_estimator_sparse_matrix",
}


def _outcomes(estimator) -> dict[str, str]:
    """``check name -> "pass" | "skip: reason" | "fail: error"`` for every check."""
    out = {}
    for est, check in sklearn_checks.estimator_checks_generator(estimator, legacy=True):
        name = getattr(check, "func", check).__name__
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                check(est)
            skips = [w for w in caught if issubclass(w.category, SkipTestWarning)]
            out[name] = f"skip: {skips[0].message}" if skips else "pass"
        except Exception as exc:  # a failed check raises anything
            kind = "skip" if type(exc).__name__ == "SkipTest" else "fail"
            out[name] = f"{kind}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return out


@pytest.fixture(scope="module")
def outcomes() -> tuple[dict[str, str], dict[str, str]]:
    return _outcomes(cebra.CEBRA(**SETTINGS)), _outcomes(ner_patch.NER(**SETTINGS))


def test_ner_passes_every_check_cebra_passes(outcomes):
    stock, ner = outcomes
    assert set(stock) == set(ner)
    lost = {k: ner[k] for k, v in stock.items() if v == "pass" and ner[k] != "pass"}
    assert not lost, f"NER fails checks CEBRA passes: {lost}"


def test_ner_passes_checks_cebra_fails(outcomes):
    stock, ner = outcomes
    for name in NER_ONLY:
        assert ner[name] == "pass", ner[name]
        assert stock[name] != "pass"  # if CEBRA learns these, move them out of NER_ONLY


@pytest.mark.parametrize(
    ("labels", "words"),
    [
        ([1 + 1j, 2 + 0j, 3 + 0j], ["y:", "Complex data not supported"]),
        (__import__("numpy").array(["a", "b", "c"]), ["y:", "Unknown label type"]),
        (__import__("numpy").array([1, "b", 3], dtype=object), ["y:", "Unknown label type", "'b'"]),
        ([[0.5]], ["y:", "1 sample", "at least 2"]),
    ],
)
def test_bad_labels_name_the_argument_and_the_cause(labels, words):
    import numpy as np

    n = len(labels)
    model = ner_patch.NER(**SETTINGS)
    with pytest.raises(ValueError) as info:
        model.fit(np.random.default_rng(0).normal(size=(n, 4)), labels)
    for word in words:
        assert word in str(info.value)


def test_integer_and_numeric_object_labels_are_numbers():
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5)).astype(np.float32)
    steps = np.repeat(np.arange(6), 10)  # an ordered level

    def fit(labels):
        torch.manual_seed(0)
        return ner_patch.NER(**SETTINGS).fit(X, labels)

    # integers are read as float32 numbers, numeric objects as float64 numbers
    a, b = fit(steps), fit(steps.astype(object))
    assert np.array_equal(a.transform(X), fit(steps.astype(np.float32)).transform(X))
    assert np.array_equal(b.transform(X), fit(steps.astype(np.float64)).transform(X))
    with pytest.raises(ValueError, match="X has 4 features, but NER is expecting 5"):
        a.transform(X[:, :4])
    a.partial_fit(X, steps)  # goes on training with the same number of features
    with pytest.raises(ValueError, match="X has 4 features"):
        a.partial_fit(X[:, :4], steps)
