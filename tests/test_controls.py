"""The shuffled-label control: the shuffle, the runs it makes, their decoding, plan and report."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from ner_repro.analysis.controls import CHANCE_R2, shuffled_label_decoding
from ner_repro.core.config import load_config
from ner_repro.methods import run_method
from ner_repro.methods.common import SHUFFLE_NOTE, shuffled_labels
from ner_repro.plan import Plan
from ner_repro.report.document import control_blocks
from ner_repro.synthetic.reaching import SimulatedSession, simulate_session

SETTINGS = {"max_iterations": 300, "batch_size": 256, "learning_rate": 3e-3}


@pytest.fixture(scope="module")
def session():
    spec = SimulatedSession("Sim", "20000101", {"M1": 60}, 80, seed=1, baseline_rate_hz=20.0)
    return simulate_session(spec, "M1", t_dur=30)[0]


@pytest.fixture(scope="module")
def runs(session):
    """NER on the real labels and on shuffled ones (same seed)."""
    return [
        run_method(
            session,
            method=name,
            spec={"kind": "ner", **SETTINGS, "shuffle_labels": shuffle},
            seed=0,
            progress=False,
        )
        for name, shuffle in (("NER", False), ("NERshuffled", True))
    ]


def test_the_shuffle_is_a_seeded_permutation_of_the_rows():
    labels = np.arange(40.0).reshape(20, 2)
    a, order = shuffled_labels(labels, 3)
    assert sorted(order) == list(range(20)) and np.array_equal(a, labels[order])
    assert np.array_equal(shuffled_labels(labels, 3)[1], order)
    assert not np.array_equal(shuffled_labels(labels, 4)[1], order)


def test_a_shuffled_run_trains_on_permuted_labels_and_records_the_real_ones(session, runs):
    real, shuffled = runs
    y_train = session.split("train")[1]
    assert np.array_equal(shuffled.labels_train, y_train)
    order = shuffled.extras["shuffle_permutation"]
    assert sorted(order) == list(range(len(y_train)))
    assert shuffled.meta["labels_shuffled"] == SHUFFLE_NOTE
    assert "shuffle_permutation" not in real.extras
    assert not np.array_equal(real.train, shuffled.train)


def test_shuffled_labels_decode_at_chance_held_out(runs):
    table = shuffled_label_decoding(runs, ["NER", "NER"])
    real = table[table["labels"] == "real"].iloc[0]
    shuffled = table[table["labels"] == "shuffled"].iloc[0]
    # Measured when written: real 0.8 held out; shuffled about 0 held out.
    assert real["vel_R2_test"] > 0.5, table
    assert shuffled["vel_R2_test"] <= CHANCE_R2, table
    assert real["vel_R2_train"] == real["vel_R2_train_fit"]


def test_the_plan_checks_the_twins():
    config = load_config()
    plan = Plan(config)
    control = plan.shuffled_control()
    assert control["labels"] == ["NER", "NER-shuffled", "CEBRA", "CEBRA-shuffled"]
    assert control["csv"].endswith("shuffled_labels_Chewie_20161014_M1_seed0.csv")
    assert control["in_report"] is False
    bad = copy.deepcopy(config)
    bad["controls"]["shuffled_labels"]["methods"] = {"NER": "CEBRAshuffled"}
    with pytest.raises(ValueError, match="'CEBRAshuffled' is of kind 'cebra', 'NER' of kind"):
        Plan(bad).check()
    bad["controls"]["shuffled_labels"]["methods"] = {"NER": "NER5k"}
    with pytest.raises(ValueError, match="'NER5k' needs shuffle_labels: true"):
        Plan(bad).check()
    none = copy.deepcopy(config)
    none["controls"] = {}
    assert Plan(none).shuffled_control() is None


def test_the_report_section_says_what_the_control_shows(runs):
    blocks = control_blocks(shuffled_label_decoding(runs, ["NER", "NER"]))
    text = " ".join(" ".join(b.items or []) + (b.text or "") for b in blocks)
    assert "NER trained on shuffled labels: held-out velocity R²" in text
    assert "at chance" in text
    missing = control_blocks(None)
    assert "Not measured" in missing[-1].text
