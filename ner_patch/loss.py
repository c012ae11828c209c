r"""The NER training loss: Rank-N-Contrast on reference/positive pairs (METHODS §3).

For a batch of ``B`` references with embeddings :math:`r_i` and positives :math:`p_i`,
the ``n = 2B`` features are :math:`f = [r; p]` and both halves carry the reference's
label :math:`y_i = (v_x \cdot 10, v_y \cdot 10, a)`. With the label distance

.. math::  D_{ij} = |\Delta v_x| + |\Delta v_y| + \min(|\Delta a|, 360 - |\Delta a|)

and the similarity :math:`s_{ij} = -\|f_i - f_j\|_2 / \tau`, the loss is

.. math::

    L = -\frac{1}{n(n-1)} \sum_i \sum_{j \ne i}
        \Big[ s_{ij} - \log \sum_{k \ne i,\; D_{ik} \ge D_{ij}} e^{s_{ik}} \Big].

The authors evaluate it with a Python loop over ``j`` (``O(n^3)`` work per step).
:func:`ner_loss` computes the same value and gradient in ``O(n^2)`` after an
``O(B^2 \log B)`` sort:

* ``D`` depends on labels only and has block structure ``[[D0, D0], [D0, D0]]``
  (``D0`` is ``B x B``), so only the rows of ``D0`` are sorted. Columns ``c`` and
  ``c + B`` of a row always share a label distance; their terms are summed first.
* In each sorted row, the denominator of every ``j`` is a reverse cumulative sum
  read at the start of ``j``'s *tie group* (all columns with the same ``D``), so
  tied label distances -- frequent, because directions are discrete and both halves
  share labels -- are counted exactly as in the formula.
* The gradient is written out by hand (:class:`_RankNContrast`):
  :math:`\partial L / \partial s_{ik} = \frac{1}{n(n-1)}\big(-[k \ne i] +
  e^{s_{ik}} \sum_{j \ne i:\, D_{ij} \le D_{ik}} 1 / \mathrm{den}_{ij}\big)`,
  a forward cumulative sum in the same sorted order, read at the *end* of the tie group.

Numerics. Each row is shifted by its maximum similarity (the authors' stabilisation;
it does not change the value). When a row's similarities span so much that a
denominator would underflow (possible only for large-magnitude features or small
temperatures), the same computation runs in log space (``logcumsumexp``), which is
exact but slower. Distances are computed from coordinate differences, not from a Gram
matrix, so coincident points get exactly zero distance.

Coincident points. The gradient of :math:`\|x\|` is undefined at ``x = 0``, and a batch
can contain identical rows (a positive equal to its reference, or the same bin drawn
twice). The squared distance is therefore clamped at :data:`DIST_EPS` inside the
square root: pairs closer than ``sqrt(DIST_EPS) = 1e-6``
have distance ``1e-6`` and receive no gradient through their distance (never NaN).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

__all__ = ["DIST_EPS", "label_distance", "ner_loss", "sort_label_groups"]

#: Squared distances below this are clamped (see the module docstring).
DIST_EPS = 1e-12

#: A denominator below this (after the row-max shift) switches to the log-space path.
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


def sort_label_groups(dist0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sort each row of a label-distance matrix and find its tie groups.

    Args:
        dist0: ``(B, B)`` label distances.

    Returns:
        ``perm`` (``perm[i, p]`` is the column at sorted position ``p`` of row ``i``), and
        for every sorted position the first (``start``) and last (``end``) position of
        the run of equal distances it belongs to. All ``(B, B)`` int64.
    """
    if dist0.device.type == "cpu":
        # NumPy's introsort is 2-3x faster than torch.sort on CPU for these row lengths;
        # the order inside a tie group does not matter.
        perm = torch.from_numpy(np.argsort(dist0.numpy(), axis=1))
        values = dist0.gather(1, perm)
    else:
        values, perm = torch.sort(dist0, dim=1)
    size = values.shape[1]
    pos = torch.arange(size, device=values.device).expand_as(values)
    change = values[:, 1:] != values[:, :-1]
    is_start = torch.ones_like(values, dtype=torch.bool)
    is_start[:, 1:] = change
    is_end = torch.ones_like(values, dtype=torch.bool)
    is_end[:, :-1] = change
    start = torch.where(is_start, pos, 0).cummax(1).values
    end = torch.where(is_end, pos, size - 1).flip(1).cummin(1).values.flip(1)
    return perm, start, end


