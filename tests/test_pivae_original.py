"""``benchmarks/pivae_original.py`` without TensorFlow: the arrays handed to the Keras worker
are our port's inputs, they survive the ``.npz`` exchange bit for bit, and a worker's result
becomes a valid embedding run that the Fig4 evaluation and the summary read."""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from ner_repro.core.embedding import EmbeddingRun
from ner_repro.core.session import SessionData
from ner_repro.methods import pivae
from ner_repro.synthetic.reaching import SimulatedSession, simulate_session

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "pivae_original.py"


@pytest.fixture(scope="module")
def po() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pivae_original", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny() -> SessionData:
    spec = SimulatedSession("Sim", "20000101", {"M1": 6}, n_trials=26, seed=5)
    return simulate_session(spec, "M1", t_dur=20)[0]


def test_worker_module_imports_nothing_of_the_project(po):
    # The worker runs in a venv without the project, pandas or torch: the module-level imports
    # (outside ``if TYPE_CHECKING:``) are the standard library and numpy only.
    tree = ast.parse(SCRIPT.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    third_party = names - set(sys.stdlib_module_names) - {"__future__"}
    assert third_party == {"numpy"}
    assert "import torch" not in SCRIPT.read_text()


def test_keras_inputs_are_the_ports_inputs(po, tiny):
    parts = po.paper_parts(tiny, {"normalize_labels": False})
    n_fit, valid_end = pivae.paper_split(tiny.neural.shape[0], tiny.t_dur)
    np.testing.assert_array_equal(parts["x_fit"], pivae.windows(tiny.neural[:n_fit]))
    np.testing.assert_array_equal(parts["x_val"], pivae.windows(tiny.neural[n_fit:valid_end]))
    np.testing.assert_array_equal(parts["x_test"], pivae.windows(tiny.neural[valid_end:]))
    assert parts["x_fit"].dtype == parts["u_fit"].dtype == np.float32
    np.testing.assert_array_equal(parts["u_fit"], tiny.labels[:n_fit].astype(np.float32))
    np.testing.assert_array_equal(parts["y_test"], tiny.labels[valid_end:])
    normed = po.paper_parts(tiny, {"normalize_labels": True})
    assert np.allclose(normed["u_fit"].mean(0), 0, atol=1e-5)


def test_job_survives_the_npz_exchange(po, tiny, tmp_path):
    parts = po.paper_parts(tiny, {})
    job = po.keras_job(parts, seed=3, epochs=7)
    assert not any(k.startswith("y_") for k in job)
    np.savez(tmp_path / "job.npz", **job)
    with np.load(tmp_path / "job.npz") as z:
        back = {k: z[k] for k in z.files}
    for k in ("x_fit", "u_fit", "x_val", "u_val", "x_test", "u_test"):
        assert back[k].dtype == job[k].dtype
        np.testing.assert_array_equal(back[k], job[k])
    assert int(back["seed"]) == 3 and int(back["epochs"]) == 7
    assert json.loads(str(back["model_args"])) == po.MODEL_ARGS
    assert po.MODEL_ARGS["learning_rate"] == 2.5e-4 and po.MODEL_ARGS["dim_z"] == 3


def test_batches_are_the_authors_and_the_ports(po):
    x = np.arange(1234)
    batches = po.split_batches(x)
    assert len(batches) == 6 and [len(b) for b in batches] == [206, 206, 206, 206, 205, 205]
    ours = pivae._chunks(len(x), 200)
    assert all(np.array_equal(a, b) for a, b in zip(batches, ours, strict=True))


def _fake_result(parts: dict[str, np.ndarray], seed: int) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    n_fit, n_test = len(parts["y_fit"]), len(parts["y_test"])
    # An embedding that carries the labels, so the decoders have something to find.
    train = np.c_[parts["y_fit"][:, :2], rng.normal(size=n_fit)].astype(np.float32)
    test = np.c_[parts["y_test"][:, :2], rng.normal(size=n_test)].astype(np.float32)
    return {
        "train": train,
        "train_encoder": train,
        "test_paper": test,
        "test": test + 1,
        "loss": np.linspace(400, 300, 12),
        "val_loss": np.linspace(390, 310, 12),
        "epoch_s": np.ones(12),
        "fit_s": np.float64(12),
        "wall_s": np.float64(13.5),
        "n_parameters": np.int64(1000),
        "learning_rate": np.float64(2.5e-4),
        "versions": json.dumps({"tensorflow": "x", "tf_keras": "y"}),
    }


def test_result_becomes_an_embedding_run_and_a_summary(po, tiny, tmp_path):
    parts = po.paper_parts(tiny, {})
    runs = []
    for seed in (0, 1):
        run = po.run_from_result(
            tiny,
            parts,
            _fake_result(parts, seed),
            seed=seed,
            epochs=12,
            meta={"pivae_dir": "/x", "cebra_commit": "abc"},
        )
        path = run.save(tmp_path / f"run{seed}.npz")
        run = EmbeddingRun.load(path)
        assert run.method == "piVAE_keras" and run.session == tiny.name
        np.testing.assert_array_equal(
            run.test_for("paper"), _fake_result(parts, seed)["test_paper"]
        )
        assert run.meta["cebra_commit"] == "abc" and run.meta["tensorflow"] == "x"
        runs.append((po.KERAS, run))
    published = {(tiny.name, "train", "vel_R2"): 0.5, (tiny.name, "train", "final_loss"): 300.0}
    per_run = po.per_run_table(runs, published)
    assert set(per_run["implementation"]) == {"keras_original"}
    assert {"vel_R2", "pos_R2", "peak_dir_acc", "final_loss", "wall_s"} <= set(per_run["metric"])
    vel = per_run[(per_run["split"] == "train") & (per_run["metric"] == "vel_R2")]
    assert len(vel) == 2 and (vel["value"] > 0.9).all() and (vel["published"] == 0.5).all()
    stats = po.summary_table(per_run)
    row = stats[(stats["split"] == "train") & (stats["metric"] == "final_loss")].iloc[0]
    assert row["n"] == 2 and row["median"] == pytest.approx(300.0)
    assert row["published_in_range"] == "True"
    row = stats[(stats["split"] == "train") & (stats["metric"] == "vel_R2")].iloc[0]
    assert row["published_in_range"] == "False"
    assert isinstance(stats, pd.DataFrame)


def test_published_values_include_fig4_pivae(po):
    pub = po.published_values()
    assert pub[("Han_20171201_S1", "train", "vel_R2")] == pytest.approx(0.5357, abs=1e-4)
    assert pub[("Chewie_20150630_M1", "train", "final_loss_last10")] == 245.0


def test_arguments_are_required(po, capsys):
    with pytest.raises(SystemExit):
        po.main(["--sessions", "Han_20171201_S1"])
    assert "--keras-python and --pivae-dir are required" in capsys.readouterr().err
