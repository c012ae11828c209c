"""NER (Neural Embeddings Rank) as a plugin on the released CEBRA package.

Nothing of CEBRA is copied or modified: NER subclasses and registers into it.

* :func:`ner_loss` -- the Rank-N-Contrast loss of METHODS §3 (``O(n^2)`` after a sort; the
  specification's METHODS §3 is summarised in ``docs/sources.md``).
* :class:`NER` -- the sklearn estimator (a :class:`cebra.CEBRA` subclass, same arguments).
* :class:`LabelMetric` -- how NER reads its labels (any ``(T, k)``: positive columns, circular
  columns, weights; the paper's ``[vx*10, vy*10, angle_deg]`` by default for three columns).
* :class:`SeededCEBRA` -- stock CEBRA whose sampling follows ``torch.manual_seed``.
* :class:`NERSolver` -- registered in CEBRA as ``"single-session-ner"``.
* :class:`NERDataLoader`, :class:`VelocityTimedeltaDistribution`, :class:`LabeledBatch` --
  velocity-only ``time_delta`` positives and batches that carry the reference labels;
  :class:`ExactIndex` -- CEBRA's brute-force positive search, bit for bit, through a k-d
  tree (the CPU default of NER and :class:`SeededCEBRA`); :class:`KDTreeIndex` -- the
  float64 nearest neighbour.

Importing the package checks that the installed CEBRA is supported
(:data:`SUPPORTED_CEBRA`) and raises :class:`UnsupportedCEBRAVersion` otherwise.
"""

from ner_patch._compat import (
    SUPPORTED_CEBRA,
    UnsupportedCEBRAVersion,
    check_cebra_version,
)

check_cebra_version()

from ner_patch.data import (  # noqa: E402
    ExactIndex,
    KDTreeIndex,
    LabeledBatch,
    NERDataLoader,
    VelocityTimedeltaDistribution,
)
from ner_patch.estimator import NER, SeededCEBRA  # noqa: E402
from ner_patch.labels import LabelMetric  # noqa: E402
from ner_patch.loss import label_distance, ner_loss  # noqa: E402
from ner_patch.seeding import (  # noqa: E402
    loader_rng_state,
    seed_loader_from_torch,
    set_loader_rng_state,
)
from ner_patch.solver import SOLVER_NAME, NERSolver  # noqa: E402

__all__ = [
    "NER",
    "SOLVER_NAME",
    "SUPPORTED_CEBRA",
    "ExactIndex",
    "KDTreeIndex",
    "LabelMetric",
    "LabeledBatch",
    "NERDataLoader",
    "NERSolver",
    "SeededCEBRA",
    "UnsupportedCEBRAVersion",
    "VelocityTimedeltaDistribution",
    "check_cebra_version",
    "label_distance",
    "loader_rng_state",
    "ner_loss",
    "seed_loader_from_torch",
    "set_loader_rng_state",
]
