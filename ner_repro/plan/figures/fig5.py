"""Fig5: M1 self- and cross-session decoding matrices and accuracy curves."""

from __future__ import annotations

from ner_repro.plan.figures.cross import cross_figure
from ner_repro.plan.paths import Paths
from ner_repro.plan.specs import FigureSpec


def spec(plan: Paths) -> FigureSpec:
    return cross_figure(plan, "fig5", ("vel", "pos", "acc"))
