"""ner_patch.ner_loss against a deliberately plain implementation of METHODS §3.

METHODS §3 is summarised in ``docs/sources.md``.
"""

from __future__ import annotations

import pytest
import torch

from ner_patch.loss import DIST_EPS, label_distance, ner_loss, rank_plan

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

#: The three computations of ner_loss on CPU: Numba kernels, PyTorch operations, log space.
PATHS = {
    "numba": {"backend": "numba"},
    "torch": {"backend": "torch"},
    "log-space": {"backend": "torch", "force_log_space": True},
    "numba-log-space": {"backend": "numba", "force_log_space": True},
}


# -- the reference: the formula, written out as loops ---------------------------------------
def plain_label_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """D between two labels [vx*10, vy*10, angle_deg], in the same operation order as METHODS."""
    dangle = abs(a[2] - b[2])
    return (abs(a[0] - b[0]) + abs(a[1] - b[1])) + torch.minimum(dangle, 360.0 - dangle)


def plain_ner_loss(
    features: torch.Tensor, labels: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """L = -1/(n(n-1)) sum_i sum_{j!=i} [s_ij - log sum_{k!=i, D_ik >= D_ij} exp(s_ik)], with loops.

    s_ij = -sqrt(max(||f_i - f_j||^2, DIST_EPS)) / temperature, the same clamp as ner_loss.
    """
    f = torch.cat([features[:, 0], features[:, 1]])
    y = torch.cat([labels, labels])
    n = f.shape[0]
    dist_label = [[plain_label_distance(y[i], y[j]) for j in range(n)] for i in range(n)]
    sim = [
        [
            -torch.sqrt(torch.clamp(((f[i] - f[j]) ** 2).sum(), min=DIST_EPS)) / temperature
            for j in range(n)
        ]
        for i in range(n)
    ]
    total = torch.zeros((), dtype=f.dtype)
    for i in range(n):
        for j in range(n):
            if j == i:
                continue
            terms = [sim[i][k] for k in range(n) if k != i and dist_label[i][k] >= dist_label[i][j]]
            total = total + sim[i][j] - torch.logsumexp(torch.stack(terms), 0)
    return -total / (n * (n - 1))


# -- inputs ------------------------------------------------------------------------------------
def tied_labels(
    batch: int, generator: torch.Generator, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """Labels with many exact ties: small integer velocities and the 8 directions."""
    vx = torch.randint(-2, 3, (batch,), generator=generator)
    vy = torch.randint(-1, 2, (batch,), generator=generator)
    angle = 45 * torch.randint(0, 8, (batch,), generator=generator)
    return torch.stack([vx, vy, angle], 1).to(dtype)


def continuous_labels(
    batch: int, generator: torch.Generator, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """Velocity-like labels (x10 scale) with discrete directions (ties through the angle only)."""
    v = 10 * torch.randn(batch, 2, generator=generator, dtype=torch.float64)
    angle = 45 * torch.randint(0, 8, (batch, 1), generator=generator)
    return torch.cat([v, angle.double()], 1).to(dtype)


def random_features(
    batch: int, dim: int, generator: torch.Generator, scale: float = 1.0
) -> torch.Tensor:
    return scale * torch.randn(batch, 2, dim, generator=generator, dtype=torch.float64)


def loss_and_grad(
    fn, features: torch.Tensor, labels: torch.Tensor, **kwargs
) -> tuple[torch.Tensor, torch.Tensor]:
    x = features.detach().clone().requires_grad_(True)
    loss = fn(x, labels, **kwargs)
    (grad,) = torch.autograd.grad(loss, x)
    return loss.detach(), grad


# -- agreement with the plain implementation ---------------------------------------------------
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("batch", "dim", "temperature", "labels_kind"),
    [
        (1, 2, 1.0, "tied"),
        (2, 3, 1.0, "tied"),
        (5, 3, 1.0, "tied"),
        (7, 2, 0.5, "continuous"),
        (8, 3, 1.0, "continuous"),
        (9, 8, 2.0, "tied"),
        (12, 16, 1.0, "continuous"),
    ],
)
def test_matches_plain_loop_float64(batch, dim, temperature, labels_kind, path):
    gen = torch.Generator().manual_seed(1000 * batch + dim)
    features = random_features(batch, dim, gen)
    labels = (tied_labels if labels_kind == "tied" else continuous_labels)(batch, gen)
    ref_loss, ref_grad = loss_and_grad(plain_ner_loss, features, labels, temperature=temperature)
    loss, grad = loss_and_grad(ner_loss, features, labels, temperature=temperature, **PATHS[path])
    torch.testing.assert_close(loss, ref_loss, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("path", PATHS)
def test_all_labels_tied(path):
    """Every D equal: each denominator is the full row sum."""
    gen = torch.Generator().manual_seed(3)
    features = random_features(6, 3, gen)
    labels = torch.tensor([[1.0, 2.0, 90.0]], dtype=torch.float64).repeat(6, 1)
    ref_loss, ref_grad = loss_and_grad(plain_ner_loss, features, labels)
    loss, grad = loss_and_grad(ner_loss, features, labels, **PATHS[path])
    torch.testing.assert_close(loss, ref_loss, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("path", PATHS)
def test_identical_rows_give_finite_gradients(path):
    """Positives equal to their references and repeated bins: no NaN, same as the plain loop."""
    gen = torch.Generator().manual_seed(4)
    features = random_features(7, 3, gen)
    features[:, 1] = features[:, 0]  # every positive equals its reference
    features[3] = features[1]  # the same bin drawn twice
    labels = tied_labels(7, gen)
    labels[3] = labels[1]
    ref_loss, ref_grad = loss_and_grad(plain_ner_loss, features, labels)
    loss, grad = loss_and_grad(ner_loss, features, labels, **PATHS[path])
    assert torch.isfinite(grad).all()
    torch.testing.assert_close(loss, ref_loss, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("path", PATHS)
def test_all_features_identical(path):
    features = torch.ones(5, 2, 3, dtype=torch.float64)
    labels = tied_labels(5, torch.Generator().manual_seed(5))
    loss, grad = loss_and_grad(ner_loss, features, labels, **PATHS[path])
    ref_loss, _ = loss_and_grad(plain_ner_loss, features, labels)
    torch.testing.assert_close(loss, ref_loss)
    assert torch.equal(grad, torch.zeros_like(grad))


@pytest.mark.parametrize("path", ["numba", "torch", "log-space"])
def test_gradcheck(path):
    gen = torch.Generator().manual_seed(6)
    features = random_features(5, 3, gen).requires_grad_(True)
    labels = tied_labels(5, gen)
    assert torch.autograd.gradcheck(
        lambda x: ner_loss(x, labels, temperature=0.7, **PATHS[path]), (features,)
    )


def test_value_is_shift_and_rotation_invariant():
    gen = torch.Generator().manual_seed(7)
    features = random_features(10, 3, gen)
    labels = continuous_labels(10, gen)
    rotation, _ = torch.linalg.qr(torch.randn(3, 3, generator=gen, dtype=torch.float64))
    moved = features @ rotation.T + torch.tensor([5.0, -3.0, 2.0], dtype=torch.float64)
    torch.testing.assert_close(
        ner_loss(moved, labels), ner_loss(features, labels), rtol=1e-12, atol=1e-12
    )


# -- float32 ---------------------------------------------------------------------------------
def close_in_float32(loss, grad, ref_loss, ref_grad):
    assert loss.dtype == torch.float32 and grad.dtype == torch.float32
    assert torch.isfinite(loss) and torch.isfinite(grad).all()
    torch.testing.assert_close(loss.cpu().double(), ref_loss, rtol=1e-5, atol=0)
    torch.testing.assert_close(
        grad.cpu().double(), ref_grad, rtol=1e-3, atol=1e-4 * ref_grad.abs().max().item()
    )


DEVICE_PATHS = [("cpu", "numba"), ("cpu", "torch")] + (
    [("cuda", "torch")] if torch.cuda.is_available() else []
)


@pytest.mark.parametrize(("device", "backend"), DEVICE_PATHS)
def test_float32_matches_float64_at_training_scale(device, backend):
    """Unit-norm embeddings as produced by offset1-model, batch size of the paper."""
    gen = torch.Generator().manual_seed(8)
    features = torch.nn.functional.normalize(random_features(512, 3, gen), dim=-1)
    features[:50, 1] = features[:50, 0]  # positives that are their reference bin
    labels = continuous_labels(512, gen)
    ref_loss, ref_grad = loss_and_grad(ner_loss, features, labels, backend="torch")
    loss, grad = loss_and_grad(
        ner_loss, features.float().to(device), labels.float().to(device), backend=backend
    )
    close_in_float32(loss, grad, ref_loss, ref_grad)


@pytest.mark.parametrize(("device", "backend"), DEVICE_PATHS)
@pytest.mark.parametrize("scale", [1e2, 1e4])
def test_float32_stable_with_large_features(scale, device, backend):
    """Similarities spanning thousands: exp underflows unless handled; the result must still be right."""
    gen = torch.Generator().manual_seed(9)
    features = random_features(16, 3, gen, scale=scale)
    labels = continuous_labels(16, gen)
    ref_loss, ref_grad = loss_and_grad(plain_ner_loss, features, labels)
    loss, grad = loss_and_grad(
        ner_loss, features.float().to(device), labels.float().to(device), backend=backend
    )
    close_in_float32(loss, grad, ref_loss, ref_grad)


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_small_temperature_float32(backend):
    gen = torch.Generator().manual_seed(10)
    features = torch.nn.functional.normalize(random_features(12, 3, gen), dim=-1)
    labels = tied_labels(12, gen)
    ref_loss, ref_grad = loss_and_grad(plain_ner_loss, features, labels, temperature=0.01)
    loss, grad = loss_and_grad(
        ner_loss, features.float(), labels.float(), temperature=0.01, backend=backend
    )
    close_in_float32(loss, grad, ref_loss, ref_grad)


def test_half_precision_input_is_promoted():
    gen = torch.Generator().manual_seed(11)
    features = torch.nn.functional.normalize(random_features(8, 3, gen), dim=-1)
    labels = continuous_labels(8, gen)
    half = features.to(torch.bfloat16).requires_grad_(True)
    loss = ner_loss(half, labels)
    loss.backward()
    assert loss.dtype == torch.float32 and half.grad.dtype == torch.bfloat16
    torch.testing.assert_close(
        loss.double(), ner_loss(half.detach().double(), labels), rtol=1e-6, atol=0
    )


# -- pieces ----------------------------------------------------------------------------------
def test_label_distance_is_l1_velocity_plus_circular_angle():
    labels = torch.tensor([[0.0, 0.0, 0.0], [3.0, -4.0, 315.0], [1.0, 1.0, 180.0]])
    dist = label_distance(labels)
    expected = torch.tensor(
        [[0.0, 7.0 + 45.0, 2.0 + 180.0], [52.0, 0.0, 7.0 + 135.0], [182.0, 142.0, 0.0]]
    )
    torch.testing.assert_close(dist, expected)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_numba_label_distance_is_bitwise_equal(dtype):
    """Ties are found by exact equality, so both backends must round identically."""
    from ner_patch.loss import _label_distance_numba

    gen = torch.Generator().manual_seed(13)
    for labels in (continuous_labels(200, gen, dtype), tied_labels(200, gen, dtype)):
        assert torch.equal(_label_distance_numba(labels), label_distance(labels))


def plan_in_row_terms(dist0: torch.Tensor, backend: str) -> dict[str, list[list[float]]]:
    """What a plan means per row: D along each order, and the position each column reads."""
    size = dist0.shape[0]
    plan = rank_plan(dist0, backend)
    out: dict[str, list[list[float]]] = {}
    for name in ("fwd_order", "bwd_order"):
        order = getattr(plan, name)
        assert (order.sort(1).values == torch.arange(size)).all()  # a permutation of each row
        out[name] = dist0.gather(1, order).tolist()
    out["fwd_read"] = plan.fwd_read.tolist()
    out["bwd_read"] = plan.bwd_read.tolist()
    return out


@pytest.mark.parametrize("backend", ["numba", "torch"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rank_plan_orders_rows_and_finds_tie_groups(backend, dtype):
    dist0 = torch.tensor(
        [
            [0.0, 2.0, 1.0, 2.0, 0.0],
            [3.0, 0.0, 3.0, 3.0, 1.0],
            [0.0] * 5,
            [4.0, 3.0, 2.0, 1.0, 0.0],
            [0.5] * 5,
        ],
        dtype=dtype,
    )
    plan = plan_in_row_terms(dist0, backend)
    assert plan["fwd_order"][0] == [2.0, 2.0, 1.0, 0.0, 0.0] and plan["bwd_order"][0] == [
        0.0,
        0.0,
        1.0,
        2.0,
        2.0,
    ]
    # Forward: a column reads the last position (in decreasing order) with D >= its own D.
    assert plan["fwd_read"][0] == [4, 1, 2, 1, 4]
    assert plan["fwd_read"][1] == [2, 4, 2, 2, 3]
    assert plan["fwd_read"][2] == [4] * 5 and plan["fwd_read"][4] == [4] * 5
    assert plan["fwd_read"][3] == [0, 1, 2, 3, 4]
    # Backward: the last position (in increasing order) with D <= its own D.
    assert plan["bwd_read"][0] == [1, 4, 2, 4, 1]
    assert plan["bwd_read"][1] == [4, 0, 4, 4, 1]
    assert plan["bwd_read"][2] == [4] * 5 and plan["bwd_read"][3] == [4, 3, 2, 1, 0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rank_plan_backends_agree(dtype):
    gen = torch.Generator().manual_seed(12)
    dist0 = label_distance(tied_labels(64, gen, dtype))
    assert plan_in_row_terms(dist0, "numba") == plan_in_row_terms(dist0, "torch")


@pytest.mark.parametrize(
    ("features", "labels", "message"),
    [
        (torch.zeros(4, 3), torch.zeros(4, 3), "features must have shape"),
        (torch.zeros(4, 2, 3), torch.zeros(4, 2), "labels must have shape"),
        (torch.zeros(4, 2, 3), torch.zeros(5, 3), "labels must have shape"),
    ],
)
def test_rejects_bad_shapes(features, labels, message):
    with pytest.raises(ValueError, match=message):
        ner_loss(features, labels)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="temperature"):
        ner_loss(torch.zeros(2, 2, 3), torch.zeros(2, 3), temperature=0.0)
    with pytest.raises(ValueError, match="backend"):
        ner_loss(torch.zeros(2, 2, 3), torch.zeros(2, 3), backend="cuda")
