"""How NER reads its labels: which columns give the positives, how label distance is measured.

NER ranks samples by a distance between their continuous labels and draws its positives
(CEBRA's ``time_delta`` sampling) in some of the label columns. :class:`LabelMetric` says both:

* ``positive_columns`` -- the columns of the positive search: the positive of a reference
  ``y_ref`` is the bin nearest (Euclidean, in these columns) to ``y_ref + (y_t - y_{t-1})``
  for a random ``t``;
* the label distance ``D(y, y') = sum_c w_c d_c(y_c, y'_c)``, with ``d_c = |y_c - y'_c|``
  for a linear column and ``d_c = min(m, P - m)``, ``m = |y_c - y'_c| mod P``, for a
  circular column of period ``P`` (an angle in degrees: ``P = 360``); ``w_c`` are the
  column weights (default 1).

The paper's labels are ``[vx*10, vy*10, angle_deg]``: positives from the two velocity
columns, ``D = |dvx| + |dvy| + min(|da|, 360 - |da|)`` (:data:`PAPER`). The defaults
(:func:`resolve`): circular columns none, except for labels of exactly three columns,
which are read as the paper's (column 2 circular, period 360) -- pass
``circular_columns={}`` to say that three columns are not the paper's; positive columns
all the columns that are not circular; weights 1.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

__all__ = ["PAPER", "LabelMetric", "check_labels", "check_rankable", "resolve"]


@dataclass(frozen=True)
class LabelMetric:
    """The positive columns and the label distance of NER (module docstring)."""

    n_columns: int
    positive_columns: tuple[int, ...]
    #: ``(column, period)`` pairs, ascending by column.
    circular: tuple[tuple[int, float], ...] = ()
    #: One weight per column.
    weights: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.weights:
            object.__setattr__(self, "weights", (1.0,) * self.n_columns)

    @property
    def is_paper(self) -> bool:
        """Whether this is the paper's metric (:data:`PAPER`), served by the fast kernels."""
        return self == PAPER

    @property
    def positive_slice(self) -> slice | list[int]:
        """The positive columns as a slice where they are consecutive (a view), else a list."""
        cols = self.positive_columns
        if list(cols) == list(range(cols[0], cols[-1] + 1)):
            return slice(cols[0], cols[-1] + 1)
        return list(cols)

    def distance(self, labels: torch.Tensor) -> torch.Tensor:
        """``D[i, j]`` for the rows of ``labels`` (``(B, n_columns)``), in their dtype."""
        if labels.ndim != 2 or labels.shape[1] != self.n_columns:
            raise ValueError(
                f"labels must have shape (B, {self.n_columns}), got {tuple(labels.shape)}"
            )
        periods = dict(self.circular)
        dist = torch.zeros(
            (labels.shape[0], labels.shape[0]), dtype=labels.dtype, device=labels.device
        )
        for c in range(self.n_columns):
            w = self.weights[c]
            if w == 0:
                continue
            col = labels[:, c]
            d = (col[:, None] - col[None, :]).abs_()
            if c in periods:
                d = torch.remainder(d, periods[c])
                d = torch.minimum(d, periods[c] - d)
            dist += d if w == 1 else w * d
        return dist

    def describe(self) -> str:
        """In words, e.g. for a log or a figure footer."""
        parts = []
        for c in range(self.n_columns):
            if self.weights[c] == 0:
                continue
            period = dict(self.circular).get(c)
            term = f"|d{c}|" if period is None else f"circ{c}(P={period:g})"
            parts.append(term if self.weights[c] == 1 else f"{self.weights[c]:g}*{term}")
        cols = ", ".join(map(str, self.positive_columns))
        return f"D = {' + '.join(parts) or '0'}; positives from columns {cols}"


#: The paper's labels ``[vx*10, vy*10, angle_deg]``.
PAPER = LabelMetric(3, (0, 1), ((2, 360.0),), (1.0, 1.0, 1.0))


def _columns(value: Any, n: int, argument: str) -> tuple[int, ...]:
    items = [value] if isinstance(value, numbers.Integral) else list(value)
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, numbers.Integral):
            raise ValueError(f"{argument}: column indices must be integers, got {item!r}")
        c = int(item)
        if not -n <= c < n:
            raise ValueError(f"{argument}: column {c} does not exist in labels of {n} columns")
        out.append(c % n)
    if len(set(out)) != len(out):
        raise ValueError(f"{argument}: a column is given twice ({list(items)})")
    return tuple(out)


