"""The demo GIF: hand velocity beside the rotating 3-D latent trajectory of the example session."""

from __future__ import annotations

from ner_repro.plan.paths import Paths
from ner_repro.plan.specs import FigureSpec


def spec(plan: Paths) -> FigureSpec:
    example, _ = plan.example
    method = plan.config["figures"]["fig2"]["method"]
    spec = FigureSpec("demo_gif", params=plan.provenance(sessions=[example.name]))
    spec.params["label"] = plan.label(method)
    spec.params.update(plan.config["figures"].get("demo_gif") or {})
    spec.inputs["embedding"] = [str(plan.embedding(method, example, plan.figure_seed))]
    spec.outputs["gif"] = plan.figure_file("demo", f"vel_vs_latent_{example.name}.gif")
    return spec
