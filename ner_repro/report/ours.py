"""Our number for each published number: the analysis outputs loaded once, and the comparison.

Every "ours" number is computed here from the analysis files every time the report is built
(nothing is typed in): :class:`Outputs` loads them (for both evaluation modes and all seeds,
the files :func:`ner_repro.plan.report.report_inputs` lists), one ``_ours_*`` extractor per
kind of published number turns them into per-mode, per-seed values (:class:`Ours`) or says
why there is none (:class:`NotComputable`), and :func:`compare` judges each against the
published value (:mod:`ner_repro.report.verdicts`) into the comparison table
(:data:`COMPARISON_COLUMNS`, one row per published number).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ner_repro.analysis.evaluation import curve_peak
from ner_repro.core.config import SessionKey
from ner_repro.core.types import PathLike
from ner_repro.data.published_numbers import FIGURE_ORDER, _is_session
from ner_repro.plan import MODES
from ner_repro.plan.report import (
    config_method,
    fig4_groups,
    fig8_inputs,
    fig8_sets,
    figure_methods,
)
from ner_repro.report.verdicts import (
    NOT_APPLICABLE,
    NOT_COMPARABLE,
    NOT_COMPUTABLE,
    explanation,
    judge,
    rounding_tolerance,
    tolerance_for,
)

if TYPE_CHECKING:
    from ner_repro.plan import Plan

COMPARISON_COLUMNS = (
    "id",
    "figure",
    "panel",
    "method",
    "session",
    "split",
    "decoder",
    "metric",
    "statistic",
    "r2_order",
    "published",
    "published_display",
    "reference",
    "reference_basis",
    "n_sessions_published",
    "n_sessions_ours",
    "sessions_ours",
    "our_method",
    "paper_mean",
    "paper_sd",
    "paper_n",
    "paper_per_seed",
    "corrected_mean",
    "corrected_sd",
    "corrected_n",
    "corrected_per_seed",
    "difference",
    "tolerance",
    "tolerance_rule",
    "verdict",
    "reason",
    "explanation",
    "note",
    "source",
)
_NUMERIC = {
    "published",
    "reference",
    "n_sessions_published",
    "n_sessions_ours",
    "paper_mean",
    "paper_sd",
    "paper_n",
    "corrected_mean",
    "corrected_sd",
    "corrected_n",
    "difference",
    "tolerance",
}


@dataclass
class Outputs:
    """Our analysis outputs, loaded once."""

    ev: pd.DataFrame
    cd: pd.DataFrame
    insample: pd.DataFrame
    mcmaze: pd.DataFrame
    ev_curves: dict[tuple[str, str, str, int], tuple[np.ndarray, np.ndarray]]
    #: Per (method, decoder, mode, seed), the cross-decoding arrays of every group that ran
    #: it: (sessions, accuracy over time, time_ms), in the order of the inputs.
    cd_curves: dict[tuple[str, str, str, int], list[tuple[list[str], np.ndarray, np.ndarray]]]
    losses: dict[tuple[str, str, int], float]
    missing: list[str] = field(default_factory=list)
    #: The shuffled-label control table (empty when not configured).
    controls: pd.DataFrame = field(default_factory=pd.DataFrame)

    @classmethod
    def load(cls, inputs: Mapping[str, Sequence[str]], workdir: PathLike = ".") -> Outputs:
        workdir = Path(workdir)
        missing: list[str] = []

        def existing(kind: str) -> list[Path]:
            found = []
            for p in inputs.get(kind, []):
                path = workdir / p
                if path.is_file():
                    found.append(path)
                else:
                    missing.append(str(p))
            return found

        def frames(kind: str) -> pd.DataFrame:
            parts = [pd.read_csv(p) for p in existing(kind)]
            parts = [p for p in parts if len(p)]
            return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

        ev = frames("explained_variance")
        cd = frames("crossdecode")
        ins = frames("insample")
        mc = frames("mcmaze")
        ev_curves: dict[tuple[str, str, str, int], tuple[np.ndarray, np.ndarray]] = {}
        for path in existing("explained_variance_npz"):
            with np.load(path, allow_pickle=False) as z:
                if "linear_acc_time" not in z.files:
                    continue
                mode = str(z["mode"])
                acc, t_dur, time_ms = z["linear_acc_time"], z["t_dur"], z["time_ms"]
                for i, (m, s, seed) in enumerate(
                    zip(z["methods"], z["sessions"], z["seeds"], strict=True)
                ):
                    n = int(t_dur[i])
                    ev_curves[(str(m), str(s), mode, int(seed))] = (acc[i, 0, :n], time_ms[:n])
        cd_curves: dict[
            tuple[str, str, str, int], list[tuple[list[str], np.ndarray, np.ndarray]]
        ] = {}
        for path in existing("crossdecode_npz"):
            with np.load(path, allow_pickle=False) as z:
                mode, method = str(z["mode"]), str(z["method"])
                seeds = {int(s) for s in z["seeds"]}
                for dec in z["decoders"]:
                    key = f"{dec}_acc_time"
                    if key not in z.files or len(seeds) != 1:
                        continue
                    cd_curves.setdefault(
                        (method, str(dec), mode, seeds.pop() if seeds else -1), []
                    ).append(([str(s) for s in z["sessions"]], z[key], z["time_ms"]))
        losses: dict[tuple[str, str, int], float] = {}
        for path in existing("embeddings"):
            with np.load(path, allow_pickle=False) as z:
                loss = z["loss"] if "loss" in z.files else np.zeros(0)
                if loss.size:
                    losses[(str(z["method"]), str(z["session"]), int(z["seed"]))] = float(
                        np.mean(loss[-10:])
                    )
        controls = frames("controls")
        return cls(ev, cd, ins, mc, ev_curves, cd_curves, losses, missing, controls)


class NotComputable(Exception):
    """No number of ours for a published number (the message says why)."""


@dataclass
class Ours:
    """Our value of one published number: per mode, per seed."""

    values: dict[str, dict[int, float]]
    sessions: list[str] = field(default_factory=list)
    method: str = ""
    notes: list[str] = field(default_factory=list)
    #: True where ours decodes the authors' own embedding (Fig8 without the NWB file): the
    #: only difference left is the rounding of the published value.
    same_embedding: bool = False

    def stats(self, mode: str) -> tuple[float, float, int, str]:
        per_seed = {s: v for s, v in sorted(self.values.get(mode, {}).items()) if np.isfinite(v)}
        vals = np.array(list(per_seed.values()), dtype=np.float64)
        if vals.size == 0:
            return math.nan, math.nan, 0, ""
        sd = float(np.std(vals, ddof=1)) if vals.size > 1 else math.nan
        text = ";".join(f"{s}:{v:.6g}" for s, v in per_seed.items())
        return float(np.mean(vals)), sd, int(vals.size), text


@dataclass
class Context:
    """What a comparison row is computed from: the plan, the published table, our outputs."""

    plan: Plan
    published: pd.DataFrame
    outputs: Outputs

    @property
    def simulated(self) -> bool:
        return bool(self.plan.simulated)

    @cached_property
    def fig8_skipped(self) -> dict[str, str]:
        """The Fig8 ``<method>:<set>`` left out, with the reason
        (:func:`ner_repro.plan.report.fig8_inputs`)."""
        return fig8_inputs(self.plan)[1]

    def status(self, session: str) -> str | None:
        """Why a published session has no data of ours (None when it is available)."""
        if not _is_session(session):
            return f"{session} is not a session name"
        key = SessionKey.parse(session)
        try:
            self.plan.dataset_of(key)
        except KeyError:
            return f"{session} is not part of this configuration"
        if not self.plan.is_available(key.monkey, key.date):
            return f"{session}: recording absent from {self.plan.data_dir} (skipped)"
        return None

    def method(self, row: Mapping[str, Any]) -> str:
        candidates = figure_methods(self.plan, row["figure"], row.get("decoder") or "linear")
        m = config_method(self.plan, row["method"], candidates)
        if m is None:
            where = {
                "Fig1": "figures.fig1.methods",
                "Fig3": "the figures' method lists",
                "Fig4": "figures.fig4.methods",
                "Fig8": "mcmaze.methods",
            }.get(row["figure"], f"figures.{row['figure'].lower()}.{row.get('decoder')}_methods")
            raise NotComputable(f"no configured method in {where} is {row['method']}")
        return m

    def group_sessions(self, row: Mapping[str, Any]) -> tuple[list[str], list[str]]:
        """(our sessions for a group statistic, reasons for published sessions left out)."""
        published = [s for s in row["sessions"].split(";") if s]
        if self.simulated:
            return self._simulated_group(row), []
        ours, why = [], []
        for s in published:
            reason = self.status(s)
            if reason is None:
                ours.append(s)
            else:
                why.append(reason)
        return ours, why

    def _simulated_group(self, row: Mapping[str, Any]) -> list[str]:
        """On simulated data: the configured group standing in for the published one."""
        fig = row["figure"]
        if fig == "Fig4":
            area = row["session"].rsplit("-", 1)[-1]
            groups = fig4_groups(self.plan)
            key = f"acc:{area}" if row["metric"] == "acc_curve" else area
            group = groups.get(key) or groups.get(area)
        else:
            group = self.plan.cross_groups().get(fig.lower())
        if group is None:
            return []
        return [k.name for k in self.plan.group_sessions(group)]

    def published_value(self, row: Mapping[str, Any], sessions: Sequence[str]) -> float:
        """The published statistic restricted to ``sessions`` (NaN where not derivable)."""
        pub = self.published
        if row["figure"] == "Fig4" and row["statistic"] == "median":
            sel = pub[
                (pub["figure"] == "Fig4")
                & (pub["statistic"] == "value")
                & (pub["method"] == row["method"])
                & (pub["split"] == row["split"])
                & (pub["metric"] == row["metric"])
                & (pub["session"].isin(list(sessions)))
            ]
            return float(np.median(sel["value"])) if len(sel) == len(sessions) else math.nan
        if row["statistic"] in ("diag_mean", "offdiag_mean"):
            sel = pub[
                (pub["figure"] == row["figure"])
                & (pub["statistic"] == "matrix")
                & (pub["method"] == row["method"])
                & (pub["decoder"] == row["decoder"])
                & (pub["metric"] == row["metric"])
            ]
            if len(sel) != 1:
                return math.nan
            order = sel["sessions"].iloc[0].split(";")
            values = np.array([float(v) for v in sel["matrix_values"].iloc[0].split(";")])
            matrix = values.reshape(len(order), len(order))
            idx = [order.index(s) for s in sessions if s in order]
            if len(idx) != len(sessions):
                return math.nan
            sub = matrix[np.ix_(idx, idx)]
            if row["statistic"] == "diag_mean":
                return float(np.mean(np.diag(sub)))
            if len(idx) < 2:
                return math.nan
            return float(np.mean(sub[~np.eye(len(idx), dtype=bool)]))
        return math.nan


def _by_mode_seed(frame: pd.DataFrame, modes: Sequence[str] = MODES) -> dict[str, dict[int, float]]:
    out: dict[str, dict[int, float]] = {m: {} for m in modes}
    for (mode, seed), part in frame.groupby(["mode", "seed"]):
        out.setdefault(str(mode), {})[int(seed)] = float(part["value"].iloc[0])
    return out


def _ours_fig4_session(ctx: Context, row: Mapping[str, Any]) -> Ours:
    m = ctx.method(row)
    reason = ctx.status(row["session"])
    if reason is not None:
        raise NotComputable(reason)
    ev = ctx.outputs.ev
    if ev.empty:
        raise NotComputable("no Fig4 explained-variance output of ours")
    sel = ev[
        (ev["method"] == m)
        & (ev["train_session"] == row["session"])
        & (ev["split"] == row["split"])
        & (ev["metric"] == row["metric"])
        & (ev["decoder"] == "linear")
    ].drop_duplicates(["mode", "seed"])
    if sel.empty:
        raise NotComputable(f"no explained-variance output for {m} on {row['session']}")
    return Ours(_by_mode_seed(sel), [row["session"]], m)


def _ours_fig4_median(ctx: Context, row: Mapping[str, Any]) -> Ours:
    m = ctx.method(row)
    sessions, why = ctx.group_sessions(row)
    if not sessions:
        raise NotComputable("none of its sessions is available: " + "; ".join(why))
    ev = ctx.outputs.ev
    if ev.empty:
        raise NotComputable("no Fig4 explained-variance output of ours")
    sel = ev[
        (ev["method"] == m)
        & (ev["train_session"].isin(sessions))
        & (ev["split"] == row["split"])
        & (ev["metric"] == row["metric"])
        & (ev["decoder"] == "linear")
    ].drop_duplicates(["mode", "seed", "train_session"])
    have = [s for s in sessions if s in set(sel["train_session"])]
    if not have:
        raise NotComputable(f"no explained-variance output for {m}")
    notes = [f"no output of ours for {s}" for s in sessions if s not in have]
    values: dict[str, dict[int, float]] = {mode: {} for mode in MODES}
    for (mode, seed), part in sel.groupby(["mode", "seed"]):
        if len(part) < len(have):
            notes.append(f"{mode} seed {seed}: {len(part)} of {len(have)} sessions")
        values[str(mode)][int(seed)] = float(np.median(part["value"]))
    return Ours(values, have, m, notes)


def _mean_curve_peak(curves: Sequence[np.ndarray], time_ms: np.ndarray) -> tuple[float, float]:
    with warnings.catch_warnings():  # a bin no curve reaches is NaN, and skipped by the peak
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(np.stack(curves), axis=0)
    return curve_peak(mean, time_ms=np.asarray(time_ms))


def _ours_fig4_curve(ctx: Context, row: Mapping[str, Any]) -> Ours:
    m = ctx.method(row)
    sessions, why = ctx.group_sessions(row)
    if not sessions:
        raise NotComputable("none of its sessions is available: " + "; ".join(why))
    curves = ctx.outputs.ev_curves
    have = [s for s in sessions if any(k[0] == m and k[1] == s for k in curves)]
    if not have:
        raise NotComputable(f"no explained-variance arrays for {m}")
    notes = [f"no output of ours for {s}" for s in sessions if s not in have]
    values: dict[str, dict[int, float]] = {mode: {} for mode in MODES}
    for mode in MODES:
        for seed in ctx.plan.seeds_for(m):
            found = [curves[k] for s in have if (k := (m, s, mode, seed)) in curves]
            if not found:
                continue
            if len(found) < len(have):
                notes.append(f"{mode} seed {seed}: {len(found)} of {len(have)} sessions")
            t = min(len(c) for c, _ in found)
            peak, when = _mean_curve_peak([c[:t] for c, _ in found], found[0][1][:t])
            values[mode][seed] = peak if row["statistic"] == "peak" else when
    return Ours(values, have, m, notes)


def _ours_matrix_mean(ctx: Context, row: Mapping[str, Any]) -> Ours:
    m = ctx.method(row)
    sessions, why = ctx.group_sessions(row)
    if not sessions:
        raise NotComputable("none of its sessions is available: " + "; ".join(why))
    if row["statistic"] == "offdiag_mean" and len(sessions) < 2:
        raise NotComputable(f"only {len(sessions)} session available, no off-diagonal element")
    cd = ctx.outputs.cd
    if cd.empty:
        raise NotComputable("no cross-decoding output of ours")
    sel = cd[
        (cd["method"] == m)
        & (cd["decoder"] == row["decoder"])
        & (cd["metric"] == row["metric"])
        & (cd["train_session"].isin(sessions))
        & (cd["test_session"].isin(sessions))
    ].drop_duplicates(["mode", "seed", "train_session", "test_session"])
    present = set(sel["train_session"]) & set(sel["test_session"])
    have = [s for s in sessions if s in present]
    if not have or (row["statistic"] == "offdiag_mean" and len(have) < 2):
        raise NotComputable(f"no cross-decoding output for {m} ({row['decoder']})")
    notes = [f"no output of ours for {s}" for s in sessions if s not in have]
    sel = sel[sel["train_session"].isin(have) & sel["test_session"].isin(have)]
    diag = sel["train_session"] == sel["test_session"]
    sel = sel[diag] if row["statistic"] == "diag_mean" else sel[~diag]
    expected = len(have) if row["statistic"] == "diag_mean" else len(have) * (len(have) - 1)
    values: dict[str, dict[int, float]] = {mode: {} for mode in MODES}
    for (mode, seed), part in sel.groupby(["mode", "seed"]):
        if len(part) < expected:
            notes.append(f"{mode} seed {seed}: {len(part)} of {expected} elements")
        values[str(mode)][int(seed)] = float(part["value"].mean())
    return Ours(values, have, m, notes)


def _group_curves(
    ctx: Context, method: str, decoder: str, sessions: Sequence[str]
) -> dict[tuple[str, int], tuple[list[str], np.ndarray, np.ndarray]]:
    """Per (mode, seed), the cross-decoding arrays holding most of ``sessions`` (the first on
    ties) among those the groups made for this method and decoder. An element depends only on
    its pair of sessions, not on the group it was computed in, so any group holding the
    sessions gives their sub-matrix; a seed whose arrays hold none of them (only another group
    has run it) is absent."""
    wanted = set(sessions)
    out = {}
    for mode in MODES:
        for seed in ctx.plan.seeds_for(method):
            candidates = ctx.outputs.cd_curves.get((method, decoder, mode, seed), [])
            best = max(candidates, key=lambda c: len(wanted.intersection(c[0])), default=None)
            if best is not None and wanted.intersection(best[0]):
                out[(mode, seed)] = best
    return out


def _ours_matrix_curve(ctx: Context, row: Mapping[str, Any]) -> Ours:
    m = ctx.method(row)
    sessions, why = ctx.group_sessions(row)
    if not sessions:
        raise NotComputable("none of its sessions is available: " + "; ".join(why))
    curves = _group_curves(ctx, m, row["decoder"], sessions)
    have = [s for s in sessions if any(s in order for order, _, _ in curves.values())]
    if not have:
        raise NotComputable(f"no cross-decoding arrays for {m} ({row['decoder']})")
    notes = [f"no output of ours for {s}" for s in sessions if s not in have]
    values: dict[str, dict[int, float]] = {mode: {} for mode in MODES}
    for (mode, seed), (order, acc, time_ms) in curves.items():
        idx = [order.index(s) for s in have if s in order]
        if len(idx) < len(have):
            notes.append(f"{mode} seed {seed}: {len(idx)} of {len(have)} sessions")
        if not idx:
            continue
        sub = acc[np.ix_(idx, idx)].reshape(-1, acc.shape[-1])
        peak, when = _mean_curve_peak(list(sub), time_ms)
        values[mode][seed] = peak if row["statistic"] == "peak" else when
    return Ours(values, have, m, notes)


def _ours_fig1(ctx: Context, row: Mapping[str, Any]) -> Ours:
    m = ctx.method(row)
    example, _ = ctx.plan.example
    ins = ctx.outputs.insample
    if ins.empty:
        raise NotComputable(f"no in-sample (Fig1) output of ours on {example.name}")
    sel = ins[
        (ins["method"] == m) & (ins["session"] == example.name) & (ins["metric"] == row["metric"])
    ].drop_duplicates(["seed"])
    if sel.empty:
        raise NotComputable(f"no in-sample output for {m} on {example.name}")
    per_seed = {int(s): float(v) for s, v in zip(sel["seed"], sel["value"], strict=True)}
    return Ours({mode: dict(per_seed) for mode in MODES}, [example.name], m)


def _ours_loss(ctx: Context, row: Mapping[str, Any]) -> Ours:
    m = ctx.method(row)
    reason = ctx.status(row["session"])
    if reason is not None:
        raise NotComputable(reason)
    per_seed = {
        seed: v
        for (method, session, seed), v in ctx.outputs.losses.items()
        if method == m and session == row["session"]
    }
    if not per_seed:
        raise NotComputable(f"no training loss of {m} on {row['session']}")
    return Ours({mode: dict(per_seed) for mode in MODES}, [row["session"]], m)


def _fig8_set_key(name: str) -> tuple[str, frozenset[int]]:
    """'curve-up-down-37-1' -> ('curve-up-down', {37, 1})."""
    parts = name.split("-")
    i = next(i for i, p in enumerate(parts) if p.isdigit())
    return "-".join(parts[:i]), frozenset(int(p) for p in parts[i:])


def _ours_fig8(ctx: Context, row: Mapping[str, Any]) -> Ours:
    m = ctx.method(row)
    sets = fig8_sets(ctx.plan)
    if not sets:
        raise NotComputable("no MC_Maze source: neither the NWB file nor the published embeddings")
    want = _fig8_set_key(row["session"])
    match = [cs for cs in sets if (cs.family, frozenset(cs.types)) == want]
    if not match:
        raise NotComputable(f"condition set {row['session']} is not configured (mcmaze)")
    cs = match[0]
    skipped = ctx.fig8_skipped
    if f"{m}:{cs.name}" in skipped:
        raise NotComputable(skipped[f"{m}:{cs.name}"])
    mc = ctx.outputs.mcmaze
    if mc.empty:
        raise NotComputable("no Fig8 output of ours")
    sel = mc[
        (mc["method"] == m)
        & (mc["set"] == cs.name)
        & (mc["split"] == row["split"])
        & (mc["metric"] == row["metric"])
    ].drop_duplicates(["seed", "source"])
    if sel.empty:
        raise NotComputable(f"no Fig8 output for {m} on {cs.name}")
    per_seed = {int(s): float(v) for s, v in zip(sel["seed"], sel["value"], strict=True)}
    notes = []
    same = bool((sel["source"] == "published").all())
    if same:
        notes.append(
            "ours = our decoding of the authors' published embedding (MC_Maze NWB absent): "
            "checks the decoding, not the training"
        )
    return Ours({mode: dict(per_seed) for mode in MODES}, [cs.name], m, notes, same)


def _ours(ctx: Context, row: Mapping[str, Any]) -> Ours:
    fig, stat, metric = row["figure"], row["statistic"], row["metric"]
    if fig == "Fig1":
        return _ours_fig1(ctx, row)
    if fig == "Fig3":
        return _ours_loss(ctx, row)
    if fig == "Fig4":
        if stat == "value":
            return _ours_fig4_session(ctx, row)
        if stat == "median":
            return _ours_fig4_median(ctx, row)
        return _ours_fig4_curve(ctx, row)
    if fig in ("Fig5", "Fig6", "Fig7"):
        if metric == "acc_curve":
            return _ours_matrix_curve(ctx, row)
        return _ours_matrix_mean(ctx, row)
    if fig == "Fig8":
        return _ours_fig8(ctx, row)
    raise NotComputable(f"no comparison defined for {fig}")


def compare(plan: Plan, published: pd.DataFrame, outputs: Outputs) -> pd.DataFrame:
    """The comparison table: one row per published number (:data:`COMPARISON_COLUMNS`)."""
    ctx = Context(plan, published, outputs)
    example, substitute = plan.example
    rows = []
    for _, pub in published[published["statistic"] != "matrix"].iterrows():
        row = pub.to_dict()
        base, rule = tolerance_for(row)
        published_sessions_ = [s for s in row["sessions"].split(";") if s]
        out: dict[str, Any] = {
            c: (math.nan if c in _NUMERIC else row.get(c, "")) for c in COMPARISON_COLUMNS
        }
        out.update(
            published=row["value"],
            published_display=row["display"],
            n_sessions_published=len(published_sessions_) or 1,
            tolerance_rule=rule,
        )
        try:
            ours = _ours(ctx, row)
        except NotComputable as exc:
            out.update(
                verdict=NOT_APPLICABLE if ctx.simulated else NOT_COMPUTABLE,
                reason=(
                    "simulated data: comparison to published values not applicable; "
                    f"not computable: {exc}"
                    if ctx.simulated
                    else f"not computable: {exc}"
                ),
                explanation=explanation(row),
            )
            rows.append(out)
            continue
        out["our_method"] = ours.method
        out["sessions_ours"] = ";".join(ours.sessions)
        out["n_sessions_ours"] = len(ours.sessions)
        for mode in MODES:
            mean, sd, n, text = ours.stats(mode)
            out.update(
                {
                    f"{mode}_mean": mean,
                    f"{mode}_sd": sd,
                    f"{mode}_n": n,
                    f"{mode}_per_seed": text,
                }
            )
        mean, sd = out["paper_mean"], out["paper_sd"]
        notes = list(ours.notes)
        reference, basis = float(row["value"]), "published"
        comparable = True
        why_not = ""
        if ctx.simulated:
            verdict, reason = (
                NOT_APPLICABLE,
                "simulated data: comparison to published values not applicable",
            )
            if published_sessions_:
                reason += f"; ours from the {len(ours.sessions)} simulated sessions standing in"
            diff = tol = math.nan
        else:
            if row["figure"] == "Fig1" and example.name != row["session"]:
                comparable = False
                why_not = (
                    f"the published value is for {row['session']}, ours for "
                    f"{example.name}"
                    + (
                        " (the configured substitute; the paper's session is absent)"
                        if substitute
                        else ""
                    )
                )
            elif published_sessions_ and len(ours.sessions) < len(published_sessions_):
                subset = ctx.published_value(row, ours.sessions)
                k, n = len(ours.sessions), len(published_sessions_)
                if np.isfinite(subset):
                    reference = subset
                    basis = f"published restricted to our {k} of {n} sessions"
                else:
                    comparable = False
                    why_not = (
                        f"ours covers {k} of {n} sessions and the published per-session values "
                        "needed to restrict the published statistic to them are not published"
                    )
            if comparable:
                if ours.same_embedding:
                    base = rounding_tolerance(row["value"])
                    out["tolerance_rule"] = "same embedding: rounding of the published value"
                verdict, diff, tol, reason = judge(
                    reference, mean, sd, base, list(ours.values.get("paper", {}).values())
                )
            else:
                verdict, diff, tol, reason = NOT_COMPARABLE, mean - reference, math.nan, why_not
        if notes:
            reason = reason + " [" + "; ".join(notes) + "]"
        out.update(
            reference=reference,
            reference_basis=basis,
            difference=diff,
            tolerance=tol,
            verdict=verdict,
            reason=reason,
            explanation=explanation(row),
        )
        rows.append(out)
    frame = pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
    for c in _NUMERIC:
        frame[c] = pd.to_numeric(frame[c], errors="coerce")
    order = {f: i for i, f in enumerate(FIGURE_ORDER)}
    frame["_o"] = frame["figure"].map(order)
    return frame.sort_values(["_o", "id"], kind="stable").drop(columns="_o").reset_index(drop=True)
