"""Fig1: NER vs CEBRA on the example session (loss, embedding, decoding, true vs predicted velocity)."""

from __future__ import annotations

from ner_repro.plan.paths import Paths
from ner_repro.plan.specs import FigureSpec


def spec(plan: Paths) -> FigureSpec:
    example, _ = plan.example
    spec = FigureSpec("fig1", params=plan.provenance(sessions=[example.name]))
    seed = plan.figure_seed
    methods = plan.config["figures"]["fig1"]["methods"]
    spec.inputs["insample"] = [str(plan.insample(m, example.name, seed)) for m in methods]
    spec.params["methods"] = methods
    spec.params["labels"] = [plan.label(m) for m in methods]
    spec.params["iterations"] = [
        int(plan.method_settings(m).get("max_iterations", 0)) for m in methods
    ]
    for m in methods:
        prefix = f"{plan.label(m)}_{example.name}"
        for panel in (
            "train_loss",
            "Decoding",
            "Embedding",
            "X_velocity_real_vs_pred",
            "Y_velocity_real_vs_pred",
        ):
            spec.outputs[f"{m}:{panel}"] = plan.figure_file("fig1", f"{prefix}_{panel}.pdf")
    return spec
