"""Fig7: S1 self- and cross-session decoding, and S1 embeddings rotated onto their first
session and onto M1 (``reference/fig4-7.md`` §3, F7.4–F7.8; see ``docs/sources.md``).

Outputs (keys of ``outputs``, from :meth:`ner_repro.plan.Plan._figure_fig7`):

``linear:{vel,pos}``, ``accuracy``
    As Fig5 (:mod:`ner_repro.plotting.fig5`); the paper has no accuracy matrix and no kNN
    panels for S1.
``{method}:rotate_self_rotate:{Before,After}``
    Each S1 session rotated onto the group's first session (same method).
``{method}:rotate_to_M1:{Before,After}``
    Each S1 session rotated onto the example session's NER M1 direction averages (the
    authors' bins 2:37 of the 40-bin anchor for 35-bin S1 trials).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ner_repro.plotting import matrices, rotation


def render(
    inputs: Mapping[str, Sequence[str]], outputs: Mapping[str, str], params: Mapping[str, Any]
) -> None:
    """Write every output of the Fig7 target from its analyses."""
    matrices.render_cross(inputs, outputs, params)
    rotation.render_rotations(inputs, outputs, params)
