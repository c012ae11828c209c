"""Fig4: explained variance and direction accuracy over time per area."""

from __future__ import annotations

from ner_repro.plan.paths import Paths
from ner_repro.plan.specs import FigureSpec, Group


def spec(plan: Paths) -> FigureSpec:
    cfg = plan.config["figures"]["fig4"]
    panels = {name: Group.of(p["datasets"], p["area"]) for name, p in cfg["panels"].items()}
    spec = FigureSpec("fig4", params=plan.provenance(panels.values()))
    seed, mode = plan.figure_seed, plan.mode
    spec.params["methods"] = plan.describe(cfg["methods"])
    spec.params["panels"] = {}
    accuracy = set(cfg.get("accuracy_datasets", []))
    for name, group in panels.items():
        if not plan.group_sessions(group):
            continue
        spec.params["panels"][name] = group.name
        spec.inputs[name] = [
            str(plan.explained_variance(group.name, m, mode, seed)) for m in cfg["methods"]
        ]
        spec.outputs[f"{name}:velocities"] = plan.figure_file(
            "fig4", f"Velocities_{name}_sessions.pdf"
        )
        spec.outputs[f"{name}:positions"] = plan.figure_file(
            "fig4", f"Positions_{name}_sessions.pdf"
        )
        acc_group = Group.of([d for d in group.datasets if d in accuracy], group.areas)
        if acc_group.datasets and plan.group_sessions(acc_group):
            spec.inputs[f"{name}:accuracy"] = [
                str(plan.explained_variance(acc_group.name, m, mode, seed)) for m in cfg["methods"]
            ]
            spec.inputs[f"{name}:profile"] = [
                str(plan.session_npz(k)) for k in plan.group_sessions(acc_group)
            ]
            spec.outputs[f"{name}:accuracy"] = plan.figure_file(
                "fig4", f"Direction_accuracy_across_time_{name}.pdf"
            )
    return spec
