"""The method kinds table: one declaration per kind, and the settings checked from it."""

from __future__ import annotations

import inspect

import pytest

from ner_repro import methods
from ner_repro.methods.kinds import KINDS, UNSET, check_methods, method_problems


def test_every_kind_names_an_implementation_of_the_method_protocol():
    assert methods.options() == sorted(KINDS)
    for name, kind in KINDS.items():
        fn = methods.get(name)
        params = inspect.signature(fn).parameters
        assert {"seed", "params", "method", "device", "progress"} <= set(params), name
        assert methods.is_resumable(name) == kind.resumable
        # A resumable kind accepts the checkpoint settings.
        assert kind.resumable == ({"checkpoint", "checkpoint_every"} <= set(kind.settings))


@pytest.mark.parametrize(("kind", "estimator"), [("ner", "NER"), ("cebra", "SeededCEBRA")])
def test_contrastive_settings_are_exactly_the_estimator_arguments(kind, estimator):
    import ner_patch

    args = set(getattr(ner_patch, estimator)().get_params()) - {"device", "verbose"}
    from ner_repro.methods.contrastive import _RUN_PARAMS  # the run's own, not the estimator's

    declared = set(KINDS[kind].settings) - set(_RUN_PARAMS)
    assert declared == args


def test_defaults_pass_their_own_checks():
    for kind in KINDS.values():
        assert kind.problems(kind.defaults) == [], kind.name
        assert all(s.default is UNSET or s.check(s.default) is None for s in kind.settings.values())


def test_the_paper_settings_are_the_contrastive_defaults():
    paper = {
        "model_architecture": "offset1-model",
        "batch_size": 512,
        "learning_rate": 1e-4,
        "temperature": 1.0,
        "output_dimension": 3,
        "max_iterations": 20000,
        "distance": "cosine",
        "conditional": "time_delta",
        "time_offsets": 1,
    }
    for kind in ("ner", "cebra"):
        defaults = KINDS[kind].defaults
        assert {k: defaults[k] for k in paper} == paper


def test_every_problem_is_listed_with_method_and_key():
    with pytest.raises(ValueError) as err:
        check_methods(
            {
                "NER": {"kind": "ner", "max_iterations": 0, "learning_rate": "fast"},
                "PCA": {"kind": "pca", "label": "PCA", "seeds": [0], "n_components": 2.5},
                "X": {"kind": "lda"},
            }
        )
    text = str(err.value)
    assert "methods.NER.max_iterations: must be a whole number >= 1, got 0" in text
    assert "methods.NER.learning_rate: must be a number > 0, got 'fast'" in text
    assert "methods.PCA.n_components: must be a whole number >= 1, got 2.5" in text
    assert "methods.X.kind: unknown method kind 'lda'" in text


def test_entry_keys_are_not_settings():
    assert method_problems("UMAP", {"kind": "umap", "label": "UMAP", "seeds": [0, 1]}) == []
    assert method_problems("B", {"kind": "umap", "supervised": "maybe"}) == [
        "methods.B.supervised: must be true or false, got 'maybe'"
    ]


def test_resolve_is_idempotent_and_keeps_library_defaults_unset():
    once = KINDS["ner"].resolve({"search": "brute"})
    assert KINDS["ner"].resolve(once) == once
    assert once["search"] == "brute" and "hybrid" not in once


def test_texts_from_the_command_line_are_read_as_yaml():
    # snakemake --config methods="{NER: {max_iterations: 500}}" passes '500'.
    assert KINDS["ner"].resolve({"max_iterations": "500"})["max_iterations"] == 500
    assert KINDS["umap"].resolve({"supervised": "true"})["supervised"] is True
    assert KINDS["ner"].resolve({"checkpoint": "x.pt"})["checkpoint"] == "x.pt"
