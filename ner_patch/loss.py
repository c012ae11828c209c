r"""The NER training loss: Rank-N-Contrast on reference/positive pairs (METHODS §3).

The cited section of the specification is summarised in ``docs/sources.md``.

The formula below is the paper's label distance; other labels and distances
(:class:`ner_patch.labels.LabelMetric`: any columns, circular ones with their period,
weights) use the same ranking with their own ``D``.

For a batch of ``B`` references with embeddings :math:`r_i` and positives :math:`p_i`,
the ``n = 2B`` features are :math:`f = [r; p]` and both halves carry the reference's
label :math:`y_i = (v_x \cdot 10, v_y \cdot 10, a)`. With the label distance

.. math::  D_{ij} = |\Delta v_x| + |\Delta v_y| + \min(|\Delta a|, 360 - |\Delta a|)

and the similarity :math:`s_{ij} = -\|f_i - f_j\|_2 / \tau`, the loss is

.. math::

    L = -\frac{1}{n(n-1)} \sum_i \sum_{j \ne i}
        \Big[ s_{ij} - \log \underbrace{\sum_{k \ne i,\; D_{ik} \ge D_{ij}} e^{s_{ik}}}_{\mathrm{den}_{ij}} \Big].

The authors evaluate it with a Python loop over ``j`` (``O(n^3)`` work per step).
:func:`ner_loss` computes the same value and gradient with ``O(n^2)`` work after sorting
the ``B`` rows of a ``B x B`` matrix:

* ``D`` depends on labels only and has block structure ``[[D0, D0], [D0, D0]]``, so only
  the rows of ``D0`` (``B x B``) are sorted (:func:`rank_plan`). Columns ``c`` and
  ``c + B`` of a row share their label distance; their ``e^{s}`` are added first.
* In each row, in order of decreasing ``D``, a cumulative sum gives every denominator,
  read at the boundary of the *tie group* (columns with equal ``D``), so tied label
  distances -- frequent: directions are discrete and both halves share labels -- count
  exactly as in the formula.
* The gradient is written out (:class:`_RankNContrast`):
  :math:`n(n-1)\,\partial L / \partial s_{ik} = -[k \ne i] +
  e^{s_{ik}} \sum_{j \ne i:\, D_{ij} \le D_{ik}} 1 / \mathrm{den}_{ij}`,
  a cumulative sum in order of increasing ``D``, read at the other end of the tie group.

Implementations. On CPU the default backend, ``"numba"``, runs single-threaded Numba
kernels (:mod:`ner_patch._kernels`) with NumPy's vectorised ``exp``/``log``; the
``"torch"`` backend (default on CUDA) does the same with PyTorch operations. Both are
checked against a plain loop in the tests.

Numerics. Exponentials are taken of ``s <= 0`` directly. If a denominator underflows
(possible only when similarities span more than ~80: large-magnitude features or a
small temperature), the batch is recomputed in log space (``logcumsumexp``, each row
shifted by its largest similarity -- the authors' stabilisation), which is exact but
slower. Distances come from coordinate differences, not from a Gram matrix, so
coincident points have exactly zero distance and close pairs keep full precision; the
CPU gradient is also accumulated from coordinate differences.

Coincident points. The gradient of :math:`\|x\|` is undefined at ``x = 0``, and batches
contain identical rows (a positive equal to its reference, the same bin drawn twice).
The squared distance is therefore clamped at :data:`DIST_EPS` inside the square root:
pairs closer than ``sqrt(DIST_EPS) = 1e-6`` have distance ``1e-6`` and no gradient
through their distance -- what autograd gives for ``sqrt(clamp(sq, min=DIST_EPS))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ner_patch.labels import PAPER, LabelMetric

__all__ = ["DIST_EPS", "RankPlan", "label_distance", "ner_loss", "rank_plan"]

#: Squared distances below this are clamped (see the module docstring).
DIST_EPS = 1e-12

#: A denominator below this switches a batch to the log-space computation.
_TINY = {torch.float32: 1e-30, torch.float64: 1e-290}


def label_distance(labels: torch.Tensor) -> torch.Tensor:
    """``D[i, j] = |dvx| + |dvy| + min(|da|, 360 - |da|)`` for labels ``[vx*10, vy*10, angle_deg]``.

    Args:
        labels: ``(B, 3)`` tensor.

    Returns:
        ``(B, B)`` tensor of the labels' dtype, symmetric with a zero diagonal.
    """
    if labels.ndim != 2 or labels.shape[1] != 3:
        raise ValueError(
            f"labels must have shape (B, 3) = [vx*10, vy*10, angle_deg], got {tuple(labels.shape)}"
        )
    vx, vy, angle = labels[:, 0], labels[:, 1], labels[:, 2]
    dist = (vx[:, None] - vx[None, :]).abs_()
    dist += (vy[:, None] - vy[None, :]).abs_()
    dangle = (angle[:, None] - angle[None, :]).abs_()
    dist += torch.minimum(dangle, 360.0 - dangle)
    return dist


@dataclass(frozen=True)
class RankPlan:
    """The sorted order and tie groups of every row of ``D0`` (a ``B x B`` label-distance matrix).

    Four ``(B, B)`` int64 tensors; row ``r`` serves feature rows ``r`` and ``r + B``:

    * ``fwd_order[r, p]`` -- the column at position ``p`` in order of *decreasing* ``D``;
    * ``fwd_read[r, c]`` -- the last position in that order with ``D >= D[r, c]``;
    * ``bwd_order[r, p]`` -- the column at position ``p`` in order of *increasing* ``D``;
    * ``bwd_read[r, c]`` -- the last position in that order with ``D <= D[r, c]``.

    A cumulative sum along ``fwd_order`` read at ``fwd_read`` sums over ``D >= D[r, c]``
    (the loss's denominators); along ``bwd_order`` read at ``bwd_read``, over ``D <= D[r, c]``
    (its gradient). Ties are included either way.
    """

    fwd_order: torch.Tensor
    fwd_read: torch.Tensor
    bwd_order: torch.Tensor
    bwd_read: torch.Tensor


def _label_distance_numba(labels: torch.Tensor) -> torch.Tensor:
    """:func:`label_distance` computed by a Numba kernel (same values, bit for bit)."""
    from ner_patch import _kernels

    values = labels.contiguous().numpy()
    out = np.empty((len(values), len(values)), dtype=values.dtype)
    _kernels.label_distances(values, values.dtype.type(360.0), out)
    return torch.from_numpy(out)


def _default_backend(device: torch.device) -> str:
    return "numba" if device.type == "cpu" else "torch"


def rank_plan(dist0: torch.Tensor, backend: str | None = None) -> RankPlan:
    """Sort the rows of ``dist0`` (``(B, B)``, finite, non-negative) and find their tie groups.

    Args:
        dist0: Label distances.
        backend: ``"numba"`` (CPU tensors; the default there) or ``"torch"`` (the default
            on other devices). Both give the same plan up to the order inside tie groups,
            which does not matter.
    """
    backend = backend or _default_backend(dist0.device)
    if backend == "numba":
        return _rank_plan_numba(dist0)
    if backend == "torch":
        return _rank_plan_torch(dist0)
    raise ValueError(f"backend must be 'numba' or 'torch', got {backend!r}")


def _plan_from_keys(keys: np.ndarray) -> RankPlan:
    """The plan from ``(B, B)`` packed keys (:func:`ner_patch._kernels.pack_keys`), sorted here."""
    from ner_patch import _kernels

    # NumPy's 64-bit sort is vectorised: several times faster than argsort or torch.sort.
    keys.sort(axis=1)
    plan = [np.empty(keys.shape, np.int64) for _ in range(4)]
    _kernels.plan_rows_packed(keys, *plan)
    return RankPlan(*(torch.from_numpy(a) for a in plan))


def _rank_plan_numba(dist0: torch.Tensor) -> RankPlan:
    from ner_patch import _kernels

    values = dist0.detach().contiguous().numpy()
    if values.dtype == np.float32:
        # Sort (value, column) pairs packed into uint64: the bit patterns of non-negative
        # float32 values order like the values.
        keys = np.empty(values.shape, np.uint64)
        _kernels.pack_keys(values, keys)
        return _plan_from_keys(keys)
    perm = np.argsort(values, axis=1)
    plan = _kernels.plan_rows(perm, np.take_along_axis(values, perm, axis=1))
    return RankPlan(*(torch.from_numpy(a) for a in plan))


def _label_plan_numba(labels: torch.Tensor) -> RankPlan:
    """``rank_plan(label_distance(labels), "numba")`` for float32 labels in one pass: the
    label distances go straight into the sort keys (same values, bit for bit)."""
    from ner_patch import _kernels

    values = labels.contiguous().numpy()
    keys = np.empty((len(values), len(values)), np.uint64)
    _kernels.label_distance_keys(values, np.float32(360.0), keys)
    return _plan_from_keys(keys)


def _rank_plan_torch(dist0: torch.Tensor) -> RankPlan:
    size = dist0.shape[0]
    ordered, perm = torch.sort(dist0.detach(), dim=1)
    pos = torch.arange(size, device=dist0.device).expand(size, size)
    change = ordered[:, 1:] != ordered[:, :-1]
    is_first = torch.ones((size, size), dtype=torch.bool, device=dist0.device)
    is_first[:, 1:] = change
    is_last = torch.ones((size, size), dtype=torch.bool, device=dist0.device)
    is_last[:, :-1] = change
    first = torch.where(is_first, pos, 0).cummax(1).values
    last = torch.where(is_last, pos, size - 1).flip(1).cummin(1).values.flip(1)
    fwd_read = torch.empty_like(perm).scatter_(1, perm, size - 1 - first)
    bwd_read = torch.empty_like(perm).scatter_(1, perm, last)
    return RankPlan(perm.flip(1), fwd_read, perm, bwd_read)


def _rows(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``x[i, index[i mod B, p]]`` for the ``(2B, B)`` matrix ``x`` and a ``(B, B)`` index."""
    half = index.shape[0]
    return x.view(2, half, half).gather(2, index.expand(2, half, half)).view(2 * half, half)


_DIST_MIN: dict[torch.dtype, float] = {}


def _dist_min(dtype: torch.dtype) -> float:
    """``sqrt(DIST_EPS)`` as computed in ``dtype`` (the distance of coincident points)."""
    if dtype not in _DIST_MIN:
        _DIST_MIN[dtype] = float(torch.tensor(DIST_EPS, dtype=dtype).sqrt())
    return _DIST_MIN[dtype]


def _torch_distances(feats: torch.Tensor) -> torch.Tensor:
    cols = feats.T
    sq = torch.sub(cols[0, :, None], cols[0, None, :]).square_()
    buf = torch.empty_like(sq)
    for k in range(1, cols.shape[0]):
        torch.sub(cols[k, :, None], cols[k, None, :], out=buf)
        sq.addcmul_(buf, buf)
    return sq.clamp_(min=DIST_EPS).sqrt_()


def _terms_per_row(n: int) -> float:
    return float(n * (n - 1))


def _numba_fast(
    expz: np.ndarray, plan: RankPlan, sum_dist: float, temperature: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """Loss from ``exp(s)`` with the Numba kernels; ``None`` if a denominator underflows."""
    from ner_patch import _kernels

    n = expz.shape[0]
    half = n // 2
    den = np.empty((n, half), dtype=expz.dtype)
    if (
        _kernels.denominators(expz, plan.fwd_order.numpy(), plan.fwd_read.numpy(), den)
        < _TINY[_DTYPE[den.dtype]]
    ):
        return None
    logden = np.log(den)
    # Row i has n - 1 terms j: two per column c of D0 (c and c + B), one for its own.
    own = np.trace(logden[:half]) + np.trace(logden[half:])
    loss = (sum_dist / temperature + 2.0 * logden.sum(dtype=np.float64) - own) / _terms_per_row(n)
    return (
        torch.tensor(loss, dtype=_DTYPE[den.dtype]),
        torch.from_numpy(expz),
        torch.from_numpy(den),
    )


def _torch_fast(
    dist: torch.Tensor, plan: RankPlan, sum_dist: float, temperature: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """Loss with PyTorch operations; ``None`` if a denominator underflows."""
    n = dist.shape[0]
    half = n // 2
    expz = torch.mul(dist, -1.0 / temperature).exp_()
    expz.diagonal().zero_()  # k = i is excluded
    paired = expz[:, :half] + expz[:, half:]  # columns c and c + B share D0[i, c]
    den = _rows(_rows(paired, plan.fwd_order).cumsum(1), plan.fwd_read)
    if bool(den.min() < _TINY[dist.dtype]):
        return None
    logden = den.log()
    own = logden.view(2, half, half).diagonal(dim1=1, dim2=2).sum()
    loss = (sum_dist / temperature + 2.0 * logden.sum() - own) / _terms_per_row(n)
    return loss, expz, den


def _log_space(
    dist: torch.Tensor, plan: RankPlan, sum_dist: float, temperature: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Loss in log space: returns it, the row-shifted ``s`` and the log denominators."""
    n = dist.shape[0]
    half = n // 2
    # Relative to each row's largest similarity (smallest distance), which keeps the
    # exponents of near pairs small and precise; the value does not change.
    dist.diagonal().fill_(math.inf)
    dmin = dist.amin(1, keepdim=True)
    dist.diagonal().fill_(_dist_min(dist.dtype))
    shifted = torch.sub(dmin, dist).mul_(1.0 / temperature)
    shifted.diagonal().fill_(-math.inf)
    paired = torch.logaddexp(shifted[:, :half], shifted[:, half:])
    logden = _rows(_rows(paired, plan.fwd_order).logcumsumexp(1), plan.fwd_read)
    own = logden.view(2, half, half).diagonal(dim1=1, dim2=2).sum()
    shift = (n - 1) * float(dmin.sum()) / temperature
    loss = (sum_dist / temperature + 2.0 * logden.sum() - own - shift) / _terms_per_row(n)
    return loss, shifted, logden


_DTYPE = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}


class _RankNContrast(torch.autograd.Function):
    """Value and hand-written gradient of the loss with respect to the ``(2B, d)`` features.

    Three ways, same results: Numba kernels (CPU), PyTorch operations (any device), and
    PyTorch in log space (used when a denominator underflows, or when forced).
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        feats: torch.Tensor,
        plan: RankPlan,
        temperature: float,
        backend: str,
        force_log_space: bool,
    ) -> torch.Tensor:
        n = feats.shape[0]
        if backend == "numba":
            from ner_patch import _kernels

            feats_t = np.ascontiguousarray(feats.detach().numpy().T)
            dist_np = np.empty((n, n), dtype=feats_t.dtype)
            scaled = np.empty((n, n), dtype=feats_t.dtype)  # -dist / T, -inf on the diagonal
            sum_dist = _kernels.distances(feats_t, DIST_EPS, 1.0 / temperature, dist_np, scaled)
            dist = torch.from_numpy(dist_np)
            fast = (
                None
                if force_log_space
                else _numba_fast(np.exp(scaled, out=scaled), plan, sum_dist, temperature)
            )
        else:
            dist = _torch_distances(feats)
            sum_dist = float(dist.sum() - dist.diagonal().sum())
            fast = None if force_log_space else _torch_fast(dist, plan, sum_dist, temperature)
        ctx.mode = backend if fast is not None else "log"
        loss, saved, den = (
            fast if fast is not None else _log_space(dist, plan, sum_dist, temperature)
        )
        ctx.save_for_backward(feats, dist, saved, den, plan.bwd_order, plan.bwd_read)
        ctx.temperature = temperature
        return loss.to(feats.dtype)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        feats, dist, saved, den, bwd_order, bwd_read = ctx.saved_tensors
        n = feats.shape[0]
        half = n // 2
        scale = float(grad_out) / (-ctx.temperature * _terms_per_row(n))
        if ctx.mode == "numba":
            from ner_patch import _kernels

            sums = np.empty((n, half), dtype=den.numpy().dtype)
            _kernels.inverse_sums(den.numpy(), bwd_order.numpy(), bwd_read.numpy(), sums)
            feats_t = np.ascontiguousarray(feats.detach().numpy().T)
            grad_t = np.zeros_like(feats_t)
            _kernels.feature_gradient(
                feats_t, saved.numpy(), dist.numpy(), sums, _dist_min(feats.dtype), scale, grad_t
            )
            return torch.from_numpy(grad_t.T.copy()), None, None, None, None
        own = torch.arange(half, device=feats.device)
        # Weight of each term j over its denominator: 2 per column, 1 for the row's own.
        if ctx.mode == "log":
            terms = math.log(2.0) - den
            terms.view(2, half, half)[:, own, own] -= math.log(2.0)
            sums = _rows(_rows(terms, bwd_order).logcumsumexp(1), bwd_read)
            coef = torch.add(saved.view(n, 2, half), sums.view(n, 1, half)).exp_().view(n, n)
        else:
            terms = torch.reciprocal(den).mul_(2.0)
            terms.view(2, half, half)[:, own, own] *= 0.5
            sums = _rows(_rows(terms, bwd_order).cumsum(1), bwd_read)
            coef = torch.mul(saved.view(n, 2, half), sums.view(n, 1, half)).view(n, n)
        # n(n-1) dL/ds_ik = coef_ik - [k != i]; s = -dist / T; d dist_ik / d f_i = (f_i - f_k) / dist_ik,
        # zero for coincident pairs (dist clamped to its minimum, the diagonal included).
        coef.sub_(1.0).div_(F.threshold(dist, _dist_min(dist.dtype), math.inf))
        ones = torch.ones((n, 1), dtype=feats.dtype, device=feats.device)
        with_ones = torch.cat([feats, ones], 1)
        rows, cols = (
            coef @ with_ones,
            (with_ones.T @ coef).T,
        )  # (coef f, row sums), (coef^T f, column sums)
        grad = (rows[:, -1:] + cols[:, -1:]) * feats - rows[:, :-1] - cols[:, :-1]
        return grad.mul_(scale), None, None, None, None


def ner_loss(
    features: torch.Tensor,
    labels: torch.Tensor,
    temperature: float = 1.0,
    *,
    metric: LabelMetric | None = None,
    backend: str | None = None,
    force_log_space: bool = False,
) -> torch.Tensor:
    """Rank-N-Contrast loss of METHODS §3 (value and gradient), without the ``O(n^3)`` loop.

    METHODS §3 is summarised in ``docs/sources.md``.

    Args:
        features: ``(B, 2, d)``: reference (``[:, 0]``) and positive (``[:, 1]``) embeddings.
        labels: ``(B, k)``: the references' labels, used for both halves; by default
            ``(B, 3)`` ``[vx*10, vy*10, angle_deg]``.
        temperature: ``tau`` in ``s_ij = -||f_i - f_j|| / tau``.
        metric: How label distance is measured (:class:`ner_patch.labels.LabelMetric`);
            default the paper's, :func:`label_distance`.
        backend: ``"numba"`` (CPU only; the default there) or ``"torch"`` (any device; the
            default elsewhere).
        force_log_space: Always use the (slower, underflow-proof) log-space computation.

    Returns:
        The scalar loss, differentiable with respect to ``features``. Computed in float32
        (half-precision inputs are promoted) or float64, on the features' device.
    """
    if features.ndim != 3 or features.shape[1] != 2:
        raise ValueError(f"features must have shape (B, 2, d), got {tuple(features.shape)}")
    batch = features.shape[0]
    if batch < 1:
        raise ValueError("features must hold at least one reference/positive pair")
    metric = PAPER if metric is None else metric
    if labels.shape != (batch, metric.n_columns):
        layout = " = [vx*10, vy*10, angle_deg]" if metric.is_paper else ""
        raise ValueError(
            f"labels must have shape ({batch}, {metric.n_columns}){layout} to match the "
            f"features, got {tuple(labels.shape)}"
        )
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    backend = backend or _default_backend(features.device)
    if backend not in ("numba", "torch"):
        raise ValueError(f"backend must be 'numba' or 'torch', got {backend!r}")
    if backend == "numba" and features.device.type != "cpu":
        raise ValueError("the numba backend runs on CPU tensors only")
    dtype = features.dtype if features.dtype in (torch.float32, torch.float64) else torch.float32
    feats = torch.cat([features[:, 0], features[:, 1]]).to(dtype)
    with torch.no_grad():
        label_dtype = (
            labels.dtype if labels.dtype in (torch.float32, torch.float64) else torch.float32
        )
        labels = labels.detach().to(device=features.device, dtype=label_dtype)
        if not metric.is_paper:
            plan = rank_plan(metric.distance(labels), backend)
        elif backend == "numba" and label_dtype == torch.float32:
            plan = _label_plan_numba(labels)
        else:
            plan = rank_plan(label_distance(labels), backend)
    return _RankNContrast.apply(feats, plan, float(temperature), backend, bool(force_log_space))
