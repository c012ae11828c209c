"""The "ner" and "cebra" method kinds: settings, outputs, provenance, resumable checkpoints."""

from __future__ import annotations

import importlib.metadata

import cebra.solver
import numpy as np
import pytest
import torch

from ner_patch import NER, NERSolver
from ner_repro import methods
from ner_repro.core.embedding import EmbeddingRun
from ner_repro.methods import contrastive as train
from ner_repro.methods.kinds import KINDS


@pytest.fixture(scope="module")
def small_session(ner_sessions_dir):
    """The first 50 trials (2000 bins) of Chewie 2015-06-30, M1: 40 training and 10 test trials."""
    from ner_repro.core.session import SessionData
    from ner_repro.data.ingest import read_session

    full = read_session(
        ner_sessions_dir / "Chewie_20150630_neural_con_dis_index.mat", "M1", t_dur=40
    )
    bins = 50 * full.t_dur
    return SessionData(
        monkey=full.monkey,
        date=full.date,
        area=full.area,
        neural=full.neural[:bins],
        labels=full.labels[:bins],
        t_dur=full.t_dur,
        source=full.source,
        source_sha256=full.source_sha256,
    )


def run(session, kind="ner", seed=0, **params):
    spec = {"kind": kind, "max_iterations": 8, **params}
    return methods.run_method(
        session, method=kind.upper(), spec=spec, seed=seed, device="cpu", progress=False
    )


def test_logging_infonce_changes_nothing_but_the_log(small_session):
    plain = run(small_session, seed=2)
    logged = run(small_session, seed=2, log_infonce=True)
    for key in ("train", "test", "loss"):
        np.testing.assert_array_equal(getattr(plain, key), getattr(logged, key))
    assert logged.extras["infonce_pos"].shape == (8,) and logged.extras["infonce_neg"].shape == (8,)
    # the recorded loss is the NER loss, not InfoNCE = pos + neg
    assert not np.allclose(logged.loss, logged.extras["infonce_pos"] + logged.extras["infonce_neg"])


def test_kinds_are_registered_as_resumable():
    assert methods.get("ner") is train.train_ner
    assert methods.get("cebra") is train.train_cebra
    assert methods.is_resumable("ner") and methods.is_resumable("cebra")


def test_paper_settings_are_the_defaults():
    settings = train.estimator_params(KINDS["ner"].resolve({}))
    assert settings["batch_size"] == 512 and settings["learning_rate"] == 1e-4
    assert settings["output_dimension"] == 3 and settings["max_iterations"] == 20000
    assert KINDS["cebra"].defaults == KINDS["ner"].defaults
    override = train.estimator_params(
        KINDS["cebra"].resolve({"output_dimension": 16, "checkpoint": "x.pt"})
    )
    assert override["output_dimension"] == 16 and "checkpoint" not in override


@pytest.mark.parametrize("key", ["learning_rte", "device", "verbose"])
def test_unknown_or_reserved_settings_are_refused(key):
    with pytest.raises(ValueError, match=f"methods.NER.{key}: not a setting of method kind 'ner'"):
        KINDS["ner"].resolve({key: 1}, method="NER")


@pytest.mark.parametrize(
    ("kind", "loss_name", "solver"), [("ner", "RnC", NERSolver), ("cebra", "InfoNCE", None)]
)
def test_run_returns_the_embedding_contract(small_session, kind, loss_name, solver, tmp_path):
    result = run(small_session, kind=kind, seed=3)
    x_train, y_train = small_session.split("train")
    x_test, y_test = small_session.split("test")
    assert isinstance(result, EmbeddingRun)
    assert result.train.shape == (len(x_train), 3) and result.test.shape == (len(x_test), 3)
    np.testing.assert_array_equal(result.labels_train, y_train)
    np.testing.assert_array_equal(result.labels_test, y_test)
    assert result.loss.shape == (8,) and np.isfinite(result.loss).all()
    assert result.loss_name == loss_name and result.method == kind.upper()
    assert result.session == small_session.name and result.seed == 3 and result.t_dur == 40
    if kind == "ner":  # NER logs no InfoNCE by default (log_infonce: true does)
        assert "infonce_pos" not in result.extras and "infonce_neg" not in result.extras
    else:
        assert result.extras["infonce_pos"].shape == (8,)
        np.testing.assert_allclose(
            result.loss, result.extras["infonce_pos"] + result.extras["infonce_neg"], rtol=1e-5
        )

    meta = result.meta
    assert (
        meta["seed"] == 3 and meta["config"]["kind"] == kind and meta["config"]["batch_size"] == 512
    )
    assert (
        meta["n_iterations"] == 8
        and meta["n_iterations_this_run"] == 8
        and meta["resumed_from_step"] == 0
    )
    assert meta["steps_per_second"] > 0 and meta["wall_time_s"] >= meta["fit_time_s"] > 0
    assert meta["device"].startswith("cpu")
    assert meta["packages"]["cebra"] == importlib.metadata.version("cebra")
    assert meta["packages"]["torch"] == torch.__version__
    assert meta["source_sha256"] == small_session.source_sha256

    saved = EmbeddingRun.load(result.save(tmp_path / "run.npz"))
    np.testing.assert_array_equal(saved.train, result.train)
    assert saved.meta["steps_per_second"] == pytest.approx(meta["steps_per_second"])


def test_runs_are_reproducible_per_seed(small_session):
    first, second, other = (
        run(small_session, seed=1),
        run(small_session, seed=1),
        run(small_session, seed=2),
    )
    np.testing.assert_array_equal(first.train, second.train)
    np.testing.assert_array_equal(first.test, second.test)
    np.testing.assert_array_equal(first.loss, second.loss)
    assert not np.array_equal(first.train, other.train)