def resolve(
    n_columns: int,
    positive_columns: Iterable[int] | int | None = None,
    circular_columns: Mapping[int, float] | Iterable[tuple[int, float]] | None = None,
    label_weights: Iterable[float] | None = None,
) -> LabelMetric:
    """The :class:`LabelMetric` of the estimator arguments for labels of ``n_columns`` columns.

    Raises ``ValueError`` naming the argument that cannot be used.
    """
    if circular_columns is None:
        circular = dict(PAPER.circular) if n_columns == 3 else {}
    else:
        pairs = (
            circular_columns.items()
            if isinstance(circular_columns, Mapping)
            else list(circular_columns)
        )
        circular = {}
        for pair in pairs:
            try:
                column, period = pair
            except (TypeError, ValueError):
                raise ValueError(
                    f"circular_columns: give {{column: period}}, got {circular_columns!r}"
                ) from None
            (c,) = _columns([column], n_columns, "circular_columns")
            if not (isinstance(period, numbers.Real) and math.isfinite(period) and period > 0):
                raise ValueError(
                    f"circular_columns: the period of column {c} must be a number > 0, got {period!r}"
                )
            circular[c] = float(period)
    if positive_columns is None:
        positive = tuple(c for c in range(n_columns) if c not in circular)
        if not positive:
            raise ValueError(
                "positive_columns: every label column is circular; say which columns give "
                "the positives"
            )
    else:
        positive = _columns(positive_columns, n_columns, "positive_columns")
        if not positive:
            raise ValueError("positive_columns: give at least one column")
    if label_weights is None:
        weights = (1.0,) * n_columns
    else:
        weights = tuple(label_weights)
        if len(weights) != n_columns:
            raise ValueError(
                f"label_weights: one weight per label column ({n_columns}), got {len(weights)}"
            )
        for w in weights:
            if not (isinstance(w, numbers.Real) and math.isfinite(w) and w >= 0):
                raise ValueError(f"label_weights: weights must be numbers >= 0, got {w!r}")
        weights = tuple(float(w) for w in weights)
        if not any(weights):
            raise ValueError("label_weights: at least one weight must be > 0")
    return LabelMetric(n_columns, positive, tuple(sorted(circular.items())), weights)


def check_labels(y: Any, n_samples: int | None = None) -> np.ndarray:
    """``y`` as a ``(T, k)`` float array NER can rank; ``ValueError`` (naming ``y``) if not.

    Accepts an array-like or tensor of real numbers, ``(T,)`` (one column) or ``(T, k)``, of
    at least two samples. Integers are numbers like any other: NER ranks samples by label
    distance, which suits counts, ordered levels or binned positions; for codes of unordered
    classes the distance means nothing, and a one-hot array (distance 0 within a class, 2
    between classes) says what is meant. An object array holding only numbers is read as
    numbers. Refused, with the words scikit-learn users look for: complex numbers ("Complex
    data not supported"), non-numeric values ("Unknown label type"), a single sample ("1
    sample"); also other shapes, a length other than ``n_samples`` (the rows of the neural
    data), NaN or infinite values. Float32 and float64 labels keep their dtype; other
    numbers become float32. Constant columns are :func:`check_rankable`'s.
    """
    if torch.is_tensor(y):
        y = y.detach().cpu().numpy()
    try:
        arr = np.asarray(y)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"y: labels must be a numeric array, got {type(y).__name__} ({exc})"
        ) from None
    if arr.dtype.kind == "c":
        raise ValueError(
            f"y: labels must be real numbers, got dtype {arr.dtype}: Complex data not supported"
        )
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            example = next((v for v in arr.ravel() if not _is_real(v)), None)
            raise ValueError(
                f"y: labels must be numeric; Unknown label type: an object array holding "
                f"{type(example).__name__} values (e.g. {example!r})"
            ) from None
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"y: labels must be numeric; Unknown label type: dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"y: labels must have shape (T,) or (T, k), got {arr.shape}")
    if arr.shape[0] == 1:
        raise ValueError("y: 1 sample: NER ranks samples against each other and needs at least 2")
    if n_samples is not None and arr.shape[0] != n_samples:
        raise ValueError(
            f"y: {arr.shape[0]} rows of labels for {n_samples} rows of neural data (X)"
        )
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float32)
    bad = ~np.isfinite(arr)
    if bad.any():
        col = int(np.flatnonzero(bad.any(axis=0))[0])
        rows = np.flatnonzero(bad[:, col])
        raise ValueError(
            f"y: column {col} has {len(rows)} NaN or infinite value(s) (first at row "
            f"{rows[0]}); drop or fill those bins"
        )
    return arr


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def check_rankable(labels: np.ndarray, metric: LabelMetric) -> None:
    """Refuse labels whose weighted columns are all constant (nothing to rank: ``ValueError``
    naming ``y``); warn about a constant column that adds nothing to the label distance (e.g.
    the direction column of a session with a single reach direction)."""
    constant = (labels == labels[:1]).all(axis=0)
    weighted = [c for c in range(labels.shape[1]) if metric.weights[c] > 0]
    if all(constant[c] for c in weighted):
        raise ValueError(
            f"y: every label column the distance uses ({', '.join(map(str, weighted))}) is "
            "constant: NER cannot rank the samples"
        )
    for c in weighted:
        if constant[c]:
            warnings.warn(
                f"y: label column {c} is constant ({labels[0, c]:g}): it adds nothing to the "
                "ranking",
                UserWarning,
                stacklevel=3,
            )
