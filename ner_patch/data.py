"""NER's positive sampling and the loader that carries the reference labels into each batch.

Two differences from stock CEBRA's ``ContinuousDataLoader(conditional="time_delta")``
(METHODS §3, see ``docs/sources.md``; the authors patched ``distributions/index.py`` and
``data/single_session.py``):

* The positive of a reference ``y_ref`` is the training bin nearest to
  ``y_ref + (y_t - y_{t-1})`` (random ``t``) in the **velocity columns only**
  (``[:, 0:2]``); stock CEBRA searches all label columns, angle included
  (:class:`VelocityTimedeltaDistribution`).
* Every batch also holds the reference labels ``[vx*10, vy*10, angle_deg]``, which the
  NER loss uses for both the references and their positives (:class:`LabeledBatch`).

Other labels ``(T, k)`` work the same way: the positive columns and the label distance are
those of a :class:`ner_patch.labels.LabelMetric` (the paper's is the default for three
columns).

The loader seeds its distribution from torch's global generator
(:func:`ner_patch.seeding.seed_loader_from_torch`), so ``torch.manual_seed`` makes
sampling reproducible.

On the CPU the nearest-neighbour search is :class:`ExactIndex`: the index CEBRA's
brute-force ``argmin`` over a ``T x B`` float32 distance matrix returns, bit for bit (ties
included), found through a k-d tree; on a real session a search drops from ~10-100 ms to
about 1 ms, which was most of a training step on the CPU. :class:`ExactIndex` also serves
stock CEBRA (:class:`ner_patch.SeededCEBRA`), so both methods sample the same way they
would with CEBRA's own search. ``search="brute"`` restores CEBRA's search (the default on
CUDA); ``search="kdtree"`` is the float64 nearest neighbour (:class:`KDTreeIndex`), which
differs from CEBRA's where float32 rounding decides between almost equidistant bins.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any, Literal, get_args

import cebra.data
import cebra.distributions
import literate_dataclasses as dataclasses
import numpy as np
import torch
from scipy.spatial import cKDTree

from ner_patch.labels import PAPER, LabelMetric
from ner_patch.labels import resolve as resolve_metric
from ner_patch.seeding import seed_loader_from_torch

__all__ = [
    "VELOCITY_COLUMNS",
    "ExactIndex",
    "KDTreeIndex",
    "LabeledBatch",
    "NERDataLoader",
    "Search",
    "VelocityTimedeltaDistribution",
]

#: Label columns used for the positive-sample search: ``vx*10`` and ``vy*10`` (those of the
#: paper's label metric, :data:`ner_patch.labels.PAPER`).
VELOCITY_COLUMNS = PAPER.positive_slice

#: Nearest-neighbour search of the positive sampling:
#:
#: * ``"exact"`` -- :class:`ExactIndex`: the same index as CEBRA's brute force, bit for bit,
#:   found through a k-d tree (fast on the CPU);
#: * ``"brute"`` -- CEBRA's :class:`~cebra.distributions.ContinuousIndex` itself;
#: * ``"kdtree"`` -- :class:`KDTreeIndex`: the exact nearest neighbour in float64, which
#:   differs from CEBRA's float32 answer where rounding decides between near-equal bins;
#: * ``"auto"`` -- ``"exact"`` on the CPU, ``"brute"`` on CUDA.
Search = Literal["auto", "exact", "kdtree", "brute"]

#: Unit roundoff of float32 (CEBRA's distances are float32).
_FLOAT32_UNIT = 2.0**-24


class KDTreeIndex:
    """Exact nearest-neighbour search over the rows of ``samples`` with a k-d tree.

    A drop-in for :class:`cebra.distributions.ContinuousIndex` on the CPU: ``search``
    returns, for every query row, the index of the nearest sample (Euclidean), the
    first one among exact duplicates, as ``torch.argmin`` does. Distances are computed
    in float64.

    Args:
        samples: ``(T, k)`` float tensor of the searched values.
    """

    def __init__(self, samples: torch.Tensor) -> None:
        if samples.ndim != 2 or not samples.is_floating_point():
            raise ValueError(
                f"{type(self).__name__} needs a (T, k) float tensor, got {samples.dtype} {tuple(samples.shape)}"
            )
        values = samples.detach().cpu().numpy().astype(np.float64)
        # Exact duplicates collapse onto their first occurrence (argmin's tie rule).
        unique, first = np.unique(values, axis=0, return_index=True)
        self._first = first
        self._tree = cKDTree(unique)
        self.device = samples.device

    def to(self, device: str | torch.device) -> KDTreeIndex:
        """Return results on ``device`` from now on (the tree itself stays in host memory)."""
        self.device = torch.device(device)
        return self

    def search(self, query: torch.Tensor) -> torch.Tensor:
        """Index of the nearest sample to each row of ``query`` (``(m, k)``)."""
        q = query.detach().cpu().numpy().astype(np.float64)
        _, nearest = self._tree.query(q, k=1)
        return torch.from_numpy(self._first[nearest]).to(self.device)


class ExactIndex(KDTreeIndex):
    """CEBRA's brute-force nearest-neighbour search, answered through a k-d tree.

    :class:`cebra.distributions.ContinuousIndex` computes, in float32, the ``T x m``
    matrix ``|x|^2 + |q|^2 - 2 x.q`` and takes its ``argmin`` over the ``T`` samples
    (ties to the first). Float32 rounding in that formula is large when labels have a
    large norm (the angle column reaches 315), so the true nearest neighbour and CEBRA's
    answer differ for ~1 % of queries: a plain k-d tree is *not* CEBRA's search. This
    index returns CEBRA's answer exactly, at a fraction of the cost:

    1. A k-d tree (float64, exact) gives each query its ``k`` nearest distinct samples.
    2. CEBRA's float32 value ``c(n)`` differs from the true squared distance ``s(n)`` by
       at most ``E(n) = 1.25 u (3 (|x_n|^2 + |q|^2) + 6 |x_n| |q| + s(n))`` (``u`` =
       2^-24; the rounding bound of the two squared norms, the dot product, their sum
       and the difference, with a 25 % margin). So CEBRA's argmin lies among the samples
       with ``s(n) - E(n) <= s_min + E(n_min)``: the *candidates*.
    3. A query with one candidate is answered by it. For the others, ``c`` is evaluated
       for their candidates with CEBRA's own expression (CEBRA's ``xTx`` tensor, the same
       ``einsum`` against the whole query batch, at least :data:`MIN_ROWS` sample rows, a
       shape whose entries have the bits of CEBRA's full matrix) and the smallest value
       wins, ties to the first sample.
    4. A query whose candidates may extend beyond its ``k`` neighbours gets all samples
       of a ball that provably holds them (``|x_n| <= |q| + sqrt(s(n))`` bounds ``E``).

    Exact duplicates among the samples collapse onto their first occurrence (their
    values are identical, so ``argmin`` picks the first). The first ``verify`` searches
    are also run by CEBRA's brute force and compared; a difference (a BLAS whose kernels
    round differently by shape) switches the index to brute force for good, with a warning.

    Args:
        samples: ``(T, k)`` float tensor of the searched values.
        neighbours: Nearest samples looked up per query in the tree.
        verify: Searches checked against CEBRA's brute force.
    """

    #: Fewest sample rows in the candidate ``einsum`` (fewer may take another BLAS kernel).
    MIN_ROWS = 64

    def __init__(self, samples: torch.Tensor, neighbours: int = 16, verify: int = 1) -> None:
        super().__init__(samples)
        self.brute = cebra.distributions.ContinuousIndex(samples)
        unique = self._tree.data
        self._norms = np.sqrt((unique * unique).sum(1))
        self._k = int(min(neighbours, len(unique)))
        self._verify = int(verify)
        self.use_brute = False
        self.ball_queries = 0  # queries whose candidates needed a ball search

    def to(self, device: str | torch.device) -> ExactIndex:
        """Return results on ``device`` from now on."""
        super().to(device)
        self.brute.to(device)
        return self

    def search(self, query: torch.Tensor) -> torch.Tensor:
        """Index of the sample CEBRA's ``ContinuousIndex.search`` returns for each row of ``query``."""
        query = query.detach()
        if self.use_brute:
            return self.brute.search(query).to(self.device)
        found = torch.from_numpy(self._search(query)).to(self.device)
        if self._verify > 0:
            self._verify -= 1
            expected = self.brute.search(query).to(self.device)
            if not torch.equal(found, expected):
                warnings.warn(
                    "ExactIndex differs from CEBRA's brute-force search on this machine; "
                    "using the brute force",
                    stacklevel=2,
                )
                self.use_brute = True
                return expected
        return found

    def _search(self, query: torch.Tensor) -> np.ndarray:
        q64 = query.cpu().numpy().astype(np.float64)
        qnorm = np.sqrt((q64 * q64).sum(1))
        dist, near = self._tree.query(q64, k=self._k)
        if self._k == 1:
            dist, near = dist[:, None], near[:, None]
        sq = dist * dist
        xnorm = self._norms[near]
        qn = qnorm[:, None]
        slack = 1.25 * _FLOAT32_UNIT * (3.0 * (xnorm**2 + qn**2) + 6.0 * xnorm * qn + sq)
        reach = sq[:, 0] + slack[:, 0]  # CEBRA's value of the nearest sample is below this
        candidate = sq - slack <= reach[:, None]
        found = self._first[near[:, 0]]
        overflow = (
            candidate[:, -1] if self._k < len(self._first) else np.zeros(len(q64), dtype=bool)
        )
        ambiguous = np.flatnonzero(candidate[:, 1] & ~overflow)
        pair_query = [np.repeat(ambiguous, candidate[ambiguous].sum(1))]
        pair_row = [near[ambiguous][candidate[ambiguous]]]
        for m in np.flatnonzero(overflow):
            self.ball_queries += 1
            pair_row.append(np.asarray(self._ball(q64[m], qnorm[m], reach[m]), dtype=np.int64))
            pair_query.append(np.full(len(pair_row[-1]), m, dtype=np.int64))
        pairs_q = np.concatenate(pair_query)
        if not pairs_q.size:
            return found
        pairs_row = self._first[np.concatenate(pair_row)]
        values = self._cebra_values(query, pairs_row, pairs_q)
        # Per query: the smallest value, then the first sample.
        order = np.lexsort((pairs_row, values, pairs_q))
        queries, first_of_query = np.unique(pairs_q[order], return_index=True)
        found[queries] = pairs_row[order][first_of_query]
        return found

    def _ball(self, q: np.ndarray, qnorm: float, reach: float) -> list[int]:
        """Every distinct sample ``n`` with ``s(n) - E(n) <= reach`` (and perhaps a few more)."""
        radius_sq = 2.0 * reach + 1e-6
        while True:
            root = np.sqrt(radius_sq)
            bound = 1.25 * _FLOAT32_UNIT * (12.0 * (qnorm + root) ** 2 + radius_sq)
            # s - E(s) grows with s, so every s above radius_sq is out once this holds.
            if radius_sq - bound > reach:
                return self._tree.query_ball_point(q, root * (1 + 1e-9))
            radius_sq *= 2.0

    def _cebra_values(
        self, query: torch.Tensor, rows: np.ndarray, queries: np.ndarray
    ) -> np.ndarray:
        """CEBRA's float32 ``|x|^2 + |q|^2 - 2 x.q`` for the given (row, query) pairs."""
        matrix = self.brute.dist_matrix
        needed = np.unique(rows)
        padded = needed
        if len(needed) < self.MIN_ROWS:
            padded = np.concatenate([needed, np.zeros(self.MIN_ROWS - len(needed), np.int64)])
        pick = torch.from_numpy(padded).to(matrix.index.device)
        q = query.to(matrix.index.device)
        # CEBRA's DistanceMatrix.__call__, restricted to the rows needed.
        qTq = q.square().sum(1, keepdim=True).T
        xTq = torch.einsum("ni,mi->nm", matrix.index[pick], q)
        full = (matrix.xTx[pick] + qTq - 2 * xTq).cpu().numpy()
        return full[np.searchsorted(needed, rows), queries]


