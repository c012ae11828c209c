"""The NER plugin on CEBRA: version pin, positive sampling, solver, estimator, seeding."""

from __future__ import annotations

import copy

import cebra
import numpy as np
import pytest
import sklearn.base
import torch
from cebra.integrations.sklearn.dataset import SklearnDataset

from ner_patch import (
    NER,
    SOLVER_NAME,
    ExactIndex,
    KDTreeIndex,
    LabeledBatch,
    NERDataLoader,
    NERSolver,
    SeededCEBRA,
    UnsupportedCEBRAVersion,
    VelocityTimedeltaDistribution,
    check_cebra_version,
    ner_loss,
)
from ner_patch.labels import LabelMetric

# A short fit: CEBRA's paper settings with fewer iterations.
SETTINGS = {
    "model_architecture": "offset1-model",
    "batch_size": 512,
    "learning_rate": 1e-4,
    "temperature": 1.0,
    "output_dimension": 3,
    "distance": "cosine",
    "conditional": "time_delta",
    "time_offsets": 1,
    "device": "cpu",
    "max_iterations": 12,
}


@pytest.fixture(scope="module")
def small_session(ner_sessions_dir):
    """The first 60 trials (2400 bins) of Chewie 2015-06-30, M1."""
    from ner_repro.core.session import SessionData
    from ner_repro.data.ingest import read_session

    full = read_session(
        ner_sessions_dir / "Chewie_20150630_neural_con_dis_index.mat", "M1", t_dur=40
    )
    bins = 60 * full.t_dur
    return SessionData(
        monkey=full.monkey,
        date=full.date,
        area=full.area,
        neural=full.neural[:bins],
        labels=full.labels[:bins],
        t_dur=full.t_dur,
    )


@pytest.fixture(scope="module")
def train_data(small_session):
    x, y = small_session.split("train")
    return x.astype(np.float32), y.astype(np.float32)


def fit(estimator_cls, train_data, seed=0, **overrides):
    torch.manual_seed(seed)
    model = estimator_cls(**{**SETTINGS, **overrides})
    return model.fit(*train_data)


# -- packaging -------------------------------------------------------------------------
@pytest.mark.parametrize("version", ["0.6.1", "0.6.9"])
def test_supported_cebra_versions(version):
    assert check_cebra_version(version) == version


@pytest.mark.parametrize("version", ["0.4.0", "0.6.0", "0.7.0", "1.0.0"])
def test_unsupported_cebra_versions_are_refused(version):
    with pytest.raises(UnsupportedCEBRAVersion, match=r"supports cebra>=0\.6\.1,<0\.7"):
        check_cebra_version(version)


def test_solver_is_registered_with_cebra():
    assert SOLVER_NAME in cebra.solver.get_options()
    model = cebra.models.init("offset1-model", num_neurons=4, num_units=8, num_output=3)
    criterion = cebra.models.FixedCosineInfoNCE(temperature=1.0)
    solver = cebra.solver.init(
        SOLVER_NAME,
        model=model,
        criterion=criterion,
        optimizer=torch.optim.Adam(model.parameters()),
    )
    assert isinstance(solver, NERSolver)


def test_estimators_subclass_cebra_with_its_arguments():
    assert issubclass(NER, cebra.CEBRA) and issubclass(SeededCEBRA, cebra.CEBRA)
    # CEBRA's arguments and the search of the positives; NER also log_infonce and how it
    # reads its labels.
    base = {**cebra.CEBRA().get_params(), "search": "auto"}
    assert SeededCEBRA().get_params() == base
    assert NER().get_params() == {
        **base,
        "log_infonce": False,
        "positive_columns": None,
        "circular_columns": None,
        "label_weights": None,
    }
    clone = sklearn.base.clone(NER(**SETTINGS))
    assert type(clone) is NER and clone.get_params() == NER(**SETTINGS).get_params()


# -- positive sampling ---------------------------------------------------------------------
@pytest.mark.parametrize("search", ["exact", "kdtree", "brute"])
def test_search_ignores_the_angle_column(search):
    """Hand-made: the angle would pick bin 1, the velocities pick bin 0."""
    labels = torch.tensor([[1.0, 0.0, 180.0], [3.0, 0.0, 0.0], [10.0, 10.0, 90.0]])
    distribution = VelocityTimedeltaDistribution(labels, time_delta=1, search=search)
    assert distribution.search_method == search
    query = torch.tensor([[0.0, 0.0, 0.0]])
    assert distribution.search(query).tolist() == [0]
    # Stock CEBRA searches all three columns.
    assert cebra.distributions.ContinuousIndex(labels).search(query).tolist() == [1]


