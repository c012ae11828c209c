"""PCA, dPCA and UMAP baselines: each does its job on a simulated session with a known latent.

The sessions are the offline demo's simulated M1 (:func:`ner_repro.synthetic.reaching.simulate_session`,
smoothed and cut as ingestion does): 8 reach directions, a velocity latent ``(vx, vy)`` that
depends on direction *and* time, a direction-independent speed profile, and a preparatory
signal pointing at the target before the reach. Neurons are log-linear in the latent, spikes
Poisson. Rates of 20 Hz (0.6 spikes per bin) rather than the demo's 8 Hz.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from ner_repro import methods
from ner_repro.core.embedding import EmbeddingRun
from ner_repro.core.session import SessionData
from ner_repro.methods.common import balanced_trials, direction_averages
from ner_repro.synthetic.reaching import SimulatedSession, simulate_session


def run(kind: str, session: SessionData, seed: int = 0, **params) -> EmbeddingRun:
    return methods.get(kind)(
        session, seed=seed, params=params, method=kind, device="cpu", progress=False
    )


def simulate(n_trials: int, n_neurons: int, seed: int) -> tuple[SessionData, np.ndarray]:
    """30-bin trials; 3 of the ``n_trials`` are unusable on purpose and dropped."""
    spec = SimulatedSession(
        "Sim", "20000101", {"M1": n_neurons}, n_trials, seed=seed, baseline_rate_hz=20.0
    )
    return simulate_session(spec, "M1", t_dur=30)


@pytest.fixture(scope="module")
def sim() -> tuple[SessionData, np.ndarray]:
    # 96 trials; 200 neurons, so that dPCA's time component is clean (see the dPCA test).
    return simulate(99, 200, seed=0)


def _trial_dirs(labels: np.ndarray, t_dur: int) -> np.ndarray:
    return (labels[::t_dur, 2] // 45).astype(int)


def _check_contract(r: EmbeddingRun, session: SessionData, dim: int, tmp_path) -> EmbeddingRun:
    """Shapes and labels follow the split; the run survives a save/load round trip."""
    x_tr, y_tr = session.split("train")
    x_te, y_te = session.split("test")
    assert r.train.shape == (len(x_tr), dim)
    assert r.test.shape == (len(x_te), dim)
    np.testing.assert_array_equal(r.labels_train, y_tr)
    np.testing.assert_array_equal(r.labels_test, y_te)
    assert r.t_dur == session.t_dur and r.session == session.name
    assert r.meta["seed"] == r.seed and "wall_time_s" in r.meta and "config" in r.meta
    back = EmbeddingRun.load(r.save(tmp_path / f"{r.method}.npz"))
    np.testing.assert_array_equal(back.train, r.train)
    assert set(back.extras) == set(r.extras)
    return back


def test_all_kinds_registered():
    for kind in ("pca", "dpca", "umap", "pivae"):
        assert callable(methods.get(kind))


def test_unknown_parameter_is_an_error(sim):
    with pytest.raises(ValueError, match=r"n_compnents: not a setting of method kind 'pca'"):
        run("pca", sim[0], n_compnents=3)


def test_direction_helpers(sim):
    s, _ = sim
    x, y = s.split("train")
    dirs = _trial_dirs(y, s.t_dur)
    present, avg = direction_averages(x, y, s.t_dur)
    np.testing.assert_array_equal(present, np.arange(8))
    blocks = x.reshape(-1, s.t_dur, x.shape[1])
    np.testing.assert_allclose(avg[3], blocks[dirs == 3].mean(0))
    _, trials, n_min = balanced_trials(x, y, s.t_dur)
    assert n_min == np.bincount(dirs).min()
    assert trials.shape == (n_min, 8, s.t_dur, x.shape[1])
    # The first n_min trials of direction 5, in recording order.
    np.testing.assert_array_equal(trials[:, 5], blocks[dirs == 5][:n_min])


# -- PCA -------------------------------------------------------------------------------------


def test_pca_is_fitted_on_direction_averages(sim, tmp_path):
    s, _ = sim
    r = run("pca", s)
    _check_contract(r, s, 3, tmp_path)
    x, y = s.split("train")
    dirs = _trial_dirs(y, s.t_dur)
    blocks = x.reshape(-1, s.t_dur, x.shape[1])
    avg = np.stack([blocks[dirs == d].mean(0) for d in range(8)]).reshape(8 * s.t_dur, -1)
    ref = PCA(3).fit(avg)
    # Same subspace and axes (up to sign) as an independent PCA of the 8 averages ...
    np.testing.assert_allclose(
        np.abs(r.extras["components"] @ ref.components_.T), np.eye(3), atol=1e-8
    )
    # ... and not those of a PCA of single bins.
    single = PCA(3).fit(x)
    assert not np.allclose(np.abs(single.components_ @ ref.components_.T), np.eye(3), atol=1e-3)
    # The authors' saved array: fit_transform of the stacked averages, (8, t_dur, 3).
    assert r.extras["avg_train"].shape == (8, s.t_dur, 3)
    np.testing.assert_allclose(
        np.abs(r.extras["avg_train"].reshape(-1, 3)), np.abs(ref.transform(avg)), atol=1e-8
    )
    # Single bins are projected onto the same axes: their direction means are avg_train.
    emb = r.train.reshape(-1, s.t_dur, 3)
    for d in range(8):
        np.testing.assert_allclose(emb[dirs == d].mean(0), r.extras["avg_train"][d], atol=1e-10)
    np.testing.assert_allclose(r.test, (s.split("test")[0] - ref.mean_) @ r.extras["components"].T)
    assert r.extras["single_trial_train"].shape == (len(x), 3)
    assert r.test_paper is None and r.loss.size == 0


def test_pca_is_deterministic(sim):
    s, _ = sim
    a, b = run("pca", s, seed=1), run("pca", s, seed=2)
    np.testing.assert_array_equal(a.train, b.train)
    np.testing.assert_array_equal(a.test, b.test)


# -- dPCA ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dpca_run(sim) -> EmbeddingRun:
    return run("dpca", sim[0], seed=3)


def _between_vs_time(Z: np.ndarray) -> tuple[float, float]:
    """For one component (directions, time): mean over time of the variance across directions,
    and the variance over time of the direction mean (the direction-independent part)."""
    return float(Z.var(axis=0).mean()), float(Z.mean(axis=0).var())


def test_dpca_demixes_direction_from_time(dpca_run):
    ex = dpca_run.extras
    assert ex["Z_s"].shape == ex["Z_t"].shape == ex["Z_st"].shape == (3, 8, 30)
    between_s, time_s = _between_vs_time(ex["Z_s"][0])
    between_t, time_t = _between_vs_time(ex["Z_t"][0])
    # The simulation's direction signal (vx, vy, preparation) and its direction-free speed are
    # in separate latent dimensions, so demixing is nearly perfect (measured: 1500 and 86);
    # 20x leaves room for noise while failing for any mixed or swapped component. What leaks
    # into the time component shrinks with the number of neurons (24 neurons: 14x, 200
    # neurons over simulation seeds 0-4: 55x-100x).
    assert between_s > 20 * time_s
    assert time_t > 20 * between_t
    # The first stimulus component tracks the direction: its time-averaged value per direction
    # follows a cosine of the reach angle (amplitude, phase and offset explain it).
    per_dir = ex["Z_s"][0].mean(axis=1)
    angles = np.deg2rad(np.arange(8) * 45.0)
    design = np.column_stack([np.cos(angles), np.sin(angles), np.ones(8)])
    fit, *_ = np.linalg.lstsq(design, per_dir, rcond=None)
    resid = per_dir - design @ fit
    assert resid.var() < 0.05 * per_dir.var()
    assert 0 < float(ex["lambda"]) < 1


def test_dpca_single_bins_project_onto_the_stimulus_decoder(sim, dpca_run, tmp_path):
    s, _ = sim
    r = dpca_run
    _check_contract(r, s, 3, tmp_path)
    x, y = s.split("train")
    _, trials, n_min = balanced_trials(x, y, s.t_dur)
    assert int(r.extras["min_trials"]) == n_min
    # Averaging the single-bin projections over the balanced trials gives back Z['s'].
    proj = (trials - r.extras["mean"]) @ r.extras["decoder_s"]  # (n_min, 8, t_dur, 3)
    np.testing.assert_allclose(proj.mean(0).transpose(2, 0, 1), r.extras["Z_s"], atol=1e-10)
    x_te, _ = s.split("test")
    np.testing.assert_allclose(r.test, (x_te - r.extras["mean"]) @ r.extras["decoder_s"])
    assert "Optimized regularization" in r.meta["dpca_log"]


def test_dpca_is_deterministic_under_its_seed(sim, dpca_run):
    # dPCA's cross-validation folds and randomized SVD draw from NumPy's global RNG; the run
    # seeds it, so the same seed gives bit-identical output even after other draws.
    np.random.seed(12345)  # noqa: NPY002  (whatever the global state was before)
    again = run("dpca", sim[0], seed=3)
    np.testing.assert_array_equal(again.train, dpca_run.train)
    np.testing.assert_array_equal(again.extras["Z_t"], dpca_run.extras["Z_t"])
    assert float(again.extras["lambda"]) == float(dpca_run.extras["lambda"])


# -- UMAP ------------------------------------------------------------------------------------

# Fewer points than UMAP's 4096 exact-neighbour threshold and fewer epochs: each fit takes
# seconds; most of the cost is numba compiling umap-learn on first use.
UMAP_FAST = {"n_epochs": 200}


@pytest.fixture(scope="module")
def umap_sim() -> tuple[SessionData, np.ndarray]:
    return simulate(67, 24, seed=1)  # 64 trials


@pytest.fixture(scope="module")
def umap_label_run(umap_sim) -> EmbeddingRun:
    return run("umap", umap_sim[0], seed=0, supervised=True, paper_test=False, **UMAP_FAST)


@pytest.fixture(scope="module")
def umap_plain_run(umap_sim) -> EmbeddingRun:
    return run("umap", umap_sim[0], seed=0, supervised=False, paper_test=False, **UMAP_FAST)


def _knn_direction_accuracy(emb: np.ndarray, labels: np.ndarray) -> float:
    y = (labels[:, 2] // 45).astype(int)
    return float(cross_val_score(KNeighborsClassifier(15), emb, y, cv=5).mean())


def test_umap_with_labels_separates_directions(umap_sim, umap_label_run, umap_plain_run, tmp_path):
    s, _ = umap_sim
    r = umap_label_run
    _check_contract(r, s, 2, tmp_path)
    y = (r.labels_train[:, 2] // 45).astype(int)
    acc = _knn_direction_accuracy(r.train, r.labels_train)
    sil = silhouette_score(r.train, y)
    # Categorical supervision pulls the 8 directions into 8 clusters (the authors' train
    # direction accuracy is 1.0 on every session): near-perfect kNN accuracy, clear clusters.
    assert acc > 0.97
    assert sil > 0.5
    # Without labels only the bins of the movement carry direction: clearly worse.
    acc_plain = _knn_direction_accuracy(umap_plain_run.train, umap_plain_run.labels_train)
    sil_plain = silhouette_score(umap_plain_run.train, y)
    assert acc_plain < acc - 0.1
    assert sil_plain < sil - 0.2


def test_umap_transform_places_test_bins_in_the_training_map(umap_sim, umap_label_run):
    s, _ = umap_sim
    r = umap_label_run
    # Corrected mode: the trained model's transform. Test bins should land among training
    # bins of their own direction as often as the neural data allow: a kNN classifier in the
    # 24-d neural space itself reaches ~0.30 here (chance 1/8: only the bins of preparation and
    # movement carry direction), the 2-d map measured 0.50. Require 80% of the neural-space
    # accuracy.
    x_tr, lab_tr = s.split("train")
    x_te, lab_te = s.split("test")
    neural_acc = KNeighborsClassifier(15).fit(x_tr, lab_tr[:, 2]).score(x_te, lab_te[:, 2])
    y_tr = (r.labels_train[:, 2] // 45).astype(int)
    y_te = (r.labels_test[:, 2] // 45).astype(int)
    acc_transform = KNeighborsClassifier(15).fit(r.train, y_tr).score(r.test, y_te)
    assert neural_acc > 0.2
    assert acc_transform > 0.8 * neural_acc
    assert r.test_paper is None  # paper_test=False


@pytest.mark.slow
def test_umap_paper_test_is_a_separate_fit(umap_sim, umap_label_run):
    # The authors' test embedding (paper_test=True, the default) is a second fit on the test
    # split with the test labels; same seed -> the same training map as without it.
    r = run("umap", umap_sim[0], seed=0, supervised=True, **UMAP_FAST)
    np.testing.assert_array_equal(r.train, umap_label_run.train)
    np.testing.assert_array_equal(r.test, umap_label_run.test)
    assert r.test_paper is not None and r.test_paper.shape == r.test.shape
    # Its coordinates are unrelated to the training map, so a classifier of the training map
    # does worse on it than on the transformed test bins (measured 0.08 vs 0.50).
    y_tr = (r.labels_train[:, 2] // 45).astype(int)
    y_te = (r.labels_test[:, 2] // 45).astype(int)
    clf = KNeighborsClassifier(15).fit(r.train, y_tr)
    assert clf.score(r.test_paper, y_te) < clf.score(r.test, y_te)


@pytest.mark.slow
def test_umap_is_deterministic_under_its_seed(umap_sim, umap_plain_run):
    # random_state=seed makes umap-learn single-threaded and reproducible (same machine).
    again = run("umap", umap_sim[0], seed=0, supervised=False, paper_test=False, **UMAP_FAST)
    np.testing.assert_array_equal(again.train, umap_plain_run.train)
    np.testing.assert_array_equal(again.test, umap_plain_run.test)


def _numba_cache_probe(x):
    return x + 1


def test_umap_import_turns_numba_cache_on_by_default():
    # umap-learn and pynndescent are imported with cache=True as numba's default, so that
    # later processes load their machine code (ner_repro.methods.umap.import_umap).
    import numba
    from numba.core.caching import NullCache

    from ner_repro.methods.umap import _numba_cache_by_default

    njit, jit = numba.njit, numba.jit
    with _numba_cache_by_default():
        cached = numba.njit(_numba_cache_probe)
        cached_with_options = numba.njit(fastmath=True)(_numba_cache_probe)
        opted_out = numba.njit(cache=False)(_numba_cache_probe)
    assert (numba.njit, numba.jit) == (njit, jit)  # restored
    assert not isinstance(cached._cache, NullCache)
    assert not isinstance(cached_with_options._cache, NullCache)
    assert isinstance(opted_out._cache, NullCache)
    assert isinstance(numba.njit(_numba_cache_probe)._cache, NullCache)


def _sklearn_and_compiled():
    from sklearn.metrics import pairwise_distances

    from ner_repro.methods.umap import import_umap

    import_umap()
    from umap.distances import euclidean

    from ner_repro.methods.umap_pairwise import pairwise

    return pairwise_distances, pairwise(pairwise_distances), euclidean


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_umap_compiled_pairwise_distances_are_sklearns_bits(umap_sim, dtype):
    # umap-learn's small-data distances, sklearn's Python loop over the compiled metric vs
    # the same metric in one compiled loop: the same bits, the same dtype, both layouts.
    sk, compiled, euclidean = _sklearn_and_compiled()
    x = np.ascontiguousarray(umap_sim[0].neural[:700], dtype=dtype)
    y = np.ascontiguousarray(umap_sim[0].neural[700:1000], dtype=dtype)
    for args in ((x,), (x, y)):
        want = sk(*args, metric=euclidean)
        got = compiled(*args, metric=euclidean)
        assert got.dtype == want.dtype == dtype
        np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))


def test_umap_compiled_pairwise_leaves_other_calls_to_sklearn(umap_sim):
    sk, compiled, euclidean = _sklearn_and_compiled()
    x = umap_sim[0].neural[:50].astype(np.float32)
    # Another metric, a Fortran-ordered or non-finite input: scikit-learn, as before.
    np.testing.assert_array_equal(compiled(x, metric="euclidean"), sk(x, metric="euclidean"))
    xf = np.asfortranarray(x)
    np.testing.assert_array_equal(compiled(xf, metric=euclidean), sk(xf, metric=euclidean))
    bad = x.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        compiled(bad, metric=euclidean)


def test_umap_fits_with_compiled_distances_are_bit_identical(umap_sim, umap_label_run, monkeypatch):
    # The whole fit and transform through scikit-learn's loop (COMPILED_PAIRWISE off): the
    # same embeddings as the compiled distances give.
    from ner_repro.methods import umap as umap_method

    monkeypatch.setattr(umap_method, "COMPILED_PAIRWISE", False)
    before = run("umap", umap_sim[0], seed=0, supervised=True, paper_test=False, **UMAP_FAST)
    np.testing.assert_array_equal(before.train, umap_label_run.train)
    np.testing.assert_array_equal(before.test, umap_label_run.test)


def test_umap_warm_up_compiles_only_the_paths_of_the_given_sizes(monkeypatch):
    from ner_repro.methods import umap as umap_method

    fitted: list[int] = []
    monkeypatch.setattr(
        umap_method, "_fit_transform", lambda model, x, y: fitted.append(len(x)) or x[:, :2]
    )

    class _Model:
        def transform(self, x):
            return x[:, :2]

    monkeypatch.setattr(umap_method, "_model", lambda cfg, seed: _Model())
    umap_method.warm_up(sizes=[3000, 1000])
    assert fitted == [600, 600]
    fitted.clear()
    umap_method.warm_up(sizes=[5000, 1200])
    assert fitted == [600, 600, 4200, 4200]
    fitted.clear()
    umap_method.warm_up(sizes=[5000])
    assert fitted == [4200, 4200]
    fitted.clear()
    umap_method.warm_up()
    assert fitted == [600, 600, 4200, 4200]


def test_methods_without_torch_do_not_import_it():
    # Seeding leaves torch alone for the kinds that do not use it (a PCA, dPCA or UMAP job
    # saves its ~1.6 s import); the torch kinds still seed it (test_determinism).
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from ner_repro.methods import run_method\n"
        "from ner_repro.synthetic.reaching import SimulatedSession, simulate_session\n"
        "s, _ = simulate_session(SimulatedSession('Sim', '20000101', {'M1': 12}, 20, seed=0))\n"
        "run_method(s, method='PCA', spec={'kind': 'pca'}, seed=0, device='cpu')\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
