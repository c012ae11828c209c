"""The NER solver: CEBRA's single-session solver trained on the Rank-N-Contrast loss.

Registered in CEBRA's solver registry as ``"single-session-ner"``, so
``cebra.solver.init("single-session-ner", ...)`` -- and therefore ``CEBRA.load`` of a
saved NER model -- finds it.

Each step embeds the reference and positive samples as CEBRA does, stacks them into
``(B, 2, d)`` features and back-propagates :func:`ner_patch.loss.ner_loss` with the
batch's reference labels; ``log["total"]`` and ``history`` hold the NER loss. The NER loss
uses no negatives. The authors' patch also embedded the negatives and evaluated CEBRA's
own criterion (InfoNCE) on the batch, without gradient, for logging only: with
``log_infonce=True`` this solver does the same (``log["pos"]``/``log["neg"]`` hold the
InfoNCE alignment and uniformity terms). That costs about a tenth of a CPU step and
changes nothing else -- the loader draws the negatives either way, so the random-number
stream, the model and the embedding are the same bit for bit.
"""

from __future__ import annotations

import cebra.data
import cebra.solver
import literate_dataclasses as dataclasses
import torch
from cebra.solver.single_session import SingleSessionSolver
from cebra.solver.util import Meter

from ner_patch.data import LabeledBatch
from ner_patch.labels import LabelMetric
from ner_patch.loss import ner_loss

__all__ = ["SOLVER_NAME", "NERSolver"]

#: Name of the solver in CEBRA's registry.
SOLVER_NAME = "single-session-ner"


@cebra.solver.register(SOLVER_NAME, override=True)
@dataclasses.dataclass
class NERSolver(SingleSessionSolver):
    """Single-session training on the NER loss; InfoNCE is only logged.

    The NER temperature is the criterion's temperature (the estimator's ``temperature``
    argument; the authors hard-coded 1, which is also the paper's setting).
    """

    _variant_name = SOLVER_NAME

    #: Embed the negatives and log CEBRA's InfoNCE terms as the authors did (see above).
    log_infonce: bool = dataclasses.field(default=False)
    #: The label distance of the loss (:class:`ner_patch.labels.LabelMetric`; default the paper's).
    label_metric: LabelMetric | None = dataclasses.field(default=None)

    @property
    def ner_temperature(self) -> float:
        """Temperature of the NER loss (that of the fixed-temperature InfoNCE criterion)."""
        return float(self.criterion.temperature)

    def _inference(self, batch: cebra.data.Batch, negatives: bool = True) -> LabeledBatch:
        """Embed the batch (the negatives only if ``negatives``); the output keeps the
        reference labels."""
        if not isinstance(batch, LabeledBatch):
            raise TypeError(
                f"{type(self).__name__} needs batches with labels (ner_patch.data.LabeledBatch, "
                f"from NERDataLoader); got {type(batch).__name__}"
            )
        if negatives:
            prediction = super()._inference(batch)
            negative = prediction.negative
        else:  # CEBRA's _inference without the third forward pass
            batch.to(self.device)
            prediction = cebra.data.Batch(
                self.model(batch.reference), self.model(batch.positive), None
            )
            negative = None
        return LabeledBatch(prediction.reference, prediction.positive, negative, batch.labels)

    def _ner_loss(self, prediction: LabeledBatch) -> torch.Tensor:
        features = torch.stack([prediction.reference, prediction.positive], dim=1)
        return ner_loss(
            features, prediction.labels, temperature=self.ner_temperature, metric=self.label_metric
        )

    def step(self, batch: cebra.data.Batch) -> dict[str, float]:
        """One gradient update on the NER loss; returns the logged statistics."""
        self.optimizer.zero_grad()
        prediction = self._inference(batch, negatives=self.log_infonce)
        stats: dict[str, float] = {}
        if self.log_infonce:
            with torch.no_grad():
                _, align, uniform = self.criterion(
                    prediction.reference, prediction.positive, prediction.negative
                )
            stats = {"pos": align.item(), "neg": uniform.item()}
        loss = self._ner_loss(prediction)
        loss.backward()
        self.optimizer.step()
        total = loss.item()
        self.history.append(total)
        stats.update(total=total, temperature=self.ner_temperature)
        for key, value in stats.items():
            self.log[key].append(value)
        return stats

    @torch.no_grad()
    def validation(self, loader: cebra.data.Loader, session_id: int | None = None) -> float:
        """NER loss averaged over the batches of ``loader``."""
        if session_id is not None and session_id != 0:
            raise ValueError(f"session_id should be set to None or 0, got {session_id}")
        total = Meter()
        self.model.eval()
        for _, batch in self._get_loader(loader):
            total.add(self._ner_loss(self._inference(batch, negatives=False)).item())
        return total.average
