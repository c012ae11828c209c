"""Fig2: the single-trial and trial-averaged NER embedding of the example session."""

from __future__ import annotations

from ner_repro.plan.paths import Paths
from ner_repro.plan.specs import FigureSpec


def spec(plan: Paths) -> FigureSpec:
    example, _ = plan.example
    method = plan.config["figures"]["fig2"]["method"]
    spec = FigureSpec("fig2", params=plan.provenance(sessions=[example.name]))
    spec.params["method"] = method
    spec.params["label"] = plan.label(method)
    spec.inputs["embedding"] = [str(plan.embedding(method, example, plan.figure_seed))]
    for panel in ("single_trial_embedding", "average_trial_embedding"):
        spec.outputs[panel] = plan.figure_file(
            "fig2", f"{plan.label(method)}_{example.name}_{panel}.pdf"
        )
    return spec