def make_index(samples: torch.Tensor, search: str, device: str | torch.device = "cpu") -> Any:
    """The nearest-neighbour index of ``search`` (:data:`Search`) over ``samples``."""
    if search not in get_args(Search):
        raise ValueError(
            f"search must be one of {', '.join(map(repr, get_args(Search)))}, got {search!r}"
        )
    search = resolve_search(search, device)
    if search == "exact":
        return ExactIndex(samples)
    if search == "kdtree":
        return KDTreeIndex(samples)
    return cebra.distributions.ContinuousIndex(samples)


def resolve_search(search: str, device: str | torch.device) -> str:
    """``search`` with ``"auto"`` resolved for ``device``."""
    if search == "auto":
        return "brute" if str(device).startswith("cuda") else "exact"
    return search


class VelocityTimedeltaDistribution(cebra.distributions.TimedeltaDistribution):
    """``time_delta`` sampling whose nearest-neighbour search uses only some label columns.

    Reference bins are drawn uniformly (as in CEBRA). For each reference, a random
    label change over ``time_delta`` bins is added to the reference label and the
    positive is the bin whose ``search_columns`` are nearest (Euclidean) to the
    query's -- the same search as CEBRA's
    :class:`~cebra.distributions.index.ContinuousIndex`, restricted to those columns.
    Random numbers are drawn exactly as in the parent class.

    Args:
        continuous: ``(T, k)`` labels.
        time_delta: Bins over which label changes are taken.
        device: Where sampling runs.
        seed: Passed to CEBRA (which currently ignores it; see :mod:`ner_patch.seeding`).
        search_columns: Label columns of the search (default: the two velocity columns).
        search: The nearest-neighbour search (:data:`Search`).
    """

    def __init__(
        self,
        continuous: torch.Tensor,
        time_delta: int = 1,
        device: Literal["cpu", "cuda"] = "cpu",
        seed: int | None = None,
        search_columns: slice | list[int] = VELOCITY_COLUMNS,
        search: Search = "auto",
    ) -> None:
        super().__init__(continuous, time_delta, device=device, seed=seed)
        self.search_columns = search_columns
        self.index = make_index(self.data[:, search_columns].contiguous(), search, device)
        self.search_method = resolve_search(search, device)

    def search(self, query: torch.Tensor) -> torch.Tensor:
        """Index of the nearest bin to each row of ``query`` (``(m, k)``), in ``search_columns`` only."""
        return self.index.search(query[:, self.search_columns])

    def sample_conditional(self, reference_idx: torch.Tensor) -> torch.Tensor:
        """Positive bins for the given reference bins (``(B,)`` long tensor)."""
        if reference_idx.dim() != 1:
            raise ValueError(
                f"Reference indices have wrong shape: {reference_idx.shape}. "
                "Pass a 1D array of indices of reference samples."
            )
        diff_idx = self.randint(len(self.time_difference), (reference_idx.size(0),))
        cols = self.search_columns
        if isinstance(cols, slice):
            query = self.data[reference_idx, cols] + self.time_difference[diff_idx, cols]
        else:  # columns that are not consecutive
            query = self.data[reference_idx][:, cols] + self.time_difference[diff_idx][:, cols]
        return self.index.search(query)


