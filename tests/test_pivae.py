"""The conv pi-VAE baseline: the authors' architecture, its pieces, training and what it learns."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score

from ner_repro import methods
from ner_repro.core.embedding import EmbeddingRun
from ner_repro.core.session import SessionData
from ner_repro.methods import pivae
from ner_repro.methods.kinds import KINDS
from ner_repro.synthetic.reaching import SimulatedSession, simulate_session


def run(session: SessionData, seed: int = 0, **params) -> EmbeddingRun:
    params = {"num_threads": 1, **params}
    return methods.get("pivae")(
        session, seed=seed, params=params, method="piVAE", device="cpu", progress=False
    )


# -- architecture ----------------------------------------------------------------------------


def test_parameter_count_matches_the_authors_model():
    # The Keras summary of conv_vae_mdl(dim_x=70, dim_z=3, dim_u=3, time_window=10,
    # gen_nodes=60, n_blk=2, mdl="poisson", disc=False) (fig8-baselines.md §2.4, docs/sources.md):
    # encoder (two conv stacks + label prior) 28,856, decoder 1,015,168, total 1,044,024.
    model = pivae.PiVAE(70)
    encoder = pivae.count_parameters(model.encoder) + pivae.count_parameters(model.prior)
    assert encoder == 28_856
    assert pivae.count_parameters(model.decoder) == 1_015_168
    assert pivae.count_parameters(model) == 1_044_024
    assert pivae.count_parameters(model.prior) == 3 * 20 + 20 + 20 * 20 + 20 + 20 * 6 + 6


def test_windows_are_the_ten_bins_around_each_bin():
    T, n = 23, 2
    neural = np.arange(1, T + 1, dtype=float)[:, None] * np.array([1.0, -1.0])
    w = pivae.windows(neural)
    assert w.shape == (T, 10, n) and w.dtype == np.float32
    for t in range(T):
        for k in range(10):
            src = t + k - 5  # bins t-5 .. t+4
            expected = neural[src] if 0 <= src < T else np.zeros(n)
            np.testing.assert_array_equal(w[t, k], expected)


def test_encoder_reduces_the_window_to_one_bin():
    enc = pivae.Encoder(7, 3)
    mean, log_var = enc(torch.randn(5, 10, 7))
    assert mean.shape == log_var.shape == (5, 3)
    with pytest.raises(ValueError, match="10-bin window"):
        enc(torch.randn(5, 12, 7))


def test_posterior_is_the_product_of_gaussians():
    g = torch.Generator().manual_seed(0)
    m1, lv1, m2, lv2 = (torch.randn(50, 3, generator=g, dtype=torch.float64) for _ in range(4))
    mean, log_var = pivae.posterior(m1, lv1, m2, lv2)
    v1, v2 = lv1.exp(), lv2.exp()
    torch.testing.assert_close(mean, (m1 * v2 + m2 * v1) / (v1 + v2))
    torch.testing.assert_close(log_var.exp(), v1 * v2 / (v1 + v2))


def test_flow_decoder_is_volume_preserving():
    torch.manual_seed(0)
    dec = pivae.FlowDecoder(dim_z=3, n_neurons=2, n_blocks=2).double()  # D = 20
    for block in dec.blocks:
        for layer in block:  # make s non-trivial
            torch.nn.init.normal_(layer.net[-1].weight, std=1.0)

    def flow(h: torch.Tensor) -> torch.Tensor:
        h = h[None]
        for i, block in enumerate(dec.blocks):
            h = h[:, getattr(dec, f"perm{i}")]
            for layer in block:
                h = layer(h)
        return h[0]

    h = torch.randn(20, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(flow, h)
    assert not torch.allclose(jac.abs(), torch.eye(20, dtype=torch.float64))  # not a permutation
    assert torch.linalg.det(jac).abs().item() == pytest.approx(1.0, abs=1e-9)
    # The permutations are the Keras code's: NumPy's legacy RNG seeded with the block index.
    np.testing.assert_array_equal(dec.perm1.numpy(), np.random.RandomState(1).permutation(20))
    rate = dec(torch.randn(4, 3, dtype=torch.float64))
    assert rate.shape == (4, 10, 2) and (rate >= 1e-7).all()


# -- training --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny() -> SessionData:
    # The demo's simulated M1, 20-bin trials: 24 usable of 26 (a failed trial and one with
    # missing velocity are dropped).
    spec = SimulatedSession("Sim", "20000101", {"M1": 6}, n_trials=26, seed=5)
    return simulate_session(spec, "M1", t_dur=20)[0]


def test_same_seed_same_embedding(tiny, tmp_path):
    a = run(tiny, seed=4, epochs=3)
    b = run(tiny, seed=4, epochs=3)
    c = run(tiny, seed=5, epochs=3)
    for key in ("train", "test", "test_paper", "loss"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert not np.array_equal(a.train, c.train)
    # Contract: shapes, labels, loss history, provenance; a save/load round trip.
    x_tr, y_tr = tiny.split("train")
    assert a.train.shape == (len(x_tr), 3) and a.test.shape == a.test_paper.shape
    np.testing.assert_array_equal(a.labels_train, y_tr)
    assert a.loss.shape == (3,) and a.loss_name == "-ELBO"
    assert a.extras["val_loss"].shape == (3,) and a.extras["train_encoder"].shape == a.train.shape
    assert a.meta["n_parameters"] == pivae.count_parameters(pivae.PiVAE(6))
    assert a.meta["config"]["kind"] == "pivae" and a.meta["seed"] == 4
    back = EmbeddingRun.load(a.save(tmp_path / "pivae.npz"))
    np.testing.assert_array_equal(back.test_paper, a.test_paper)


def test_validation_part_is_the_last_training_trials(tiny):
    # 24 trials -> 19 train; 1/8 of them (2 trials) validate, 17 fit.
    r = run(tiny, seed=0, epochs=1)
    assert int(r.extras["n_fit_bins"]) == 17 * tiny.t_dur
    assert pivae._split_validation(19, 0.125) == 17
    assert pivae._split_validation(19, 0.0) == 19
    with pytest.raises(ValueError, match="no trials to fit"):
        pivae._split_validation(1, 0.5)


def test_paper_split_is_the_authors_split_by_bins():
    # reference/fig4-7.md §1 trial counts (docs/sources.md): Han 171201 292 trials of 35 bins
    # -> 175 / 58 / 59;
    # Chewie 161007 168 trials of 40 -> 100 / 33 / 35; 150630 172 -> 103 / 34 / 35.
    for trials, dur, fit, test in ((292, 35, 175, 59), (168, 40, 100, 35), (172, 40, 103, 35)):
        train_end, valid_end = pivae.paper_split(trials * dur, dur)
        assert (train_end // dur, (trials * dur - valid_end) // dur) == (fit, test)
        assert train_end % dur == 0 and valid_end % dur == 0
    with pytest.raises(ValueError, match="empty"):
        pivae.paper_split(40, 40)


def test_paper_protocol_fits_the_first_60_percent_for_fixed_epochs(tiny):
    r = run(tiny, seed=1, epochs=3, protocol="paper", patience=1)
    train_end, valid_end = pivae.paper_split(tiny.neural.shape[0], tiny.t_dur)
    # The run's splits are the protocol's: in-sample scores cover the fit bins only.
    np.testing.assert_array_equal(r.labels_train, tiny.labels[:train_end])
    np.testing.assert_array_equal(r.labels_test, tiny.labels[valid_end:])
    assert r.train.shape[0] == train_end and r.test.shape[0] == tiny.labels.shape[0] - valid_end
    assert int(r.extras["n_fit_bins"]) == train_end
    # Every epoch runs (no early stopping, even with patience 1) and the final weights are kept.
    assert r.meta["epochs_run"] == 3 and r.meta["restored_epoch"] == 2
    assert r.meta["protocol"] == "paper" and r.meta["config"]["early_stopping"] is False
    assert r.extras["val_loss"].shape == (3,)
    # The test embedding without labels differs from the authors' one with test labels.
    assert not np.array_equal(r.test, r.test_paper)


def test_epochs_by_area():
    assert pivae.epochs_for({"M1": 300, "S1": 50}, "S1") == 50
    assert pivae.epochs_for(300, "PMd") == 300
    with pytest.raises(ValueError, match="no entry for area 'PMd'"):
        pivae.epochs_for({"M1": 300}, "PMd", method="piVAE")
    with pytest.raises(ValueError, match="whole number"):
        pivae.epochs_for(2.5, "M1")


def test_unknown_protocol_is_an_error_naming_the_method(tiny):
    with pytest.raises(
        ValueError,
        match=r"methods\.piVAE\.protocol: must be one of 'corrected', 'paper', got 'authors'",
    ):
        run(tiny, epochs=1, protocol="authors")


def test_early_stopping_restores_the_best_weights(tiny):
    x, y = tiny.split("train")
    n_fit = 17 * tiny.t_dur
    cfg = KINDS["pivae"].resolve({"epochs": 30, "patience": 2, "learning_rate": 3e-2})
    torch.manual_seed(0)
    model = pivae.PiVAE(x.shape[1])
    hist = pivae.train_pivae(
        model,
        x[:n_fit],
        y[:n_fit],
        x[n_fit:],
        y[n_fit:],
        cfg=cfg,
        seed=0,
        device="cpu",
        progress=False,
    )
    val = np.asarray(hist["val_loss"])
    best = int(np.argmin(val))
    assert hist["best_epoch"] == hist["restored_epoch"] == best
    # Stopped after `patience` epochs without improvement (this run: after 6 of 30).
    assert hist["epochs_run"] < 30
    assert hist["epochs_run"] - 1 - best == 2
    # The model now holds the best epoch's weights: its validation loss (same fixed noise) is
    # the best one recorded.
    xv = torch.as_tensor(pivae.windows(x[n_fit:]))
    uv = torch.as_tensor(y[n_fit:], dtype=torch.float32)
    again = pivae._mean_loss(model, xv, uv, pivae._chunks(len(xv), 200), seed=1)
    assert again == pytest.approx(val[best], rel=1e-6)


def test_interrupted_training_resumes_bit_identically(tiny, tmp_path, monkeypatch):
    assert methods.is_resumable("pivae")
    params = {"epochs": 5, "checkpoint_every": 2, "early_stopping": False}
    full = run(tiny, seed=2, **params)
    cp = tmp_path / "pivae.ckpt"
    # Interrupt during the 4th epoch, after the checkpoint written at the end of the 2nd.
    real = pivae._mean_loss
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(pivae, "_mean_loss", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(tiny, seed=2, checkpoint=str(cp), **params)
    monkeypatch.setattr(pivae, "_mean_loss", real)
    assert cp.is_file()
    resumed = run(tiny, seed=2, checkpoint=str(cp), **params)
    assert resumed.meta["resumed_from_epoch"] == 2
    for key in ("train", "test", "test_paper", "loss"):
        np.testing.assert_array_equal(getattr(resumed, key), getattr(full, key))
    np.testing.assert_array_equal(resumed.extras["val_loss"], full.extras["val_loss"])
    # A finished run leaves its checkpoint: running again only re-embeds.
    again = run(tiny, seed=2, checkpoint=str(cp), **params)
    assert again.meta["resumed_from_epoch"] == 5
    np.testing.assert_array_equal(again.train, full.train)
    # A checkpoint of another seed (or settings, or data) is not used.
    with pytest.warns(UserWarning, match="different configuration"):
        other = run(tiny, seed=3, checkpoint=str(cp), **params)
    assert other.meta["resumed_from_epoch"] == 0


def _r2(emb: np.ndarray, latent: np.ndarray, fit_emb=None, fit_latent=None) -> np.ndarray:
    """Per-dimension R² of a linear readout of ``latent`` from ``emb`` (fitted on ``fit_*``)."""
    reg = LinearRegression().fit(
        emb if fit_emb is None else fit_emb, latent if fit_latent is None else fit_latent
    )
    return r2_score(latent, reg.predict(emb), multioutput="raw_values")


@pytest.fixture(scope="module")
def learned() -> tuple[SessionData, np.ndarray, EmbeddingRun, EmbeddingRun]:
    # The demo's simulator with neurons that weight speed (direction-free) more than velocity
    # and have no preparatory activity, at 50 Hz (1.5 spikes per bin): most of the neural
    # variance is the speed profile, little is direction, as in motor cortex's
    # condition-invariant signal. 64 usable trials of 30 bins. The latent read out is
    # (vx, vy, speed).
    spec = SimulatedSession(
        "Sim", "20000101", {"M1": 16}, n_trials=67, seed=1, baseline_rate_hz=50.0
    )
    session, latent = simulate_session(spec, "M1", t_dur=30, tuning=(0.7, 1.3, 0.0, 0))
    # A short run: 40 epochs at a higher learning rate than the authors' 2.5e-4, and the
    # labels standardised (the authors feed the raw angle, 0..315, into a tanh MLP, which
    # slows the prior's learning). No early stopping, so the run length is fixed.
    params = {
        "epochs": 40,
        "learning_rate": 2e-3,
        "normalize_labels": True,
        "early_stopping": False,
    }
    trained = run(session, seed=1, **params)
    untrained = run(session, seed=1, **{**params, "epochs": 0})
    return session, latent[:, :3], trained, untrained  # simulate.LATENT[:3]


def test_pivae_learns_the_latent(learned):
    session, latent, r, untrained = learned
    z_tr, z_te = latent[session.is_train], latent[~session.is_train]
    # Training lowers the -ELBO (measured 218 -> 42).
    assert r.loss[-1] < 0.75 * r.loss[0]
    assert r.extras["val_loss"][-1] < r.extras["val_loss"][0]

    # Train embedding = posterior with the training labels. Its velocity dimensions are
    # linear in the true (vx, vy): measured R² 0.89-0.95 over training seeds 1-4 (untrained
    # model: 0.54 / 0.15). 0.8 is well above what an untrained or label-blind model reaches
    # here. All three latent dimensions together, including the speed, which the labels give
    # only non-linearly (|v|) and which the neural data carry (measured 0.66-0.83): average
    # 0.84-0.89 measured, threshold 0.6.
    post = _r2(r.train, z_tr)
    assert post[0] > 0.8 and post[1] > 0.8
    assert post.mean() > 0.6
    post_untrained = _r2(untrained.train, z_tr)
    assert post[:2].mean() > post_untrained[:2].mean() + 0.3

    # Corrected-mode test embedding = the encoder alone, no labels, readout fitted on the
    # encoder-only *train* embedding. It carries the latent, mostly the speed
    # (measured over seeds 1-4: average 0.27-0.50, speed 0.42-0.83); threshold 0.25. Velocity
    # it carries much less than the label-informed posterior: pi-VAE leans on its label prior
    # for what the labels say.
    enc = _r2(r.test, z_te, r.extras["train_encoder"], z_tr)
    assert enc.mean() > 0.25
    assert post[:2].mean() > enc[:2].mean() + 0.3

    # The authors' test embedding uses the test labels: velocity is as good as in-sample.
    paper = _r2(r.test_paper, z_te, r.train, z_tr)
    assert paper[0] > 0.8 and paper[1] > 0.8


def test_fast_path_matches_the_plain_code(tiny):
    # ``fast: true`` (batched conv stacks, cheap permutation gathers, fused Adam) computes
    # the same model as ``fast: false`` (per-layer nn.Conv1d, the code before the option):
    # same parameters, a loss curve and embeddings equal up to float rounding.
    model = pivae.PiVAE(6)
    x = torch.poisson(2 * torch.rand(50, 10, 6), generator=torch.Generator().manual_seed(0))
    u = torch.randn(50, 3)
    with torch.no_grad():
        plain = [t.clone() for t in model.set_fast(False).encoder(x)]
        rate_plain = model.decoder(plain[0])
        fast = model.set_fast(True).encoder(x)
        rate_fast = model.decoder(plain[0])
    for a, b in zip(plain, fast, strict=True):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(rate_fast, rate_plain, rtol=1e-6, atol=0)
    # Gradients agree too.
    grads = []
    for flag in (False, True):
        model.set_fast(flag).zero_grad()
        model.loss(x, u, torch.Generator().manual_seed(1)).backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for g_plain, g_fast in zip(*grads, strict=True):
        torch.testing.assert_close(g_fast, g_plain, rtol=1e-4, atol=1e-5 * g_plain.abs().max())

    params = {"epochs": 3, "early_stopping": False}
    old = run(tiny, seed=1, fast=False, **params)
    new = run(tiny, seed=1, fast=True, **params)
    assert old.meta["n_parameters"] == new.meta["n_parameters"]
    np.testing.assert_allclose(new.loss, old.loss, rtol=1e-4)
    np.testing.assert_allclose(new.extras["val_loss"], old.extras["val_loss"], rtol=1e-4)
    assert not np.array_equal(old.loss, np.zeros(3))
    for key in ("train", "test", "test_paper"):
        np.testing.assert_allclose(getattr(new, key), getattr(old, key), rtol=1e-3, atol=1e-4)
    # The fast path is deterministic as well.
    again = run(tiny, seed=1, fast=True, **params)
    for key in ("train", "test", "test_paper", "loss"):
        np.testing.assert_array_equal(getattr(again, key), getattr(new, key))


def test_fast_runs_do_not_resume_plain_checkpoints(tiny, tmp_path):
    # Resuming is bit-identical only within one code path: a checkpoint of the plain code
    # (written also before ``fast`` existed: its fingerprint leaves ``fast: false`` out)
    # is not resumed by a fast run.
    cfg = KINDS["pivae"].resolve({})
    x, y = np.ones((4, 2)), np.zeros((4, 3))
    plain = pivae._fingerprint({**cfg, "fast": False}, 0, x, y)
    legacy = {k: v for k, v in cfg.items() if k != "fast"}
    assert plain == pivae._fingerprint(legacy, 0, x, y)
    assert pivae._fingerprint(cfg, 0, x, y) != plain
    cp = tmp_path / "pivae.ckpt"
    params = {"epochs": 2, "early_stopping": False, "checkpoint": str(cp)}
    run(tiny, seed=0, fast=False, **params)
    with pytest.warns(UserWarning, match="different configuration"):
        fresh = run(tiny, seed=0, **params)
    assert fresh.meta["resumed_from_epoch"] == 0
