"""Fig5: M1 self- and cross-session decoding (``reference/fig4-7.md`` §3, F5.3; see
``docs/sources.md``).

Outputs (keys of ``outputs``, from :meth:`ner_repro.plan.Plan._figure_fig5`):

``{decoder}:{vel,pos,acc}``
    One 1×k figure per decoder (``linear``: linear/logistic; ``knn``: kNN, where the paper
    uses 16-D CEBRA) and metric: each method's n×n matrix, element [i, j] = decoders fit on
    session i (aligned to j), scored on session j's test split; titles
    ``'<method>: dia=<diagonal mean>\\noff-dia=<off-diagonal mean>'``; viridis, R² in [0, 1],
    peak accuracy in [20, 100] %.
``accuracy``
    Direction accuracy over time, mean ± SD over all n² (train, test) pairs of the linear
    decoders, one curve per method; the legend gives the peak of each mean curve.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ner_repro.plotting import matrices


def render(
    inputs: Mapping[str, Sequence[str]], outputs: Mapping[str, str], params: Mapping[str, Any]
) -> None:
    """Write every output of the Fig5 target from its cross-decoding analyses."""
    matrices.render_cross(inputs, outputs, params)
