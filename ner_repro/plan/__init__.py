"""What the workflow builds, as plain functions of the configuration: the plan.

Every output path, every figure's inputs and parameters, and the report's inputs are decided
here and nowhere else; the rule files import only this package.

* :mod:`ner_repro.plan.specs`   -- the plain types: :class:`Group`, :class:`FigureSpec`,
  :class:`Skipped` (and :data:`MODES`, the evaluation modes, re-exported from the config).
* :mod:`ner_repro.plan.layout`  -- :class:`~ner_repro.plan.layout.Layout`: the configuration read
  as recordings, sessions, seeds, methods, groups and the Fig8 sources.
* :mod:`ner_repro.plan.paths`   -- :class:`~ner_repro.plan.paths.Paths`: every output path.
* :mod:`ner_repro.plan.figures` -- each figure's spec in its own module, behind one table
  (Fig8, MC_Maze, with its condition-set sessions and analyses).
* :mod:`ner_repro.plan.outputs` -- :class:`Plan`: paths and figures together.
* :mod:`ner_repro.plan.report`  -- the reproduction report's inputs and outputs.
"""

from ner_repro.core.config import MODES
from ner_repro.plan.outputs import Plan
from ner_repro.plan.specs import FIGURES, FigureSpec, Group, Skipped

__all__ = ["FIGURES", "MODES", "FigureSpec", "Group", "Plan", "Skipped"]