def test_positives_are_velocity_nearest_neighbours_of_the_time_delta_query():
    gen = torch.Generator().manual_seed(0)
    velocity = 10 * torch.randn(400, 2, generator=gen)
    angle = 45.0 * torch.randint(0, 8, (400, 1), generator=gen)
    labels = torch.cat([velocity, angle], 1)
    distribution = VelocityTimedeltaDistribution(labels, time_delta=1)
    reference = distribution.sample_prior(256)

    state = distribution.generator.get_state()
    positive = distribution.sample_conditional(reference)
    # Replay the draw of the label differences to rebuild the queries.
    distribution.generator.set_state(state)
    diff_idx = distribution.randint(len(distribution.time_difference), (256,))
    query = (labels[reference] + distribution.time_difference[diff_idx]).double()

    velocity_dist = torch.cdist(query[:, :2], labels[:, :2].double())
    best = velocity_dist.min(1).values
    assert torch.allclose(velocity_dist[torch.arange(256), positive], best, rtol=1e-5, atol=1e-4)
    # The labels were built so that the angle column changes most neighbours.
    all_columns = torch.cdist(query, labels.double()).argmin(1)
    assert (all_columns != positive).float().mean() > 0.5


def test_kdtree_search_is_the_exact_nearest_neighbour():
    """The k-d tree finds the float64 nearest bin; CEBRA's float32 search sometimes misses it."""
    gen = torch.Generator().manual_seed(1)
    samples = torch.cumsum(0.1 * torch.randn(5000, 2, generator=gen), 0)
    query = samples[torch.randint(0, 5000, (512,), generator=gen)]
    query = query + 0.05 * torch.randn(512, 2, generator=gen)
    found = KDTreeIndex(samples).search(query)
    brute = cebra.distributions.ContinuousIndex(samples).search(query)

    dist = torch.cdist(query.double(), samples.double())
    exact = dist.min(1).values
    assert torch.equal(dist[torch.arange(512), found], exact)
    # Where the two differ, the brute-force pick is the farther one.
    differ = found != brute
    assert (dist[differ, brute[differ]] > exact[differ]).all()
    assert differ.float().mean() < 0.05


def test_kdtree_ties_go_to_the_first_bin_as_with_argmin():
    samples = torch.tensor([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0], [1.0, 1.0], [0.0, 0.0]])
    query = torch.tensor([[1.1, 0.9], [0.0, 0.1], [4.0, 4.0]])
    assert KDTreeIndex(samples).search(query).tolist() == [1, 0, 2]
    assert cebra.distributions.ContinuousIndex(samples).search(query).tolist() == [1, 0, 2]


def test_auto_search_is_the_exact_index_on_the_cpu():
    labels = torch.randn(50, 3)
    distribution = VelocityTimedeltaDistribution(labels)
    assert distribution.search_method == "exact"
    assert isinstance(distribution.index, ExactIndex)
    with pytest.raises(ValueError, match="search must be"):
        VelocityTimedeltaDistribution(labels, search="faiss")


def _time_delta_queries(labels: torch.Tensor, batches: int, seed: int) -> list[torch.Tensor]:
    """Queries as CEBRA's time_delta sampling builds them: a label plus a random label step."""
    steps = labels[1:] - labels[:-1]
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(batches):
        ref = torch.randint(0, len(labels), (512,), generator=gen)
        step = torch.randint(0, len(steps), (512,), generator=gen)
        out.append(labels[ref] + steps[step])
    return out


@pytest.mark.parametrize("columns", [slice(0, 3), slice(0, 2)], ids=["all-columns", "velocity"])
def test_exact_index_is_cebra_brute_force_on_a_real_session(columns, ner_sessions_dir):
    """Same index as CEBRA's float32 argmin for 60 batches of 512 queries (30 720 searches).

    With the angle column (norms up to ~320) float32 rounding moves CEBRA's answer away
    from the float64 nearest neighbour for about 1 % of queries; the exact index follows it.
    """
    from ner_repro.data.ingest import read_session

    session = read_session(
        ner_sessions_dir / "Chewie_20150630_neural_con_dis_index.mat", "M1", t_dur=40
    )
    labels = torch.from_numpy(session.split("train")[1].astype(np.float32))
    samples = labels[:, columns].contiguous()
    exact = ExactIndex(samples, verify=0)
    brute = cebra.distributions.ContinuousIndex(samples)
    kdtree = KDTreeIndex(samples)
    differs_from_float64 = 0
    for query in _time_delta_queries(labels, 60, seed=3):
        query = query[:, columns]
        expected = brute.search(query)
        assert torch.equal(exact.search(query), expected)
        differs_from_float64 += int((kdtree.search(query) != expected).sum())
    if columns == slice(0, 3):
        assert differs_from_float64 > 0  # the case the exact index exists for


