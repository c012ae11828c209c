"""What the cross-decoding figures (Fig5, Fig6, Fig7) share: the decoding matrices and
accuracy curve of a group, and the rotation panels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ner_repro.plan.paths import Paths
from ner_repro.plan.specs import FigureSpec, Group


def matrices(
    plan: Paths, spec: FigureSpec, fig: str, group: Group, title: str, metrics: Sequence[str]
) -> None:
    cfg = plan.config["figures"][fig]
    seed, mode = plan.figure_seed, plan.mode
    for decoder, key in (("linear", "linear_methods"), ("knn", "knn_methods")):
        methods = cfg.get(key) or []
        if not methods:
            continue
        spec.inputs[f"{decoder}"] = [
            str(plan.crossdecode(group.name, m, decoder, mode, seed)) for m in methods
        ]
        spec.params[f"{decoder}_methods"] = plan.describe(methods)
        suffix = "" if decoder == "linear" else "_kNN"
        for metric in metrics:
            spec.outputs[f"{decoder}:{metric}"] = plan.figure_file(
                fig, f"{title}_{metric}_matrix{suffix}.pdf"
            )
    spec.outputs["accuracy"] = plan.figure_file(fig, f"{title}_accuracy.pdf")


def cross_figure(plan: Paths, fig: str, metrics: Sequence[str]) -> FigureSpec:
    group = plan.cross_groups()[fig]
    spec = FigureSpec(fig, params=plan.provenance([group]))
    spec.params["group"] = group.name
    if plan.group_sessions(group):
        matrices(plan, spec, fig, group, group.name, metrics)
    return spec


def rotations(
    plan: Paths, spec: FigureSpec, fig: str, group: Group, anchors: Mapping[str, str]
) -> None:
    """Rotation panels of ``group`` for each anchor kind (``{suffix: anchor method or ''}``)."""
    cfg = plan.config["figures"][fig]
    seed, mode = plan.figure_seed, plan.mode
    sessions = plan.group_sessions(group)
    if not sessions:
        return
    spec.params["rotate_methods"] = plan.describe(cfg.get("rotate_methods", []))
    for m in cfg.get("rotate_methods", []):
        for suffix, anchor_method in anchors.items():
            if anchor_method == "self":
                anchor = plan.self_anchor(m, group)
            else:
                anchor = plan.example_anchor(anchor_method or m)
            key = f"{m}:rotate{suffix}"
            spec.inputs[key] = [str(plan.alignment(group.name, m, anchor, mode, seed))]
            spec.params.setdefault("anchors", {})[key] = anchor
            for when in ("Before", "After"):
                spec.outputs[f"{key}:{when}"] = plan.figure_file(
                    fig, f"{plan.label(m)}_{when}_rotate_{group.name}{suffix}.pdf"
                )
