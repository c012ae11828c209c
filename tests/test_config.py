"""Configuration validation and the workflow's plan of sessions."""

from __future__ import annotations

import copy
import re

import pytest

from ner_repro.core.config import SessionKey, load_config, validate_config
from ner_repro.plan import Plan


@pytest.fixture(scope="module")
def paper():
    return load_config()


def test_paper_config_describes_every_dataset(paper):
    plan = Plan(paper)
    keys = plan.configured()
    assert (
        len(keys) == 4 + 6 * 2 + 6 * 2 + 3
    )  # Chewie 2015 M1, Chewie 2016 and Mihili M1+PMd, Han S1
    assert plan.t_dur(SessionKey("Han", "20171201", "S1")) == 35
    assert plan.t_dur(SessionKey("Chewie", "20161014", "PMd")) == 40
    assert paper["missing"] == "error" and paper["evaluation"] == "corrected"
    assert plan.method_settings("NER")["max_iterations"] == 20000
    assert plan.method_settings("NER5k")["max_iterations"] == 5000
    assert plan.method_settings("CEBRA16")["output_dimension"] == 16
    assert plan.method_settings("piVAE")["epochs"] == {"M1": 300, "PMd": 300, "S1": 50}


def test_defaults_are_filled():
    config = load_config()
    del config["smoothing"], config["train_fraction"]
    validate_config(config)
    assert config["smoothing"] == {"sigma_bins": 1.5, "half_width": 4}
    assert config["train_fraction"] == 0.8


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(missing="maybe"), "missing: 'maybe' is not one of"),
        (lambda c: c["datasets"]["Han2017"].update(areas=["V1"]), "'V1' is not one of"),
        (
            lambda c: c["methods"]["NER"].update(kind="transformer"),
            r"methods\.NER\.kind: unknown method kind 'transformer' \(known: ner, cebra",
        ),
        (
            lambda c: c["methods"]["NER"].update(max_iterations=-5),
            r"methods\.NER\.max_iterations: must be a whole number >= 1, got -5",
        ),
        (
            lambda c: c["methods"]["UMAP"].update(n_neighbours=10),
            r"methods\.UMAP\.n_neighbours: not a setting of method kind 'umap' \(accepted: ",
        ),
        (
            lambda c: c["methods"]["piVAE"].update(epochs={"M1": 300, "S1": "many"}),
            r"methods\.piVAE\.epochs: S1: must be a whole number >= 0, got 'many'",
        ),
        (
            lambda c: c["figures"]["fig5"].update(linear_methods=["NER", "Nope"]),
            "figures.fig5.linear_methods: unknown method 'Nope'",
        ),
        (
            lambda c: c["figures"]["fig4"]["panels"]["S1"].update(datasets=["Han2018"]),
            "unknown dataset 'Han2018'",
        ),
        (lambda c: c.update(seeds=[]), "seeds"),
    ],
)
def test_invalid_configs_are_rejected_with_the_key(paper, change, message):
    config = copy.deepcopy(paper)
    change(config)
    with pytest.raises(ValueError, match=message):
        Plan(validate_config(config)).check()


def test_missing_skip_keeps_only_present_sessions(ner_sessions_dir):
    plan = Plan(load_config(overrides={"data_dir": str(ner_sessions_dir), "missing": "skip"}))
    present = plan.sessions()
    assert len(present) == 21
    skipped = {s.session.name for s in plan.skipped()}
    assert (
        "Chewie_20161014_M1" in skipped and "Chewie_20161014_PMd" in skipped and len(skipped) == 10
    )
    assert plan.missing_recordings() == []
    example, substitute = plan.example
    assert substitute and example.name == "Chewie_20161007_M1"


def test_missing_error_lists_recordings_to_fetch(tmp_path):
    plan = Plan(load_config(overrides={"data_dir": str(tmp_path), "published_dir": str(tmp_path)}))
    missing = plan.missing_recordings()
    assert len(missing) == 20  # 19 recordings and the MC_Maze NWB file (no published Fig8 either)
    assert any(p.suffix == ".nwb" for p in missing)
    assert plan.sessions() == plan.configured()
    assert plan.example == (SessionKey("Chewie", "20161014", "M1"), False)


