"""NER's positive sampling and the loader that carries the reference labels into each batch.

Two differences from stock CEBRA's ``ContinuousDataLoader(conditional="time_delta")``
(METHODS §3; the authors patched ``distributions/index.py`` and ``data/single_session.py``):

* The positive of a reference ``y_ref`` is the training bin nearest to
  ``y_ref + (y_t - y_{t-1})`` (random ``t``) in the **velocity columns only**
  (``[:, 0:2]``); stock CEBRA searches all label columns, angle included
  (:class:`VelocityTimedeltaDistribution`).
* Every batch also holds the reference labels ``[vx*10, vy*10, angle_deg]``, which the
  NER loss uses for both the references and their positives (:class:`LabeledBatch`).

The loader seeds its distribution from torch's global generator
(:func:`ner_patch.seeding.seed_loader_from_torch`), so ``torch.manual_seed`` makes
sampling reproducible.

On the CPU the nearest-neighbour search uses a k-d tree (:class:`KDTreeIndex`, exact, in
float64) instead of CEBRA's brute-force ``argmin`` over a ``T x B`` float32 distance
matrix: on a real session (T ~ 20000) a search drops from ~100 ms to under 1 ms, which
was most of an NER training step on the CPU. Ties go to the first bin, as with
``argmin``. The two searches differ only where float32 rounding in CEBRA's
``|x|^2 + |q|^2 - 2 x.q`` changes which of two almost equidistant bins wins
(``search="brute"`` restores CEBRA's search; on CUDA it is the default).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal, get_args

import cebra.data
import cebra.distributions
import literate_dataclasses as dataclasses
import numpy as np
import torch
from scipy.spatial import cKDTree

from ner_patch.seeding import seed_loader_from_torch

__all__ = [
    "VELOCITY_COLUMNS",
    "KDTreeIndex",
    "LabeledBatch",
    "NERDataLoader",
    "Search",
    "VelocityTimedeltaDistribution",
]

#: Label columns used for the positive-sample search: ``vx*10`` and ``vy*10``.
VELOCITY_COLUMNS = slice(0, 2)

#: Nearest-neighbour search of the positive sampling: ``"kdtree"`` (:class:`KDTreeIndex`),
#: ``"brute"`` (CEBRA's :class:`~cebra.distributions.ContinuousIndex`) or ``"auto"``
#: (k-d tree on the CPU, brute force on CUDA).
Search = Literal["auto", "kdtree", "brute"]


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
                f"KDTreeIndex needs a (T, k) float tensor, got {samples.dtype} {tuple(samples.shape)}"
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
        search_columns: slice = VELOCITY_COLUMNS,
        search: Search = "auto",
    ) -> None:
        super().__init__(continuous, time_delta, device=device, seed=seed)
        self.search_columns = search_columns
        if search not in get_args(Search):
            raise ValueError(f"search must be 'auto', 'kdtree' or 'brute', got {search!r}")
        if search == "auto":
            search = "brute" if str(device).startswith("cuda") else "kdtree"
        self.search_method = search
        values = self.data[:, search_columns].contiguous()
        self.index: KDTreeIndex | cebra.distributions.ContinuousIndex = (
            KDTreeIndex(values)
            if search == "kdtree"
            else cebra.distributions.ContinuousIndex(values)
        )

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
        query = self.data[reference_idx, cols] + self.time_difference[diff_idx, cols]
        return self.index.search(query)


class LabeledBatch(cebra.data.Batch):
    """A :class:`cebra.data.Batch` that also holds the reference samples' labels (``(B, 3)``)."""

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
    """CEBRA's continuous loader with velocity-only ``time_delta`` positives and labelled batches.

    The dataset's continuous index must be the ``(T, 3)`` labels
    ``[vx*10, vy*10, angle_deg]``. Only ``conditional="time_delta"`` is supported.
    """

    search: Search = dataclasses.field(
        default="auto",
        doc="""Nearest-neighbour search of the positives: ``"kdtree"``, ``"brute"`` (CEBRA's) or
        ``"auto"`` (k-d tree on the CPU).""",
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
        if labels is None or labels.ndim != 2 or labels.shape[1] != 3:
            shape = None if labels is None else tuple(labels.shape)
            raise ValueError(
                f"NER needs continuous labels of shape (T, 3) = [vx*10, vy*10, angle_deg], got {shape}"
            )
        self.distribution = VelocityTimedeltaDistribution(
            labels, self.time_offset, device=self.device, search=self.search
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
