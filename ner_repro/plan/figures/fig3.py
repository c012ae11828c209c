"""Fig3: the M1 embeddings of every method before and after alignment."""

from __future__ import annotations

from ner_repro.methods.kinds import kind_of
from ner_repro.plan.paths import Paths
from ner_repro.plan.specs import FigureSpec, Group


def spec(plan: Paths) -> FigureSpec:
    cfg = plan.config["figures"]["fig3"]
    groups = {name: Group.of(datasets, cfg["area"]) for name, datasets in cfg["groups"].items()}
    spec = FigureSpec("fig3", params=plan.provenance(groups.values()))
    seed, mode = plan.figure_seed, plan.mode
    spec.params["groups"] = {name: g.name for name, g in groups.items()}
    spec.params["methods"] = plan.describe(cfg["methods"])
    for title, group in groups.items():
        sessions = plan.group_sessions(group)
        if not sessions:
            continue
        for m in cfg["methods"]:
            if kind_of(plan.kind(m)).rotated:
                spec.inputs[f"{m}:{title}"] = [
                    str(plan.alignment(group.name, m, plan.example_anchor(m), mode, seed))
                ]
                for when in ("Before", "After"):
                    spec.outputs[f"{m}:{title}:{when}"] = plan.figure_file(
                        "fig3", f"{plan.label(m)}_{when}_rotate_{title}.pdf"
                    )
            else:
                spec.inputs[f"{m}:{title}"] = [str(plan.embedding(m, k, seed)) for k in sessions]
                spec.outputs[f"{m}:{title}:embeddings"] = plan.figure_file(
                    "fig3", f"{plan.label(m)}_embeddings_{title}.pdf"
                )
    return spec