def test_exact_index_follows_ties_and_rounding_as_cebra_does():
    """Duplicates, equidistant samples and large norms (many candidates, ball searches)."""
    gen = torch.Generator().manual_seed(7)
    velocity = torch.round(torch.cumsum(torch.randn(4000, 2, generator=gen), 0) * 4) / 4
    angle = 45.0 * torch.randint(0, 8, (4000, 1), generator=gen).float() + 3000.0
    samples = torch.cat([velocity, angle], 1)
    samples[100:200] = samples[:100]  # exact duplicates: argmin takes the first
    exact = ExactIndex(samples, neighbours=4, verify=0)
    brute = cebra.distributions.ContinuousIndex(samples)
    for query in _time_delta_queries(samples, 20, seed=8):
        query = torch.round(query * 8) / 8  # many equidistant samples
        assert torch.equal(exact.search(query), brute.search(query))
    assert exact.ball_queries > 0  # the path beyond the k nearest was exercised


def test_exact_index_falls_back_to_brute_force_if_a_check_fails(monkeypatch):
    samples = torch.randn(300, 3)
    index = ExactIndex(samples, verify=1)
    monkeypatch.setattr(index, "_search", lambda q: np.zeros(len(q), dtype=np.int64))
    query = torch.randn(64, 3)
    with pytest.warns(UserWarning, match="brute"):
        found = index.search(query)
    assert index.use_brute
    assert torch.equal(found, cebra.distributions.ContinuousIndex(samples).search(query))


@pytest.mark.parametrize("estimator", [SeededCEBRA, NER], ids=["CEBRA", "NER"])
def test_exact_search_fits_are_bit_identical_to_cebra_search(estimator, small_session):
    """A seeded fit with the fast exact search equals one with CEBRA's own, bit for bit."""
    neural, labels = small_session.split("train")
    neural, labels = neural.astype(np.float32), labels.astype(np.float32)
    embeddings = {}
    for search in ("auto", "brute"):
        torch.manual_seed(0)
        model = estimator(**SETTINGS, search=search).fit(neural, labels)
        embeddings[search] = (model.transform(neural), list(model.solver_.history))
    assert np.array_equal(embeddings["auto"][0], embeddings["brute"][0])
    assert embeddings["auto"][1] == embeddings["brute"][1]


def loader_for(neural: np.ndarray, labels: np.ndarray, **kwargs) -> NERDataLoader:
    dataset = SklearnDataset(neural, (labels,))
    dataset.configure_for(
        cebra.models.init("offset1-model", num_neurons=neural.shape[1], num_units=4, num_output=3)
    )
    return NERDataLoader(
        dataset=dataset, **{"batch_size": 32, "num_steps": 3, "time_offset": 1, **kwargs}
    )


def test_batches_carry_the_reference_labels():
    rng = np.random.default_rng(0)
    bins = 200
    neural = np.stack([np.arange(bins), rng.normal(size=bins)], 1).astype(
        np.float32
    )  # column 0 = bin
    labels = np.column_stack(
        [rng.normal(size=(bins, 2)) * 10, 45 * rng.integers(0, 8, bins)]
    ).astype(np.float32)
    batches = list(loader_for(neural, labels))
    assert len(batches) == 3
    for batch in batches:
        assert isinstance(batch, LabeledBatch)
        bins_ref = batch.reference[:, 0, 0].long()
        assert torch.equal(batch.labels, torch.from_numpy(labels)[bins_ref])


def test_loader_reads_the_label_columns_of_its_metric_and_needs_time_delta():
    neural = np.zeros((100, 2), dtype=np.float32)
    labels = np.random.default_rng(0).normal(size=(100, 3)).astype(np.float32)
    # Three columns: the paper's layout, positives from the velocities (a view: a slice).
    assert loader_for(neural, labels).distribution.search_columns == slice(0, 2)
    two = loader_for(neural, labels[:, :2])
    assert two.label_metric == LabelMetric(2, (0, 1)) and two.distribution.search_columns == slice(
        0, 2
    )
    odd = loader_for(neural, labels, label_metric=LabelMetric(3, (0, 2)))
    assert odd.distribution.search_columns == [0, 2]
    query = odd.distribution.sample_conditional(torch.arange(10))
    assert query.shape == (10,)
    with pytest.raises(ValueError, match="label metric 2"):
        loader_for(neural, labels, label_metric=LabelMetric(2, (0, 1)))
    with pytest.raises(NotImplementedError, match="time_delta"):
        loader_for(neural, labels, conditional="time")