class Interrupted(Exception):
    pass


@pytest.mark.parametrize("kind", ["ner", "cebra"])
def test_interrupted_run_resumes_bit_identically(small_session, tmp_path, monkeypatch, kind):
    """A crash after 7 of 12 steps, with checkpoints every 5: the rerun continues from step 5."""
    uninterrupted = run(small_session, kind=kind, seed=4, max_iterations=12)

    checkpoint = tmp_path / "run.ckpt"
    solver_cls = NERSolver if kind == "ner" else cebra.solver.SingleSessionSolver
    original_step = solver_cls.step
    calls = {"n": 0}

    def crashing_step(self, batch):
        calls["n"] += 1
        if calls["n"] > 7:
            raise Interrupted
        return original_step(self, batch)

    with monkeypatch.context() as patch, pytest.raises(Interrupted):
        patch.setattr(solver_cls, "step", crashing_step)
        run(
            small_session,
            kind=kind,
            seed=4,
            max_iterations=12,
            checkpoint=str(checkpoint),
            checkpoint_every=5,
        )
    assert checkpoint.is_file()
    assert torch.load(checkpoint, weights_only=True)["state"]["step"] == 5
    assert not list(tmp_path.glob("*.part"))

    resumed = run(
        small_session,
        kind=kind,
        seed=4,
        max_iterations=12,
        checkpoint=str(checkpoint),
        checkpoint_every=5,
    )
    assert resumed.meta["resumed_from_step"] == 5 and resumed.meta["n_iterations_this_run"] == 7
    np.testing.assert_array_equal(resumed.train, uninterrupted.train)
    np.testing.assert_array_equal(resumed.test, uninterrupted.test)
    np.testing.assert_array_equal(resumed.loss, uninterrupted.loss)

    # The finished run leaves its final state: running again only re-embeds.
    assert torch.load(checkpoint, weights_only=True)["state"]["step"] == 12
    again = run(
        small_session,
        kind=kind,
        seed=4,
        max_iterations=12,
        checkpoint=str(checkpoint),
        checkpoint_every=5,
    )
    assert again.meta["n_iterations_this_run"] == 0
    np.testing.assert_array_equal(again.train, uninterrupted.train)


def test_checkpoint_of_another_configuration_is_ignored(small_session, tmp_path):
    checkpoint = tmp_path / "run.ckpt"
    run(small_session, seed=5, checkpoint=str(checkpoint), checkpoint_every=4)
    with pytest.warns(UserWarning, match="different configuration"):
        result = run(small_session, seed=6, checkpoint=str(checkpoint), checkpoint_every=4)
    assert result.meta["resumed_from_step"] == 0
    np.testing.assert_array_equal(result.train, run(small_session, seed=6).train)


def test_unreadable_checkpoint_is_ignored(small_session, tmp_path):
    checkpoint = tmp_path / "run.ckpt"
    checkpoint.write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match="unreadable checkpoint"):
        result = run(small_session, seed=7, checkpoint=str(checkpoint), max_iterations=3)
    assert result.meta["resumed_from_step"] == 0
    assert torch.load(checkpoint, weights_only=True)["state"]["step"] == 3


@pytest.mark.parametrize(("kind", "loss_name"), [("ner", "RnC"), ("cebra", "InfoNCE")])
def test_progress_bar_is_throttled_and_shows_the_loss(small_session, kind, loss_name, capfd):
    """One bar per run, redrawn at most every mininterval (not at every step as CEBRA's)."""
    import tqdm

    spec = {"kind": kind, "max_iterations": 60}
    with pytest.MonkeyPatch.context() as mp:
        # A long minimum interval: only the first and the closing draw may appear.
        mp.setattr(tqdm.tqdm, "__init__", _with_mininterval(tqdm.tqdm.__init__, 3600.0))
        methods.run_method(
            small_session, method=kind.upper(), spec=spec, seed=0, device="cpu", progress=True
        )
    err = capfd.readouterr().err
    assert f"{kind.upper()} {small_session.name}" in err
    assert "60/60" in err and loss_name in err
    draws = err.count("it/s]") + err.count("s/it]")  # one per redraw of the bar
    assert 1 <= draws <= 3, err


def _with_mininterval(init, seconds):
    def wrapped(self, *args, **kwargs):
        kwargs.setdefault("mininterval", seconds)
        return init(self, *args, **kwargs)

    return wrapped


def test_the_fitted_model_is_kept_with_save_models(tmp_path):
    """``save_models: true`` makes the plan give NER/CEBRA jobs a model file, which the
    training writes; the model reloads and embeds the training bins exactly as the run."""
    from ner_repro.core.config import load_config
    from ner_repro.plan import Plan
    from ner_repro.synthetic.reaching import SimulatedSession, simulate_session

    config = load_config(overrides={"save_models": True, "results_dir": str(tmp_path)})
    spec = Plan(config).training_spec("NER", "Sim_20000101_M1", 0)
    assert spec["save_model"] == str(tmp_path / "models" / "NER" / "Sim_20000101_M1_seed0.pt")
    assert "save_model" not in Plan(config).training_spec("PCA", "Sim_20000101_M1", 0)
    sim = SimulatedSession("Sim", "20000101", {"M1": 20}, 20, seed=0, baseline_rate_hz=20.0)
    session, _ = simulate_session(sim, "M1", t_dur=30)
    spec.update(max_iterations=5, batch_size=64, checkpoint=None)
    run = methods.run_method(session, method="NER", spec=spec, seed=0, progress=False)
    model = NER.load(spec["save_model"])
    assert np.array_equal(model.transform(session.split("train")[0].astype(np.float32)), run.train)