class LabeledBatch(cebra.data.Batch):
    """A :class:`cebra.data.Batch` that also holds the reference samples' labels (``(B, k)``)."""

    __slots__ = ["labels"]

    def __init__(
        self,
        reference: torch.Tensor,
        positive: torch.Tensor,
        negative: torch.Tensor,
        labels: torch.Tensor,
        index: torch.Tensor | None = None,
        index_reversed: torch.Tensor | None = None,
    ) -> None:
        super().__init__(reference, positive, negative, index=index, index_reversed=index_reversed)
        self.labels = labels

    def to(self, device: str | torch.device) -> None:
        """Move the samples and the labels to ``device``."""
        super().to(device)
        self.labels = self.labels.to(device)


@dataclasses.dataclass
class NERDataLoader(cebra.data.ContinuousDataLoader):
    """CEBRA's continuous loader with ``time_delta`` positives in some label columns and
    labelled batches.

    The dataset's continuous index holds the ``(T, k)`` labels; ``label_metric`` says which
    columns give the positives (default: :func:`ner_patch.labels.resolve` of ``k``, for
    ``(T, 3)`` the paper's ``[vx*10, vy*10, angle_deg]`` with positives from the
    velocities). Only ``conditional="time_delta"`` is supported.
    """

    search: Search = dataclasses.field(
        default="auto",
        doc="""Nearest-neighbour search of the positives (:data:`Search`): ``"exact"``,
        ``"brute"`` (CEBRA's), ``"kdtree"`` or ``"auto"`` (``"exact"`` on the CPU).""",
    )
    label_metric: LabelMetric | None = dataclasses.field(
        default=None,
        doc="""Positive columns and label distance (:class:`ner_patch.labels.LabelMetric`).""",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        seed_loader_from_torch(self)

    def _init_distribution(self) -> None:
        if self.conditional != "time_delta":
            raise NotImplementedError(
                f"NER samples positives with conditional='time_delta', got {self.conditional!r}"
            )
        labels = self.dataset.continuous_index
        if labels is None or labels.ndim != 2:
            shape = None if labels is None else tuple(labels.shape)
            raise ValueError(f"NER needs continuous labels of shape (T, k), got {shape}")
        if self.label_metric is None:
            self.label_metric = resolve_metric(labels.shape[1])
        if self.label_metric.n_columns != labels.shape[1]:
            raise ValueError(
                f"labels have {labels.shape[1]} columns, the label metric "
                f"{self.label_metric.n_columns}"
            )
        self.distribution = VelocityTimedeltaDistribution(
            labels,
            self.time_offset,
            device=self.device,
            search_columns=self.label_metric.positive_slice,
            search=self.search,
        )

    def __iter__(self) -> Iterator[LabeledBatch]:
        labels = self.dataset.continuous_index
        for _ in range(len(self)):
            index = self.get_indices(num_samples=self.batch_size)
            batch = self.dataset.load_batch(index)
            yield LabeledBatch(
                reference=batch.reference,
                positive=batch.positive,
                negative=batch.negative,
                labels=labels[index.reference],
            )