# -- solver ------------------------------------------------------------------------------
def test_step_back_propagates_only_the_ner_loss():
    gen = torch.Generator().manual_seed(1)
    model = cebra.models.init("offset1-model", num_neurons=5, num_units=8, num_output=3)
    expected_model = copy.deepcopy(model)
    solver = NERSolver(
        model=model,
        criterion=cebra.models.FixedCosineInfoNCE(temperature=1.0),
        optimizer=torch.optim.SGD(model.parameters(), lr=1.0),
        tqdm_on=False,
        log_infonce=True,
    )
    solver.n_features = 5
    samples = [torch.randn(16, 5, 1, generator=gen) for _ in range(3)]
    labels = torch.cat(
        [
            10 * torch.randn(16, 2, generator=gen),
            45.0 * torch.randint(0, 8, (16, 1), generator=gen),
        ],
        1,
    )
    stats = solver.step(LabeledBatch(*samples, labels=labels))

    features = torch.stack([expected_model(samples[0]), expected_model(samples[1])], dim=1)
    loss = ner_loss(features, labels)
    loss.backward()
    for trained, start in zip(model.parameters(), expected_model.parameters(), strict=True):
        torch.testing.assert_close(trained.detach(), (start - start.grad).detach())
    assert stats["total"] == pytest.approx(loss.item())
    assert solver.log["total"] == [stats["total"]] and solver.history == [stats["total"]]
    with torch.no_grad():
        _, align, uniform = solver.criterion(
            features[:, 0], features[:, 1], expected_model(samples[2])
        )
    assert stats["pos"] == pytest.approx(align.item()) and stats["neg"] == pytest.approx(
        uniform.item()
    )


def test_solver_refuses_batches_without_labels():
    model = cebra.models.init("offset1-model", num_neurons=5, num_units=8, num_output=3)
    solver = NERSolver(
        model=model,
        criterion=cebra.models.FixedCosineInfoNCE(),
        optimizer=torch.optim.Adam(model.parameters()),
    )
    batch = cebra.data.Batch(*(torch.zeros(4, 5, 1) for _ in range(3)))
    with pytest.raises(TypeError, match="LabeledBatch"):
        solver.step(batch)


# -- estimator -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"hybrid": True}, NotImplementedError, "hybrid"),
        ({"batch_size": None}, NotImplementedError, "batch_size"),
        ({"temperature_mode": "auto"}, ValueError, "fixed temperature"),
        ({"conditional": "time"}, NotImplementedError, "time_delta"),
    ],
)
def test_unsupported_configurations_are_refused(overrides, error, message):
    neural = np.random.default_rng(0).normal(size=(100, 4)).astype(np.float32)
    labels = np.random.default_rng(1).normal(size=(100, 3)).astype(np.float32)
    with pytest.raises(error, match=message):
        NER(**{**SETTINGS, **overrides}).fit(neural, labels)


