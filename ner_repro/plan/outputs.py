"""The plan: :class:`Plan`, every output of the workflow and every figure's spec.

:class:`Plan` is the configuration read as sessions, seeds and methods
(:class:`~ner_repro.plan.layout.Layout`), every output path
(:class:`~ner_repro.plan.paths.Paths`) and the figures (:data:`ner_repro.plan.figures.SPECS`,
one module each). Each of those modules only calls into the ones below it.
"""

from __future__ import annotations

from ner_repro.plan.figures import SPECS
from ner_repro.plan.paths import Paths
from ner_repro.plan.specs import FIGURES, FigureSpec


class Plan(Paths):
    """The workflow's view of a validated configuration: sessions, paths and figure specs."""

    # -- figures -------------------------------------------------------------------------
    def figure(self, name: str) -> FigureSpec:
        """The inputs, outputs and parameters of one figure target."""
        if name not in FIGURES:
            raise KeyError(f"unknown figure {name!r}; known: {', '.join(FIGURES)}")
        return SPECS[name](self)

    def figures(self) -> list[FigureSpec]:
        return [self.figure(name) for name in FIGURES if self.has_figure(name)]