def _paired_gather(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Gather the columns of both halves' rows (``(2B, B)``) with one ``(B, B)`` index."""
    size = index.shape[0]
    return x.view(2, size, size).gather(2, index.expand(2, size, size)).view(2 * size, size)


class _RankNContrast(torch.autograd.Function):
    """Value and hand-written gradient of the loss with respect to the ``(2B, d)`` features."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        feats: torch.Tensor,
        perm: torch.Tensor,
        start: torch.Tensor,
        end: torch.Tensor,
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
        coincident = sq < DIST_EPS
        dist = sq.clamp_(min=DIST_EPS).sqrt_()
        del sq, buf

        # Row maximum of s over k != i, i.e. the smallest off-diagonal distance.
        dist.diagonal().fill_(math.inf)
        dmin = dist.amin(1, keepdim=True)
        # z = (s - max s) over the row; exp(z) is 0 on the diagonal (k = i is excluded).
        z = torch.sub(dmin, dist)
        if temperature != 1.0:
            z.mul_(1.0 / temperature)
        dist.diagonal().zero_()

        log_space = force_log_space
        if not log_space:
            expz = z.exp()
            # Sum the two columns c and c + B that share the label distance D0[i, c].
            paired = expz.view(n, 2, half).sum(1)
            den = _paired_gather(paired, perm).flip(1).cumsum(1).flip(1)
            den = _paired_gather(den, start)
            log_space = bool(den.min() < _TINY[feats.dtype])
        if log_space:
            paired = torch.logaddexp(z[:, :half], z[:, half:])
            logden = _paired_gather(paired, perm).flip(1).logcumsumexp(1).flip(1)
            logden = _paired_gather(logden, start)
            saved_z, saved_den = z, logden
        else:
            logden = den.log()
            saved_z, saved_den = expz, den

        # Every row has n - 1 terms j: two per D0-column, except its own column (one).
        sum_s = dist.sum() / temperature
        sum_logden = 2.0 * logden.sum() - logden[:, 0].sum() - (n - 1) * dmin.sum() / temperature
        loss = (sum_s + sum_logden) / (n * (n - 1))

        ctx.save_for_backward(feats, dist, coincident, saved_z, saved_den, perm, end)
        ctx.temperature = temperature
        ctx.log_space = log_space
        return loss

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        feats, dist, coincident, z_or_expz, den, perm, end = ctx.saved_tensors
        n = feats.shape[0]
        half = n // 2
        # Weights of the terms j in sorted order: 2 per column, 1 for the row's own column,
        # which has D = 0 and therefore sits in the first tie group (position 0 is as good
        # as any other position of that group).
        if ctx.log_space:
            a = math.log(2.0) - den
            a[:, 0] -= math.log(2.0)
            acc = _paired_gather(a.logcumsumexp(1), end)
            acc = (
                torch.empty_like(acc)
                .view(2, half, half)
                .scatter_(2, perm.expand(2, half, half), acc.view(2, half, half))
            )
            pair = torch.add(z_or_expz.view(n, 2, half), acc.view(n, 1, half)).exp_()
        else:
            a = torch.reciprocal(den).mul_(2.0)
            a[:, 0] *= 0.5
            acc = _paired_gather(a.cumsum(1), end)
            acc = (
                torch.empty_like(acc)
                .view(2, half, half)
                .scatter_(2, perm.expand(2, half, half), acc.view(2, half, half))
            )
            pair = torch.mul(z_or_expz.view(n, 2, half), acc.view(n, 1, half))
        # n(n-1) dL/ds_ik = e^{s_ik} acc_ik - [k != i]; s = -dist / T.
        coeff = pair.view(n, n).sub_(1.0).div_(dist).masked_fill_(coincident, 0.0)
        weight = coeff.sum(1) + coeff.sum(0)
        grad = weight[:, None] * feats - coeff @ feats - coeff.T @ feats
        grad.mul_(grad_out / (-ctx.temperature * n * (n - 1)))
        return grad, None, None, None, None, None


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
        force_log_space: Always use the (slower, overflow-proof) log-space path; for tests.

    Returns:
        The scalar loss, differentiable with respect to ``features``. Computed in float32
        (half precision inputs are promoted) or float64, on the features' device.
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
        dist0 = label_distance(labels.detach().to(device=features.device, dtype=label_dtype))
        perm, start, end = sort_label_groups(dist0)
    return _RankNContrast.apply(feats, perm, start, end, float(temperature), bool(force_log_space))
