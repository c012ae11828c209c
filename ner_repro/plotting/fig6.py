"""Fig6: PMd and M1 self- and cross-session decoding, and PMd embeddings rotated onto M1
(``reference/fig4-7.md`` §3, F6.5–F6.8; see ``docs/sources.md``).

Outputs (keys of ``outputs``, from :func:`ner_repro.plan.figures.fig6.spec`):

``{decoder}:{vel,pos,acc}``, ``accuracy``
    As Fig5 (:mod:`ner_repro.plotting.fig5`), over every (session, area) of the group: rows
    and columns are labelled ``YYMMDD AREA``.
``{method}:rotate_to_M1:{Before,After}``
    Each PMd session's training embedding: trial averages per direction before rotation
    (1×n), and after rotation onto the M1 anchor's direction averages (2×n: single-trial
    points, trial averages); the anchor is the example session's NER M1 embedding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ner_repro.plotting import matrices, rotation


def render(
    inputs: Mapping[str, Sequence[str]], outputs: Mapping[str, str], params: Mapping[str, Any]
) -> None:
    """Write every output of the Fig6 target from its analyses."""
    matrices.render_cross(inputs, outputs, params)
    rotation.render_rotations(inputs, outputs, params)
