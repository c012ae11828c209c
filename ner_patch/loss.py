r"""The NER training loss: Rank-N-Contrast on reference/positive pairs (METHODS §3).

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

Numerics. Exponentials are taken of ``s <= 0`` directly. If a denominator underflows
(possible only when similarities span more than ~80: large-magnitude features or a
small temperature), the batch is recomputed in log space (``logcumsumexp``, each row
shifted by its largest similarity -- the authors' stabilisation), which is exact but slower. Distances come from coordinate differences, not from a Gram matrix,
so coincident points have exactly zero distance and close pairs keep full precision.

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
    """Where to read and write in each row of ``D0`` (a ``B x B`` label-distance matrix).

    All four are flat indices into one ``B x B`` block (``row * B + column``), shape ``(B*B,)``:

    * ``fwd_take`` -- the columns of each row in order of *decreasing* ``D``;
    * ``fwd_read`` -- per column ``c``: the position, in that order, of the last column
      with ``D >= D[c]`` (the end of ``c``'s tie group);
    * ``bwd_take`` -- the columns of each row in order of *increasing* ``D``;
    * ``bwd_read`` -- per column ``c``: the position, in that order, of the last column
      with ``D <= D[c]``.
    """

    fwd_take: torch.Tensor
    fwd_read: torch.Tensor
    bwd_take: torch.Tensor
    bwd_read: torch.Tensor


def rank_plan(dist0: torch.Tensor, backend: str | None = None) -> RankPlan:
    """Sort the rows of ``dist0`` and locate the tie groups (see :class:`RankPlan`).

    Args:
        dist0: ``(B, B)`` label distances (non-negative, finite).
        backend: ``"numpy"`` (CPU tensors only; the default there: NumPy's SIMD sort is
            several times faster than ``torch.sort`` on CPU) or ``"torch"`` (default on
            other devices). Both give the same plan.
    """
    backend = backend or ("numpy" if dist0.device.type == "cpu" else "torch")
    if backend == "numpy":
        return _rank_plan_numpy(dist0)
    if backend == "torch":
        return _rank_plan_torch(dist0)
    raise ValueError(f"backend must be 'numpy' or 'torch', got {backend!r}")


def _rank_plan_numpy(dist0: torch.Tensor) -> RankPlan:
    size = dist0.shape[0]
    values = dist0.detach().numpy()
    if values.dtype == np.float32:
        # Sort (value, column) pairs packed into uint64: the bit patterns of non-negative
        # float32 values order like the values, and the 64-bit sort is vectorised.
        keys = (values.view(np.uint32).astype(np.uint64) << np.uint64(32)) | np.arange(
            size, dtype=np.uint64
        )
        keys.sort(axis=1)
        perm = (keys & np.uint64(0xFFFFFFFF)).astype(np.int64)
        ordered = keys >> np.uint64(32)
    else:
        perm = np.argsort(values, axis=1)
        ordered = np.take_along_axis(values, perm, axis=1)
    is_start = np.empty((size, size), dtype=bool)
    is_start[:, 0] = True
    np.not_equal(ordered[:, 1:], ordered[:, :-1], out=is_start[:, 1:])
    flat_start = is_start.ravel()
    starts = np.flatnonzero(flat_start)  # flat position of every tie group's first column
    group = np.cumsum(flat_start) - 1
    start = starts[group]
    end = np.append(starts[1:] - 1, size * size - 1)[group]  # groups never span rows
    rows = np.arange(size, dtype=np.int64)[:, None] * size
    take = (perm + rows).ravel()
    fwd_read = np.empty(size * size, dtype=np.int64)
    fwd_read[take] = (2 * rows + size - 1 - start.reshape(size, size)).ravel()
    bwd_read = np.empty(size * size, dtype=np.int64)
    bwd_read[take] = end
    fwd_take = np.ascontiguousarray((perm + rows)[:, ::-1]).ravel()
    return RankPlan(*(torch.from_numpy(a) for a in (fwd_take, fwd_read, take, bwd_read)))


def _rank_plan_torch(dist0: torch.Tensor) -> RankPlan:
    size = dist0.shape[0]
    ordered, perm = torch.sort(dist0.detach(), dim=1)
    is_start = torch.ones((size, size), dtype=torch.bool, device=dist0.device)
    torch.ne(ordered[:, 1:], ordered[:, :-1], out=is_start[:, 1:])
    flat_start = is_start.view(-1)
    starts = flat_start.nonzero().squeeze(1)
    group = flat_start.cumsum(0) - 1
    start = starts[group]
    end = torch.cat([starts[1:] - 1, starts.new_tensor([size * size - 1])])[group]
    rows = torch.arange(size, device=dist0.device)[:, None] * size
    take = (perm + rows).view(-1)
    fwd_read = torch.empty_like(take).index_copy_(
        0, take, (2 * rows + size - 1 - start.view(size, size)).view(-1)
    )
    bwd_read = torch.empty_like(take).index_copy_(0, take, end)
    fwd_take = (perm + rows).flip(1).reshape(-1)
    return RankPlan(fwd_take, fwd_read, take, bwd_read)


def _select(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Apply a flat ``B x B`` index to both halves (``(2B, B)``) of ``x``."""
    half = x.shape[1]
    return x.view(2, half * half).index_select(1, index).view(2 * half, half)


_DIST_MIN: dict[torch.dtype, float] = {}


def _dist_min(dtype: torch.dtype) -> float:
    """``sqrt(DIST_EPS)`` as computed in ``dtype`` (the distance of coincident points)."""
    if dtype not in _DIST_MIN:
        _DIST_MIN[dtype] = float(torch.tensor(DIST_EPS, dtype=dtype).sqrt())
    return _DIST_MIN[dtype]


class _RankNContrast(torch.autograd.Function):
    """Value and hand-written gradient of the loss with respect to the ``(2B, d)`` features."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        feats: torch.Tensor,
        plan: RankPlan,
        temperature: float,
        force_log_space: bool,
    ) -> torch.Tensor:
        n = feats.shape[0]
        half = n // 2
        cols = feats.T
        sq = torch.sub(cols[0, :, None], cols[0, None, :]).square_()
        buf = torch.empty_like(sq)
        for k in range(1, cols.shape[0]):
            torch.sub(cols[k, :, None], cols[k, None, :], out=buf)
            sq.addcmul_(buf, buf)
        del buf
        dist = sq.clamp_(min=DIST_EPS).sqrt_()

        log_space = force_log_space
        if not log_space:
            expz = torch.mul(dist, -1.0 / temperature).exp_()
            expz.diagonal().zero_()  # k = i is excluded
            paired = expz[:, :half] + expz[:, half:]  # columns c and c + B share D0[i, c]
            den = _select(_select(paired, plan.fwd_take).cumsum(1), plan.fwd_read)
            log_space = bool(den.min() < _TINY[feats.dtype])
        shift = 0.0
        if log_space:
            # Relative to each row's largest similarity (smallest distance), which keeps
            # the exponents of near pairs small and precise; the value does not change.
            dist.diagonal().fill_(math.inf)
            dmin = dist.amin(1, keepdim=True)
            dist.diagonal().fill_(_dist_min(dist.dtype))
            z = torch.sub(dmin, dist).mul_(1.0 / temperature)
            z.diagonal().fill_(-math.inf)
            paired = torch.logaddexp(z[:, :half], z[:, half:])
            logden = _select(_select(paired, plan.fwd_take).logcumsumexp(1), plan.fwd_read)
            saved, den = z, logden
            shift = (n - 1) * float(dmin.sum()) / temperature
        else:
            logden = den.log()
            saved = expz

        # Row i has n - 1 terms j: two per column c of D0 (c and c + B), one for its own.
        own = logden.view(2, half, half).diagonal(dim1=1, dim2=2).sum()
        sum_dist = dist.sum() - dist.diagonal().sum()
        loss = (sum_dist / temperature + 2.0 * logden.sum() - own - shift) / (n * (n - 1))

        ctx.save_for_backward(feats, dist, saved, den, plan.bwd_take, plan.bwd_read)
        ctx.temperature = temperature
        ctx.log_space = log_space
        return loss

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        feats, dist, saved, den, bwd_take, bwd_read = ctx.saved_tensors
        n = feats.shape[0]
        half = n // 2
        own = torch.arange(half, device=feats.device)
        # Weight of each term j over its denominator: 2 per column, 1 for the row's own.
        if ctx.log_space:
            terms = math.log(2.0) - den
            terms.view(2, half, half)[:, own, own] -= math.log(2.0)
            acc = _select(_select(terms, bwd_take).logcumsumexp(1), bwd_read)
            coef = torch.add(saved.view(n, 2, half), acc.view(n, 1, half)).exp_().view(n, n)
        else:
            terms = torch.reciprocal(den).mul_(2.0)
            terms.view(2, half, half)[:, own, own] *= 0.5
            acc = _select(_select(terms, bwd_take).cumsum(1), bwd_read)
            coef = torch.mul(saved.view(n, 2, half), acc.view(n, 1, half)).view(n, n)
        # n(n-1) dL/ds_ik = coef_ik - [k != i]; s = -dist / T; d dist_ik / d f_i = (f_i - f_k) / dist_ik,
        # zero for coincident pairs (dist clamped to its minimum, the diagonal included).
        coef.sub_(1.0).div_(F.threshold(dist, _dist_min(dist.dtype), math.inf))
        weight = coef.sum(1) + coef.sum(0)
        grad = weight[:, None] * feats - coef @ feats - (feats.T @ coef).T
        grad.mul_(grad_out / (-ctx.temperature * n * (n - 1)))
        return grad, None, None, None


def ner_loss(
    features: torch.Tensor,
    labels: torch.Tensor,
    temperature: float = 1.0,
    *,
    force_log_space: bool = False,
) -> torch.Tensor:
    """Rank-N-Contrast loss of METHODS §3 (value and gradient), without the ``O(n^3)`` loop.

    Args:
        features: ``(B, 2, d)``: reference (``[:, 0]``) and positive (``[:, 1]``) embeddings.
        labels: ``(B, 3)``: the references' ``[vx*10, vy*10, angle_deg]``, used for both halves.
        temperature: ``tau`` in ``s_ij = -||f_i - f_j|| / tau``.
        force_log_space: Always use the (slower, underflow-proof) log-space path; for tests.

    Returns:
        The scalar loss, differentiable with respect to ``features``. Computed in float32
        (half-precision inputs are promoted) or float64, on the features' device.
    """
    if features.ndim != 3 or features.shape[1] != 2:
        raise ValueError(f"features must have shape (B, 2, d), got {tuple(features.shape)}")
    batch = features.shape[0]
    if batch < 1:
        raise ValueError("features must hold at least one reference/positive pair")
    if labels.shape != (batch, 3):
        raise ValueError(
            f"labels must have shape ({batch}, 3) to match the features, got {tuple(labels.shape)}"
        )
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    dtype = features.dtype if features.dtype in (torch.float32, torch.float64) else torch.float32
    feats = torch.cat([features[:, 0], features[:, 1]]).to(dtype)
    with torch.no_grad():
        label_dtype = (
            labels.dtype if labels.dtype in (torch.float32, torch.float64) else torch.float32
        )
        plan = rank_plan(
            label_distance(labels.detach().to(device=features.device, dtype=label_dtype))
        )
    return _RankNContrast.apply(feats, plan, float(temperature), bool(force_log_space))
