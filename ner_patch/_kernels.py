"""Numba kernels of :func:`ner_patch.loss.ner_loss` on CPU.

Each kernel is one single-threaded pass over the rows of an ``n x n`` (or ``n x B``)
matrix; exponentials and logarithms are left to NumPy's vectorised (also
single-threaded) ``exp``/``log``. On the 2-core machines this project targets, that is
about twice as fast as the same steps written as ~40 PyTorch operations, and it does
not depend on intra-op threads: every multi-threaded PyTorch operation synchronises its
thread team, which stalls for milliseconds whenever another process holds a core.

Compiled on first use (a few seconds) and cached next to this file by Numba.
Layouts: features are passed transposed, ``(d, n)``; rows ``i`` and ``i + B`` (a
reference and its positive) share the label row ``i mod B`` of the :class:`RankPlan`.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_REASSOC = {"reassoc", "contract"}  # vectorise sums; no assumptions about inf or NaN


@numba.njit(cache=True, nogil=True)
def label_distances(
    labels: np.ndarray, full_turn: float, out: np.ndarray
) -> None:  # pragma: no cover
    """``out[i, j] = (|dvx| + |dvy|) + min(|da|, full_turn - |da|)``, in the labels' precision.

    ``full_turn`` is 360 in the labels' dtype, so that every operation rounds exactly as
    :func:`ner_patch.loss.label_distance` does and ties are found identically.
    """
    size = labels.shape[0]
    for i in range(size):
        for j in range(size):
            dangle = abs(labels[i, 2] - labels[j, 2])
            out[i, j] = (abs(labels[i, 0] - labels[j, 0]) + abs(labels[i, 1] - labels[j, 1])) + min(
                dangle, full_turn - dangle
            )


@numba.njit(cache=True, nogil=True)
def plan_rows(  # pragma: no cover - compiled
    perm: np.ndarray, ordered: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Orders and tie-group boundaries per row, from rows sorted by increasing ``D``.

    Args:
        perm: ``(B, B)`` int64: the column at each position of the sorted row.
        ordered: ``(B, B)``: the sorted values (only compared for equality).

    Returns:
        ``fwd_order, fwd_read, bwd_order, bwd_read`` as in :class:`ner_patch.loss.RankPlan`.
    """
    size = perm.shape[0]
    fwd_order = np.empty((size, size), np.int64)
    fwd_read = np.empty((size, size), np.int64)
    bwd_order = np.empty((size, size), np.int64)
    bwd_read = np.empty((size, size), np.int64)
    for r in range(size):
        first = 0
        while first < size:
            last = first
            while last + 1 < size and ordered[r, last + 1] == ordered[r, first]:
                last += 1
            for pos in range(first, last + 1):
                col = perm[r, pos]
                bwd_order[r, pos] = col
                fwd_order[r, size - 1 - pos] = col
                bwd_read[r, col] = last
                fwd_read[r, col] = size - 1 - first
            first = last + 1
    return fwd_order, fwd_read, bwd_order, bwd_read


@numba.njit(cache=True, nogil=True)
def label_distance_keys(  # pragma: no cover - compiled
    labels: np.ndarray, full_turn: float, keys: np.ndarray
) -> None:
    """``keys[i, j] = (bits of D[i, j]) << 32 | j`` for float32 ``labels``, ``D`` as in
    :func:`label_distances` (the same operations, so the same values bit for bit).

    The bit patterns of non-negative float32 values order like the values, so sorting a
    row of keys sorts its columns by ``D`` (ties by column).
    """
    size = labels.shape[0]
    row = np.empty(size, np.float32)
    bits = row.view(np.uint32)
    shift = np.uint64(32)
    for i in range(size):
        for j in range(size):
            dangle = abs(labels[i, 2] - labels[j, 2])
            row[j] = (abs(labels[i, 0] - labels[j, 0]) + abs(labels[i, 1] - labels[j, 1])) + min(
                dangle, full_turn - dangle
            )
        for j in range(size):
            keys[i, j] = (np.uint64(bits[j]) << shift) | np.uint64(j)


@numba.njit(cache=True, nogil=True)
def pack_keys(values: np.ndarray, keys: np.ndarray) -> None:  # pragma: no cover - compiled
    """``keys[i, j] = (bits of values[i, j]) << 32 | j`` for non-negative float32 ``values``."""
    size = values.shape[0]
    shift = np.uint64(32)
    for i in range(size):
        bits = values[i].view(np.uint32)
        for j in range(size):
            keys[i, j] = (np.uint64(bits[j]) << shift) | np.uint64(j)


