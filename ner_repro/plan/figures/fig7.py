"""Fig7: S1 cross-session decoding and rotations (onto itself and onto the M1 anchor)."""

from __future__ import annotations

from ner_repro.plan.figures.cross import cross_figure, rotations
from ner_repro.plan.paths import Paths
from ner_repro.plan.specs import FigureSpec


def spec(plan: Paths) -> FigureSpec:
    spec = cross_figure(plan, "fig7", ("vel", "pos"))
    group = plan.cross_groups()["fig7"]
    anchor = "NER" if "NER" in plan.config["methods"] else ""
    rotations(plan, spec, "fig7", group, {"_self_rotate": "self", "_to_M1": anchor})
    return spec