def test_demo_config_is_simulated():
    plan = Plan(load_config("config/demo.yaml"))
    assert all(plan.is_available(k.monkey, k.date) for k in plan.configured())
    assert plan.recording("Simia", "20230112").name == "Simia_CO_20230112_sim.mat"


def test_session_key_parse_and_order():
    keys = [
        SessionKey.parse(n)
        for n in ("Han_20171201_S1", "Chewie_20161007_PMd", "Chewie_20161007_M1")
    ]
    assert [k.name for k in sorted(keys)] == [
        "Chewie_20161007_M1",
        "Chewie_20161007_PMd",
        "Han_20171201_S1",
    ]
    with pytest.raises(ValueError, match="not a session name"):
        SessionKey.parse("Chewie_161007_M1")


def test_a_method_can_have_its_own_seeds(paper):
    plan = Plan(paper)
    # pi-VAE's seeds disagree more than the others': 5 of them; the rest use `seeds`.
    assert plan.seeds_for("piVAE") == [0, 1, 2, 3, 4] and plan.seeds_for("NER") == [0, 1, 2]
    keys = [SessionKey("Han", "20171201", "S1")]
    assert len(plan.embeddings(["NER", "piVAE"], keys)) == 3 + 5
    # The seeds are not a training setting (changing them re-runs nothing already made).
    assert "seeds" not in plan.method_spec("piVAE")
    config = copy.deepcopy(paper)
    config["methods"]["piVAE"]["seeds"] = [1, 2, 3]
    with pytest.raises(
        ValueError, match=r"methods.piVAE.seeds \[1, 2, 3\] must include the figure"
    ):
        Plan(config).seeds_for("piVAE")
    config["methods"]["piVAE"]["seeds"] = [0, 0]
    with pytest.raises(ValueError, match=r"methods\.piVAE\.seeds: distinct"):
        Plan(config).seeds_for("piVAE")
    config["methods"]["piVAE"]["seeds"] = [0, -1]
    with pytest.raises(ValueError, match="seeds"):
        validate_config(config)


def test_training_cap_caps_epochs_given_by_area(paper):
    config = copy.deepcopy(paper)
    config["training_cap"] = {"epochs": 100}
    assert Plan(config).method_spec("piVAE")["epochs"] == {"M1": 100, "PMd": 100, "S1": 50}


def test_methods_by_kind_and_the_method_pattern(paper):
    plan = Plan(paper)
    assert plan.methods_of_kind("umap") == ["UMAP", "UMAP_label"]
    pattern = plan.method_pattern(exclude_kinds=("umap",))
    assert re.fullmatch(pattern, "NER") and re.fullmatch(pattern, "piVAE")
    assert not re.fullmatch(pattern, "UMAP") and not re.fullmatch(pattern, "UMAP_label")
    every_kind = {plan.kind(m) for m in paper["methods"]}
    assert plan.method_pattern(exclude_kinds=every_kind) == "(?!)"


def test_training_cap_applies_to_settings_left_at_their_default(paper):
    config = copy.deepcopy(paper)
    config["training_cap"] = {"max_iterations": 100}
    plan = Plan(config)
    assert "max_iterations" not in config["methods"]["NER"]
    assert plan.method_spec("NER")["max_iterations"] == 100
    assert "max_iterations" not in plan.method_spec("PCA")


def test_areas_and_modes_are_declared_once_in_the_schema():
    from typing import get_args

    import yaml

    from ner_repro.analysis.evaluation import Mode
    from ner_repro.core.config import AREAS, MODES, SCHEMA_PATH

    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    assert AREAS == ("M1", "PMd", "S1") and MODES == ("corrected", "paper")
    # The session-name pattern next to the area list spells the same areas.
    pattern = schema["$defs"]["session"]["pattern"]
    assert re.search(r"\(([^)]*)\)\$$", pattern).group(1).split("|") == list(AREAS)
    assert set(get_args(Mode)) == set(MODES)
    # The rules' wildcard patterns are built from them.
    patterns = Plan(load_config()).wildcard_patterns
    assert patterns["mode"] == "corrected|paper" and patterns["area"] == "M1|PMd|S1"
    assert re.fullmatch(patterns["session"], "Chewie_20161014_PMd")
    assert re.fullmatch(patterns["session"], "MCMaze_curve-straight-13-38-18")
    assert not re.fullmatch(patterns["session"], "Chewie_20161014_V1")
