"""Each figure's spec in its own module, behind one table (:data:`SPECS`).

A figure module has one entry point, ``spec(plan) -> FigureSpec``: the inputs its notebook
reads, the files it writes and the parameters it states, from a
:class:`~ner_repro.plan.paths.Paths` (sessions, seeds, methods and output paths). The modules
call into the paths and the layout below them, never into :class:`ner_repro.plan.Plan`, which
calls them through this table. Fig5-7 share :mod:`~ner_repro.plan.figures.cross`; Fig8
(MC_Maze) holds its condition-set sessions, analyses and published inputs too.
"""

from __future__ import annotations

from collections.abc import Callable

from ner_repro.plan.figures import demo_gif, fig1, fig2, fig3, fig4, fig5, fig6, fig7, fig8
from ner_repro.plan.paths import Paths
from ner_repro.plan.specs import FIGURES, FigureSpec

#: The figure targets and the function that plans each (in :data:`FIGURES` order).
SPECS: dict[str, Callable[[Paths], FigureSpec]] = {
    "fig1": fig1.spec,
    "fig2": fig2.spec,
    "fig3": fig3.spec,
    "fig4": fig4.spec,
    "fig5": fig5.spec,
    "fig6": fig6.spec,
    "fig7": fig7.spec,
    "fig8": fig8.spec,
    "demo_gif": demo_gif.spec,
}
assert tuple(SPECS) == FIGURES, "one spec per figure target, in FIGURES order"