def test_discrete_labels_are_refused():
    neural = np.zeros((100, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="exactly one continuous label array, got 2"):
        NER(**SETTINGS).fit(
            neural, np.zeros((100, 3), dtype=np.float32), np.zeros(100, dtype=np.int64)
        )


@pytest.fixture(scope="module")
def trained_ner(train_data):
    """NER trained long enough for its loss to fall (a higher learning rate keeps it short)."""
    return fit(NER, train_data, max_iterations=100, learning_rate=1e-3)


def test_training_loss_falls(trained_ner):
    total = np.asarray(trained_ner.solver_.log["total"])
    assert len(total) == 100 and np.isfinite(total).all()
    assert total[-10:].mean() < total[:10].mean() - 0.02
    assert isinstance(trained_ner.solver_, NERSolver)


def test_embedding_is_on_the_unit_sphere(trained_ner, train_data):
    embedding = trained_ner.transform(train_data[0])
    assert embedding.shape == (len(train_data[0]), 3)
    np.testing.assert_allclose(np.linalg.norm(embedding, axis=1), 1.0, rtol=1e-5)


def test_save_load_round_trip(trained_ner, train_data, tmp_path):
    path = tmp_path / "ner.pt"
    trained_ner.save(path)
    loaded = NER.load(path)
    assert type(loaded) is NER and loaded.get_params() == trained_ner.get_params()
    assert isinstance(loaded.solver_, NERSolver)
    np.testing.assert_array_equal(
        loaded.transform(train_data[0]), trained_ner.transform(train_data[0])
    )
    with pytest.raises(ValueError, match="NER model"):
        SeededCEBRA.load(path)
    # CEBRA itself can read the file, because the solver is registered.
    assert isinstance(cebra.CEBRA.load(path).solver_, NERSolver)


def test_ner_load_refuses_cebra_models(train_data, tmp_path):
    path = tmp_path / "cebra.pt"
    fit(SeededCEBRA, train_data, max_iterations=2).save(path)
    with pytest.raises(ValueError, match="not an NER model"):
        NER.load(path)
    assert type(SeededCEBRA.load(path)) is SeededCEBRA


# -- seeding -------------------------------------------------------------------------------
@pytest.mark.parametrize("estimator_cls", [NER, SeededCEBRA])
def test_seeded_fits_are_bit_identical(estimator_cls, train_data):
    first = fit(estimator_cls, train_data, seed=5)
    second = fit(estimator_cls, train_data, seed=5)
    other = fit(estimator_cls, train_data, seed=6)
    np.testing.assert_array_equal(first.transform(train_data[0]), second.transform(train_data[0]))
    assert first.solver_.log["total"] == second.solver_.log["total"]
    assert not np.array_equal(first.transform(train_data[0]), other.transform(train_data[0]))


def test_stock_cebra_is_not_reproducible_under_manual_seed(train_data):
    """Why SeededCEBRA exists: CEBRA 0.6 seeds its samplers from the OS, not from torch."""
    first = fit(cebra.CEBRA, train_data, seed=5)
    second = fit(cebra.CEBRA, train_data, seed=5)
    assert first.solver_.log["total"] != second.solver_.log["total"]


@pytest.mark.parametrize("estimator_cls", [NER, SeededCEBRA])
def test_resumed_fit_is_bit_identical(estimator_cls, train_data):
    states = {}

    def keep_state(_, solver):
        if len(solver.history) == 5:
            states["at5"] = model.training_state()

    torch.manual_seed(2)
    model = estimator_cls(**SETTINGS)
    model.fit(*train_data, callback=keep_state, callback_frequency=1)
    torch.manual_seed(2)
    resumed = estimator_cls(**SETTINGS).fit(*train_data, resume=states["at5"])
    np.testing.assert_array_equal(resumed.transform(train_data[0]), model.transform(train_data[0]))
    assert resumed.solver_.log["total"] == model.solver_.log["total"]
    assert states["at5"]["step"] == 5


def test_resume_refuses_a_state_from_another_estimator(train_data):
    states = {}
    torch.manual_seed(2)
    model = SeededCEBRA(**SETTINGS)
    model.fit(
        *train_data,
        callback=lambda *_: states.setdefault("s", model.training_state()),
        callback_frequency=1,
    )
    with pytest.raises(ValueError, match="SeededCEBRA fit, not NER"):
        NER(**SETTINGS).fit(*train_data, resume=states["s"])


def test_progress_bar_shows_the_ner_loss(train_data, capsys):
    fit(NER, train_data, max_iterations=3, verbose=True)
    err = capsys.readouterr().err
    assert "total:" in err and "pos:" not in err and "3/3" in err
    fit(NER, train_data, max_iterations=3, verbose=True, log_infonce=True)
    assert "pos:" in capsys.readouterr().err


def test_loader_generators_follow_torch_manual_seed():
    from ner_patch.seeding import loader_generators, seed_loader_from_torch

    rng = np.random.default_rng(1)
    neural = rng.normal(size=(300, 3)).astype(np.float32)
    labels = np.column_stack([rng.normal(size=(300, 2)), 45 * rng.integers(0, 8, 300)]).astype(
        np.float32
    )
    loader = loader_for(neural, labels)
    assert [name for name, _ in loader_generators(loader)] == ["distribution", "distribution.prior"]
    draws = []
    for _ in range(2):
        torch.manual_seed(3)
        seed_loader_from_torch(loader)
        draws.append(loader.get_indices(64))
    for first, second in zip(draws[0][:3], draws[1][:3], strict=True):
        assert torch.equal(first, second)