@numba.njit(cache=True, nogil=True)
def plan_rows_packed(  # pragma: no cover - compiled
    keys: np.ndarray,
    fwd_order: np.ndarray,
    fwd_read: np.ndarray,
    bwd_order: np.ndarray,
    bwd_read: np.ndarray,
) -> None:
    """:func:`plan_rows` from sorted ``(value bits << 32) | column`` keys (``(B, B)`` uint64).

    Writes into the four ``(B, B)`` int64 arrays given (allocated by the caller: NumPy's
    allocation is much cheaper than one inside a compiled function).
    """
    size = keys.shape[0]
    low = np.uint64(0xFFFFFFFF)
    shift = np.uint64(32)
    for r in range(size):
        first = 0
        while first < size:
            value = keys[r, first] >> shift
            last = first
            while last + 1 < size and (keys[r, last + 1] >> shift) == value:
                last += 1
            for pos in range(first, last + 1):
                col = np.int64(keys[r, pos] & low)
                bwd_order[r, pos] = col
                fwd_order[r, size - 1 - pos] = col
                bwd_read[r, col] = last
                fwd_read[r, col] = size - 1 - first
            first = last + 1


@numba.njit(cache=True, nogil=True, fastmath=_REASSOC)
def distances(  # pragma: no cover - compiled
    feats_t: np.ndarray, eps: float, inv_temperature: float, dist: np.ndarray, scaled: np.ndarray
) -> float:
    """``dist = sqrt(max(||f_i - f_k||^2, eps))`` and ``scaled = -dist / T`` (``-inf`` on the diagonal).

    Returns the sum of the off-diagonal distances.
    """
    dim, n = feats_t.shape
    sq = np.empty(n, feats_t.dtype)
    total = 0.0
    for i in range(n):
        sq[:] = 0.0
        for t in range(dim):
            fi = feats_t[t, i]
            for k in range(n):
                x = fi - feats_t[t, k]
                sq[k] += x * x
        row = 0.0
        for k in range(n):
            value = math.sqrt(max(sq[k], eps))
            dist[i, k] = value
            scaled[i, k] = -value * inv_temperature
            row += value
        scaled[i, i] = -np.inf
        total += row - dist[i, i]
    return total


@numba.njit(cache=True, nogil=True)
def denominators(  # pragma: no cover - compiled
    expz: np.ndarray, fwd_order: np.ndarray, fwd_read: np.ndarray, den: np.ndarray
) -> float:
    """``den[i, c] = sum over columns k != i with D >= D[i, c] of exp(s_ik)``; returns its minimum."""
    n = expz.shape[0]
    half = n // 2
    paired = np.empty(half, expz.dtype)
    cumulative = np.empty(half, expz.dtype)
    smallest = np.inf
    for i in range(n):
        r = i - half if i >= half else i
        for c in range(half):
            paired[c] = expz[i, c] + expz[i, c + half]
        acc = 0.0
        for pos in range(half):
            acc += paired[fwd_order[r, pos]]
            cumulative[pos] = acc
        for c in range(half):
            value = cumulative[fwd_read[r, c]]
            den[i, c] = value
            smallest = min(smallest, value)
    return smallest


@numba.njit(cache=True, nogil=True)
def inverse_sums(  # pragma: no cover - compiled
    den: np.ndarray, bwd_order: np.ndarray, bwd_read: np.ndarray, out: np.ndarray
) -> None:
    """``out[i, c] = sum over terms j != i with D <= D[i, c] of 1 / den[i, j]``.

    Each column stands for two terms ``j`` (``c`` and ``c + B``), the row's own column
    for one.
    """
    n = den.shape[0]
    half = n // 2
    weight = np.empty(half, den.dtype)
    cumulative = np.empty(half, den.dtype)
    for i in range(n):
        r = i - half if i >= half else i
        for c in range(half):
            weight[c] = 2.0 / den[i, c]
        weight[r] *= 0.5
        acc = 0.0
        for pos in range(half):
            acc += weight[bwd_order[r, pos]]
            cumulative[pos] = acc
        for c in range(half):
            out[i, c] = cumulative[bwd_read[r, c]]


@numba.njit(cache=True, nogil=True, fastmath=_REASSOC)
def feature_gradient(  # pragma: no cover - compiled
    feats_t: np.ndarray,
    expz: np.ndarray,
    dist: np.ndarray,
    sums: np.ndarray,
    dist_min: float,
    scale: float,
    grad_t: np.ndarray,
) -> None:
    """Accumulate ``scale * sum_k (e^{s_ik} sums_ik - [k != i]) (f_i - f_k) / dist_ik`` into ``grad_t``.

    Each pair adds to row ``i`` and subtracts from row ``k`` (the distance is symmetric),
    from exact coordinate differences. Coincident pairs (``dist <= dist_min``, the
    diagonal included) contribute nothing.
    """
    dim, n = feats_t.shape
    half = n // 2
    coef = np.empty(n, feats_t.dtype)
    for i in range(n):
        for k in range(half):
            coef[k] = expz[i, k] * sums[i, k] - 1.0
            coef[k + half] = expz[i, k + half] * sums[i, k] - 1.0
        for k in range(n):
            value = dist[i, k]
            coef[k] = coef[k] * scale / value if value > dist_min else 0.0
        for t in range(dim):
            fi = feats_t[t, i]
            acc = 0.0
            for k in range(n):
                g = coef[k] * (fi - feats_t[t, k])
                acc += g
                grad_t[t, k] -= g
            grad_t[t, i] += acc
