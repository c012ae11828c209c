"""Fig6: PMd and M1 cross-session decoding, PMd rotated onto the M1 anchor."""

from __future__ import annotations

from ner_repro.plan.figures.cross import cross_figure, rotations
from ner_repro.plan.paths import Paths
from ner_repro.plan.specs import FigureSpec, Group


def spec(plan: Paths) -> FigureSpec:
    spec = cross_figure(plan, "fig6", ("vel", "pos", "acc"))
    cfg = plan.config["figures"]["fig6"]
    pmd = Group.of(cfg["datasets"], "PMd")
    spec.params["rotation_group"] = pmd.name
    # The authors rotate every method's PMd embeddings onto the NER M1 anchor.
    anchor = "NER" if "NER" in plan.config["methods"] else ""
    rotations(plan, spec, "fig6", pmd, {"_to_M1": anchor})
    return spec
