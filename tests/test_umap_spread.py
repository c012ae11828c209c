"""``benchmarks/umap_spread.py`` without fitting UMAP: each variant maps to its
``deterministic`` setting, runs of the two variants are decoded apart, and the summary gives
the spread, the published value and the test of one variant against the other."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from ner_repro.core.embedding import EmbeddingRun

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
SESSION = "Han_20171204_S1"


@pytest.fixture(scope="module")
def us() -> ModuleType:
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("umap_spread", BENCH / "umap_spread.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _labels(n_trials: int, t_dur: int, rng: np.random.Generator) -> np.ndarray:
    angle = np.repeat(rng.integers(0, 8, n_trials) * 45.0, t_dur)
    vel = np.stack([np.cos(np.radians(angle)), np.sin(np.radians(angle))], axis=1)
    vel = vel * np.tile(np.sin(np.linspace(0, np.pi, t_dur)), n_trials)[:, None]
    return np.column_stack([vel * 10, angle])


def _run(method: str, k: int, informative: bool) -> EmbeddingRun:
    rng = np.random.default_rng(k + (100 if informative else 0))
    t_dur = 10
    train_labels, test_labels = _labels(40, t_dur, rng), _labels(10, t_dur, rng)
    noise = 0.3 if informative else 30.0
    train = train_labels[:, :2] + rng.normal(scale=noise, size=(len(train_labels), 2))
    return EmbeddingRun(
        method=method,
        session=SESSION,
        seed=k,
        train=train,
        test=rng.normal(size=(len(test_labels), 2)),
        labels_train=train_labels,
        labels_test=test_labels,
        t_dur=t_dur,
    )


def test_variants_set_determinism_and_leave_out_the_test_fit(us, monkeypatch):
    seen = []

    def fake_fit(session, *, seed, params, method):
        seen.append((seed, params["deterministic"], params["paper_test"], params["supervised"]))
        return "run"

    import ner_repro.methods.umap as umap_method

    monkeypatch.setattr(umap_method, "fit_umap", fake_fit)
    assert us.fit(object(), "UMAP_label", "unseeded", 3) == "run"
    assert us.fit(object(), "UMAP", "seeded", 2) == "run"
    assert seen == [(3, False, False, True), (2, True, False, False)]


def test_summary_keeps_variants_apart_and_tests_one_against_the_other(us):
    runs = [("seeded", _run("UMAP", k, True)) for k in range(4)]
    runs += [("unseeded", _run("UMAP", k, False)) for k in range(4)]
    per_run = us.per_run_table(runs)
    assert set(per_run["implementation"]) == {"UMAP seeded", "UMAP unseeded"}
    assert set(per_run["metric"]) == set(us.METRICS) and set(per_run["split"]) == {"train"}
    pos = per_run[per_run["metric"] == "pos_R2"]
    assert len(pos) == 8
    assert np.allclose(pos["published"], 0.3742, atol=1e-4)
    seeded = pos[pos["variant"] == "seeded"]["value"]
    unseeded = pos[pos["variant"] == "unseeded"]["value"]
    assert seeded.min() > unseeded.max()  # the informative runs decode better

    stats = us.summary_table(per_run)
    row = stats[(stats["variant"] == "unseeded") & (stats["metric"] == "pos_R2")].iloc[0]
    assert row["method"] == "UMAP" and row["n"] == 4
    # Every seeded run above every unseeded one: the smallest two-sided p for 4 against 4.
    assert row["p_vs_seeded"] == pytest.approx(2 / 70)
    assert np.isnan(stats[stats["variant"] == "seeded"]["p_vs_seeded"]).all()
    share = us.published_share(per_run)
    assert set(share) == {"seeded", "unseeded"} and share["seeded"][1] == 3


def test_runs_must_be_positive(us, capsys):
    with pytest.raises(SystemExit):
        us.main(["--runs", "0"])
    assert "--runs must be at least 1" in capsys.readouterr().err


def test_authors_embeddings_are_found_checked_and_read(us, tmp_path):
    from ner_repro.core.session import SessionData
    from ner_repro.synthetic.reaching import SimulatedSession, simulate_session

    spec = SimulatedSession("Han", "20171204", {"S1": 6}, n_trials=20, seed=3)
    session: SessionData = simulate_session(spec, "S1", t_dur=10)[0]
    x_train, y_train = session.split("train")
    _, y_test = session.split("test")
    folder = tmp_path / "data_NER" / "S1 3"
    for method in ("UMAP", "UMAP_label"):
        npz = folder / f"{method}_Han2017" / "NPZ" / "Han_201171204_embed_S1.npz"
        npz.parent.mkdir(parents=True)
        np.savez(
            npz,
            cebra_veldir_train=x_train[:, :2].astype(np.float32),
            cebra_veldir_test=np.zeros((len(y_test), 2), np.float32),
            continuous_index_train=y_train,
            continuous_index_test=y_test if method == "UMAP" else y_test + 1,
        )
    found = us.authors_embedding(tmp_path, "UMAP", session.name)
    assert found is not None and found.parent.parent.name == "UMAP_Han2017"
    assert us.authors_embedding(tmp_path, "UMAP", "Han_20171201_S1") is None
    run = us.authors_run(found, session, "UMAP")
    assert run.method == "UMAP" and run.session == session.name and run.t_dur == session.t_dur
    np.testing.assert_array_equal(run.train, x_train[:, :2].astype(np.float32))
    bad = us.authors_embedding(tmp_path, "UMAP_label", session.name)
    with pytest.raises(ValueError, match="continuous_index_test differs from our labels"):
        us.authors_run(bad, session, "UMAP_label")


def test_knn_overlap_counts_kept_neighbourhoods(us):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 5))
    reference = us.neighbours(x)
    assert reference.shape == (300, us.KNN)
    assert us.knn_overlap(reference, x) == 1.0
    assert us.knn_overlap(reference, x[:, :2]) < 0.6
    assert us.knn_overlap(reference, rng.normal(size=(300, 2))) < 0.1


def test_another_umap_learn_runs_in_its_own_process_and_is_named_by_version(
    us, tmp_path, monkeypatch
):
    from ner_repro.synthetic.reaching import SimulatedSession, simulate_session

    spec = SimulatedSession("Han", "20171204", {"S1": 6}, n_trials=20, seed=3)
    session = simulate_session(spec, "S1", t_dur=10)[0]
    calls = []

    def fake_run(command, check):
        calls.append(command)
        job = np.load(command[command.index("--job") + 1])
        settings = __import__("json").loads(str(job["settings"]))
        assert settings["n_neighbors"] == 68 and settings["n_components"] == 2
        assert list(job["seeds"]) == [4, 6] and bool(job["supervised"])
        arrays = {}
        for seed in job["seeds"]:
            arrays[f"train_{seed}"] = job["x_train"][:, :2] + seed
            arrays[f"test_{seed}"] = job["x_test"][:, :2]
            arrays[f"seconds_{seed}"] = np.array(1.5)
        np.savez(command[command.index("--result") + 1], umap_learn=np.array("0.5.3"), **arrays)

    monkeypatch.setattr(us.subprocess, "run", fake_run)
    runs = us.fit_other(session, "UMAP_label", [4, 6], Path("/other/python"), tmp_path)
    assert len(calls) == 1 and [r.seed for r in runs] == [4, 6]
    run = runs[0]
    assert calls[0][:2] == ["/other/python", us.__file__] and "--worker" in calls[0]
    x_train, y_train = session.split("train")
    np.testing.assert_array_equal(run.train, x_train[:, :2] + 4)
    np.testing.assert_array_equal(run.labels_train, y_train)
    assert run.seed == 4 and run.meta["umap_learn"] == "0.5.3"
    assert us.label(us.OTHER, run) == "umap-learn 0.5.3"
    assert us.label("seeded", run) == "seeded"


def test_something_must_be_compared(us, capsys):
    with pytest.raises(SystemExit):
        us.main(["--variants"])
    assert "nothing to compare" in capsys.readouterr().err
